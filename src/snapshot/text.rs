//! The plain-text form of a snapshot, for `gpudock snapshot` without `--json`.

use std::fmt::Write as _;

use super::Snapshot;
// Every text from outside is one line here: a name with a newline cannot print a row of its own.
use crate::sanitize::line;
use crate::ui::fmt::{bytes, truncate};

fn opt<T: std::fmt::Display>(v: Option<T>, suffix: &str) -> String {
    v.map(|v| format!("{v}{suffix}")).unwrap_or_else(|| "n/a".into())
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
            "\n{:<4}{:<24}{:>22}{:>6}{:>6}{:>12}",
            "GPU", "NAME", "MEMORY", "UTIL", "TEMP", "POWER"
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
            let _ = writeln!(
                out,
                "{:<4}{:<24}{:>22}{:>6}{:>6}{:>12}",
                g.index,
                truncate(&line(&g.name), 23),
                mem,
                opt(g.utilization_gpu_percent, "%"),
                opt(g.temperature_c, "C"),
                power
            );
            for p in &g.processes {
                let who = match (&p.container_name, &p.container_id) {
                    (Some(n), _) => format!("container {}", line(n)),
                    (None, Some(id)) => format!("container {}", crate::docker::short_id(id)),
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
    if !s.containers.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<24}{:<10}{:>8}{:>10}{:>6}{:>8}{:>10}  IMAGE",
            "CONTAINER", "STATE", "GPUS", "GPU MEM", "SM%", "CPU%", "MEM"
        );
        for c in &s.containers {
            let _ = writeln!(
                out,
                "{:<24}{:<10}{:>8}{:>10}{:>6}{:>8}{:>10}  {}",
                truncate(&line(&c.name), 23),
                c.state,
                c.gpus.as_deref().unwrap_or("-"),
                if c.gpu_memory_used_bytes > 0 { bytes(c.gpu_memory_used_bytes) } else { "-".into() },
                c.gpu_sm_percent.map_or_else(|| "-".to_string(), |p| p.to_string()),
                c.cpu_percent.map(|p| format!("{p:.1}")).unwrap_or_else(|| "-".into()),
                c.memory_used_bytes.map(bytes).unwrap_or_else(|| "-".into()),
                line(&c.image)
            );
        }
    }
    out
}
