//! Typed facts about this node, read once for whoever reports on it: `snapshot` writes its JSON
//! and text from them, `doctor` judges them (and the dashboard's help, through `app::node`).
//! Neither reads the other's display strings. Engine layer: it sees no app, no UI.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use crate::clock::unix_now;
use crate::docker::lister::Lister;
use crate::docker::owner::OwnerRules;
use crate::docker::stats::StatsSampler;
use crate::docker::{Container, ContainerId, ContainerStats, DockerHost, EngineError};
use crate::gpu::GpuSnapshot;
use crate::gpu::kernel_xid::{self, KernelLog};
use crate::gpu::model::usage_by_container;
use crate::gpu::nvml::NvmlBackend;

/// CPU % and per-process SM % need two readings; this far apart.
pub const WINDOW: Duration = Duration::from_millis(500);

/// The programs of the NVIDIA Container Toolkit that dockerd or the user runs.
const TOOLKIT: [&str; 2] = ["nvidia-container-runtime", "nvidia-ctk"];
const DEFAULT_CDI_DIRS: [&str; 2] = ["/etc/cdi", "/var/run/cdi"];
pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";

/// What NVML said: a sample of every GPU, or why there is none.
#[derive(Debug, Clone)]
pub enum Nvml {
    Up {
        library: String,
        snapshot: GpuSnapshot,
    },
    /// The library opened but the sample failed.
    Failed {
        library: String,
        reason: String,
    },
    /// No driver library, or it would not initialise.
    Unavailable(String),
    /// The engine is another machine's: this machine's GPUs say nothing about its containers.
    Remote {
        host: String,
    },
}

/// What the engine said: its version and containers with their figures, or why not.
#[derive(Debug, Clone)]
pub struct Engine {
    pub host: String,
    /// Server and API version, once the engine answered.
    pub version: Option<(Option<String>, Option<String>)>,
    pub error: Option<EngineError>,
    pub containers: Vec<Container>,
    pub stats: HashMap<ContainerId, ContainerStats>,
}

#[derive(Debug, Clone)]
pub struct Probe {
    pub nvml: Nvml,
    pub engine: Engine,
    /// This boot's kernel log, for XIDs from before this run; None for a remote engine's node.
    pub kernel: Option<KernelLog>,
}

impl Probe {
    /// Each GPU's index and NVML bus ID, where the sample has them: how a kernel log line,
    /// which names a bus, finds its GPU.
    pub fn gpu_buses(&self) -> Vec<(u32, &str)> {
        let Nvml::Up { snapshot, .. } = &self.nvml else { return Vec::new() };
        let places = snapshot.topology.iter().flat_map(|t| &t.gpus);
        places.filter_map(|p| Some((p.index, p.bus_id.as_deref()?))).collect()
    }

    /// The XID codes the kernel log holds for each GPU this boot (empty where it holds none or
    /// could not be read): a one-shot run's only view of XIDs from before it.
    pub fn kernel_xids(&self) -> HashMap<u32, Vec<u64>> {
        let Some(KernelLog::Read { xids, .. }) = &self.kernel else { return HashMap::new() };
        let buses = self.gpu_buses();
        let mut out: HashMap<u32, Vec<u64>> = HashMap::new();
        for x in xids {
            if let Some(i) = kernel_xid::gpu_at(&x.bus, buses.iter().copied()) {
                out.entry(i).or_default().push(x.code);
            }
        }
        out
    }

    /// Running containers with processes on GPUs they did not ask for: (name, GPU indices).
    pub fn unasked(&self) -> Vec<(String, Vec<u32>)> {
        let Nvml::Up { snapshot, .. } = &self.nvml else { return Vec::new() };
        let usage = usage_by_container(&snapshot.gpus);
        self.engine
            .containers
            .iter()
            .filter(|c| c.gpus.is_none() && c.state.is_running())
            .filter_map(|c| {
                let used = &usage.get(&c.id)?.gpus;
                (!used.is_empty()).then(|| (c.name.clone(), used.clone()))
            })
            .collect()
    }
}

/// One sample of the driver and the engine, side by side.
/// `owner_labels`: as in the config (`docker::owner`).
pub async fn collect(host: &DockerHost, lib: Option<&Path>, owner_labels: &[String]) -> Probe {
    if !host.is_local() {
        return Probe {
            nvml: Nvml::Remote { host: host.to_string() },
            engine: engine(host, owner_labels).await,
            kernel: None,
        };
    }
    let lib_owned = lib.map(Path::to_path_buf);
    let gpu = tokio::task::spawn_blocking(move || nvml(lib_owned.as_deref()));
    let (engine, kernel) = tokio::join!(engine(host, owner_labels), kernel_xid::read());
    let nvml = gpu.await.unwrap_or_else(|e| Nvml::Unavailable(format!("NVML sampler failed: {e}")));
    Probe { nvml, engine, kernel: Some(kernel) }
}

async fn engine(host: &DockerHost, owner_labels: &[String]) -> Engine {
    let mut out = Engine {
        host: host.to_string(),
        version: None,
        error: None,
        containers: Vec::new(),
        stats: HashMap::new(),
    };
    let docker = match crate::docker::connect(host).await {
        Ok(d) => d,
        Err(e) => return Engine { error: Some(e), ..out },
    };
    match docker.version().await {
        Ok(v) => out.version = Some((v.version, v.api_version)),
        Err(e) => return Engine { error: Some(e.into()), ..out },
    }
    let owners = OwnerRules::new(owner_labels.to_vec(), host.is_local());
    let mut lister = Lister::for_host(host).with_owners(owners);
    out.containers = match lister.refresh(&docker).await {
        Ok(c) => c,
        Err(e) => return Engine { error: Some(e), ..out },
    };
    let mut sampler = StatsSampler::for_host(host);
    sampler.sample(&docker, &out.containers).await;
    tokio::time::sleep(WINDOW).await;
    out.stats = sampler.sample(&docker, &out.containers).await;
    out
}

/// Blocking: run it off any async runtime's threads.
fn nvml(lib: Option<&Path>) -> Nvml {
    let mut backend = match NvmlBackend::open(lib) {
        Ok(b) => b,
        Err(e) => return Nvml::Unavailable(format!("NVML not available: {e}")),
    };
    let library = backend.lib.clone();
    // Per-process SM % needs a window: the first sample only opens it.
    backend.interval = WINDOW;
    if let Err(e) = backend.sample(unix_now()) {
        tracing::debug!(error = %crate::gpu::nvml::describe(&e), "first GPU sample failed");
    }
    std::thread::sleep(WINDOW);
    match backend.sample(unix_now()) {
        Ok(snapshot) => Nvml::Up { library, snapshot },
        Err(e) => Nvml::Failed { library, reason: format!("NVML error: {}", crate::gpu::nvml::describe(&e)) },
    }
}

/// What `/etc/docker/daemon.json` says, as far as GPUs go.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct DaemonJson {
    #[serde(default)]
    pub runtimes: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(rename = "default-runtime")]
    pub default_runtime: Option<String>,
}

/// What the checks read from this machine's files and PATH: about the engine only when the
/// engine runs here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostFiles {
    pub daemon_json: (String, Option<Result<DaemonJson, String>>),
    pub toolkit: Vec<(&'static str, Option<String>)>,
    pub cdi_specs: Vec<String>,
}

/// Blocking file reads: run it off the render loop.
pub fn host_files(daemon_json: &Path, cdi_dirs: &[String]) -> HostFiles {
    HostFiles {
        daemon_json: (daemon_json.display().to_string(), read_daemon_json(daemon_json)),
        toolkit: TOOLKIT.iter().map(|t| (*t, on_path(t))).collect(),
        cdi_specs: cdi_specs(cdi_dirs),
    }
}

/// The CDI spec dirs the engine reports, else the toolkit's defaults.
pub fn cdi_dirs(info: Option<&crate::docker::EngineInfo>) -> Vec<String> {
    match info {
        Some(info) if !info.cdi_spec_dirs.is_empty() => info.cdi_spec_dirs.clone(),
        _ => DEFAULT_CDI_DIRS.iter().map(|d| d.to_string()).collect(),
    }
}

/// Most bytes of daemon.json read: it is a few hundred; anything far larger is not one.
const DAEMON_JSON_MAX: u64 = 1 << 20;

fn read_daemon_json(path: &Path) -> Option<Result<DaemonJson, String>> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(e.to_string())),
    };
    let mut text = String::new();
    if let Err(e) = file.take(DAEMON_JSON_MAX).read_to_string(&mut text) {
        return Some(Err(e.to_string()));
    }
    Some(serde_json::from_str(&text).map_err(|e| e.to_string()))
}

fn on_path(program: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

/// Spec files in the CDI dirs that describe NVIDIA GPUs.
fn cdi_specs(dirs: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            let spec = p.extension().is_some_and(|x| x == "yaml" || x == "json");
            if spec && std::fs::read_to_string(&p).is_ok_and(|t| t.contains("nvidia.com/gpu")) {
                out.push(p.display().to_string());
            }
        }
    }
    out.sort();
    out
}
