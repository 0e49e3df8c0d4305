//! The rows of the GPU process view: one per process per GPU, from the latest GPU snapshot and
//! the container list, and the orders they can be sorted in.

use std::cmp::Ordering;

use super::super::AppState;
use crate::app::GpuStatus;
use crate::docker::ContainerId;
use crate::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcSort {
    GpuMemory,
    Sm,
    Cpu,
    Rss,
    Elapsed,
    Pid,
    Gpu,
}

impl ProcSort {
    /// The order `sort_next` cycles through; GPU memory first, since "who holds the memory" is
    /// why the view is opened most.
    pub const ALL: [ProcSort; 7] = [
        ProcSort::GpuMemory,
        ProcSort::Sm,
        ProcSort::Cpu,
        ProcSort::Rss,
        ProcSort::Elapsed,
        ProcSort::Pid,
        ProcSort::Gpu,
    ];

    pub fn next(self) -> ProcSort {
        let i = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    pub fn label(self) -> &'static str {
        match self {
            ProcSort::GpuMemory => "gpu memory",
            ProcSort::Sm => "sm",
            ProcSort::Cpu => "cpu",
            ProcSort::Rss => "rss",
            ProcSort::Elapsed => "time",
            ProcSort::Pid => "pid",
            ProcSort::Gpu => "gpu",
        }
    }

    /// Figures sort biggest first (the heavy users on top); PIDs and GPUs count up.
    fn descending(self) -> bool {
        !matches!(self, ProcSort::Pid | ProcSort::Gpu)
    }

    /// `a` before `b` in this order (unknown figures last when biggest go first).
    pub fn compare(self, a: &ProcRow, b: &ProcRow, reverse: bool) -> Ordering {
        let fig = |r: &ProcRow| -> f64 {
            let v = match self {
                ProcSort::GpuMemory => r.gpu_memory.map(|v| v as f64),
                ProcSort::Sm => r.sm_percent.map(f64::from),
                ProcSort::Cpu => r.cpu_percent,
                ProcSort::Rss => r.rss.map(|v| v as f64),
                ProcSort::Elapsed => r.elapsed.map(|v| v as f64),
                ProcSort::Pid => Some(f64::from(r.pid)),
                ProcSort::Gpu => Some(f64::from(r.gpu)),
            };
            v.unwrap_or(-1.0)
        };
        let mut by = fig(a).total_cmp(&fig(b));
        if self.descending() {
            by = by.reverse();
        }
        if reverse {
            by = by.reverse();
        }
        // Equal figures keep a stable order, so rows do not swap places between samples.
        by.then(a.gpu.cmp(&b.gpu)).then(a.pid.cmp(&b.pid))
    }
}

/// One GPU process as the view shows it. Text from /proc and the engine is made safe for the
/// terminal here, once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProcRow {
    pub gpu: u32,
    pub pid: u32,
    /// None where /proc does not show the process: then it cannot be signalled safely.
    pub start_time: Option<u64>,
    /// The container's name; None for a host process.
    pub container: Option<String>,
    pub user: Option<String>,
    /// The process's name (`comm`).
    pub command: Option<String>,
    pub cmdline: Option<String>,
    pub gpu_memory: Option<u64>,
    pub sm_percent: Option<u32>,
    pub cpu_percent: Option<f64>,
    pub rss: Option<u64>,
    /// Seconds since it started.
    pub elapsed: Option<u64>,
    /// Seconds it has held GPU memory at 0 % SM, once past `idle_gpu_after`.
    pub idle: Option<u64>,
    /// It was already idle when first seen: `idle` is a lower bound.
    pub idle_bound: bool,
}

impl ProcRow {
    /// The container's name, or `command(user)` for a host process.
    pub fn owner(&self) -> String {
        match &self.container {
            Some(name) => name.clone(),
            // Not in /proc: no owner to name, only why ("(exited)", "(not visible here: …)").
            None if self.user.is_none() && self.command.is_some() => self.command.clone().unwrap_or_default(),
            None => crate::gpu::model::command_user(self.command.as_deref(), self.user.as_deref()),
        }
    }

    /// The whole command line, or the process's name when /proc gave no line.
    pub fn command_line(&self) -> &str {
        self.cmdline.as_deref().or(self.command.as_deref()).unwrap_or("")
    }

    /// Where it runs, for the question before a signal.
    pub fn whereabouts(&self) -> String {
        match &self.container {
            Some(name) => format!("container {name}"),
            None => format!("host process, user {}", self.user.as_deref().unwrap_or("unknown")),
        }
    }

    /// The same process on the same GPU, across samples.
    pub fn key(&self) -> (u32, Option<u64>, u32) {
        (self.pid, self.start_time, self.gpu)
    }

    /// `needle` is lower case: the filter matches container name, user, command and PID.
    pub fn matches(&self, needle: &str) -> bool {
        needle.is_empty()
            || self.pid.to_string().contains(needle)
            || [&self.container, &self.user, &self.command, &self.cmdline]
                .iter()
                .any(|f| f.as_deref().is_some_and(|t| t.to_lowercase().contains(needle)))
    }
}

/// Every process on every GPU now, and why there are none when NVML cannot say.
pub fn rows_from(app: &AppState) -> (Vec<ProcRow>, Option<String>) {
    let why = match &app.gpu.status {
        GpuStatus::Up => None,
        GpuStatus::Starting => Some("waiting for the first GPU sample…".to_string()),
        GpuStatus::Unavailable { reason, .. } => Some(format!("NVML is unavailable: {reason}")),
        GpuStatus::Remote { host } => {
            Some(format!("the engine is at {host}: this machine's GPUs are not its GPUs, so none are shown"))
        }
    };
    let Some(snap) = &app.gpu.snapshot else { return (Vec::new(), why) };
    let clean = |s: Option<&str>| s.map(|t| sanitize::line(t).into_owned());
    // Looked up per process: a scan of 500 containers for each would be the costliest part.
    let names: std::collections::HashMap<&ContainerId, &str> =
        app.table.all().iter().map(|c| (&c.id, c.name.as_str())).collect();
    let mut rows = Vec::new();
    for g in &snap.gpus {
        for p in &g.processes {
            let container =
                p.container_id.as_ref().map(|id| names.get(id).map_or_else(|| id.short(), |n| *n));
            let host = p.host.as_ref();
            rows.push(ProcRow {
                gpu: g.index,
                pid: p.pid,
                start_time: host.map(|h| h.start_time),
                container: clean(container),
                user: clean(p.user.as_deref()),
                // Not shown by this machine's /proc: what it is, in place of a command.
                command: p.presence.words().map(String::from).or_else(|| clean(p.command.as_deref())),
                cmdline: clean(host.and_then(|h| h.cmdline.as_deref())),
                gpu_memory: p.memory_used,
                sm_percent: p.sm_percent,
                cpu_percent: host.and_then(|h| h.cpu_percent),
                rss: host.and_then(|h| h.rss_bytes),
                elapsed: host.and_then(|h| h.elapsed_secs),
                idle: app.gpu.idle_held(g.index, p, app.idle_after),
                idle_bound: app.gpu.idle_lower_bound(g.index, p),
            });
        }
    }
    (rows, why)
}
