//! Plain data the NVML sampler sends, and the join of GPU processes onto containers.

use std::collections::HashMap;

use crate::docker::ContainerId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessKind {
    Compute,
    Graphics,
}

#[derive(Debug, Clone, PartialEq)]
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
    /// The GPU is lost: the driver cannot reach it (fallen off the bus, XID 79) or no longer
    /// reports it (a driver reset). Why, in words.
    pub lost: Option<String>,
}

impl GpuSample {
    pub fn memory_percent(&self) -> Option<f64> {
        match (self.memory_used, self.memory_total) {
            (Some(u), Some(t)) if t > 0 => Some(u as f64 * 100.0 / t as f64),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct GpuSnapshot {
    /// Unix seconds.
    pub at: i64,
    pub driver_version: Option<String>,
    /// "13.0" from nvmlSystemGetCudaDriverVersion's 13000.
    pub cuda_version: Option<String>,
    pub gpus: Vec<GpuSample>,
}

/// What one container uses across all GPUs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerGpuUsage {
    pub memory_used: u64,
    /// Sum of its processes' SM shares; None when no process had a reading.
    pub sm_percent: Option<u32>,
    /// GPUs its processes are on, ascending.
    pub gpus: Vec<u32>,
}

/// Groups every GPU process by container.
pub fn usage_by_container(gpus: &[GpuSample]) -> HashMap<ContainerId, ContainerGpuUsage> {
    let mut out: HashMap<ContainerId, ContainerGpuUsage> = HashMap::new();
    for gpu in gpus {
        for p in &gpu.processes {
            let Some(id) = &p.container_id else { continue };
            let u = out.entry(id.clone()).or_default();
            u.memory_used += p.memory_used.unwrap_or(0);
            if let Some(sm) = p.sm_percent {
                u.sm_percent = Some(u.sm_percent.unwrap_or(0) + sm);
            }
            if !u.gpus.contains(&gpu.index) {
                u.gpus.push(gpu.index);
            }
        }
    }
    for u in out.values_mut() {
        u.gpus.sort_unstable();
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
        assert_eq!(u["a"], ContainerGpuUsage { memory_used: 150, sm_percent: Some(30), gpus: vec![0, 3] });
        assert_eq!(u["b"], ContainerGpuUsage { memory_used: 0, sm_percent: None, gpus: vec![3] });
        assert_eq!(u.len(), 2);
    }

    #[test]
    fn cuda_versions() {
        assert_eq!(cuda_version_string(13000), "13.0");
        assert_eq!(cuda_version_string(12040), "12.4");
        assert_eq!(cuda_version_string(12090), "12.9");
    }
}
