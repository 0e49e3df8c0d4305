//! What is wrong with a GPU, at a glance in its panel row, and its MIG instances as sub-rows.

use ratatui::text::{Line, Span};

use super::fmt::{bytes, truncate};
use super::gpu_users::users;
use super::gpus::short_name;
use super::theme::Styles;
use crate::app::AppState;
use crate::gpu::GpuSample;
use crate::gpu::state::Problem;

/// Badges for one GPU within `room` columns: the latest XID, then (`problems`: unless the
/// row's second line shows them) every problem that fits, then idle-held memory. Empty when all
/// is well.
pub fn badges(g: &GpuSample, app: &AppState, st: &Styles, room: usize, problems: bool) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let latest = latest_xid(g, app);
    if let Some(code) = latest {
        out.push(Span::styled(format!("⚠XID {code} "), st.error()));
    }
    let idle = g
        .processes
        .iter()
        .filter_map(|p| {
            Some((app.gpu.idle_held(g.index, p, app.idle_after)?, app.gpu.idle_lower_bound(g.index, p)))
        })
        .max_by_key(|(s, _)| *s);
    let idle = idle.map(|(secs, bound)| {
        Span::styled(format!("idle {} ", crate::app::gpu::idle_age(secs, bound)), st.warn())
    });
    // DGX fabric: a link down, errors rising, Fabric Manager not finished.
    let all = app.gpu.snapshot.as_ref().map_or(&[][..], |s| s.gpus.as_slice());
    out.extend(super::gpu_fabric::badge(g, all, st));
    if problems {
        let used: usize = out.iter().map(|s| s.width()).sum();
        let budget = room.saturating_sub(used + idle.as_ref().map_or(0, |s| s.width()));
        out.extend(problem_spans(g, app, st, budget));
    }
    out.extend(idle);
    out
}

fn latest_xid(g: &GpuSample, app: &AppState) -> Option<u64> {
    app.gpu.xids.iter().rev().find(|x| crate::app::gpu::xid_on(x, g)).map(|x| x.xid)
}

/// Every problem of `g` that fits in `room` columns, each short (`ECC 2`, `hw-thermal`,
/// `PCIe x8/16`, `reset`), faults in the error colour; what does not fit is counted as
/// `+N more`. The latest XID has its own badge.
pub fn problem_spans(g: &GpuSample, app: &AppState, st: &Styles, room: usize) -> Vec<Span<'static>> {
    let latest = latest_xid(g, app);
    let problems: Vec<&Problem> = app
        .gpu
        .assessment(g.index)
        // The fabric's own badge names its problem (`⚠fabric: in progress`): not twice.
        .map(|a| {
            a.problems
                .iter()
                .filter(|p| !matches!(p, Problem::Xid(c) if Some(*c) == latest))
                .filter(|p| !matches!(p, Problem::Fabric(_)))
                .collect()
        })
        .unwrap_or_default();
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for (i, p) in problems.iter().enumerate() {
        let text = format!("⚠{} ", p.short());
        let left = problems.len() - i - 1;
        // Room for this one, and for the count of the rest when there are more.
        let tail = if left > 0 { format!("+{left} more ").len() } else { 0 };
        if used + text.chars().count() + tail > room {
            out.push(Span::styled(format!("+{} more ", problems.len() - i), st.warn()));
            break;
        }
        used += text.chars().count();
        out.push(Span::styled(text, if p.breaks() { st.error() } else { st.warn() }));
    }
    out
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
