//! What the exporter knows: the latest message of each collector, folded into one state. A scrape
//! only reads it; nothing here talks to the engine or the driver.

use std::collections::HashMap;
use std::time::Duration;

use crate::docker::{Container, ContainerId, ContainerStats, EngineEvent};
use crate::gpu::idle::IdleTracker;
use crate::gpu::{GpuEvent, GpuSnapshot};

/// The exporter's message: what the Docker collector and the GPU threads send.
#[derive(Debug)]
pub enum ExportMsg {
    Engine(EngineEvent),
    Gpu(GpuEvent),
}

impl From<EngineEvent> for ExportMsg {
    fn from(e: EngineEvent) -> ExportMsg {
        ExportMsg::Engine(e)
    }
}

impl From<GpuEvent> for ExportMsg {
    fn from(e: GpuEvent) -> ExportMsg {
        ExportMsg::Gpu(e)
    }
}

/// XIDs seen on one GPU since the exporter started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XidCount {
    pub total: u64,
    pub last: u64,
    /// Unix seconds when the last one was seen: an XID is an event with a time.
    pub last_at: i64,
    /// The codes seen whose action is a GPU reset or more (the GPU is broken since): few
    /// distinct codes exist, so this stays small.
    pub fatal: FatalXids,
}

/// Distinct XID codes, at most `FatalXids::KEPT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FatalXids {
    codes: [u64; FatalXids::KEPT],
    len: usize,
}

impl FatalXids {
    const KEPT: usize = 8;

    fn add(&mut self, code: u64) {
        if !self.codes().contains(&code) && self.len < Self::KEPT {
            self.codes[self.len] = code;
            self.len += 1;
        }
    }

    pub fn codes(&self) -> &[u64] {
        &self.codes[..self.len]
    }
}

#[derive(Debug, Clone, Default)]
pub struct State {
    /// The node's name, on every series.
    pub hostname: String,
    pub engine_up: bool,
    pub nvml_up: bool,
    /// The log has said NVML is unavailable since it was last up.
    nvml_warned: bool,
    /// Every container the engine has (only running ones are exported).
    pub containers: Vec<Container>,
    pub stats: HashMap<ContainerId, ContainerStats>,
    /// The latest GPU sample; None while NVML is unavailable (or the engine is remote).
    pub gpu: Option<GpuSnapshot>,
    pub idle: IdleTracker,
    /// A process counts as idle-held once it has held memory at 0 % SM this long.
    pub idle_after: Duration,
    /// By GPU UUID.
    pub xids: HashMap<String, XidCount>,
    /// Where scrapes are noted, for the GPU sampler's beat (none in tests).
    pub beat: Option<std::sync::Arc<crate::gpu::beat::Beat>>,
}

impl State {
    pub fn new(hostname: String, idle_after: Duration) -> State {
        State { hostname, idle_after, ..Default::default() }
    }

    pub fn apply(&mut self, msg: ExportMsg) {
        match msg {
            ExportMsg::Engine(e) => self.engine(e),
            ExportMsg::Gpu(g) => self.gpu(g),
        }
    }

    fn engine(&mut self, event: EngineEvent) {
        match event {
            EngineEvent::Connecting { .. } | EngineEvent::RootFs { .. } => {}
            EngineEvent::Connected(info) => {
                tracing::info!(host = %info.host, "engine up");
                self.engine_up = true;
            }
            EngineEvent::Down { host, reason, .. } => {
                if self.engine_up {
                    tracing::warn!(%host, %reason, "engine down");
                }
                // What the engine had is unknown now: its series go rather than go stale.
                self.engine_up = false;
                self.containers.clear();
                self.stats.clear();
            }
            EngineEvent::Containers(list) => {
                let live: std::collections::HashSet<&ContainerId> = list.iter().map(|c| &c.id).collect();
                self.stats.retain(|id, _| live.contains(id));
                self.containers = list;
            }
            EngineEvent::Stats { stats, .. } => self.stats = stats,
        }
    }

    fn gpu(&mut self, event: GpuEvent) {
        match event {
            GpuEvent::Unavailable { reason, .. } => {
                // Once per outage: the sampler retries every 10 s, and a node without a driver
                // would fill the log with the same line.
                if self.nvml_up || !self.nvml_warned {
                    tracing::warn!(%reason, "NVML unavailable");
                    self.nvml_warned = true;
                }
                self.nvml_up = false;
                self.gpu = None;
            }
            GpuEvent::Snapshot(snap) => {
                self.nvml_up = true;
                self.nvml_warned = false;
                self.idle.observe(&snap.gpus, snap.at);
                self.gpu = Some(snap);
            }
            GpuEvent::Xid(x) => {
                let c = self.xids.entry(x.gpu_uuid).or_default();
                c.total += 1;
                c.last = x.xid;
                c.last_at = x.at;
                if crate::gpu::xid_catalog::breaks_gpu(x.xid) {
                    c.fatal.add(x.xid);
                }
            }
            // Before the run: they break GPUs, but the counters count what this run saw, so a
            // restart does not replay the boot's XIDs as new ones.
            GpuEvent::PastXids(past) => {
                for x in past.into_iter().filter(|x| crate::gpu::xid_catalog::breaks_gpu(x.xid)) {
                    self.xids.entry(x.gpu_uuid).or_default().fatal.add(x.xid);
                }
            }
        }
    }
}
