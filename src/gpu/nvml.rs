//! The NVML backend: opens the driver library and reads one snapshot of every GPU.
//!
//! NVML calls block (some take milliseconds), so this runs on the sampler's own thread, never
//! on the async runtime. Each field is read on its own: a GPU that refuses fan speed
//! (datacenter parts) or per-process utilisation still reports everything else.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};

use std::time::Duration;

use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{Device, Nvml};

use super::health;
use super::mig;
use super::model::{GpuHealth, GpuProcess, GpuSample, GpuSnapshot, ProcessKind, cuda_version_string};
use super::putil::{ProcessUtilization, Reading};

/// The library names tried when none is given, in order.
pub const DEFAULT_LIBS: [&str; 2] = ["libnvidia-ml.so.1", "libnvidia-ml.so"];

#[derive(Debug, thiserror::Error)]
pub enum NvmlOpenError {
    #[error("{0} not found — no NVIDIA driver on this host?")]
    NotFound(String),
    #[error("{lib}: {message}")]
    Init { lib: String, message: String },
}

use super::identity::Identities;

/// Per-GPU state kept between samples.
#[derive(Default)]
struct DeviceState {
    utilization: ProcessUtilization,
    health: Option<GpuHealth>,
    /// Name and UUID do not change while the library is open (a replaced GPU means a driver
    /// reload, which ends the session): read once, not every second.
    identity: Option<(String, String)>,
    /// NVLink counters seen before, and the last slow reading of links and fabric.
    links: super::nvlink::LinkMemory,
    nvlink: Option<super::fabric::NvLinks>,
    fabric: Option<super::fabric::GpuFabric>,
    fabric_at: Option<std::time::Instant>,
    /// The last MIG reading (None inside: no MIG) and power limit, once read. Both change
    /// only when an admin acts (MIG mode needs a GPU reset): with MIG off they are read with
    /// the slow counters, not every second; with MIG on, the instances every sample.
    mig: Option<Option<super::model::MigState>>,
    power_limit: Option<Option<u32>>,
}

/// The longest a fabric reading is kept: the exporter samples on the scrape beat (15 s and
/// more), where every 10th sample would leave a Fabric Manager failure unseen for minutes.
const FABRIC_EVERY: Duration = Duration::from_secs(10);

pub struct NvmlBackend {
    /// nvml-wrapper's Drop calls nvmlShutdown with `expect`, which panics when a partial
    /// library lacks the symbol; so drop is done by hand (see `Drop`).
    nvml: ManuallyDrop<Nvml>,
    pub lib: String,
    identities: Identities,
    /// CPU, RSS, age and command line of GPU processes, from /proc.
    hosts: super::hostproc::HostProcs,
    devices: HashMap<u32, DeviceState>,
    /// Samples taken: the slow health counters are read every `health::SLOW_EVERY`.
    samples: u64,
    /// Time between samples: how far back the first per-process utilisation call looks.
    pub interval: Duration,
    /// Read once per open: the topology only changes with the hardware.
    topology: Option<(super::topology::Topology, super::nvlink::BusMap)>,
    /// Driver and CUDA versions: they change only with a driver reload, which ends the session.
    versions: Option<(Option<String>, Option<String>)>,
}

/// Loads `lib` (or the default names in turn) and initialises NVML: the handle and the name
/// that worked.
pub fn open_library(lib: Option<&Path>) -> Result<(Nvml, String), NvmlOpenError> {
    let candidates: Vec<String> = match lib {
        Some(p) => vec![p.to_string_lossy().into_owned()],
        None => DEFAULT_LIBS.iter().map(|s| s.to_string()).collect(),
    };
    let mut last = NvmlOpenError::NotFound(candidates[0].clone());
    for name in &candidates {
        match Nvml::builder().lib_path(OsStr::new(name)).init() {
            Ok(nvml) => return Ok((nvml, name.clone())),
            Err(NvmlError::LibloadingError(e)) => {
                tracing::debug!(lib = %name, error = %e, "cannot load NVML");
                // Keep the first name in the message: it is the one users recognise.
                if lib.is_some() {
                    // The loader's message already starts with the path.
                    let text = e.to_string();
                    let message = text.strip_prefix(&format!("{name}: ")).unwrap_or(&text).to_string();
                    last = NvmlOpenError::Init { lib: name.clone(), message };
                }
            }
            Err(e) => return Err(NvmlOpenError::Init { lib: name.clone(), message: describe(&e) }),
        }
    }
    Err(last)
}

/// Shuts NVML down without the wrapper's panicking Drop when the library lacks nvmlShutdown.
pub fn release(nvml: Nvml) {
    if nvml.lib().nvmlShutdown.is_ok() {
        if let Err(e) = nvml.shutdown() {
            tracing::debug!(error = %e, "nvmlShutdown failed");
        }
    } else {
        // Without the symbol, dropping would panic: leak the handle instead.
        std::mem::forget(nvml);
    }
}

impl NvmlBackend {
    /// Opens `lib`, or the default names in turn.
    pub fn open(lib: Option<&Path>) -> Result<NvmlBackend, NvmlOpenError> {
        let (nvml, lib) = open_library(lib)?;
        Ok(NvmlBackend {
            nvml: ManuallyDrop::new(nvml),
            lib,
            identities: Identities::new(PathBuf::from("/proc")),
            hosts: super::hostproc::HostProcs::new(PathBuf::from("/proc")),
            devices: HashMap::new(),
            samples: 0,
            interval: Duration::from_secs(1),
            topology: None,
            versions: None,
        })
    }

    pub fn sample(&mut self, at: i64) -> Result<GpuSnapshot, NvmlError> {
        let count = self.nvml.device_count()?;
        let slow = self.samples.is_multiple_of(health::SLOW_EVERY);
        self.samples += 1;
        let mut gpus = Vec::with_capacity(count as usize);
        let mut live_pids = std::collections::HashSet::new();
        self.devices.retain(|i, _| *i < count);
        let (topology, buses) =
            self.topology.get_or_insert_with(|| super::nvlink::read_topology(&self.nvml, count));
        for index in 0..count {
            let state = self.devices.entry(index).or_default();
            let sample = match self.nvml.device_by_index(index) {
                Ok(dev) => {
                    let mut s = read_device(&dev, index, state, slow, self.interval);
                    read_fabric(&dev, index, state, slow, buses, &mut s);
                    s
                }
                Err(e) => {
                    // A GPU that fell off the bus still gets a row, so the user sees it is gone.
                    tracing::warn!(index, error = %e, "cannot open GPU");
                    GpuSample {
                        index,
                        name: "unavailable".into(),
                        lost: Some(describe(&e)),
                        ..Default::default()
                    }
                }
            };
            live_pids.extend(sample.processes.iter().map(|p| p.pid));
            gpus.push(sample);
        }
        self.identities.keep(&live_pids);
        let hosts = self.hosts.sample(&live_pids, std::time::Instant::now());
        for gpu in &mut gpus {
            for p in &mut gpu.processes {
                // One /proc/<pid>/stat reading serves both: the host figures carry the start time.
                p.host = hosts.get(&p.pid).cloned();
                let id = self.identities.get_started(p.pid, p.host.as_ref().map(|h| h.start_time));
                p.container_id = id.container_id.clone();
                p.command = id.command.clone();
                p.user = id.user.clone();
                p.presence = id.presence;
            }
        }
        let nvml = &self.nvml;
        let (driver_version, cuda_version) = self
            .versions
            .get_or_insert_with(|| {
                (nvml.sys_driver_version().ok(), nvml.sys_cuda_driver_version().ok().map(cuda_version_string))
            })
            .clone();
        Ok(GpuSnapshot {
            at,
            driver_version,
            cuda_version,
            gpus,
            topology: super::topology::known(Some(topology), &[]).then(|| topology.clone()),
        })
    }
}

/// Links and fabric are slow counters: read with the health counters, kept in between.
fn read_fabric(
    dev: &Device,
    index: u32,
    state: &mut DeviceState,
    slow: bool,
    buses: &super::nvlink::BusMap,
    sample: &mut GpuSample,
) {
    if slow || state.fabric_at.is_none_or(|t| t.elapsed() >= FABRIC_EVERY) {
        state.fabric_at = Some(std::time::Instant::now());
        state.nvlink = super::nvlink::read_links(dev, index, buses, &mut state.links);
        state.fabric = super::nvlink::read_fabric(dev, index);
    }
    sample.nvlink = state.nvlink.clone();
    sample.fabric = state.fabric.clone();
}

impl Drop for NvmlBackend {
    fn drop(&mut self) {
        // SAFETY: `nvml` is not used after this point.
        release(unsafe { ManuallyDrop::take(&mut self.nvml) });
    }
}

fn read_device(
    dev: &Device,
    index: u32,
    state: &mut DeviceState,
    slow: bool,
    interval: Duration,
) -> GpuSample {
    let mem = dev.memory_info();
    // GPU_IS_LOST: fallen off the bus.
    let lost = matches!(mem, Err(NvmlError::GpuLost)).then(|| "the driver cannot reach it".to_string());
    let mem = field(index, "memory", mem);
    let mig = match &state.mig {
        Some(m) if !slow && !m.as_ref().is_some_and(|m| m.enabled) => m.clone(),
        _ => mig::read(dev, index),
    };
    state.mig = Some(mig.clone());
    let mig_on = mig.as_ref().is_some_and(|m| m.enabled);
    // With MIG on, device utilisation is not supported: asking only logs noise.
    let util = if mig_on { None } else { field(index, "utilization", dev.utilization_rates()) };
    let mut processes = Vec::new();
    for (kind, list) in [
        (ProcessKind::Compute, field(index, "compute processes", dev.running_compute_processes())),
        (ProcessKind::Graphics, field(index, "graphics processes", dev.running_graphics_processes())),
    ] {
        for p in list.unwrap_or_default() {
            // A process that is both compute and graphics is listed once.
            if processes.iter().any(|q: &GpuProcess| q.pid == p.pid) {
                continue;
            }
            processes.push(GpuProcess {
                pid: p.pid,
                kind,
                memory_used: match p.used_gpu_memory {
                    UsedGpuMemory::Used(b) => Some(b),
                    UsedGpuMemory::Unavailable => None,
                },
                gpu_instance: p.gpu_instance_id,
                compute_instance: p.compute_instance_id,
                ..Default::default()
            });
        }
    }
    if mig_on {
        state.utilization.apply(Reading::Unsupported, 0, &mut processes);
    } else {
        let since = state.utilization.since(unix_micros(), interval);
        match ProcessUtilization::reading(dev.process_utilization_stats(since)) {
            Ok(r) => state.utilization.apply(r, since, &mut processes),
            // Left unknown: an error is not "idle".
            Err(e) => log_unsupported(index, "process utilization", &e),
        }
    }
    let health = health::read(dev, index, state.health.as_ref(), slow);
    let power_limit = match state.power_limit {
        Some(l) if !slow => l,
        _ => field(index, "power limit", dev.enforced_power_limit()),
    };
    state.power_limit = Some(power_limit);
    state.health = Some(health.clone());
    let (name, uuid) = state
        .identity
        .get_or_insert_with(|| {
            let name = field(index, "name", dev.name()).unwrap_or_else(|| format!("GPU {index}"));
            (name, field(index, "uuid", dev.uuid()).unwrap_or_default())
        })
        .clone();
    GpuSample {
        index,
        name,
        uuid,
        memory_used: mem.as_ref().map(|m| m.used),
        memory_total: mem.as_ref().map(|m| m.total),
        util_gpu: util.as_ref().map(|u| u.gpu),
        util_memory: util.as_ref().map(|u| u.memory),
        temperature_c: field(index, "temperature", dev.temperature(TemperatureSensor::Gpu)),
        power_watts: field(index, "power", dev.power_usage()).map(|mw| f64::from(mw) / 1000.0),
        power_limit_watts: power_limit.map(|mw| f64::from(mw) / 1000.0),
        sm_clock_mhz: field(index, "SM clock", dev.clock_info(Clock::SM)),
        mem_clock_mhz: field(index, "memory clock", dev.clock_info(Clock::Memory)),
        fan_percent: field(index, "fan", dev.fan_speed(0)),
        processes,
        health,
        mig,
        lost,
        ..Default::default()
    }
}

/// NVML's sample timestamps are wall-clock microseconds.
fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A field the GPU refuses is None ("n/a" on screen), never an error for the whole GPU.
pub(super) fn field<T>(index: u32, what: &str, r: Result<T, NvmlError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            log_unsupported(index, what, &e);
            None
        }
    }
}

fn log_unsupported(index: u32, what: &str, e: &NvmlError) {
    match e {
        // A GPU without fans answers fan speed with INVALID_ARGUMENT (seen on an H200, driver
        // 580): as unsupported as NOT_SUPPORTED, and logged as quietly.
        NvmlError::NotSupported | NvmlError::FailedToLoadSymbol(_) | NvmlError::InvalidArg => {
            tracing::trace!(index, what, error = %e, "not available")
        }
        _ => tracing::debug!(index, what, error = %e, "NVML call failed"),
    }
}

pub fn describe(e: &NvmlError) -> String {
    match e {
        NvmlError::DriverNotLoaded => "the NVIDIA kernel driver is not loaded".into(),
        NvmlError::NoPermission => "no permission to talk to the NVIDIA driver".into(),
        NvmlError::FailedToLoadSymbol(s) => format!("the library lacks {s}"),
        other => other.to_string(),
    }
}
