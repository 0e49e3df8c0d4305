//! What is wrong with a GPU, at a glance in its panel row, and its MIG instances as sub-rows.

use ratatui::text::{Line, Span};

use super::fmt::{age, bytes, truncate};
use super::gpus::{short_name, users};
use super::theme::Styles;
use crate::app::AppState;
use crate::gpu::GpuSample;
use crate::gpu::health::problems;

/// Badges for one GPU: recent XIDs, health problems, idle-held memory. Empty when all is well.
pub fn badges(g: &GpuSample, app: &AppState, st: &Styles) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    if let Some(x) = app.gpu.xids.iter().rev().find(|x| x.gpu_index == g.index) {
        out.push(Span::styled(format!("⚠XID {} ", x.xid), st.error()));
    }
    let found = problems(&g.health);
    if let Some(first) = found.first() {
        let more = if found.len() > 1 { format!("+{}", found.len() - 1) } else { String::new() };
        out.push(Span::styled(format!("⚠{}{more} ", short_problem(first)), st.warn()));
    }
    // DGX fabric: a link down, errors rising, Fabric Manager not finished.
    let all = app.gpu.snapshot.as_ref().map_or(&[][..], |s| s.gpus.as_slice());
    out.extend(super::gpu_fabric::badge(g, all, st));
    let idle = g.processes.iter().filter_map(|p| app.gpu.idle_held(g.index, p, app.idle_after)).max();
    if let Some(secs) = idle {
        out.push(Span::styled(format!("idle {} ", age(secs as i64)), st.warn()));
    }
    out
}

/// The badge form of a problem: short enough for a narrow row.
fn short_problem(p: &str) -> String {
    if let Some(reason) = p.strip_prefix("throttled: ") {
        return reason.replace("sw ", "").replace("hw ", "hw-");
    }
    if p.starts_with("ECC uncorrected") {
        return "ECC".into();
    }
    p.to_string()
}

/// One line per MIG instance: profile, memory, utilisation (n/a: NVML does not report it per
/// instance), and who runs in it.
pub fn mig_rows(g: &GpuSample, app: &AppState, st: &Styles, width: u16) -> Vec<Line<'static>> {
    let Some(mig) = g.mig.as_ref().filter(|m| m.enabled) else { return Vec::new() };
    let last = mig.instances.len().saturating_sub(1);
    mig.instances
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let profile = short_name(&m.name).rsplit(" MIG ").next().unwrap_or(&m.name).to_string();
            let mem = match (m.memory_used, m.memory_total) {
                (Some(u), Some(t)) => format!("{}/{}", bytes(u), bytes(t)),
                _ => "n/a".into(),
            };
            // Narrow panes keep who runs in it; the column padding and "util n/a" go first.
            let wide = width >= 100;
            let mut spans = vec![
                Span::styled(if i == last { "   └ " } else { "   ├ " }, st.dim()),
                Span::styled(format!("MIG {} ", m.index), st.key()),
                Span::raw(if wide {
                    format!("{:<10} ", truncate(&profile, 10))
                } else {
                    format!("{profile} ")
                }),
                Span::raw(if wide { format!("{mem:<17} ") } else { format!("{mem} ") }),
            ];
            if wide {
                spans.push(Span::styled("util n/a ", st.dim()));
            }
            let procs = g.processes.iter().filter(|p| {
                p.gpu_instance.is_some()
                    && p.gpu_instance == m.gpu_instance
                    && (p.compute_instance.is_none() || p.compute_instance == m.compute_instance)
            });
            let who = users(g.index, procs, app);
            let used: usize = spans.iter().map(|s| s.width()).sum();
            let rest = usize::from(width).saturating_sub(used + 2);
            spans.push(Span::styled("│ ", st.dim()));
            spans.push(if who.is_empty() {
                Span::styled("no processes", st.dim())
            } else {
                Span::raw(truncate(&who.join(", "), rest))
            });
            Line::from(spans)
        })
        .collect()
}
