//! Idle-held GPUs: a process that holds GPU memory while its SM utilisation stays at 0. The
//! tracker remembers since when each such process has been at 0, so "idle for 42 minutes"
//! survives across samples (and, through `idle_store`, across restarts); any activity, or
//! memory released, resets it.
//!
//! A process first seen already idle has been idle since some time before: its idle time is a
//! lower bound (`idle ≥6m`). Only a process seen working and then idle has an exact start.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::model::{GpuProcess, GpuSample};

/// A process on one GPU (a process on two GPUs may idle on one and work on the other), told
/// apart from a later one with the same PID by its start time (0 when /proc does not show it).
pub type ProcessKey = (u32, u32, u64);

pub fn key(gpu: u32, p: &GpuProcess) -> ProcessKey {
    (gpu, p.pid, p.host.as_ref().map(|h| h.start_time).unwrap_or(0))
}

/// Since when a process has been idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Since {
    /// Unix seconds of the first sample in the current run of 0 % with memory held.
    at: i64,
    /// Seen working before: `at` is when it stopped. Otherwise it was idle when first seen, and
    /// the idle time is a lower bound.
    exact: bool,
}

/// One idle process as the state file keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub gpu: u32,
    pub pid: u32,
    /// Clock ticks since boot when it started (field 22 of /proc/<pid>/stat).
    pub start: u64,
    pub since: i64,
    pub exact: bool,
}

#[derive(Debug, Clone, Default)]
pub struct IdleTracker {
    zero_since: HashMap<ProcessKey, Since>,
    /// Processes in the last sample that were not idle: one of them going idle has an exact start.
    working: HashSet<ProcessKey>,
    /// Bumped whenever `zero_since` changes, so the state file is written only then.
    generation: u64,
}

impl IdleTracker {
    /// Takes one sample of every GPU at `now`.
    pub fn observe(&mut self, gpus: &[GpuSample], now: i64) {
        let mut seen = HashSet::new();
        let mut working = HashSet::new();
        for (gpu, p) in gpus.iter().flat_map(|g| g.processes.iter().map(move |p| (g.index, p))) {
            let k = key(gpu, p);
            // Unknown utilisation (MIG, unsupported) is not idleness.
            if p.sm_percent == Some(0) && p.memory_used.is_some_and(|m| m > 0) {
                if !self.zero_since.contains_key(&k) {
                    let exact = self.working.contains(&k);
                    self.zero_since.insert(k, Since { at: now, exact });
                    self.generation += 1;
                }
                seen.insert(k);
            } else {
                working.insert(k);
            }
        }
        let before = self.zero_since.len();
        self.zero_since.retain(|k, _| seen.contains(k));
        if self.zero_since.len() != before {
            self.generation += 1;
        }
        self.working = working;
    }

    /// Seconds `p` has held memory at 0 % SM; None when it is busy or not known to be idle.
    pub fn idle_seconds(&self, gpu: u32, p: &GpuProcess, now: i64) -> Option<u64> {
        self.zero_since.get(&key(gpu, p)).map(|s| now.saturating_sub(s.at).max(0) as u64)
    }

    /// Whether `p`'s idle time is only a lower bound: it was already idle when first seen.
    pub fn lower_bound(&self, gpu: u32, p: &GpuProcess) -> bool {
        self.zero_since.get(&key(gpu, p)).is_some_and(|s| !s.exact)
    }

    /// Changes with every change to what is idle since when.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// What the state file keeps: processes /proc identified (a start time), so a restart can
    /// tell the same process from a new one with its PID.
    pub fn saved(&self) -> Vec<Saved> {
        let mut out: Vec<Saved> = self
            .zero_since
            .iter()
            .filter(|((_, _, start), _)| *start != 0)
            .map(|((gpu, pid, start), s)| Saved {
                gpu: *gpu,
                pid: *pid,
                start: *start,
                since: s.at,
                exact: s.exact,
            })
            .collect();
        out.sort_by_key(|s| (s.gpu, s.pid));
        out
    }

    /// Takes back what an earlier run saved: the first sample keeps each entry whose process
    /// is still idle, and drops the rest.
    pub fn restore(&mut self, saved: &[Saved]) {
        for s in saved {
            self.zero_since.insert((s.gpu, s.pid, s.start), Since { at: s.since, exact: s.exact });
        }
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

    fn started(pid: u32, start: u64, sm: u32) -> GpuProcess {
        GpuProcess {
            host: Some(crate::gpu::HostProcess { start_time: start, ..Default::default() }),
            ..proc(pid, 100, Some(sm))
        }
    }

    #[test]
    fn first_seen_idle_is_a_lower_bound_and_a_restart_keeps_the_start() {
        let mut t = IdleTracker::default();
        t.observe(&gpu(vec![started(1, 500, 0), started(2, 600, 40)]), 1_000);
        assert!(t.lower_bound(0, &started(1, 500, 0)), "idle before gpudock saw it");
        t.observe(&gpu(vec![started(1, 500, 0), started(2, 600, 0)]), 1_010);
        assert!(!t.lower_bound(0, &started(2, 600, 0)), "seen working, then idle: exact");
        let saved = t.saved();
        assert_eq!(saved.len(), 2);
        // A restart 5 s later: the same processes keep their idle start, a reused PID does not.
        let mut again = IdleTracker::default();
        again.restore(&saved);
        again.observe(&gpu(vec![started(1, 500, 0), started(2, 999, 0)]), 1_015);
        assert_eq!(again.idle_seconds(0, &started(1, 500, 0), 1_020), Some(20));
        assert!(again.lower_bound(0, &started(1, 500, 0)));
        assert_eq!(again.idle_seconds(0, &started(2, 999, 0), 1_020), Some(5), "another process");
        assert!(again.lower_bound(0, &started(2, 999, 0)));
        let g = again.generation();
        again.observe(&gpu(vec![started(1, 500, 0), started(2, 999, 0)]), 1_016);
        assert_eq!(again.generation(), g, "nothing changed: nothing to write");
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
