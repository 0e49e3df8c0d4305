//! Reads the DGX fabric through NVML: each GPU's NVLinks and Fabric Manager state (slow
//! counters, every `health::SLOW_EVERY` samples) and the node's topology (once per open).
//!
//! NOT_SUPPORTED, INVALID_ARGUMENT on a link number and a symbol the library lacks all mean
//! "absent": the GPU gets `None` and nothing is logged above trace.

use std::collections::HashMap;
use std::time::Instant;

use nvml_wrapper::enum_wrappers::nv_link::ErrorCounter;
use nvml_wrapper::error::{NvmlError, nvml_try};
use nvml_wrapper::{Device, Nvml};
use nvml_wrapper_sys::bindings::{
    NVML_GPU_FABRIC_STATE_COMPLETED, NVML_GPU_FABRIC_STATE_IN_PROGRESS, NVML_GPU_FABRIC_STATE_NOT_STARTED,
    nvmlGpuFabricInfo_t, nvmlGpuFabricInfoV_t,
};

use super::fabric::{
    FabricState, GpuFabric, LinkCounter, LinkCounters, LinkPeer, MAX_LINKS, NvLink, NvLinks,
};
use super::nvml::{describe, field};
use super::topology::{GpuPlace, TopoLevel, Topology, cpu_list};

/// NVML_NVLINK_DEVICE_TYPE_SWITCH.
const REMOTE_SWITCH: u32 = 2;
/// CPU mask words asked for: 64 × 64 = 4096 CPUs.
const CPU_WORDS: usize = 64;

/// What one GPU's link reading remembers: the first counters (rates since start) and the last
/// (rising or not).
#[derive(Debug, Default)]
pub(super) struct LinkMemory {
    started: Option<Instant>,
    first: HashMap<u32, LinkCounters>,
    last: HashMap<u32, LinkCounters>,
}

/// Bus ID → GPU index, for naming a link's far end.
pub(super) type BusMap = HashMap<String, u32>;

/// The GPU's links; None when it reports none (PCIe GPUs).
pub(super) fn read_links(
    dev: &Device,
    index: u32,
    buses: &BusMap,
    memory: &mut LinkMemory,
) -> Option<NvLinks> {
    let mut links = Vec::new();
    for n in 0..MAX_LINKS {
        let link = dev.link_wrapper_for(n);
        let up = match link.is_active() {
            Ok(up) => up,
            Err(e) => {
                absent(index, n, &e);
                continue;
            }
        };
        let mut counters = LinkCounters::default();
        for c in LinkCounter::ALL {
            counters.set(c, field(index, "NVLink error counter", link.error_counter(nvml_counter(c))));
        }
        let peer = match link.remote_pci_info() {
            Ok(pci) => Some(match buses.get(&normal_bus(&pci.bus_id)) {
                Some(&gpu) => LinkPeer::Gpu(gpu),
                None if remote_type(dev, n) == Some(REMOTE_SWITCH) => LinkPeer::NvSwitch,
                // Driver text: printable ASCII only, bounded (a bus ID is 16 characters).
                None => LinkPeer::Other(pci.bus_id.chars().filter(char::is_ascii_graphic).take(32).collect()),
            }),
            Err(e) => {
                absent(index, n, &e);
                None
            }
        };
        let first = *memory.first.entry(n).or_insert(counters);
        let rising = memory.last.insert(n, counters).is_some_and(|last| {
            [LinkCounter::Replay, LinkCounter::CrcFlit, LinkCounter::CrcData]
                .into_iter()
                .any(|c| matches!((counters.get(c), last.get(c)), (Some(now), Some(then)) if now > then))
        });
        links.push(NvLink {
            link: n,
            up,
            version: field(index, "NVLink version", link.version()),
            peer,
            counters,
            since_start: counters.since(&first),
            rising,
        });
    }
    if links.is_empty() {
        return None;
    }
    let started = *memory.started.get_or_insert_with(Instant::now);
    Some(NvLinks { links, secs_since_start: started.elapsed().as_secs() })
}

fn absent(index: u32, link: u32, e: &NvmlError) {
    match e {
        NvmlError::NotSupported | NvmlError::InvalidArg | NvmlError::FailedToLoadSymbol(_) => {}
        _ => tracing::debug!(index, link, error = %e, "NVLink call failed"),
    }
}

fn nvml_counter(c: LinkCounter) -> ErrorCounter {
    match c {
        LinkCounter::Replay => ErrorCounter::DlReplay,
        LinkCounter::Recovery => ErrorCounter::DlRecovery,
        LinkCounter::CrcFlit => ErrorCounter::DlCrcFlit,
        LinkCounter::CrcData => ErrorCounter::DlCrcData,
    }
}

/// nvml-wrapper 0.13's `remote_device_type` writes into a temporary and always answers
/// Unknown, so the raw function is called.
fn remote_type(dev: &Device, link: u32) -> Option<u32> {
    let f = dev.nvml().lib().nvmlDeviceGetNvLinkRemoteDeviceType.as_ref().ok()?;
    let mut kind: u32 = u32::MAX;
    // SAFETY: the handle is live for `dev`'s lifetime; `kind` outlives the call.
    let rc = unsafe { f(dev.handle(), link, &mut kind) };
    nvml_try(rc).ok().map(|()| kind)
}

/// NVML writes bus IDs with an 8-digit domain and upper-case hex; other sources may not.
pub(super) fn normal_bus(id: &str) -> String {
    let id = id.trim().to_ascii_uppercase();
    match id.split_once(':') {
        Some((domain, rest)) if domain.len() < 8 && rest.contains(':') => format!("{domain:0>8}:{rest}"),
        _ => id,
    }
}

/// The GPU's Fabric Manager state; None when NVML answers NOT_SUPPORTED or lacks the calls
/// (nvml-wrapper 0.13 has no safe wrapper for them, so the raw functions are used).
pub(super) fn read_fabric(dev: &Device, index: u32) -> Option<GpuFabric> {
    let lib = dev.nvml().lib();
    let (state, status) = if let Ok(f) = lib.nvmlDeviceGetGpuFabricInfoV.as_ref() {
        // SAFETY: all-zero is a valid value of this plain C struct.
        let mut info: nvmlGpuFabricInfoV_t = unsafe { std::mem::zeroed() };
        // NVML_STRUCT_VERSION(GpuFabricInfo, 3)
        info.version = std::mem::size_of::<nvmlGpuFabricInfoV_t>() as u32 | (3 << 24);
        // SAFETY: the handle is live for `dev`'s lifetime; `info` outlives the call.
        match nvml_try(unsafe { f(dev.handle(), &mut info) }) {
            Ok(()) => (info.state, info.status),
            // A driver older than the v3 struct: the plain call below still answers.
            Err(NvmlError::Unknown) | Err(NvmlError::FailedToLoadSymbol(_)) => plain_fabric(dev, index)?,
            Err(e) => return fabric_error(index, &e),
        }
    } else {
        plain_fabric(dev, index)?
    };
    let state = match u32::from(state) {
        NVML_GPU_FABRIC_STATE_NOT_STARTED => FabricState::NotStarted,
        NVML_GPU_FABRIC_STATE_IN_PROGRESS => FabricState::InProgress,
        NVML_GPU_FABRIC_STATE_COMPLETED => FabricState::Completed,
        // NVML_GPU_FABRIC_STATE_NOT_SUPPORTED, or a state newer than this code.
        _ => return None,
    };
    let error = nvml_try(status).err().map(|e| describe(&e));
    Some(GpuFabric { state, error })
}

fn plain_fabric(dev: &Device, index: u32) -> Option<(u8, u32)> {
    let f = dev.nvml().lib().nvmlDeviceGetGpuFabricInfo.as_ref().ok()?;
    // SAFETY: all-zero is a valid value of this plain C struct.
    let mut info: nvmlGpuFabricInfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is live for `dev`'s lifetime; `info` outlives the call.
    match nvml_try(unsafe { f(dev.handle(), &mut info) }) {
        Ok(()) => Some((info.state, info.status)),
        Err(e) => fabric_error(index, &e),
    }
}

fn fabric_error<T>(index: u32, e: &NvmlError) -> Option<T> {
    if !matches!(e, NvmlError::NotSupported | NvmlError::FailedToLoadSymbol(_)) {
        tracing::debug!(index, error = %e, "fabric info failed");
    }
    None
}

/// The node's topology and each GPU's bus ID (the map that names link peers).
pub(super) fn read_topology(nvml: &Nvml, count: u32) -> (Topology, BusMap) {
    let mut topo = Topology::default();
    let mut buses = BusMap::new();
    let devices: Vec<(u32, Device)> =
        (0..count).filter_map(|i| nvml.device_by_index(i).ok().map(|d| (i, d))).collect();
    for (i, dev) in &devices {
        let bus_id = field(*i, "PCI info", dev.pci_info()).map(|p| normal_bus(&p.bus_id));
        if let Some(b) = &bus_id {
            buses.insert(b.clone(), *i);
        }
        // c_ulong is 64 bits on the 64-bit Linux targets NVML ships for.
        #[allow(clippy::unnecessary_cast)]
        let cpus = field(*i, "CPU affinity", dev.cpu_affinity(CPU_WORDS))
            .and_then(|w| cpu_list(&w.iter().map(|&x| x as u64).collect::<Vec<_>>()));
        topo.gpus.push(GpuPlace {
            index: *i,
            bus_id,
            cpus,
            numa: field(*i, "NUMA node", dev.numa_node_id()),
        });
    }
    let indices: Vec<u32> = devices.iter().map(|(i, _)| *i).collect();
    for (a, da) in &devices {
        for &b in indices.iter().filter(|&&b| b != *a) {
            // The call takes the other Device by value: a fresh handle for each pair.
            let Ok(other) = nvml.device_by_index(b) else { continue };
            if let Some(level) = field(*a, "topology", da.topology_common_ancestor(other)) {
                topo.levels.push((*a, b, level_of(level)));
            }
        }
    }
    (topo, buses)
}

fn level_of(l: nvml_wrapper::enum_wrappers::device::TopologyLevel) -> TopoLevel {
    use nvml_wrapper::enum_wrappers::device::TopologyLevel as L;
    match l {
        L::Internal => TopoLevel::Internal,
        L::Single => TopoLevel::Single,
        L::Multiple => TopoLevel::Multiple,
        L::HostBridge => TopoLevel::HostBridge,
        L::Node => TopoLevel::Node,
        L::System => TopoLevel::System,
    }
}

#[cfg(test)]
mod tests {
    use super::normal_bus;

    #[test]
    fn bus_ids_compare_in_nvml_form() {
        assert_eq!(normal_bus("0000:18:00.0"), "00000000:18:00.0");
        assert_eq!(normal_bus("00000000:a0:00.0"), "00000000:A0:00.0");
    }
}
