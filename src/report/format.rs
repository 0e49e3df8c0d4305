//! The report as a table for people, and as JSON or CSV for scripts.

use std::fmt::Write as _;

use super::{By, Report, Row};

/// Memory in GiB, as the dashboard shows it.
fn gib(bytes: Option<f64>) -> String {
    bytes.map_or_else(|| "n/a".into(), |b| format!("{:.1}GiB", b / (1u64 << 30) as f64))
}

fn hours(h: f64) -> String {
    if h >= 100.0 { format!("{h:.0}") } else { format!("{h:.2}") }
}

fn name(by: By, r: &Row) -> String {
    match (by, r.key.as_slice()) {
        (By::Owner, [o]) if o.is_empty() => "- (unknown)".into(),
        (By::Container, [host, c]) => format!("{host}/{c}"),
        _ => r.key.join("/"),
    }
}

fn span(secs: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

fn at(unix: f64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(unix.max(0.0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The table, widest consumers first, with the window and resolution it was computed at.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let start = r.end - r.window.since_secs as f64;
    let _ = writeln!(
        out,
        "GPU time by {} from {} to {} ({}), resolution {} s",
        r.by.as_str(),
        at(start),
        at(r.end),
        span(r.window.since_secs),
        r.window.step_secs
    );
    if r.rows.is_empty() {
        let _ = writeln!(out, "no GPU was held in this window (is `gpudock export` scraped?)");
        return out;
    }
    let width = r.rows.iter().map(|row| name(r.by, row).chars().count()).max().unwrap_or(0).clamp(5, 48);
    let head = match r.by {
        By::Owner => "OWNER",
        By::Container => "NODE/CONTAINER",
        By::Node => "NODE",
    };
    let _ = writeln!(
        out,
        "{head:<width$}  {:>10} {:>10} {:>10} {:>10}",
        "HELD GPU-h", "BUSY GPU-h", "IDLE GPU-h", "PEAK MEM"
    );
    for row in &r.rows {
        let n = crate::fmt::truncate(&name(r.by, row), width);
        let _ = writeln!(
            out,
            "{n:<width$}  {:>10} {:>10} {:>10} {:>10}",
            hours(row.held_gpu_hours),
            hours(row.busy_gpu_hours),
            hours(row.idle_gpu_hours),
            gib(row.peak_memory_bytes)
        );
    }
    out
}

/// `{by, start, end, since_seconds, resolution_seconds, rows: [{<labels>, held_gpu_hours, …}]}`.
pub fn json(r: &Report) -> String {
    let rows: Vec<serde_json::Value> = r
        .rows
        .iter()
        .map(|row| {
            let mut m = serde_json::Map::new();
            for (k, v) in r.by.labels().iter().zip(&row.key) {
                let key = if *k == "Hostname" { "node" } else { k };
                let value = if v.is_empty() { serde_json::Value::Null } else { v.clone().into() };
                m.insert(key.to_string(), value);
            }
            m.insert("held_gpu_hours".into(), row.held_gpu_hours.into());
            m.insert("busy_gpu_hours".into(), row.busy_gpu_hours.into());
            m.insert("idle_held_gpu_hours".into(), row.idle_gpu_hours.into());
            m.insert("peak_memory_bytes".into(), row.peak_memory_bytes.into());
            serde_json::Value::Object(m)
        })
        .collect();
    let doc = serde_json::json!({
        "by": r.by.as_str(),
        "start": at(r.end - r.window.since_secs as f64),
        "end": at(r.end),
        "end_unix_seconds": r.end,
        "since_seconds": r.window.since_secs,
        "resolution_seconds": r.window.step_secs,
        "rows": rows,
    });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    crate::sanitize::json(&text).into_owned() + "\n"
}

/// One field, quoted when it must be (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// A header line, then one line per row; hours unrounded.
pub fn csv(r: &Report) -> String {
    let mut out = String::new();
    let labels: Vec<&str> = r.by.labels().iter().map(|k| if *k == "Hostname" { "node" } else { k }).collect();
    let _ = writeln!(
        out,
        "{},held_gpu_hours,busy_gpu_hours,idle_held_gpu_hours,peak_memory_bytes",
        labels.join(",")
    );
    for row in &r.rows {
        let key: Vec<String> = row.key.iter().map(|k| field(k)).collect();
        let peak = row.peak_memory_bytes.map_or(String::new(), |p| format!("{p:.0}"));
        let _ = writeln!(
            out,
            "{},{},{},{},{peak}",
            key.join(","),
            row.held_gpu_hours,
            row.busy_gpu_hours,
            row.idle_gpu_hours
        );
    }
    out
}
