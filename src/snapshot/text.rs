//! The plain-text form of a snapshot, for `gpudock snapshot` without `--json`.

use std::fmt::Write as _;

use super::Snapshot;
// Every text from outside is one line here: a name with a newline cannot print a row of its own.
use crate::fmt::{bytes, truncate};
use crate::sanitize::line;

fn opt<T: std::fmt::Display>(v: Option<T>, suffix: &str) -> String {
    v.map(|v| format!("{v}{suffix}")).unwrap_or_else(|| "n/a".into())
}

/// The owner as the dashboard shows it: `carol?` for a guess from a home mount, `-` unknown.
fn owner_shown(c: &super::ContainerDoc) -> String {
    match (&c.owner, c.owner_source.as_str()) {
        (Some(o), "home_mount") => format!("{o}?"),
        (Some(o), _) => o.clone(),
        (None, _) => "-".into(),
    }
}

/// The plain-text form of the snapshot.
pub fn table(s: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "gpudock snapshot of {} at {}", line(&s.host), s.timestamp);
    let _ = match (&s.docker.error, s.docker.connected) {
        (None, true) => writeln!(
            out,
            "docker: {} at {} (API {})",
            opt(s.docker.server_version.as_deref(), ""),
            s.docker.host,
            opt(s.docker.api_version.as_deref(), "")
        ),
        (e, _) => {
            writeln!(out, "docker: unavailable at {}: {}", s.docker.host, line(e.as_deref().unwrap_or("?")))
        }
    };
    let _ = match &s.nvml.error {
        None => writeln!(
            out,
            "nvml: driver {}, CUDA {}",
            opt(s.nvml.driver_version.as_deref(), ""),
            opt(s.nvml.cuda_driver_version.as_deref(), "")
        ),
        Some(e) => writeln!(out, "nvml: {}", line(e)),
    };
    if !s.gpus.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<4}{:<24}{:>22}{:>6}{:>6}{:>12}  {:<7} HEALTH",
            "GPU", "NAME", "MEMORY", "UTIL", "TEMP", "POWER", "STATE"
        );
        for g in &s.gpus {
            let mem = match (g.memory_used_bytes, g.memory_total_bytes) {
                (Some(u), Some(t)) => format!("{} / {}", bytes(u), bytes(t)),
                _ => "n/a".into(),
            };
            let power = match (g.power_watts, g.power_limit_watts) {
                (Some(p), Some(l)) => format!("{p:.0}/{l:.0}W"),
                (Some(p), None) => format!("{p:.0}W"),
                _ => "n/a".into(),
            };
            let health: Vec<&str> = g.faults.iter().chain(&g.warnings).map(String::as_str).collect();
            let _ = writeln!(
                out,
                "{:<4}{:<24}{:>22}{:>6}{:>6}{:>12}  {:<7} {}",
                g.index,
                truncate(&line(&g.name), 23),
                mem,
                opt(g.utilization_gpu_percent, "%"),
                opt(g.temperature_c, "C"),
                power,
                g.state.as_str(),
                if health.is_empty() { "ok".to_string() } else { health.join(", ") }
            );
            for p in &g.processes {
                let who = match (&p.container_name, &p.container_id) {
                    (Some(n), _) => format!("container {}", line(n)),
                    (None, Some(id)) => format!("container {}", crate::docker::short_id(id)),
                    (None, None) if p.presence.words().is_some() => {
                        format!("host {}", p.presence.words().unwrap_or_default())
                    }
                    (None, None) => format!(
                        "host {} ({})",
                        line(p.command.as_deref().unwrap_or("?")),
                        line(p.user.as_deref().unwrap_or("?"))
                    ),
                };
                let _ = writeln!(
                    out,
                    "    pid {:<8} {:<10} SM {:>5}  {}",
                    p.pid,
                    p.memory_used_bytes.map(bytes).unwrap_or_else(|| "n/a".into()),
                    opt(p.sm_percent, "%"),
                    who
                );
            }
        }
    }
    if let Some(x) = &s.xids {
        let _ = writeln!(out, "\n{}", super::xids::text(x));
    }
    if !s.containers.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<24}{:<10}{:<13}{:>8}{:>10}{:>6}{:>8}{:>10}  IMAGE",
            "CONTAINER", "STATE", "OWNER", "GPUS", "GPU MEM", "SM%", "CPU%", "MEM"
        );
        for c in &s.containers {
            let _ = writeln!(
                out,
                "{:<24}{:<10}{:<13}{:>8}{:>10}{:>6}{:>8}{:>10}  {}",
                truncate(&line(&c.name), 23),
                c.state,
                truncate(&owner_shown(c), 12),
                c.gpus.as_deref().unwrap_or("-"),
                if c.gpu_memory_used_bytes > 0 { bytes(c.gpu_memory_used_bytes) } else { "-".into() },
                match (c.gpu_sm_percent, c.gpu_memory_used_bytes) {
                    (Some(p), _) => p.to_string(),
                    // On a GPU, but the driver gives no share (MIG): unknown, not none.
                    (None, m) if m > 0 => "n/a".into(),
                    (None, _) => "-".into(),
                },
                c.cpu_percent.map(|p| format!("{p:.1}")).unwrap_or_else(|| "-".into()),
                c.memory_used_bytes.map(bytes).unwrap_or_else(|| "-".into()),
                line(&c.image)
            );
        }
    }
    out
}
