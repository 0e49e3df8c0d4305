//! Plain data the NVML sampler sends, and the join of GPU processes onto containers.

use std::collections::HashMap;

use crate::docker::ContainerId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcessKind {
    #[default]
    Compute,
    Graphics,
}

/// (index, uuid) of each GPU, then (parent index, uuid) of each MIG instance: what container GPU
/// requests resolve against (`MIG-<uuid>` maps to its parent). Indices repeat for MIG.
pub fn gpu_ids(gpus: &[GpuSample]) -> Vec<(u32, &str)> {
    let migs = gpus.iter().flat_map(|g| {
        g.mig.iter().flat_map(move |m| m.instances.iter().map(move |i| (g.index, i.uuid.as_str())))
    });
    gpus.iter().map(|g| (g.index, g.uuid.as_str())).chain(migs).collect()
}

/// How a GPU process outside any container is named everywhere: `command(user)`, or what
/// this machine's /proc says of it when it cannot show it.
pub fn host_owner(p: &GpuProcess) -> String {
    match p.presence.words() {
        Some(w) => w.to_string(),
        None => command_user(p.command.as_deref(), p.user.as_deref()),
    }
}

/// `command(user)`, `?` for what is unknown.
pub fn command_user(command: Option<&str>, user: Option<&str>) -> String {
    format!("{}({})", command.unwrap_or("?"), user.unwrap_or("?"))
}

/// Whether this machine's /proc shows a GPU process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    #[default]
    Here,
    /// /proc showed it and no longer does: it ended (NVML may list it a moment longer).
    Exited,
    /// /proc never showed it while NVML reports it holding memory: it lives in another PID
    /// namespace (gpudock in a container without `--pid=host`). Alive, not exited.
    NotVisible,
}

impl Presence {
    /// How it is named everywhere in place of `command(user)`; None: it is here.
    pub fn words(self) -> Option<&'static str> {
        match self {
            Presence::Here => None,
            Presence::Exited => Some("(exited)"),
            Presence::NotVisible => Some("(not visible here: other PID namespace)"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Here => "here",
            Presence::Exited => "exited",
            Presence::NotVisible => "not_visible",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct GpuProcess {
    pub pid: u32,
    pub kind: ProcessKind,
    /// None when the driver does not report it (e.g. under some virtualisation).
    pub memory_used: Option<u64>,
    /// Share of the GPU's SMs over the last interval; None when the driver cannot tell.
    pub sm_percent: Option<u32>,
    /// Its container, when the process lives in one.
    pub container_id: Option<ContainerId>,
    pub command: Option<String>,
    pub user: Option<String>,
    /// Host-side figures from /proc, None where /proc does not show the process (another PID
    /// namespace, or it ended).
    pub host: Option<HostProcess>,
    /// MIG GPU instance and compute instance it runs in; None outside MIG.
    pub gpu_instance: Option<u32>,
    pub compute_instance: Option<u32>,
    /// Whether this machine's /proc shows it.
    pub presence: Presence,
}

/// What /proc says about a GPU process on the host.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostProcess {
    /// Clock ticks since boot (field 22 of /proc/<pid>/stat): a PID with another start time
    /// is another process, so signals are checked against it.
    pub start_time: u64,
    /// Seconds since it started.
    /// None when /proc/uptime cannot be read (an age of 0 would sort it as the youngest).
    pub elapsed_secs: Option<u64>,
    /// Host CPU over the last interval (100 = one core); None on the first sight.
    pub cpu_percent: Option<f64>,
    pub rss_bytes: Option<u64>,
    /// The whole command line, arguments joined by spaces.
    pub cmdline: Option<String>,
}

/// One GPU's reading. Every field the driver may refuse is an Option: None shows as "n/a".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GpuSample {
    pub index: u32,
    pub name: String,
    pub uuid: String,
    pub memory_used: Option<u64>,
    pub memory_total: Option<u64>,
    pub util_gpu: Option<u32>,
    pub util_memory: Option<u32>,
    pub temperature_c: Option<u32>,
    pub power_watts: Option<f64>,
    pub power_limit_watts: Option<f64>,
    pub sm_clock_mhz: Option<u32>,
    pub mem_clock_mhz: Option<u32>,
    pub fan_percent: Option<u32>,
    pub processes: Vec<GpuProcess>,
    /// ECC, retired pages / remapped rows, throttle reasons, PCIe link, max clocks.
    pub health: GpuHealth,
    /// MIG mode and its instances; None when the GPU does not support MIG.
    pub mig: Option<MigState>,
    /// The GPU is lost: the driver cannot reach it (fallen off the bus, XID 79) or no longer
    /// reports it (a driver reset). Why, in words.
    pub lost: Option<String>,
    /// NVLinks; None on GPUs without any (PCIe parts).
    pub nvlink: Option<super::fabric::NvLinks>,
    /// Fabric Manager registration; None where NVML does not support it.
    pub fabric: Option<super::fabric::GpuFabric>,
}

impl GpuSample {
    pub fn memory_percent(&self) -> Option<f64> {
        match (self.memory_used, self.memory_total) {
            (Some(u), Some(t)) if t > 0 => Some(u as f64 * 100.0 / t as f64),
            _ => None,
        }
    }
}

/// Corrected / uncorrected ECC error counts; None where the GPU does not count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EccCounts {
    pub corrected: Option<u64>,
    pub uncorrected: Option<u64>,
}

/// Row remapping (Ampere and later) as NVML reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemappedRows {
    pub correctable: u32,
    pub uncorrectable: u32,
    /// A remap waits for a GPU reset.
    pub pending: bool,
    /// A remap failed: the GPU should be serviced.
    pub failed: bool,
}

/// Health readings of one GPU; each field None ("n/a") where the GPU does not support it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GpuHealth {
    /// Since the last driver load.
    pub ecc_volatile: EccCounts,
    /// Over the GPU's lifetime.
    pub ecc_aggregate: EccCounts,
    /// Pages retired (pre-Ampere), both causes together.
    pub retired_pages: Option<u32>,
    /// A retirement waits for a reset.
    pub retired_pending: Option<bool>,
    pub remapped_rows: Option<RemappedRows>,
    /// Why clocks are held down right now (nvmlClocksEventReasons bits); None: unsupported.
    pub throttle_reasons: Option<u64>,
    pub pcie_gen: Option<u32>,
    pub pcie_gen_max: Option<u32>,
    pub pcie_width: Option<u32>,
    pub pcie_width_max: Option<u32>,
    pub sm_clock_max_mhz: Option<u32>,
    pub mem_clock_max_mhz: Option<u32>,
}

/// MIG on one GPU.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MigState {
    /// Current mode (a pending change needs a reset).
    pub enabled: bool,
    pub instances: Vec<MigInstance>,
}

/// One MIG device (a GPU instance with its compute instance).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MigInstance {
    /// Position under the parent GPU.
    pub index: u32,
    pub uuid: String,
    /// The profile as NVML names the device, e.g. "NVIDIA A100-SXM4-40GB MIG 1g.5gb".
    pub name: String,
    pub gpu_instance: Option<u32>,
    pub compute_instance: Option<u32>,
    pub memory_used: Option<u64>,
    pub memory_total: Option<u64>,
}

/// An XID error the driver reported for a GPU (from the NVML event set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XidError {
    pub gpu_index: u32,
    pub gpu_uuid: String,
    pub xid: u64,
    /// Unix seconds when gpudock saw it.
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct GpuSnapshot {
    /// Unix seconds.
    pub at: i64,
    pub driver_version: Option<String>,
    /// "13.0" from nvmlSystemGetCudaDriverVersion's 13000.
    pub cuda_version: Option<String>,
    pub gpus: Vec<GpuSample>,
    /// PCIe levels between GPUs, CPU and NUMA affinity; None before NVML answered any.
    pub topology: Option<super::topology::Topology>,
}

/// What one container uses across all GPUs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerGpuUsage {
    pub memory_used: u64,
    /// Its SM share: the mean over the GPUs it runs on (of those with a reading) of its
    /// processes' share on each, so never above 100. None when no process had a reading (MIG,
    /// no per-process sampling): shown `n/a`.
    pub sm_percent: Option<u32>,
    /// GPUs its processes are on, ascending.
    pub gpus: Vec<u32>,
    /// Its SM share on each of `gpus`, in the same order (at most 100 each).
    pub sm_by_gpu: Vec<Option<u32>>,
}

/// The SM share of processes on one GPU: their sum, at most 100 (the driver's samples of one
/// process can overlap); None when none had a reading.
pub fn sm_on_gpu(shares: impl IntoIterator<Item = Option<u32>>) -> Option<u32> {
    shares.into_iter().flatten().reduce(|a, b| a + b).map(|s| s.min(100))
}

/// Groups every GPU process by container.
pub fn usage_by_container(gpus: &[GpuSample]) -> HashMap<ContainerId, ContainerGpuUsage> {
    let mut out: HashMap<ContainerId, ContainerGpuUsage> = HashMap::new();
    // Per container, per GPU: the raw shares of its processes there.
    type Shares = Vec<(u32, Vec<Option<u32>>)>;
    let mut shares: HashMap<ContainerId, Shares> = HashMap::new();
    for gpu in gpus {
        for p in &gpu.processes {
            let Some(id) = &p.container_id else { continue };
            let u = out.entry(id.clone()).or_default();
            u.memory_used += p.memory_used.unwrap_or(0);
            let per = shares.entry(id.clone()).or_default();
            match per.iter_mut().find(|(g, _)| *g == gpu.index) {
                Some((_, v)) => v.push(p.sm_percent),
                None => per.push((gpu.index, vec![p.sm_percent])),
            }
        }
    }
    for (id, mut per) in shares {
        let Some(u) = out.get_mut(&id) else { continue };
        per.sort_unstable_by_key(|(g, _)| *g);
        u.gpus = per.iter().map(|(g, _)| *g).collect();
        u.sm_by_gpu = per.into_iter().map(|(_, v)| sm_on_gpu(v)).collect();
        let known: Vec<u32> = u.sm_by_gpu.iter().flatten().copied().collect();
        u.sm_percent = (!known.is_empty())
            .then(|| (f64::from(known.iter().sum::<u32>()) / known.len() as f64).round() as u32);
    }
    out
}

/// NVML's CUDA driver version is 1000*major + 10*minor.
pub fn cuda_version_string(v: i32) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, container: Option<&str>, mem: Option<u64>, sm: Option<u32>) -> GpuProcess {
        GpuProcess {
            pid,
            kind: ProcessKind::Compute,
            memory_used: mem,
            sm_percent: sm,
            container_id: container.map(ContainerId::from),
            command: None,
            user: None,
            host: None,
            gpu_instance: None,
            compute_instance: None,
            presence: Presence::Here,
        }
    }

    #[test]
    fn sums_usage_per_container_across_gpus() {
        let gpus = vec![
            GpuSample {
                index: 0,
                processes: vec![proc(1, Some("a"), Some(100), Some(30)), proc(2, None, Some(5), None)],
                ..Default::default()
            },
            GpuSample {
                index: 3,
                processes: vec![proc(3, Some("a"), Some(50), None), proc(4, Some("b"), None, None)],
                ..Default::default()
            },
        ];
        let u = usage_by_container(&gpus);
        let usage =
            |m, sm, gpus, by| ContainerGpuUsage { memory_used: m, sm_percent: sm, gpus, sm_by_gpu: by };
        assert_eq!(u["a"], usage(150, Some(30), vec![0, 3], vec![Some(30), None]));
        assert_eq!(u["b"], usage(0, None, vec![3], vec![None]));
        assert_eq!(u.len(), 2);
    }

    #[test]
    fn a_containers_sm_share_is_the_mean_over_its_gpus_never_above_100() {
        let gpus = vec![
            GpuSample {
                index: 0,
                processes: vec![proc(1, Some("a"), Some(1), Some(71))],
                ..Default::default()
            },
            GpuSample {
                index: 1,
                processes: vec![proc(2, Some("a"), Some(1), Some(69))],
                ..Default::default()
            },
            GpuSample {
                index: 2,
                processes: vec![proc(3, Some("b"), Some(1), Some(80)), proc(4, Some("b"), Some(1), Some(60))],
                ..Default::default()
            },
        ];
        let u = usage_by_container(&gpus);
        assert_eq!(
            (u["a"].sm_percent, u["a"].sm_by_gpu.clone()),
            (Some(70), vec![Some(71), Some(69)]),
            "not 140"
        );
        assert_eq!(u["b"].sm_percent, Some(100), "two processes on one GPU cannot pass 100");
    }

    #[test]
    fn cuda_versions() {
        assert_eq!(cuda_version_string(13000), "13.0");
        assert_eq!(cuda_version_string(12040), "12.4");
        assert_eq!(cuda_version_string(12090), "12.9");
    }
}
