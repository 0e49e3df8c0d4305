//! The DGX fabric in `snapshot --json`: `nvlink` and `fabric` per GPU, `topology` per node.
//! Null where NVML answers NOT_SUPPORTED. Problems are `gpu::fabric`'s, in its words.

use serde::Serialize;

use crate::gpu::GpuSample;
use crate::gpu::fabric::{self, LinkCounter, LinkPeer, NvLinks, Severity};
use crate::gpu::topology::{self, Topology};

#[derive(Debug, Serialize)]
pub struct NvlinkDoc {
    pub links_up: usize,
    pub links_present: usize,
    pub version: Option<u32>,
    pub links: Vec<LinkDoc>,
}

#[derive(Debug, Serialize)]
pub struct LinkDoc {
    pub link: u32,
    pub up: bool,
    pub version: Option<u32>,
    /// `GPU <index>`, `NVSwitch`, a PCI bus ID, or null.
    pub peer: Option<String>,
    pub peer_gpu: Option<u32>,
    pub replay_errors: Option<u64>,
    pub recovery_errors: Option<u64>,
    pub crc_flit_errors: Option<u64>,
    pub crc_data_errors: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct FabricDoc {
    /// `not_started`, `in_progress`, `completed`.
    pub state: &'static str,
    /// Null when NVML said success.
    pub error: Option<String>,
    pub ready: bool,
    /// Every fabric problem of this GPU: `{severity: warning|broken, reason}`.
    pub problems: Vec<ProblemDoc>,
}

#[derive(Debug, Serialize)]
pub struct ProblemDoc {
    pub severity: &'static str,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct TopologyDoc {
    /// `matrix[i][j]`: `X`, `NV#`, `PIX`, `PXB`, `PHB`, `NODE`, `SYS`, or null, by position in `gpus`.
    pub matrix: Vec<Vec<Option<String>>>,
    pub gpus: Vec<PlaceDoc>,
    /// GPUs joined by active NVLinks, largest first.
    pub nvlink_islands: Vec<Vec<u32>>,
}

#[derive(Debug, Serialize)]
pub struct PlaceDoc {
    pub index: u32,
    pub pci_bus_id: Option<String>,
    pub cpu_affinity: Option<String>,
    pub numa_node: Option<u32>,
}

pub fn nvlink(links: &NvLinks) -> NvlinkDoc {
    NvlinkDoc {
        links_up: links.up(),
        links_present: links.present(),
        version: links.version(),
        links: links
            .links
            .iter()
            .map(|l| LinkDoc {
                link: l.link,
                up: l.up,
                version: l.version,
                peer: l.peer.as_ref().map(|p| match p {
                    LinkPeer::Gpu(i) => format!("GPU {i}"),
                    LinkPeer::NvSwitch => "NVSwitch".into(),
                    LinkPeer::Other(bus) => bus.clone(),
                }),
                peer_gpu: match l.peer {
                    Some(LinkPeer::Gpu(i)) => Some(i),
                    _ => None,
                },
                replay_errors: l.counters.get(LinkCounter::Replay),
                recovery_errors: l.counters.get(LinkCounter::Recovery),
                crc_flit_errors: l.counters.get(LinkCounter::CrcFlit),
                crc_data_errors: l.counters.get(LinkCounter::CrcData),
            })
            .collect(),
    }
}

/// The fabric of `g`, with every fabric problem (link problems too); null when NVML does not
/// report Fabric Manager state for it.
pub fn fabric(g: &GpuSample, all: &[GpuSample]) -> Option<FabricDoc> {
    let f = g.fabric.as_ref()?;
    Some(FabricDoc {
        state: f.state.key(),
        error: f.error.clone(),
        ready: f.ready(),
        problems: fabric::problems(g, all)
            .iter()
            .map(|p| ProblemDoc {
                severity: match p.severity() {
                    Severity::Warning => "warning",
                    Severity::Broken => "broken",
                },
                reason: p.reason(),
            })
            .collect(),
    })
}

pub fn topology(topo: Option<&Topology>, gpus: &[GpuSample]) -> Option<TopologyDoc> {
    if !topology::known(topo, gpus) {
        return None;
    }
    let empty = Topology::default();
    let t = topo.unwrap_or(&empty);
    Some(TopologyDoc {
        matrix: gpus
            .iter()
            .map(|a| gpus.iter().map(|b| topology::cell(t, gpus, a.index, b.index)).collect())
            .collect(),
        gpus: gpus
            .iter()
            .map(|g| {
                let p = t.place(g.index);
                PlaceDoc {
                    index: g.index,
                    pci_bus_id: p.and_then(|p| p.bus_id.clone()),
                    cpu_affinity: p.and_then(|p| p.cpus.clone()),
                    numa_node: p.and_then(|p| p.numa),
                }
            })
            .collect(),
        nvlink_islands: topology::islands(gpus),
    })
}
