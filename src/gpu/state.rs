//! One meaning of free, held, busy and broken for a GPU, shared by every surface (the GPU
//! panel, `snapshot`, `export`, `doctor`, the fleet and the launch form): computed here, from
//! plain samples, and nowhere else.
//!
//! - broken: a health fault makes it unfit for new work (uncorrected volatile ECC errors, a
//!   reset needed, a failed row remap, lost, or an XID whose action is a reset or more);
//! - busy: above `BUSY_PERCENT` utilisation;
//! - held: a process holds memory on it, but it is not busy (idle-held is a kind of held);
//! - free: healthy, and no process holds memory on it.

use serde::Serialize;

use super::health::throttle_names;
use super::model::{GpuHealth, GpuSample};
use super::xid_catalog;

/// Above this utilisation a GPU is busy (the fleet used the same 5 % before this module).
pub const BUSY_PERCENT: u32 = 5;

/// Where the driver lists no process (gpudock in a container without `--pid=host`, or
/// dcgm-exporter's figures), memory used above this means someone holds it. Well below one
/// CUDA context (300–500 MiB), so a GPU with any context on it never counts as free.
pub const HELD_FLOOR_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Free,
    Held,
    Busy,
    Broken,
}

impl State {
    pub const ALL: [State; 4] = [State::Free, State::Held, State::Busy, State::Broken];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Free => "free",
            State::Held => "held",
            State::Busy => "busy",
            State::Broken => "broken",
        }
    }
}

/// One thing wrong with a GPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The driver cannot reach it; why, in words.
    Lost(String),
    /// Uncorrected ECC errors since the driver loaded.
    EccUncorrected(u64),
    /// A page retirement or row remap waits for a GPU reset.
    ResetNeeded,
    RowRemapFailed,
    /// An XID whose recommended action is a GPU reset, a reboot or a drain.
    Xid(u64),
    /// Clocks held down for this reason (NVML's words, e.g. "hw thermal").
    Throttled(&'static str),
    /// The PCIe link trained below its maximum width.
    PcieDegraded {
        width: u32,
        max: u32,
    },
    /// The NVLink fabric makes it unfit for multi-GPU work: Fabric Manager not finished or
    /// failed, or every NVLink down on a system whose GPUs report them (`gpu::fabric`).
    Fabric(String),
}

impl Problem {
    /// Makes the GPU unfit for new work; the others are warnings.
    pub fn breaks(&self) -> bool {
        !matches!(self, Problem::Throttled(_) | Problem::PcieDegraded { .. })
    }

    /// The short form for a GPU row: `ECC 2`, `hw-thermal`, `PCIe x8/16`, `reset`.
    pub fn short(&self) -> String {
        match self {
            Problem::Lost(_) => "lost".into(),
            Problem::EccUncorrected(n) => format!("ECC {n}"),
            Problem::ResetNeeded => "reset".into(),
            Problem::RowRemapFailed => "remap failed".into(),
            Problem::Xid(code) => format!("XID {code}"),
            Problem::Throttled(name) => name.replace("sw ", "").replace("hw ", "hw-").replace(' ', "-"),
            Problem::PcieDegraded { width, max } => format!("PCIe x{width}/{max}"),
            Problem::Fabric(_) => "fabric".into(),
        }
    }

    /// In words, for the detail view, `snapshot`, `doctor` and alerts.
    pub fn words(&self) -> String {
        match self {
            Problem::Lost(why) => format!("lost: {why}"),
            Problem::EccUncorrected(n) => format!("ECC uncorrected {n}"),
            Problem::ResetNeeded => "reset needed".into(),
            Problem::RowRemapFailed => "row remap failed".into(),
            Problem::Xid(code) => format!("XID {code}{}", xid_catalog::describe(*code)),
            Problem::Throttled(name) => format!("throttled: {name}"),
            Problem::PcieDegraded { width, max } => format!("PCIe x{width} of x{max}"),
            Problem::Fabric(why) => why.clone(),
        }
    }
}

/// What the health readings say is wrong, faults first. Empty: healthy (or nothing is known).
pub fn health_problems(h: &GpuHealth) -> Vec<Problem> {
    let mut out = Vec::new();
    if let Some(n) = h.ecc_volatile.uncorrected.filter(|n| *n > 0) {
        out.push(Problem::EccUncorrected(n));
    }
    if h.retired_pending == Some(true) || h.remapped_rows.is_some_and(|r| r.pending) {
        out.push(Problem::ResetNeeded);
    }
    if h.remapped_rows.is_some_and(|r| r.failed) {
        out.push(Problem::RowRemapFailed);
    }
    if let Some(bits) = h.throttle_reasons {
        for name in throttle_names(bits) {
            // A GPU at its power limit under load is working as designed, not a fault.
            if !matches!(name, "sync boost" | "display clocks" | "sw power cap") {
                out.push(Problem::Throttled(name));
            }
        }
    }
    if let (Some(cur), Some(max)) = (h.pcie_width, h.pcie_width_max)
        && cur > 0
        && cur < max
    {
        out.push(Problem::PcieDegraded { width: cur, max });
    }
    out
}

/// A GPU's state with every problem behind it, faults first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub state: State,
    pub problems: Vec<Problem>,
}

impl Assessment {
    /// The faults that make it broken, in words.
    pub fn faults(&self) -> Vec<String> {
        self.problems.iter().filter(|p| p.breaks()).map(Problem::words).collect()
    }

    /// The problems that are only warnings, in words.
    pub fn warnings(&self) -> Vec<String> {
        self.problems.iter().filter(|p| !p.breaks()).map(Problem::words).collect()
    }
}

/// Whether a process holds memory on `g`: one the driver lists with memory (or without a
/// figure: a listed process has a context), else memory used above the floor.
pub fn memory_held(g: &GpuSample) -> bool {
    if g.processes.is_empty() {
        return g.memory_used.is_some_and(|m| m > HELD_FLOOR_BYTES);
    }
    g.processes.iter().any(|p| p.memory_used.is_none_or(|m| m > 0))
}

/// `g`'s state. `xids`: the XID codes seen on it (since gpudock started watching: the driver
/// keeps no history), in any order.
pub fn assess(g: &GpuSample, xids: impl IntoIterator<Item = u64>) -> Assessment {
    let mut problems = Vec::new();
    if let Some(why) = &g.lost {
        problems.push(Problem::Lost(why.clone()));
    }
    let mut fatal: Vec<u64> = xids.into_iter().filter(|c| xid_catalog::breaks_gpu(*c)).collect();
    fatal.sort_unstable();
    fatal.dedup();
    problems.extend(fatal.into_iter().map(Problem::Xid));
    // The fabric's faults (not its warnings: a slower link still runs jobs) are the GPU's.
    problems.extend(
        super::fabric::problems(g, std::slice::from_ref(g))
            .into_iter()
            .filter(|p| p.severity() == super::fabric::Severity::Broken)
            .map(|p| Problem::Fabric(p.reason())),
    );
    let health = health_problems(&g.health);
    let (faults, warnings): (Vec<Problem>, Vec<Problem>) = health.into_iter().partition(Problem::breaks);
    problems.extend(faults);
    problems.extend(warnings);
    let state = if problems.iter().any(Problem::breaks) {
        State::Broken
    } else if g.util_gpu.is_some_and(|u| u > BUSY_PERCENT) {
        State::Busy
    } else if memory_held(g) {
        State::Held
    } else {
        State::Free
    };
    Assessment { state, problems }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::model::{EccCounts, GpuProcess, RemappedRows};

    fn gpu(util: u32, mem: u64, procs: Vec<Option<u64>>) -> GpuSample {
        GpuSample {
            util_gpu: Some(util),
            memory_used: Some(mem),
            memory_total: Some(40 << 30),
            processes: procs
                .into_iter()
                .enumerate()
                .map(|(i, m)| GpuProcess { pid: i as u32 + 1, memory_used: m, ..Default::default() })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn free_means_nobody_holds_memory_and_it_is_healthy() {
        assert_eq!(assess(&gpu(0, 0, vec![]), []).state, State::Free);
        // 38 of 40 GB held at 2 %: held, never free.
        assert_eq!(assess(&gpu(2, 38 << 30, vec![Some(38 << 30)]), []).state, State::Held);
        // A process the driver lists without a memory figure still has a context.
        assert_eq!(assess(&gpu(0, 0, vec![None]), []).state, State::Held);
        // No process listed (another PID namespace): memory above the floor is held.
        assert_eq!(assess(&gpu(0, 300 << 20, vec![]), []).state, State::Held);
        assert_eq!(assess(&gpu(0, 200 << 20, vec![]), []).state, State::Free);
        assert_eq!(assess(&gpu(71, 8 << 30, vec![Some(8 << 30)]), []).state, State::Busy);
        assert_eq!(assess(&gpu(5, 0, vec![]), []).state, State::Free, "5 % is the threshold, not above it");
    }

    #[test]
    fn broken_wins_over_everything_and_warnings_do_not_break() {
        let mut g = gpu(90, 8 << 30, vec![Some(8 << 30)]);
        g.health.throttle_reasons = Some(0x40);
        g.health.pcie_width = Some(8);
        g.health.pcie_width_max = Some(16);
        let a = assess(&g, []);
        assert_eq!(a.state, State::Busy);
        assert_eq!(a.warnings(), ["throttled: hw thermal", "PCIe x8 of x16"]);
        g.health.ecc_volatile = EccCounts { corrected: Some(4), uncorrected: Some(2) };
        let a = assess(&g, []);
        assert_eq!(a.state, State::Broken);
        assert_eq!(a.faults(), ["ECC uncorrected 2"]);
        let shorts: Vec<String> = a.problems.iter().map(Problem::short).collect();
        assert_eq!(shorts, ["ECC 2", "hw-thermal", "PCIe x8/16"]);

        let mut pending = gpu(0, 0, vec![]);
        pending.health.remapped_rows = Some(RemappedRows { pending: true, ..Default::default() });
        assert_eq!(assess(&pending, []).state, State::Broken);
        let mut lost = gpu(0, 0, vec![]);
        lost.lost = Some("fallen off the bus".into());
        assert_eq!(assess(&lost, []).state, State::Broken);
    }

    #[test]
    fn only_xids_that_need_a_reset_or_more_break_a_gpu() {
        let g = gpu(0, 0, vec![]);
        assert_eq!(assess(&g, [13, 31, 43]).state, State::Free, "application errors");
        let a = assess(&g, [13, 79, 79]);
        assert_eq!(a.state, State::Broken);
        assert_eq!(a.faults(), ["XID 79 (GPU has fallen off the bus; reboot the node)"]);
    }
}
