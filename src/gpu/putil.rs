//! Per-process SM utilisation from nvmlDeviceGetProcessUtilization, done the way the driver
//! needs: it keeps a ring of samples and returns those newer than the timestamp passed in.
//!
//! - The first call asks for one refresh interval back, not for 0 (which returns the whole
//!   buffer: minutes of stale samples averaged into "now").
//! - Samples at or before the last timestamp seen, and bogus ones above 100 %, are dropped.
//! - A PID may have several samples in the window: the newest counts.
//! - A process with no sample is unknown the first time it is seen, then 0 (NOT_FOUND means no
//!   process was busy in the window).
//! - MIG GPUs do not support it: every process stays unknown.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use nvml_wrapper::error::NvmlError;
use nvml_wrapper::struct_wrappers::device::ProcessUtilizationSample;

use super::model::GpuProcess;

/// One GPU's sampling state.
#[derive(Debug, Default)]
pub struct ProcessUtilization {
    /// Newest sample timestamp seen (µs); None before the first call.
    last_seen: Option<u64>,
    /// PIDs present at the previous call: only these may be said to be at 0.
    known: HashSet<u32>,
}

/// What the driver answered for one GPU.
pub enum Reading {
    Samples(Vec<ProcessUtilizationSample>),
    /// The GPU (or a MIG GPU) does not report it.
    Unsupported,
}

impl ProcessUtilization {
    /// Timestamp to pass to the driver: the last one seen, or one interval before `now_us`.
    pub fn since(&self, now_us: u64, interval: Duration) -> u64 {
        self.last_seen.unwrap_or_else(|| now_us.saturating_sub(interval.as_micros() as u64))
    }

    /// Interprets the driver's answer (`Err(NotFound)` = no samples in the window).
    pub fn reading(r: Result<Vec<ProcessUtilizationSample>, NvmlError>) -> Result<Reading, NvmlError> {
        match r {
            Ok(s) => Ok(Reading::Samples(s)),
            Err(NvmlError::NotFound) => Ok(Reading::Samples(Vec::new())),
            Err(NvmlError::NotSupported | NvmlError::FailedToLoadSymbol(_)) => Ok(Reading::Unsupported),
            Err(e) => Err(e),
        }
    }

    /// Sets each process's `sm_percent` from `reading`.
    pub fn apply(&mut self, reading: Reading, since: u64, processes: &mut [GpuProcess]) {
        let samples = match reading {
            Reading::Samples(s) => s,
            Reading::Unsupported => {
                for p in processes.iter_mut() {
                    p.sm_percent = None;
                }
                self.known.clear();
                return;
            }
        };
        let mut newest: HashMap<u32, (u64, u32)> = HashMap::new();
        let mut last = self.last_seen.unwrap_or(since);
        for s in samples.iter().filter(|s| s.timestamp > since && s.sm_util <= 100) {
            last = last.max(s.timestamp);
            let e = newest.entry(s.pid).or_insert((0, 0));
            if s.timestamp >= e.0 {
                *e = (s.timestamp, s.sm_util);
            }
        }
        self.last_seen = Some(last);
        for p in processes.iter_mut() {
            p.sm_percent = match newest.get(&p.pid) {
                Some((_, sm)) => Some(*sm),
                None if self.known.contains(&p.pid) => Some(0),
                None => None,
            };
        }
        self.known = processes.iter().map(|p| p.pid).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pid: u32, timestamp: u64, sm: u32) -> ProcessUtilizationSample {
        ProcessUtilizationSample { pid, timestamp, sm_util: sm, mem_util: 0, enc_util: 0, dec_util: 0 }
    }

    fn procs(pids: &[u32]) -> Vec<GpuProcess> {
        pids.iter().map(|&pid| GpuProcess { pid, ..Default::default() }).collect()
    }

    #[test]
    fn first_call_looks_one_interval_back_not_at_the_whole_buffer() {
        let u = ProcessUtilization::default();
        assert_eq!(u.since(10_000_000, Duration::from_secs(1)), 9_000_000);
    }

    #[test]
    fn newest_sample_wins_bogus_and_old_ones_are_dropped() {
        let mut u = ProcessUtilization::default();
        let mut p = procs(&[1, 2, 3]);
        let since = 1_000;
        let s = vec![sample(1, 1_500, 30), sample(1, 1_800, 40), sample(2, 1_700, 250), sample(3, 900, 77)];
        u.apply(Reading::Samples(s), since, &mut p);
        // 2's only sample is bogus and 3's is older than the window: both unknown on first sight.
        assert_eq!(p.iter().map(|p| p.sm_percent).collect::<Vec<_>>(), [Some(40), None, None]);
        assert_eq!(u.since(0, Duration::ZERO), 1_800);
        // Next tick: no samples at all; processes seen before are idle, a new one is unknown.
        let mut p = procs(&[1, 2, 4]);
        u.apply(Reading::Samples(Vec::new()), 1_800, &mut p);
        assert_eq!(p.iter().map(|p| p.sm_percent).collect::<Vec<_>>(), [Some(0), Some(0), None]);
        // A sample at the last timestamp seen was already counted.
        let mut p = procs(&[1]);
        u.apply(Reading::Samples(vec![sample(1, 1_800, 99)]), 1_800, &mut p);
        assert_eq!(p[0].sm_percent, Some(0));
    }

    #[test]
    fn unsupported_leaves_every_process_unknown() {
        let mut u = ProcessUtilization::default();
        let mut p = procs(&[1]);
        u.apply(Reading::Samples(Vec::new()), 0, &mut p);
        u.apply(Reading::Unsupported, 0, &mut p);
        assert_eq!(p[0].sm_percent, None);
        assert!(
            matches!(ProcessUtilization::reading(Err(NvmlError::NotFound)), Ok(Reading::Samples(s)) if s.is_empty())
        );
        assert!(matches!(
            ProcessUtilization::reading(Err(NvmlError::NotSupported)),
            Ok(Reading::Unsupported)
        ));
    }
}
