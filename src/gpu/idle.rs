//! Idle-held GPUs: a process that holds GPU memory while its SM utilisation stays at 0. The
//! tracker remembers since when each such process has been at 0, so "idle for 42 minutes"
//! survives across samples; any activity, or memory released, resets it.

use std::collections::HashMap;

use super::model::{GpuProcess, GpuSample};

/// A process, told apart from a later one with the same PID by its start time (0 when /proc
/// does not show it).
pub type ProcessKey = (u32, u64);

pub fn key(p: &GpuProcess) -> ProcessKey {
    (p.pid, p.host.as_ref().map(|h| h.start_time).unwrap_or(0))
}

#[derive(Debug, Clone, Default)]
pub struct IdleTracker {
    /// Unix seconds of the first sample in the current run of 0 % with memory held.
    zero_since: HashMap<ProcessKey, i64>,
}

impl IdleTracker {
    /// Takes one sample of every GPU at `now`.
    pub fn observe(&mut self, gpus: &[GpuSample], now: i64) {
        let mut seen = Vec::new();
        for p in gpus.iter().flat_map(|g| &g.processes) {
            let k = key(p);
            // Unknown utilisation (MIG, unsupported) is not idleness.
            if p.sm_percent == Some(0) && p.memory_used.is_some_and(|m| m > 0) {
                self.zero_since.entry(k).or_insert(now);
                seen.push(k);
            }
        }
        self.zero_since.retain(|k, _| seen.contains(k));
    }

    /// Seconds `p` has held memory at 0 % SM; None when it is busy or not known to be idle.
    pub fn idle_seconds(&self, p: &GpuProcess, now: i64) -> Option<u64> {
        self.zero_since.get(&key(p)).map(|since| now.saturating_sub(*since).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu(processes: Vec<GpuProcess>) -> Vec<GpuSample> {
        vec![GpuSample { processes, ..Default::default() }]
    }

    fn proc(pid: u32, mem: u64, sm: Option<u32>) -> GpuProcess {
        GpuProcess { pid, memory_used: Some(mem), sm_percent: sm, ..Default::default() }
    }

    #[test]
    fn idle_time_counts_from_the_first_zero_and_resets_on_activity() {
        let mut t = IdleTracker::default();
        t.observe(&gpu(vec![proc(1, 100, Some(0)), proc(2, 100, None), proc(3, 0, Some(0))]), 1_000);
        t.observe(&gpu(vec![proc(1, 100, Some(0)), proc(2, 100, None), proc(3, 0, Some(0))]), 1_060);
        assert_eq!(t.idle_seconds(&proc(1, 100, Some(0)), 1_060), Some(60));
        // Unknown utilisation and no memory held are never idle-held.
        assert_eq!(t.idle_seconds(&proc(2, 100, None), 1_060), None);
        assert_eq!(t.idle_seconds(&proc(3, 0, Some(0)), 1_060), None);
        t.observe(&gpu(vec![proc(1, 100, Some(3))]), 1_070);
        assert_eq!(t.idle_seconds(&proc(1, 100, Some(3)), 1_070), None);
        t.observe(&gpu(vec![proc(1, 100, Some(0))]), 1_080);
        assert_eq!(t.idle_seconds(&proc(1, 100, Some(0)), 1_090), Some(10));
    }
}
