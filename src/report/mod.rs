//! `gpudock report`: GPU time per owner, container or node, from the history Prometheus already
//! keeps of `gpudock export` (and dcgm-exporter, per node). Every figure is one PromQL subquery
//! evaluated on the server, so the answer is one number per row whatever the fleet's size or
//! the window's length; gpudock stores nothing.
//!
//! - held: GPU-hours during which a process held memory on the GPU;
//! - busy: GPU-hours at SM utilisation above `BUSY_PERCENT` (per container's processes, or the
//!   whole GPU for a node);
//! - idle-held: GPU-hours held by processes idle past `idle_gpu_after` (as the exporter marked
//!   them);
//! - peak: the most GPU memory held at once.

mod format;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::fleet::PromClient;
use crate::fleet::prom::{Answer, Labels};
use crate::fleet::queries::dcgm;

pub use format::{csv, json, table};

/// SM utilisation above this is busy, as everywhere (`gpu::state`).
pub const BUSY_PERCENT: u32 = crate::gpu::state::BUSY_PERCENT;
/// dcgm-exporter reports no processes: a GPU holds memory when its frame buffer use is above
/// the state model's floor (MiB), well below one CUDA context (300–500 MiB).
pub const DCGM_HELD_MIB: u64 = crate::gpu::state::HELD_FLOOR_BYTES >> 20;
/// Subquery steps per window at most: bounds the work Prometheus does per figure.
const MAX_STEPS: u64 = 2000;
const MIN_STEP: u64 = 15;

/// What the rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    Owner,
    Container,
    Node,
}

impl By {
    /// The labels that name a row.
    pub fn labels(self) -> &'static [&'static str] {
        match self {
            By::Owner => &["owner"],
            By::Container => &["Hostname", "container"],
            By::Node => &["Hostname"],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            By::Owner => "owner",
            By::Container => "container",
            By::Node => "node",
        }
    }
}

/// The window and the subquery step: at most `MAX_STEPS` steps, each at least `MIN_STEP`
/// seconds and a whole multiple of it, so every figure's cost is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since_secs: u64,
    pub step_secs: u64,
}

impl Window {
    pub fn new(since: Duration) -> Window {
        let since_secs = since.as_secs().max(MIN_STEP);
        let step_secs = since_secs.div_ceil(MAX_STEPS).div_ceil(MIN_STEP).max(1) * MIN_STEP;
        Window { since_secs, step_secs }
    }

    /// `expr` summed over the window's steps, as hours of it.
    fn hours(&self, expr: &str) -> String {
        let Window { since_secs, step_secs } = self;
        format!("sum_over_time(({expr})[{since_secs}s:{step_secs}s]) * {step_secs} / 3600")
    }

    fn peak(&self, expr: &str) -> String {
        let Window { since_secs, step_secs } = self;
        format!("max_over_time(({expr})[{since_secs}s:{step_secs}s])")
    }
}

/// The four figures' PromQL for `by` over `w`: held, busy, idle-held (GPU-hours), peak bytes.
pub fn queries(by: By, w: Window) -> [String; 4] {
    let busy = BUSY_PERCENT;
    let (held, busy, idle, peak) = match by {
        By::Owner => (
            "sum by (owner) (gpudock_owner_gpus_held)".to_string(),
            format!(
                "count by (owner) (count by (Hostname, gpu, owner) (gpudock_container_gpu_sm_percent > {busy}))"
            ),
            "count by (owner) (count by (Hostname, gpu, owner) (gpudock_container_gpu_idle_seconds))"
                .to_string(),
            "sum by (owner) (gpudock_owner_gpu_memory_used_bytes)".to_string(),
        ),
        By::Container => (
            "count by (Hostname, container) (gpudock_container_gpu_memory_used_bytes > 0)".to_string(),
            format!("count by (Hostname, container) (gpudock_container_gpu_sm_percent > {busy})"),
            "count by (Hostname, container) (gpudock_container_gpu_idle_seconds)".to_string(),
            "sum by (Hostname, container) (gpudock_container_gpu_memory_used_bytes)".to_string(),
        ),
        By::Node => {
            // Per GPU (`Hostname`, `UUID`): gpudock's processes where it exports, else dcgm's
            // frame buffer above the floor.
            let gpudock_held = "max by (Hostname, UUID) (gpudock_container_gpu_memory_used_bytes > 0 or gpudock_host_gpu_memory_used_bytes > 0)";
            let dcgm_held =
                format!("max by (Hostname, UUID) ({} > {DCGM_HELD_MIB})", dcgm("DCGM_FI_DEV_FB_USED"));
            (
                format!("count by (Hostname) ({gpudock_held} or {dcgm_held})"),
                format!("count by (Hostname) ({} > {busy})", crate::fleet::queries::util()),
                "count by (Hostname) (max by (Hostname, UUID) (gpudock_gpu_idle_held_processes) > 0)"
                    .to_string(),
                format!("sum by (Hostname) ({})", crate::fleet::queries::mem_used()),
            )
        }
    };
    [w.hours(&held), w.hours(&busy), w.hours(&idle), w.peak(&peak)]
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// The values of `By::labels`, in order (empty: unknown owner).
    pub key: Vec<String>,
    pub held_gpu_hours: f64,
    pub busy_gpu_hours: f64,
    pub idle_gpu_hours: f64,
    pub peak_memory_bytes: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub by: By,
    pub window: Window,
    /// Unix seconds the window ends at (Prometheus' clock).
    pub end: f64,
    pub rows: Vec<Row>,
}

/// Joins the four answers by row key, widest consumers (most GPU-hours held) first.
pub fn rows(by: By, answers: [Answer; 4]) -> Vec<Row> {
    let key = |l: &Labels| -> Vec<String> {
        by.labels()
            .iter()
            .map(|k| crate::sanitize::line(l.get(*k).map_or("", String::as_str)).into_owned())
            .collect()
    };
    let mut out: BTreeMap<Vec<String>, Row> = BTreeMap::new();
    for (figure, answer) in answers.into_iter().enumerate() {
        let Answer::Vector(samples) = answer else { continue };
        for s in samples.into_iter().filter(|s| s.value.is_finite()) {
            let k = key(&s.labels);
            let row = out.entry(k.clone()).or_insert_with(|| Row { key: k, ..Row::default() });
            match figure {
                0 => row.held_gpu_hours = s.value,
                1 => row.busy_gpu_hours = s.value,
                2 => row.idle_gpu_hours = s.value,
                _ => row.peak_memory_bytes = Some(s.value),
            }
        }
    }
    let mut rows: Vec<Row> =
        out.into_values().filter(|r| r.held_gpu_hours > 0.0 || r.busy_gpu_hours > 0.0).collect();
    rows.sort_by(|a, b| b.held_gpu_hours.total_cmp(&a.held_gpu_hours).then_with(|| a.key.cmp(&b.key)));
    rows
}

/// Asks Prometheus for the report: four instant queries at one moment.
pub async fn collect(
    client: &PromClient,
    by: By,
    since: Duration,
) -> Result<Report, crate::fleet::PromError> {
    let window = Window::new(since);
    let (now, _) = client.query("time()", None).await?;
    let end = match now {
        Answer::Scalar(t) => t,
        _ => return Err(crate::fleet::PromError::Malformed("time() did not answer a scalar".into())),
    };
    let mut answers = Vec::with_capacity(4);
    for q in queries(by, window) {
        answers.push(client.query(&q, Some(end)).await?.0);
    }
    let answers: [Answer; 4] =
        answers.try_into().map_err(|_| crate::fleet::PromError::Malformed("lost an answer".into()))?;
    Ok(Report { by, window, end, rows: rows(by, answers) })
}

/// Collects and prints the report on stdout; Prometheus' errors are the command's error.
pub async fn print(
    client: &PromClient,
    by: By,
    since: Duration,
    json_out: bool,
    csv_out: bool,
) -> anyhow::Result<()> {
    use std::io::Write;
    let report = collect(client, by, since).await?;
    let text = if json_out {
        json(&report)
    } else if csv_out {
        csv(&report)
    } else {
        table(&report)
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // `gpudock report | head` closing the pipe early is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// `--since`: "7d", "10m", "36h"; at least a minute, at most 400 days.
pub fn parse_since(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("--since {text:?}: {e} (e.g. 7d, 12h, 10m)"))?;
    if d < Duration::from_secs(60) || d > Duration::from_secs(400 * 86_400) {
        return Err(format!("--since {text:?}: give between 1m and 400d"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests;
