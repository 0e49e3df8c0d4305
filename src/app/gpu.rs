//! GPU state: the latest snapshot, bounded history for the sparklines, and per-container usage.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use crate::docker::ContainerId;
use crate::gpu::idle::{IdleTracker, ProcessKey, key as idle_key};
use crate::gpu::model::usage_by_container;
use crate::gpu::state::{Assessment, assess};
use crate::gpu::{ContainerGpuUsage, GpuProcess, GpuSample, GpuSnapshot, XidError};

/// Five minutes at the default 1 s refresh. Bounded so a dashboard left open for weeks uses
/// the same memory as on its first day.
pub const HISTORY: usize = 300;

/// The most samples a GPU sparkline shows (the panel's memory and power lines; the utilisation
/// one shows `SPARK_UTIL`). Once that many equal samples are in, another one changes no cell.
pub const SPARK_WIDE: usize = 16;
pub const SPARK_UTIL: usize = 10;

// The XIDs the state keeps: a child module, so it reaches the state's private fields.
#[path = "gpu_xids.rs"]
mod xids;
pub use xids::{XIDS_KEPT, xid_on};

#[derive(Debug, Clone, PartialEq)]
pub enum GpuStatus {
    Starting,
    Unavailable {
        reason: String,
        retry_in: Duration,
    },
    /// The engine is on another machine: this host's GPUs are not its GPUs, so none are shown.
    Remote {
        host: String,
    },
    Up,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpuHistory {
    /// Percent, oldest first; `NO_SAMPLE` where the driver gave no figure (a blank, not a 0).
    pub util: VecDeque<u8>,
    pub memory: VecDeque<u8>,
    /// Percent of the power limit (or of 1 kW when the limit is unknown).
    pub power: VecDeque<u8>,
    /// How many samples in a row every buffer has kept its newest values: once the shown part
    /// of each buffer is one value, a new equal sample scrolls nothing visible.
    steady: usize,
}

/// A history entry where the driver gave no figure (power `n/a`): drawn blank, never as 0.
pub const NO_SAMPLE: u8 = u8::MAX;

impl GpuHistory {
    /// Returns whether the sparklines look different afterwards.
    fn push(&mut self, util: Option<u32>, memory: Option<f64>, power: Option<f64>) -> bool {
        let mut same = true;
        for (buf, v) in
            [(&mut self.util, util.map(f64::from)), (&mut self.memory, memory), (&mut self.power, power)]
        {
            let v = v.filter(|v| v.is_finite()).map_or(NO_SAMPLE, |v| v.clamp(0.0, 100.0) as u8);
            same &= buf.back() == Some(&v);
            if buf.len() == HISTORY {
                buf.pop_front();
            }
            buf.push_back(v);
        }
        self.steady = if same { self.steady + 1 } else { 0 };
        // Until every shown sample equals the newest, scrolling moves some bar (or, while the
        // buffer is shorter than the sparkline, lengthens it). Waiting for the whole kept history
        // instead redrew every frame for the first five minutes of an idle node.
        self.steady < SPARK_WIDE
    }
}

#[derive(Debug, Clone)]
pub struct GpuState {
    pub status: GpuStatus,
    pub snapshot: Option<GpuSnapshot>,
    pub history: HashMap<u32, GpuHistory>,
    pub usage: HashMap<ContainerId, ContainerGpuUsage>,
    /// Row of the GPU panel under the cursor when it has focus.
    pub selected: usize,
    /// Every GPU seen since start, by UUID: one that stops being reported is shown as lost,
    /// not silently dropped.
    known: BTreeMap<String, (u32, String)>,
    /// Since when each process has held memory at 0 % SM.
    pub idle: IdleTracker,
    /// Idle holders past the threshold with the label shown, to redraw when a label changes.
    idle_labels: Vec<(ProcessKey, String)>,
    /// Containers whose GPU memory is all held idle, with for how long, and whether that is
    /// a lower bound.
    idle_containers: HashMap<ContainerId, (u64, bool)>,
    /// XID errors seen since start, newest last (bounded).
    pub xids: VecDeque<XidError>,
    /// The fatal XIDs that left `xids` for newer ones: a GPU that needs a reset stays broken
    /// however many harmless XIDs follow (one per GPU and code).
    fatal_evicted: Vec<XidError>,
    /// Each GPU's state (free, held, busy, broken) and problems, by index: computed once per
    /// sample or XID, read by every view.
    assessed: HashMap<u32, Assessment>,
}

/// How long something has been idle: `6m`, or `≥6m` when it was already idle when gpudock
/// first saw it.
pub fn idle_age(secs: u64, lower_bound: bool) -> String {
    let age = crate::fmt::age(secs as i64);
    if lower_bound { format!("≥{age}") } else { age }
}

impl Default for GpuState {
    fn default() -> Self {
        GpuState {
            status: GpuStatus::Starting,
            snapshot: None,
            history: HashMap::new(),
            usage: HashMap::new(),
            selected: 0,
            known: BTreeMap::new(),
            idle: IdleTracker::default(),
            idle_labels: Vec::new(),
            idle_containers: HashMap::new(),
            xids: VecDeque::new(),
            fatal_evicted: Vec::new(),
            assessed: HashMap::new(),
        }
    }
}

/// Equal but for the host figures of GPU processes (CPU %, age: they move every second), which
/// only the process view shows, and it says itself when its rows change.
fn same_readings(a: &mut [GpuSample], b: &mut [GpuSample]) -> bool {
    a.len() == b.len() && a.iter_mut().zip(b.iter_mut()).all(|(x, y)| x == y || same_but_host(x, y))
}

/// Compares with the host figures taken out and put back: copying both samples (command lines
/// and all) to compare them cost two clones per GPU every tick.
fn same_but_host(x: &mut GpuSample, y: &mut GpuSample) -> bool {
    if x.processes.len() != y.processes.len() {
        return false;
    }
    let take = |g: &mut GpuSample| g.processes.iter_mut().map(|p| p.host.take()).collect::<Vec<_>>();
    let (hx, hy) = (take(x), take(y));
    let same = x == y;
    for (g, hosts) in [(x, hx), (y, hy)] {
        for (p, h) in g.processes.iter_mut().zip(hosts) {
            p.host = h;
        }
    }
    same
}

impl GpuState {
    /// Applies a snapshot; returns whether anything on screen changes: a reading, the status,
    /// or a sparkline that scrolls visibly.
    pub fn apply(&mut self, mut snap: GpuSnapshot) -> bool {
        self.keep_lost_gpus(&mut snap);
        let mut changed = self.status != GpuStatus::Up;
        for g in &snap.gpus {
            let power = match (g.power_watts, g.power_limit_watts) {
                (Some(p), Some(l)) if l > 0.0 => Some(p * 100.0 / l),
                (Some(p), _) => Some(p / 10.0),
                _ => None,
            };
            changed |= self.history.entry(g.index).or_default().push(g.util_gpu, g.memory_percent(), power);
        }
        let count = snap.gpus.len();
        self.history.retain(|i, _| (*i as usize) < count);
        changed |= self.snapshot.as_mut().is_none_or(|old| {
            !same_readings(&mut old.gpus, &mut snap.gpus)
                || old.driver_version != snap.driver_version
                || old.cuda_version != snap.cuda_version
        });
        if changed {
            self.usage = usage_by_container(&snap.gpus);
        }
        self.status = GpuStatus::Up;
        self.selected = self.selected.min(count.saturating_sub(1));
        self.idle.observe(&snap.gpus, snap.at);
        self.snapshot = Some(snap);
        self.assess();
        changed
    }

    fn assess(&mut self) {
        let Some(snap) = &self.snapshot else {
            self.assessed.clear();
            return;
        };
        let xids = self.xids.iter().chain(&self.fatal_evicted);
        self.assessed = snap
            .gpus
            .iter()
            .map(|g| {
                let codes = xids.clone().filter(|x| xid_on(x, g)).map(|x| x.xid);
                (g.index, assess(g, codes))
            })
            .collect();
    }

    /// GPU `index`'s state and problems; None when no sample has it.
    pub fn assessment(&self, index: u32) -> Option<&Assessment> {
        self.assessed.get(&index)
    }

    /// Seconds `p` has held GPU memory at 0 % SM, once that is at least `after`.
    pub fn idle_held(&self, gpu: u32, p: &GpuProcess, after: Duration) -> Option<u64> {
        let now = self.snapshot.as_ref()?.at;
        self.idle.idle_seconds(gpu, p, now).filter(|s| *s >= after.as_secs())
    }

    /// Whether `p`'s idle time is only a lower bound (it was idle when first seen).
    pub fn idle_lower_bound(&self, gpu: u32, p: &GpuProcess) -> bool {
        self.idle.lower_bound(gpu, p)
    }

    /// Whether the idle marks shown changed since the last call (they count up while a
    /// snapshot stays the same).
    pub fn idle_changed(&mut self, after: Duration) -> bool {
        let labels: Vec<(ProcessKey, String)> = self
            .snapshot
            .iter()
            .flat_map(|s| s.gpus.iter().flat_map(|g| g.processes.iter().map(move |p| (g.index, p))))
            .filter_map(|(g, p)| {
                self.idle_held(g, p, after)
                    .map(|s| (idle_key(g, p), idle_age(s, self.idle.lower_bound(g, p))))
            })
            .collect();
        let changed = labels != self.idle_labels;
        self.idle_labels = labels;
        if changed {
            self.idle_containers = self.containers_idle(after);
        }
        changed
    }

    /// How long container `id` has held GPU memory idle (as of the last `idle_changed`).
    pub fn container_idle(&self, id: &ContainerId) -> Option<u64> {
        self.idle_containers.get(id).map(|(s, _)| *s)
    }

    /// `idle 6m`, or `idle ≥6m` where the start is unknown, for container `id`.
    pub fn container_idle_text(&self, id: &ContainerId) -> Option<String> {
        self.idle_containers.get(id).map(|(s, bound)| idle_age(*s, *bound))
    }

    pub fn any_container_idle(&self) -> bool {
        !self.idle_containers.is_empty()
    }

    /// Per container, its least idle process, when every process of it that holds memory is
    /// idle past `after`.
    fn containers_idle(&self, after: Duration) -> HashMap<ContainerId, (u64, bool)> {
        let mut out: HashMap<ContainerId, Option<(u64, bool)>> = HashMap::new();
        let procs = self
            .snapshot
            .iter()
            .flat_map(|s| s.gpus.iter().flat_map(|g| g.processes.iter().map(move |p| (g.index, p))));
        for (g, p) in procs.filter(|(_, p)| p.memory_used.is_some_and(|m| m > 0)) {
            let Some(id) = &p.container_id else { continue };
            let idle = self.idle_held(g, p, after).map(|s| (s, self.idle.lower_bound(g, p)));
            let e = out.entry(id.clone()).or_insert(idle);
            // The least idle process says how long the container has been idle.
            *e = e.zip(idle).map(|(a, b)| if b.0 < a.0 { b } else { a });
        }
        out.into_iter().filter_map(|(id, s)| s.map(|s| (id, s))).collect()
    }

    /// The engine is remote: NVML here would describe the wrong machine.
    pub fn remote(&mut self, host: String) {
        self.status = GpuStatus::Remote { host };
        self.snapshot = None;
        self.usage.clear();
        self.history.clear();
        self.assessed.clear();
    }

    pub fn unavailable(&mut self, reason: String, retry_in: Duration) -> bool {
        let status = GpuStatus::Unavailable { reason, retry_in };
        let changed = self.status != status || self.snapshot.is_some();
        self.status = status;
        self.snapshot = None;
        self.usage.clear();
        self.assessed.clear();
        changed
    }

    /// Adds a row for every GPU seen before that the driver no longer reports, and remembers
    /// the ones it does.
    fn keep_lost_gpus(&mut self, snap: &mut GpuSnapshot) {
        for g in snap.gpus.iter().filter(|g| !g.uuid.is_empty()) {
            self.known.insert(g.uuid.clone(), (g.index, g.name.clone()));
        }
        let missing: Vec<GpuSample> = self
            .known
            .iter()
            .filter(|(uuid, _)| !snap.gpus.iter().any(|g| &g.uuid == *uuid))
            .map(|(uuid, (index, name))| GpuSample {
                index: *index,
                name: name.clone(),
                uuid: uuid.clone(),
                lost: Some(
                    "no longer reported by the driver (fallen off the bus, XID 79, or a driver reset)".into(),
                ),
                ..Default::default()
            })
            .filter(|m| !snap.gpus.iter().any(|g| g.index == m.index && g.lost.is_some()))
            .collect();
        snap.gpus.extend(missing);
        snap.gpus.sort_by_key(|g| g.index);
    }

    /// The GPUs that are lost, with why.
    pub fn lost(&self) -> Vec<&GpuSample> {
        self.snapshot
            .as_ref()
            .map(|s| s.gpus.iter().filter(|g| g.lost.is_some()).collect())
            .unwrap_or_default()
    }

    /// What a container uses on the GPUs: only a running container uses anything, whatever
    /// stale process NVML still lists.
    pub fn usage_of(&self, c: &crate::docker::Container) -> Option<&ContainerGpuUsage> {
        self.usage.get(&c.id).filter(|_| c.state.is_running())
    }

    pub fn count(&self) -> usize {
        self.snapshot.as_ref().map(|s| s.gpus.len()).unwrap_or(0)
    }

    /// (index, uuid) of each GPU in panel order, then (parent index, uuid) of each MIG
    /// instance, for resolving container GPU requests (`MIG-<uuid>` maps to its parent).
    pub fn ids(&self) -> Vec<(u32, &str)> {
        self.snapshot.as_ref().map(|s| crate::gpu::model::gpu_ids(&s.gpus)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::HostProcess;

    fn snap(cpu: f64) -> GpuSnapshot {
        let host = HostProcess {
            cpu_percent: Some(cpu),
            cmdline: Some("python train.py".into()),
            ..Default::default()
        };
        let p = GpuProcess { pid: 7, memory_used: Some(1 << 30), host: Some(host), ..Default::default() };
        let g = GpuSample { index: 0, util_gpu: Some(50), processes: vec![p], ..Default::default() };
        GpuSnapshot { gpus: vec![g], ..Default::default() }
    }

    #[test]
    fn host_figures_alone_change_nothing_on_screen_and_are_kept() {
        let mut s = GpuState::default();
        assert!(s.apply(snap(10.0)));
        // Until the history is full its sparklines grow on screen.
        for _ in 0..400 {
            s.apply(snap(10.0));
        }
        assert!(!s.apply(snap(80.0)), "only the host CPU moved");
        let host = s.snapshot.as_ref().and_then(|s| s.gpus[0].processes[0].host.clone());
        assert_eq!(host.and_then(|h| h.cpu_percent), Some(80.0), "the new figures are what is kept");
        let mut busier = snap(80.0);
        busier.gpus[0].processes[0].memory_used = Some(2 << 30);
        assert!(s.apply(busier));
    }
}
