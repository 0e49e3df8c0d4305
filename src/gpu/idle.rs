//! Idle-held GPUs: a process that holds GPU memory while its SM utilisation stays at 0. The
//! tracker remembers since when each such process has been at 0, so "idle for 42 minutes"
//! survives across samples; any activity, or memory released, resets it.

use std::collections::HashMap;

use super::model::{GpuProcess, GpuSample};

/// A process on one GPU (a process on two GPUs may idle on one and work on the other), told
/// apart from a later one with the same PID by its start time (0 when /proc does not show it).
pub type ProcessKey = (u32, u32, u64);

pub fn key(gpu: u32, p: &GpuProcess) -> ProcessKey {
    (gpu, p.pid, p.host.as_ref().map(|h| h.start_time).unwrap_or(0))
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
        for (gpu, p) in gpus.iter().flat_map(|g| g.processes.iter().map(move |p| (g.index, p))) {
            let k = key(gpu, p);
            // Unknown utilisation (MIG, unsupported) is not idleness.
            if p.sm_percent == Some(0) && p.memory_used.is_some_and(|m| m > 0) {
                self.zero_since.entry(k).or_insert(now);
                seen.push(k);
            }
        }
        self.zero_since.retain(|k, _| seen.contains(k));
    }

    /// Seconds `p` has held memory at 0 % SM; None when it is busy or not known to be idle.
    pub fn idle_seconds(&self, gpu: u32, p: &GpuProcess, now: i64) -> Option<u64> {
        self.zero_since.get(&key(gpu, p)).map(|since| now.saturating_sub(*since).max(0) as u64)
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
    fn a_process_idle_on_one_gpu_is_not_idle_on_another() {
        let mut t = IdleTracker::default();
        let gpus = vec![
            GpuSample { index: 0, processes: vec![proc(1, 100, Some(0))], ..Default::default() },
            GpuSample { index: 1, processes: vec![proc(1, 100, None)], ..Default::default() },
        ];
        t.observe(&gpus, 10);
        assert_eq!(t.idle_seconds(0, &proc(1, 100, Some(0)), 20), Some(10));
        assert_eq!(t.idle_seconds(1, &proc(1, 100, None), 20), None);
    }

    #[test]
    fn idle_time_counts_from_the_first_zero_and_resets_on_activity() {
        let mut t = IdleTracker::default();
        t.observe(&gpu(vec![proc(1, 100, Some(0)), proc(2, 100, None), proc(3, 0, Some(0))]), 1_000);
        t.observe(&gpu(vec![proc(1, 100, Some(0)), proc(2, 100, None), proc(3, 0, Some(0))]), 1_060);
        assert_eq!(t.idle_seconds(0, &proc(1, 100, Some(0)), 1_060), Some(60));
        // Unknown utilisation and no memory held are never idle-held.
        assert_eq!(t.idle_seconds(0, &proc(2, 100, None), 1_060), None);
        assert_eq!(t.idle_seconds(0, &proc(3, 0, Some(0)), 1_060), None);
        t.observe(&gpu(vec![proc(1, 100, Some(3))]), 1_070);
        assert_eq!(t.idle_seconds(0, &proc(1, 100, Some(3)), 1_070), None);
        t.observe(&gpu(vec![proc(1, 100, Some(0))]), 1_080);
        assert_eq!(t.idle_seconds(0, &proc(1, 100, Some(0)), 1_090), Some(10));
    }
}
