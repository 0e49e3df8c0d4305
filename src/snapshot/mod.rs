//! `gpudock snapshot`: one sample of every GPU and container, printed as JSON or a plain table.
//! It always exits 0 with a document: what is unavailable says so in the document.

mod fabric;
mod health;
mod text;
mod xids;

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;

use crate::docker::{Container, ContainerId, ContainerStats, DockerHost};
use crate::gpu::model::Presence;
use crate::gpu::model::usage_by_container;
use crate::gpu::state::{State, assess};
use crate::gpu::{GpuSnapshot, ProcessKind};
use crate::probe::{self, Nvml};

#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub timestamp: String,
    pub host: String,
    pub nvml: NvmlStatus,
    pub docker: DockerStatus,
    pub gpus: Vec<GpuDoc>,
    pub containers: Vec<ContainerDoc>,
    /// How the GPUs reach each other; null where NVML reports no topology.
    pub topology: Option<fabric::TopologyDoc>,
    /// XIDs from before this run (this boot's kernel log) or why they are unknown; null for a
    /// remote engine (its node's kernel log is not this machine's).
    pub xids: Option<xids::XidsDoc>,
}

#[derive(Debug, Default, Serialize)]
pub struct NvmlStatus {
    pub available: bool,
    pub library: Option<String>,
    pub driver_version: Option<String>,
    pub cuda_driver_version: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DockerStatus {
    pub connected: bool,
    pub host: String,
    pub server_version: Option<String>,
    pub api_version: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct GpuDoc {
    pub index: u32,
    pub name: String,
    pub uuid: String,
    pub memory_used_bytes: Option<u64>,
    pub memory_total_bytes: Option<u64>,
    pub utilization_gpu_percent: Option<u32>,
    pub utilization_memory_percent: Option<u32>,
    pub temperature_c: Option<u32>,
    pub power_watts: Option<f64>,
    pub power_limit_watts: Option<f64>,
    pub sm_clock_mhz: Option<u32>,
    pub memory_clock_mhz: Option<u32>,
    pub fan_percent: Option<u32>,
    /// Why the GPU is lost (the driver cannot reach it); null when it is fine.
    pub lost: Option<String>,
    /// free, held, busy or broken: the same meaning as the dashboard, `export` and the fleet.
    pub state: State,
    /// Why it is broken, in words (empty unless broken).
    pub faults: Vec<String>,
    /// Problems that do not break it (throttling, a PCIe link below its maximum).
    pub warnings: Vec<String>,
    pub health: health::HealthDoc,
    /// Null when the GPU does not support MIG.
    pub mig: Option<health::MigDoc>,
    /// NVLinks; null on GPUs without any (PCIe parts).
    pub nvlink: Option<fabric::NvlinkDoc>,
    /// Fabric Manager state and the GPU's fabric problems; null where NVML does not report it.
    pub fabric: Option<fabric::FabricDoc>,
    pub processes: Vec<ProcessDoc>,
}

#[derive(Debug, Serialize)]
pub struct ProcessDoc {
    pub pid: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub memory_used_bytes: Option<u64>,
    pub sm_percent: Option<u32>,
    pub container_id: Option<String>,
    pub container_name: Option<String>,
    pub command: Option<String>,
    pub user: Option<String>,
    /// `here`; `exited` (/proc showed it and no longer does); `not_visible` (/proc never showed
    /// it while NVML reports it holding memory: alive in another PID namespace).
    pub presence: Presence,
    /// Host figures from /proc (null where /proc does not show the process): CPU over the
    /// snapshot's half-second window (100 = one core), resident memory, age, command line.
    pub cpu_percent: Option<f64>,
    pub rss_bytes: Option<u64>,
    pub elapsed_seconds: Option<u64>,
    pub command_line: Option<String>,
    /// MIG instance the process runs in; null outside MIG.
    pub gpu_instance_id: Option<u32>,
    pub compute_instance_id: Option<u32>,
    /// Seconds it has held GPU memory at 0 % SM. Idleness needs watching over time, so a
    /// one-shot snapshot leaves it null; `gpudock export` and the dashboard know it.
    pub idle_seconds: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct ContainerDoc {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: String,
    pub gpu_request: Option<String>,
    /// As the dashboard's GPUS column shows it: the request, or GPUs used without one ("1*").
    pub gpus: Option<String>,
    /// GPUs given or used, ascending; null when the GPU list is unknown.
    pub gpu_indices: Option<Vec<u32>>,
    pub gpu_memory_used_bytes: u64,
    /// The mean over the GPUs it runs on, as the dashboard's SM% (never above 100).
    pub gpu_sm_percent: Option<u32>,
    pub cpu_percent: Option<f64>,
    pub memory_used_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
    /// Whose it is (null when unknown); `owner_source` says how that is known: `label`,
    /// `owner_label:<key>`, `home_mount` (a guess), `user`, `unknown`.
    pub owner: Option<String>,
    pub owner_source: String,
}

struct DockerPart {
    status: DockerStatus,
    containers: Vec<Container>,
    stats: HashMap<ContainerId, ContainerStats>,
}

/// `owner_labels`: as in the config, so owners read as the dashboard shows them.
pub async fn collect(host: &DockerHost, lib: Option<&Path>, owner_labels: &[String]) -> Snapshot {
    let probe = probe::collect(host, lib, owner_labels).await;
    let past = Past {
        codes: probe.kernel_xids(),
        doc: probe.kernel.as_ref().map(|k| xids::doc(k, &probe.gpu_buses())),
    };
    let probe::Probe { nvml, engine, .. } = probe;
    let docker = DockerPart {
        status: DockerStatus {
            connected: engine.version.is_some(),
            host: engine.host,
            server_version: engine.version.as_ref().and_then(|v| v.0.clone()),
            api_version: engine.version.as_ref().and_then(|v| v.1.clone()),
            error: engine.error.map(|e| e.to_string()),
        },
        containers: engine.containers,
        stats: engine.stats,
    };
    let (status, snap) = match nvml {
        Nvml::Up { library, snapshot } => {
            let status = NvmlStatus {
                available: true,
                library: Some(library),
                driver_version: snapshot.driver_version.clone(),
                cuda_driver_version: snapshot.cuda_version.clone(),
                error: None,
            };
            (status, Some(snapshot))
        }
        Nvml::Failed { library, reason } => {
            (NvmlStatus { library: Some(library), error: Some(reason), ..Default::default() }, None)
        }
        Nvml::Unavailable(reason) => (NvmlStatus { error: Some(reason), ..Default::default() }, None),
        // This host's GPUs are not the remote engine's: attributing them would be wrong.
        Nvml::Remote { host } => {
            let error = format!("GPUs are shown for local engines only: {host} is another machine");
            (NvmlStatus { error: Some(error), ..Default::default() }, None)
        }
    };
    assemble(status, docker, snap, past)
}

/// What is known of XIDs from before this run: the codes per GPU index, and the document.
#[derive(Default)]
struct Past {
    codes: HashMap<u32, Vec<u64>>,
    doc: Option<xids::XidsDoc>,
}

fn assemble(nvml: NvmlStatus, mut docker: DockerPart, snap: Option<GpuSnapshot>, past: Past) -> Snapshot {
    let (samples, topo) = snap.map(|s| (s.gpus, s.topology)).unwrap_or_default();
    let usage = usage_by_container(&samples);
    // The dashboard's order (its default sort: state, then name), so both read alike.
    let metrics = crate::app::table::Metrics { stats: &docker.stats, gpu: &usage };
    crate::app::table::dashboard_order(&mut docker.containers, crate::config::SortKey::default(), &metrics);
    let names: HashMap<&str, &str> =
        docker.containers.iter().map(|c| (c.id.as_str(), c.name.as_str())).collect();
    let ids = crate::gpu::model::gpu_ids(&samples);
    let containers = docker
        .containers
        .iter()
        .map(|c| {
            // Only a running container uses a GPU, whatever stale process NVML still lists.
            let u = usage.get(&c.id).filter(|_| c.state.is_running());
            let s = docker.stats.get(&c.id);
            ContainerDoc {
                id: c.id.to_string(),
                name: c.name.clone(),
                image: c.image.clone(),
                state: c.state.as_str().to_string(),
                gpu_request: (!c.gpus.is_none()).then(|| c.gpus.to_string()),
                gpus: c.gpus.label(u.map_or(&[], |u| u.gpus.as_slice())),
                gpu_indices: c.gpus.indices(&ids).map(|mut given| {
                    given.extend(u.map_or(&[][..], |u| u.gpus.as_slice()));
                    given.sort_unstable();
                    given.dedup();
                    given
                }),
                gpu_memory_used_bytes: u.map(|u| u.memory_used).unwrap_or(0),
                gpu_sm_percent: u.and_then(|u| u.sm_percent),
                cpu_percent: s.and_then(|s| s.cpu_percent).map(|p| (p * 10.0).round() / 10.0),
                memory_used_bytes: s.and_then(|s| s.mem_used),
                memory_limit_bytes: s.and_then(|s| s.mem_limit),
                owner: c.owner.name.clone(),
                owner_source: c.owner.source.as_str().into_owned(),
            }
        })
        .collect();
    let gpus = samples
        .iter()
        .map(|g| (g, assess(g, past.codes.get(&g.index).into_iter().flatten().copied())))
        .map(|(g, a)| GpuDoc {
            index: g.index,
            name: g.name.clone(),
            uuid: g.uuid.clone(),
            memory_used_bytes: g.memory_used,
            memory_total_bytes: g.memory_total,
            utilization_gpu_percent: g.util_gpu,
            utilization_memory_percent: g.util_memory,
            temperature_c: g.temperature_c,
            power_watts: g.power_watts,
            power_limit_watts: g.power_limit_watts,
            sm_clock_mhz: g.sm_clock_mhz,
            memory_clock_mhz: g.mem_clock_mhz,
            fan_percent: g.fan_percent,
            lost: g.lost.clone(),
            state: a.state,
            faults: a.faults(),
            warnings: a.warnings(),
            health: (&g.health).into(),
            mig: g.mig.as_ref().map(Into::into),
            nvlink: g.nvlink.as_ref().map(fabric::nvlink),
            fabric: fabric::fabric(g, &samples),
            processes: g
                .processes
                .iter()
                .map(|p| ProcessDoc {
                    pid: p.pid,
                    kind: match p.kind {
                        ProcessKind::Compute => "compute",
                        ProcessKind::Graphics => "graphics",
                    },
                    memory_used_bytes: p.memory_used,
                    sm_percent: p.sm_percent,
                    container_id: p.container_id.as_ref().map(ToString::to_string),
                    container_name: p
                        .container_id
                        .as_deref()
                        .and_then(|id| names.get(id))
                        .map(|n| n.to_string()),
                    command: p.command.clone(),
                    user: p.user.clone(),
                    presence: p.presence,
                    cpu_percent: p
                        .host
                        .as_ref()
                        .and_then(|h| h.cpu_percent)
                        .map(|c| (c * 10.0).round() / 10.0),
                    rss_bytes: p.host.as_ref().and_then(|h| h.rss_bytes),
                    elapsed_seconds: p.host.as_ref().and_then(|h| h.elapsed_secs),
                    command_line: p.host.as_ref().and_then(|h| h.cmdline.clone()),
                    gpu_instance_id: p.gpu_instance,
                    compute_instance_id: p.compute_instance,
                    idle_seconds: None,
                })
                .collect(),
        })
        .collect();
    Snapshot {
        timestamp: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        host: hostname(),
        nvml,
        docker: docker.status,
        topology: fabric::topology(topo.as_ref(), &samples),
        gpus,
        containers,
        xids: past.doc,
    }
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

pub async fn print(
    host: &DockerHost,
    lib: Option<&Path>,
    json: bool,
    owner_labels: &[String],
) -> anyhow::Result<()> {
    use std::io::Write;
    let snap = collect(host, lib, owner_labels).await;
    // Names, commands and errors come from other users: nothing in them may reach the
    // terminal as a control sequence.
    let text = if json {
        crate::sanitize::json(&serde_json::to_string_pretty(&snap)?).into_owned() + "\n"
    } else {
        crate::sanitize::lines(&text::table(&snap)).into_owned()
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // `gpudock snapshot | head` closing the pipe early is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::ContainerState;
    use crate::docker::gpus::GpuRequest;

    fn container(n: u8, name: &str, state: ContainerState) -> Container {
        Container {
            id: ContainerId::new(format!("{n:x}").repeat(64)),
            name: name.into(),
            image: "img".into(),
            state,
            created: 0,
            started_at: None,
            finished_at: None,
            exit_code: None,
            health: None,
            pid: None,
            gpus: GpuRequest::None,
            launched_by: None,
            owner: Default::default(),
            pending: false,
            published: Vec::new(),
            host_network: false,
        }
    }

    #[test]
    fn containers_are_listed_in_the_dashboards_order() {
        let docker = DockerPart {
            status: DockerStatus {
                connected: true,
                host: "unix:///x".into(),
                server_version: None,
                api_version: None,
                error: None,
            },
            containers: vec![
                container(1, "zeta", ContainerState::Exited),
                container(2, "beta", ContainerState::Running),
                container(3, "alpha", ContainerState::Exited),
                container(4, "gamma", ContainerState::Running),
            ],
            stats: HashMap::new(),
        };
        let snap = assemble(NvmlStatus::default(), docker, None, Past::default());
        let names: Vec<&str> = snap.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["beta", "gamma", "alpha", "zeta"], "running first, then by name, as on screen");
    }
}
