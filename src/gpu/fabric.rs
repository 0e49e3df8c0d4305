//! DGX fabric as plain data: each GPU's NVLinks, its Fabric Manager state, and the problems
//! they mean for the GPU.
//!
//! NVML answers NOT_SUPPORTED for all of it on PCIe GPUs and older drivers; that arrives here as
//! `None` and means "absent": nothing is shown and nothing is a problem. The figures are
//! judged once, here (`problems`, `marker`), and every surface shows that judgement.

use super::model::GpuSample;

/// NVML_NVLINK_MAX_LINKS: the link numbers asked about on each GPU.
pub const MAX_LINKS: u32 = 18;

/// The four data-link error counters NVML keeps per link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkCounter {
    Replay,
    Recovery,
    CrcFlit,
    CrcData,
}

impl LinkCounter {
    pub const ALL: [LinkCounter; 4] =
        [LinkCounter::Replay, LinkCounter::Recovery, LinkCounter::CrcFlit, LinkCounter::CrcData];

    /// The label value used by the export and the snapshot JSON.
    pub fn key(self) -> &'static str {
        match self {
            LinkCounter::Replay => "replay",
            LinkCounter::Recovery => "recovery",
            LinkCounter::CrcFlit => "crc_flit",
            LinkCounter::CrcData => "crc_data",
        }
    }

    /// How the TUI names it.
    pub fn label(self) -> &'static str {
        match self {
            LinkCounter::Replay => "replay",
            LinkCounter::Recovery => "recovery",
            LinkCounter::CrcFlit => "CRC flit",
            LinkCounter::CrcData => "CRC data",
        }
    }
}

/// One link's error counters; None where the driver does not count that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkCounters {
    pub replay: Option<u64>,
    pub recovery: Option<u64>,
    pub crc_flit: Option<u64>,
    pub crc_data: Option<u64>,
}

impl LinkCounters {
    pub fn get(&self, c: LinkCounter) -> Option<u64> {
        match c {
            LinkCounter::Replay => self.replay,
            LinkCounter::Recovery => self.recovery,
            LinkCounter::CrcFlit => self.crc_flit,
            LinkCounter::CrcData => self.crc_data,
        }
    }

    pub fn set(&mut self, c: LinkCounter, v: Option<u64>) {
        match c {
            LinkCounter::Replay => self.replay = v,
            LinkCounter::Recovery => self.recovery = v,
            LinkCounter::CrcFlit => self.crc_flit = v,
            LinkCounter::CrcData => self.crc_data = v,
        }
    }

    /// The growth from `base` to `self`. A counter that went down was reset (a driver reload):
    /// it counts from zero again.
    pub fn since(&self, base: &LinkCounters) -> LinkCounters {
        let mut out = LinkCounters::default();
        for c in LinkCounter::ALL {
            let d = match (self.get(c), base.get(c)) {
                (Some(now), Some(then)) if now >= then => Some(now - then),
                (Some(now), _) => Some(now),
                (None, _) => None,
            };
            out.set(c, d);
        }
        out
    }
}

/// What is at a link's far end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkPeer {
    /// Another GPU of this node, by NVML index.
    Gpu(u32),
    NvSwitch,
    /// Something else (an IBM NPU, a GPU NVML does not list): its PCI bus ID.
    Other(String),
}

/// One NVLink of a GPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvLink {
    pub link: u32,
    pub up: bool,
    pub version: Option<u32>,
    /// None when NVML cannot say (a down link often cannot).
    pub peer: Option<LinkPeer>,
    pub counters: LinkCounters,
    /// Growth of each counter since gpudock first read it.
    pub since_start: LinkCounters,
    /// A replay or CRC counter grew between the last two readings.
    pub rising: bool,
}

/// The NVLinks of one GPU; only links NVML reports are listed (absent ones answer
/// NOT_SUPPORTED). A GPU without any is `None` on its sample.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NvLinks {
    pub links: Vec<NvLink>,
    /// Seconds over which `since_start` grew: the rate's denominator.
    pub secs_since_start: u64,
}

impl NvLinks {
    pub fn up(&self) -> usize {
        self.links.iter().filter(|l| l.up).count()
    }

    pub fn present(&self) -> usize {
        self.links.len()
    }

    /// The highest NVLink version among the links (all links of a GPU share one in practice).
    pub fn version(&self) -> Option<u32> {
        self.links.iter().filter_map(|l| l.version).max()
    }

    /// Errors per minute of one link's counter since gpudock started.
    pub fn rate_per_min(&self, link: &NvLink, c: LinkCounter) -> Option<f64> {
        let grown = link.since_start.get(c)?;
        (self.secs_since_start > 0).then(|| grown as f64 * 60.0 / self.secs_since_start as f64)
    }

    /// Every link's counter summed: the export's `gpudock_gpu_nvlink_errors_total`.
    pub fn total(&self, c: LinkCounter) -> Option<u64> {
        self.links.iter().filter_map(|l| l.counters.get(c)).fold(None, |s, v| Some(s.unwrap_or(0) + v))
    }
}

/// nvmlGpuFabricState_t, bar NOT_SUPPORTED (which is "absent", `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FabricState {
    NotStarted,
    InProgress,
    Completed,
}

impl FabricState {
    pub fn words(self) -> &'static str {
        match self {
            FabricState::NotStarted => "not started",
            FabricState::InProgress => "in progress",
            FabricState::Completed => "completed",
        }
    }

    /// The label value used by the export and the snapshot JSON.
    pub fn key(self) -> &'static str {
        match self {
            FabricState::NotStarted => "not_started",
            FabricState::InProgress => "in_progress",
            FabricState::Completed => "completed",
        }
    }
}

/// The GPU's registration with Fabric Manager (NVSwitch systems).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuFabric {
    pub state: FabricState,
    /// Why registration failed, in words; None when NVML said success.
    pub error: Option<String>,
}

impl GpuFabric {
    pub fn ready(&self) -> bool {
        self.state == FabricState::Completed && self.error.is_none()
    }

    /// "completed", "in progress", "completed with error: …".
    pub fn words(&self) -> String {
        match &self.error {
            None => self.state.words().to_string(),
            Some(e) => format!("{} with error: {e}", self.state.words()),
        }
    }
}

/// How much a fabric problem takes from a GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Broken,
}

/// What the fabric says is wrong with one GPU. The state model (free / busy / held / broken)
/// takes these as they are; `reason` is the words shown everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FabricProblem {
    /// Fabric Manager has not finished registering the GPU.
    FabricNotReady(FabricState),
    /// Registration ended with an error.
    FabricFailed(String),
    /// On a node whose GPUs report NVLink, every link of this one is down.
    AllLinksDown { present: usize },
    /// Fewer active links than present, or than the best of its peers.
    LinksDown { up: usize, expected: usize },
    /// A replay or CRC counter is growing on a link.
    ErrorsRising { link: u32 },
}

impl FabricProblem {
    pub fn severity(&self) -> Severity {
        match self {
            FabricProblem::FabricNotReady(_)
            | FabricProblem::FabricFailed(_)
            | FabricProblem::AllLinksDown { .. } => Severity::Broken,
            FabricProblem::LinksDown { .. } | FabricProblem::ErrorsRising { .. } => Severity::Warning,
        }
    }

    pub fn reason(&self) -> String {
        match self {
            FabricProblem::FabricNotReady(s) => {
                format!("Fabric Manager has not finished (fabric {}): multi-GPU jobs will hang", s.words())
            }
            FabricProblem::FabricFailed(e) => {
                format!("fabric registration failed ({e}): multi-GPU jobs will hang")
            }
            FabricProblem::AllLinksDown { present } => {
                format!("every NVLink is down (0/{present}): peer-to-peer traffic cannot reach it")
            }
            FabricProblem::LinksDown { up, expected } => {
                format!("NVLink {up}/{expected} up: multi-GPU jobs on it run slower")
            }
            FabricProblem::ErrorsRising { link } => format!("NVLink {link}: replay/CRC errors rising"),
        }
    }
}

/// The fabric problems of `gpu`, judged against the other GPUs of the node in `all`.
pub fn problems(gpu: &GpuSample, all: &[GpuSample]) -> Vec<FabricProblem> {
    let mut out = Vec::new();
    if let Some(f) = &gpu.fabric {
        if let Some(e) = &f.error {
            out.push(FabricProblem::FabricFailed(e.clone()));
        } else if f.state != FabricState::Completed {
            out.push(FabricProblem::FabricNotReady(f.state));
        }
    }
    if let Some(links) = gpu.nvlink.as_ref().filter(|l| l.present() > 0) {
        let up = links.up();
        let best_peer = all
            .iter()
            .filter(|g| g.index != gpu.index)
            .filter_map(|g| g.nvlink.as_ref())
            .map(NvLinks::up)
            .max();
        let expected = links.present().max(best_peer.unwrap_or(0));
        if up == 0 {
            out.push(FabricProblem::AllLinksDown { present: links.present() });
        } else if up < expected {
            out.push(FabricProblem::LinksDown { up, expected });
        }
        out.extend(
            links.links.iter().filter(|l| l.rising).map(|l| FabricProblem::ErrorsRising { link: l.link }),
        );
    }
    out
}

/// The compact words for the GPU row, e.g. `NVLink 17/18` or `fabric: in progress`; None when
/// the fabric is healthy or absent.
pub fn marker(gpu: &GpuSample, all: &[GpuSample]) -> Option<String> {
    let problems = problems(gpu, all);
    let mut parts: Vec<String> = Vec::new();
    if let Some(f) = gpu.fabric.as_ref().filter(|f| !f.ready()) {
        parts.push(match &f.error {
            Some(_) => "fabric: error".to_string(),
            None => format!("fabric: {}", f.state.words()),
        });
    }
    if let Some(FabricProblem::AllLinksDown { present }) =
        problems.iter().find(|p| matches!(p, FabricProblem::AllLinksDown { .. }))
    {
        parts.push(format!("NVLink 0/{present}"));
    }
    if let Some(FabricProblem::LinksDown { up, expected }) =
        problems.iter().find(|p| matches!(p, FabricProblem::LinksDown { .. }))
    {
        parts.push(format!("NVLink {up}/{expected}"));
    }
    if problems.iter().any(|p| matches!(p, FabricProblem::ErrorsRising { .. })) {
        parts.push("NVLink errors".to_string());
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The worst severity among `gpu`'s fabric problems.
pub fn worst(gpu: &GpuSample, all: &[GpuSample]) -> Option<Severity> {
    problems(gpu, all).iter().map(FabricProblem::severity).max()
}

#[cfg(test)]
#[path = "fabric_tests.rs"]
mod tests;
