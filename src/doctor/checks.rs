//! The doctor's checks: facts gathered from the node in, findings with their fixes out. Pure,
//! so every verdict is tested without a node.

use serde::Serialize;

use crate::docker::disk::{FsUsage, human_size};
use crate::docker::{EngineError, EngineInfo};
use crate::probe::DaemonJson;

/// Which check a finding is from: what `app::node` and the launch form filter on, never the
/// title a person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Driver,
    Engine,
    Toolkit,
    DaemonJson,
    NvidiaRuntime,
    DefaultRuntime,
    CdiSpecs,
    Cgroups,
    DiskSpace,
    Unasked,
    GpuHealth,
    /// NVLinks and the Fabric Manager state of NVSwitch GPUs (`doctor/fabric.rs`).
    Fabric,
    FabricManager,
    /// XIDs from before this run, from the kernel log (`doctor/gpu_health.rs`).
    Xids,
}

impl Check {
    /// Its name as `gpudock doctor` prints it (and its JSON carries it).
    pub fn title(self) -> &'static str {
        match self {
            Check::Driver => "NVIDIA driver",
            Check::Engine => "Docker engine",
            Check::Toolkit => "NVIDIA Container Toolkit",
            Check::DaemonJson => "daemon.json",
            Check::NvidiaRuntime => "nvidia runtime",
            Check::DefaultRuntime => "default runtime",
            Check::CdiSpecs => "CDI specs",
            Check::Cgroups => "cgroups",
            Check::DiskSpace => "disk space",
            Check::Unasked => "GPUs held without asking",
            Check::GpuHealth => "GPU health",
            Check::Fabric => "NVLink fabric",
            Check::FabricManager => "nvidia-fabricmanager",
            Check::Xids => "XIDs this boot",
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.title())
    }
}

impl Serialize for Check {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.title())
    }
}

/// What the driver said, as the checks read it.
#[derive(Debug, Clone, PartialEq)]
pub enum Driver {
    Up {
        driver: String,
        cuda: String,
        gpus: usize,
    },
    /// Why NVML did not open or answer.
    Down(String),
    /// The engine is another machine's: this machine's driver says nothing about it.
    Remote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Worth knowing, nothing to fix (what a one-shot run cannot see): never changes the exit code.
    Info,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub check: Check,
    pub level: Level,
    pub detail: String,
    /// What to do, in one or two lines; None when nothing needs doing.
    pub fix: Option<String>,
}

pub(super) fn finding(check: Check, level: Level, detail: impl Into<String>, fix: Option<&str>) -> Finding {
    Finding { check, level, detail: detail.into(), fix: fix.map(str::to_string) }
}

/// Everything the checks look at, gathered by `doctor::gather`.
#[derive(Debug, Clone)]
pub struct Facts {
    pub nvml: Driver,
    pub engine_host: String,
    /// The engine runs on this machine, so this machine's driver, files and PATH are its own.
    /// When false, the checks of those are left out rather than judged on the wrong machine.
    pub local: bool,
    /// The engine's self-description, or why it could not be reached.
    pub engine: Result<EngineInfo, EngineError>,
    /// The daemon.json path and its contents: None when there is no such file.
    pub daemon_json: (String, Option<Result<DaemonJson, String>>),
    /// Each toolkit program and where it was found on PATH.
    pub toolkit: Vec<(&'static str, Option<String>)>,
    /// CDI spec files that name NVIDIA GPUs.
    pub cdi_specs: Vec<String>,
    /// The filesystem under Docker's data root, and what pruning would free.
    pub disk: Option<(String, FsUsage, Option<u64>)>,
    pub disk_floor: u64,
    /// Containers with processes on GPUs they did not ask for: (name, GPU indices).
    pub unasked: Vec<(String, Vec<u32>)>,
    /// Each GPU's state with its faults and warnings (`gpu::state`), as `snapshot` says them.
    pub gpus: Vec<GpuFact>,
    /// NVLinks, Fabric Manager state and its unit; empty on PCIe GPUs.
    pub fabric: super::fabric::FabricFacts,
    /// XIDs from before this run, as this boot's kernel log has them.
    pub past_xids: super::gpu_health::PastXids,
}

/// One GPU as the health check sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuFact {
    pub index: u32,
    pub name: String,
    pub state: crate::gpu::state::State,
    pub faults: Vec<String>,
    pub warnings: Vec<String>,
}

/// Checks that look at this machine rather than at the engine.
pub const OF_THIS_MACHINE: [Check; 7] = [
    Check::Driver,
    Check::GpuHealth,
    Check::Xids,
    Check::Toolkit,
    Check::CdiSpecs,
    Check::DaemonJson,
    Check::DefaultRuntime,
];

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = vec![driver(f)];
    out.extend(super::gpu_health::gpu_health(f));
    out.extend(super::gpu_health::past_xids(f));
    out.extend([engine(f), toolkit(f)]);
    out.extend(runtimes(f));
    out.push(cdi(f));
    if !f.local {
        out.retain(|x| !OF_THIS_MACHINE.contains(&x.check));
    }
    if let Ok(info) = &f.engine {
        let cgroup = format!(
            "cgroup {} with the {} driver",
            info.cgroup_version.as_deref().unwrap_or("?"),
            info.cgroup_driver.as_deref().unwrap_or("?")
        );
        out.push(finding(Check::Cgroups, Level::Ok, cgroup, None));
    }
    out.extend(disk(f));
    out.push(unasked(f));
    if f.local {
        let driver = match &f.nvml {
            Driver::Up { driver, .. } => Some(driver.as_str()),
            _ => None,
        };
        out.extend(super::fabric::check(&f.fabric, driver));
    }
    out
}

fn driver(f: &Facts) -> Finding {
    match &f.nvml {
        Driver::Up { driver, cuda, gpus } => {
            let s = if *gpus == 1 { "" } else { "s" };
            finding(Check::Driver, Level::Ok, format!("driver {driver}, CUDA {cuda}, {gpus} GPU{s}"), None)
        }
        // Left out of the findings for a remote engine; said here for completeness.
        Driver::Remote => finding(
            Check::Driver,
            Level::Ok,
            "the engine is another machine: its driver is not read from here",
            None,
        ),
        Driver::Down(why) => finding(
            Check::Driver,
            Level::Fail,
            why.clone(),
            Some("install the NVIDIA driver for these GPUs (nvidia-smi must work on the host)"),
        ),
    }
}

fn engine(f: &Facts) -> Finding {
    match &f.engine {
        Ok(info) => finding(
            Check::Engine,
            Level::Ok,
            format!("{} answers: Docker {}", f.engine_host, info.server_version.as_deref().unwrap_or("?")),
            None,
        ),
        Err(why @ EngineError::PermissionDenied(_)) => finding(
            Check::Engine,
            Level::Fail,
            format!("{}: {why}", f.engine_host),
            Some("sudo usermod -aG docker $USER, then log in again (or run gpudock with sudo)"),
        ),
        Err(why) => finding(
            Check::Engine,
            Level::Fail,
            format!("{}: {why}", f.engine_host),
            Some("start dockerd (sudo systemctl start docker), or point --docker-host at the engine"),
        ),
    }
}

fn toolkit(f: &Facts) -> Finding {
    let found: Vec<String> =
        f.toolkit.iter().filter_map(|(name, at)| at.as_ref().map(|p| format!("{name} ({p})"))).collect();
    if found.is_empty() {
        let names: Vec<&str> = f.toolkit.iter().map(|t| t.0).collect();
        return finding(
            Check::Toolkit,
            Level::Fail,
            format!("none of {} is on PATH", names.join(", ")),
            Some("install nvidia-container-toolkit (NVIDIA's apt/yum repository)"),
        );
    }
    finding(Check::Toolkit, Level::Ok, found.join(", "), None)
}

const CONFIGURE: &str = "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker";

fn runtimes(f: &Facts) -> Vec<Finding> {
    let Ok(info) = &f.engine else { return Vec::new() };
    let mut out = Vec::new();
    let registered = info.runtimes.iter().any(|r| r == "nvidia");
    let (path, file) = &f.daemon_json;
    let file = match file {
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => {
            out.push(finding(
                Check::DaemonJson,
                Level::Fail,
                format!("{path} is not valid JSON: {e}"),
                Some("fix the file: dockerd will not start with it"),
            ));
            None
        }
        None => None,
    };
    // Another machine's daemon.json says nothing about this engine.
    let file = file.filter(|_| f.local);
    let in_file = file.is_some_and(|d| d.runtimes.contains_key("nvidia"));
    let default = info.default_runtime.as_deref().unwrap_or("?");
    out.push(match (registered, in_file) {
        (true, _) => finding(
            Check::NvidiaRuntime,
            Level::Ok,
            format!("registered in dockerd (runtimes: {}; default {default})", info.runtimes.join(", ")),
            None,
        ),
        (false, true) => finding(
            Check::NvidiaRuntime,
            Level::Fail,
            format!("{path} names it, but the running dockerd does not have it: edited but not restarted?"),
            Some("sudo systemctl restart docker"),
        ),
        (false, false) => finding(
            Check::NvidiaRuntime,
            Level::Fail,
            format!(
                "dockerd has no `nvidia` runtime (runtimes: {}; default {default}): --gpus cannot give GPUs",
                info.runtimes.join(", ")
            ),
            Some(CONFIGURE),
        ),
    });
    if let Some(want) = file.and_then(|d| d.default_runtime.as_deref())
        && want != default
    {
        out.push(finding(
            Check::DefaultRuntime,
            Level::Warn,
            format!("{path} sets default-runtime {want}, the running dockerd uses {default}: not restarted?"),
            Some("sudo systemctl restart docker"),
        ));
    }
    out
}

fn cdi(f: &Facts) -> Finding {
    let dirs = match &f.engine {
        Ok(info) if !info.cdi_spec_dirs.is_empty() => info.cdi_spec_dirs.join(", "),
        _ => "/etc/cdi, /var/run/cdi".to_string(),
    };
    if f.cdi_specs.is_empty() {
        return finding(
            Check::CdiSpecs,
            Level::Warn,
            format!("no NVIDIA CDI spec in {dirs}: `--device nvidia.com/gpu=…` will not work"),
            Some(
                "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml (optional: --gpus works without)",
            ),
        );
    }
    finding(Check::CdiSpecs, Level::Ok, f.cdi_specs.join(", "), None)
}

fn disk(f: &Facts) -> Option<Finding> {
    let (dir, fs, reclaimable) = f.disk.as_ref()?;
    let used = fs.used_percent()?;
    let can = reclaimable.map(|r| format!("; pruning could free {}", human_size(r))).unwrap_or_default();
    let detail = format!("{dir}: {}{can}", fs.describe());
    let low = used > 85.0 || fs.free < f.disk_floor;
    Some(if low {
        finding(
            Check::DiskSpace,
            Level::Warn,
            detail,
            Some("gpudock, then `c`, shows what Docker holds and prunes it"),
        )
    } else {
        finding(Check::DiskSpace, Level::Ok, detail, None)
    })
}

fn unasked(f: &Facts) -> Finding {
    if f.unasked.is_empty() {
        return finding(
            Check::Unasked,
            Level::Ok,
            "every GPU process is in a container that asked for GPUs, or on the host",
            None,
        );
    }
    let list: Vec<String> = f
        .unasked
        .iter()
        .map(|(n, g)| format!("{n} on GPU {}", g.iter().map(u32::to_string).collect::<Vec<_>>().join(",")))
        .collect();
    finding(
        Check::Unasked,
        Level::Warn,
        list.join(", "),
        Some(
            "these containers use GPUs they were not given (privileged, or devices mounted by hand): check with their owners",
        ),
    )
}

/// 0 when all is well, 1 with warnings, 2 with failures.
pub fn exit_code(findings: &[Finding]) -> u8 {
    match findings.iter().map(|f| f.level).max() {
        Some(Level::Fail) => 2,
        Some(Level::Warn) => 1,
        _ => 0,
    }
}
