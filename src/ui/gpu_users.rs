//! Who is on a GPU, as its panel row, its MIG sub-rows and its detail view name them.

use ratatui::text::Span;

use super::fmt::{bytes, truncate};
use super::theme::Styles;
use crate::app::AppState;
use crate::gpu::model::host_owner;
use crate::gpu::{GpuProcess, GpuSample};

/// Who is on this GPU, biggest first: containers by name, host processes by command and user,
/// each with its memory and SM share on this GPU ("train 40GiB 71%"), or how long it has held
/// that memory idle ("train 40GiB idle 42m").
pub fn users<'a>(
    gpu: u32,
    processes: impl IntoIterator<Item = &'a GpuProcess>,
    app: &AppState,
) -> Vec<String> {
    struct Row {
        label: String,
        mem: u64,
        sm: Option<u32>,
        /// Idle seconds while every process of the row is idle-held.
        idle: Option<u64>,
        /// Some process of it was already idle when first seen: its idle time is a lower bound.
        bound: bool,
    }
    let mut rows: Vec<Row> = Vec::new();
    for p in processes {
        let container = p.container_id.as_ref().map(|id| (id, app.table.all().iter().find(|c| &c.id == id)));
        let label = match container {
            // NVML can list a process after its container stopped: nobody's now.
            Some((_, Some(c))) if !c.state.is_running() => format!("pid {} ({} stopped)", p.pid, c.name),
            Some((_, Some(c))) => c.name.clone(),
            Some((id, None)) => id.short().to_string(),
            None => format!("{} pid {}", host_owner(p), p.pid),
        };
        let mem = p.memory_used.unwrap_or(0);
        let idle = app.gpu.idle_held(gpu, p, app.idle_after);
        let bound = app.gpu.idle_lower_bound(gpu, p);
        match rows.iter_mut().find(|r| r.label == label && p.container_id.is_some()) {
            Some(r) => {
                r.mem += mem;
                r.sm = match (r.sm, p.sm_percent) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
                r.idle = r.idle.zip(idle).map(|(a, b)| a.min(b));
                r.bound |= bound;
            }
            None => rows.push(Row { label, mem, sm: p.sm_percent, idle, bound }),
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.mem));
    rows.into_iter()
        .map(|r| match (r.idle, r.sm) {
            (Some(secs), _) => {
                format!("{} {} idle {}", r.label, bytes(r.mem), crate::app::gpu::idle_age(secs, r.bound))
            }
            (None, Some(sm)) => format!("{} {} {sm}%", r.label, bytes(r.mem)),
            (None, None) => format!("{} {}", r.label, bytes(r.mem)),
        })
        .collect()
}

pub fn users_span(g: &GpuSample, app: &AppState, st: &Styles, width: usize) -> Span<'static> {
    let list = users(g.index, &g.processes, app);
    if list.is_empty() {
        return Span::styled("no processes", st.dim());
    }
    Span::raw(truncate(&list.join(", "), width))
}
