//! What the fleet collector hands over: plain data, no PromQL and no JSON.

use std::time::Duration;

/// Where a GPU's figures came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    #[default]
    Gpudock,
    Dcgm,
    /// Both exporters run on the node; gpudock's figures win, dcgm's fill gaps.
    Both,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Gpudock => "gpudock",
            Source::Dcgm => "dcgm",
            Source::Both => "both",
        }
    }
}

/// One node's row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeSummary {
    pub hostname: String,
    /// Its exporter answered the last scrape (no staleness marker).
    pub fresh: bool,
    /// Unix seconds of its newest sample.
    pub last_seen: Option<f64>,
    pub gpus: u32,
    /// GPUs above 5 % utilization (and not broken).
    pub busy: u32,
    /// GPUs where a process holds memory but that are not busy (nor broken).
    pub held: u32,
    /// GPUs with a health fault: unfit for new work.
    pub broken: u32,
    /// GPUs holding memory for processes gpudock marked idle (a kind of held).
    pub idle_held: u32,
    pub mem_used: f64,
    pub mem_total: f64,
    pub power: f64,
    /// Average GPU utilization, oldest first, one value per range step (None: no sample).
    pub util_history: Vec<Option<f64>>,
    /// Containers (or Kubernetes pods) by GPU memory, largest first.
    pub top: Vec<(String, f64)>,
    /// GPUs with a degraded NVLink fabric: links down, Fabric Manager not finished, or NVLink
    /// replay/CRC errors growing over the last 10 minutes (gpudock's or dcgm-exporter's series).
    pub fabric_degraded: u32,
}

impl NodeSummary {
    /// GPUs that are healthy and hold nobody's memory: neither busy, held nor broken.
    pub fn free(&self) -> u32 {
        self.gpus.saturating_sub(self.busy + self.held + self.broken)
    }

    /// Seconds since its newest sample, at `now`.
    pub fn age(&self, now: f64) -> Option<f64> {
        self.last_seen.map(|t| (now - t).max(0.0))
    }

    /// Stale: its exporter stopped answering, or its newest sample is older than `after`.
    pub fn stale(&self, now: f64, after: Duration) -> bool {
        !self.fresh || self.age(now).is_none_or(|a| a > after.as_secs_f64())
    }

    /// The latest utilization point.
    pub fn util_now(&self) -> Option<f64> {
        self.util_history.iter().rev().find_map(|v| *v)
    }
}

/// One GPU of the node on screen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GpuRow {
    pub index: Option<u32>,
    pub uuid: String,
    pub model: String,
    pub mem_used: Option<f64>,
    pub mem_total: Option<f64>,
    pub util: Option<f64>,
    pub temp: Option<f64>,
    pub power: Option<f64>,
    pub power_limit: Option<f64>,
    pub idle_held: Option<f64>,
    /// The last XID error's code (0 or None: none seen).
    pub xid: Option<f64>,
    /// What dcgm-exporter's fault series say is wrong (double-bit ECC, a row remap failed or
    /// pending): for a GPU without gpudock's state, with `xid`, what makes it broken.
    pub dcgm_problems: Vec<crate::gpu::state::Problem>,
    pub source: Source,
    /// gpudock's state for it; for a GPU only dcgm-exporter describes, from its utilization and
    /// memory (`gpu::state`'s thresholds). None when neither is known.
    pub state: Option<crate::gpu::state::State>,
}

/// One container's (or pod's) use of one GPU on the node on screen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerRow {
    pub name: String,
    pub id: String,
    pub image: String,
    pub gpu: String,
    pub mem_used: Option<f64>,
    pub sm_percent: Option<f64>,
    pub launched_by: String,
    /// Whose it is, as the node's `gpudock export` says (`owner`), else who launched it;
    /// a Kubernetes pod's namespace.
    pub owner: String,
}

/// The node on screen, from its own series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeDetail {
    pub hostname: String,
    pub engine_up: Option<bool>,
    pub nvml_up: Option<bool>,
    pub driver: Option<String>,
    pub gpus: Vec<GpuRow>,
    pub containers: Vec<ContainerRow>,
}

/// One owner across the fleet (the Users view): `gpudock export`'s per-owner series summed over
/// the nodes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OwnerRow {
    /// Empty: containers whose owner no node knows.
    pub owner: String,
    pub nodes: u32,
    pub containers: u32,
    pub gpus_held: u32,
    pub mem_used: f64,
    /// GPU memory held by containers idle past `idle_gpu_after`.
    pub idle_mem: f64,
    /// Mean SM % over the GPUs its containers are on.
    pub sm_percent: Option<f64>,
}

/// One refresh.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FleetSnapshot {
    /// Prometheus' evaluation time, unix seconds.
    pub at: f64,
    pub nodes: Vec<NodeSummary>,
    pub detail: Option<NodeDetail>,
    /// Every owner, while the Users view is open.
    pub users: Option<Vec<OwnerRow>>,
    /// Queries this refresh ran and bytes of answers they read.
    pub queries: usize,
    pub bytes: usize,
}

/// What the collector sends.
#[derive(Debug, Clone, PartialEq)]
pub enum FleetEvent {
    Snapshot(Box<FleetSnapshot>),
    /// Prometheus could not be asked; the collector tries again in `retry_in`.
    Down {
        reason: String,
        retry_in: Duration,
        /// Unix seconds when this refresh failed (this machine's clock: Prometheus is not there
        /// to ask).
        at: f64,
    },
}
