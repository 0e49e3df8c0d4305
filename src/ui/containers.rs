//! The container table. Columns are dropped by priority when the pane is narrow, so a 40-column
//! tmux pane still shows name, state, CPU and memory.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::fmt::{age, bytes, stats_text, truncate};
use super::theme::Styles;
use crate::app::{AppState, EngineStatus, Panel};
use crate::config::SortKey;
use crate::docker::{Container, ContainerState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Owner,
    Image,
    State,
    Status,
    Cpu,
    Mem,
    MemPct,
    Gpus,
    GpuMem,
    Sm,
}

impl Col {
    /// Display order.
    const ALL: [Col; 11] = [
        Col::Name,
        Col::Owner,
        Col::Image,
        Col::State,
        Col::Status,
        Col::Cpu,
        Col::Mem,
        Col::MemPct,
        Col::Gpus,
        Col::GpuMem,
        Col::Sm,
    ];
    /// Which columns survive when space runs out: earlier in this list wins. The name is
    /// coloured by state, so STATE can go before the figures do.
    const PRIORITY: [Col; 11] = [
        Col::Name,
        Col::GpuMem,
        Col::Cpu,
        Col::Mem,
        Col::State,
        Col::Gpus,
        Col::Owner,
        Col::Status,
        Col::Sm,
        Col::Image,
        Col::MemPct,
    ];

    fn header(self) -> &'static str {
        match self {
            Col::Name => "NAME",
            Col::Owner => "OWNER",
            Col::Image => "IMAGE",
            Col::State => "STATE",
            Col::Status => "STATUS",
            Col::Cpu => "CPU%",
            Col::Mem => "MEM",
            Col::MemPct => "MEM%",
            Col::Gpus => "GPUS",
            Col::GpuMem => "GPU MEM",
            Col::Sm => "SM%",
        }
    }

    fn min_width(self) -> u16 {
        match self {
            Col::Name => 12,
            Col::Owner => 9,
            Col::Image => 14,
            Col::State => 7,
            Col::Status => 20,
            Col::Cpu => 6,
            Col::Mem => 8,
            Col::MemPct => 5,
            Col::Gpus => 6,
            Col::GpuMem => 8,
            Col::Sm => 4,
        }
    }

    /// The sort a click on this column's header asks for.
    fn sort_key(self) -> Option<SortKey> {
        Some(match self {
            Col::Owner => return None,
            Col::Name => SortKey::Name,
            Col::Image => SortKey::Image,
            Col::State => SortKey::State,
            Col::Status => SortKey::Uptime,
            Col::Cpu => SortKey::Cpu,
            Col::Mem | Col::MemPct => SortKey::Memory,
            Col::GpuMem | Col::Sm | Col::Gpus => SortKey::GpuMemory,
        })
    }

    /// Its width; SM% widens to hold "idle ≥42m" while some container holds a GPU idle.
    fn width(self, sm_wide: bool) -> u16 {
        if self == Col::Sm && sm_wide { 10 } else { self.min_width() }
    }

    fn flexible(self) -> bool {
        matches!(self, Col::Name | Col::Image)
    }
}

/// `name_width`: what the longest name wants (within limits). Other columns drop before the
/// names are cut: a row is recognised by its name, not by its status.
fn pick_columns(width: u16, name_width: u16, sm_wide: bool) -> Vec<Col> {
    let mut chosen: Vec<Col> = Vec::new();
    let mut used: u16 = 0;
    for col in Col::PRIORITY {
        let own = if col == Col::Name { name_width.max(col.min_width()) } else { col.width(sm_wide) };
        let need = own + u16::from(!chosen.is_empty());
        // The name always shows, truncated if it must be: a row without it is nobody's.
        if used + need <= width || col == Col::Name {
            used += need;
            chosen.push(col);
        }
    }
    Col::ALL.into_iter().filter(|c| chosen.contains(c)).collect()
}

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, st: &Styles) {
    let focused = app.focus == Panel::Containers;
    let running = app.table.all().iter().filter(|c| c.state == ContainerState::Running).count();
    let mut title = vec![Span::styled(" Containers ", st.title())];
    if let Some(g) = app.table.gpu_filter() {
        title.push(Span::styled(format!("on GPU {g} · "), st.warn()));
    }
    if let Some(o) = app.table.owner_filter() {
        let o = if o.is_empty() { "unknown" } else { o };
        title.push(Span::styled(format!("owner {o} · "), st.warn()));
    }
    let shown = app.table.len();
    let total = app.table.all().len();
    title.push(Span::raw(if shown == total {
        format!("{running} running / {total} ")
    } else {
        format!("{shown} of {total} match ")
    }));
    let sort = format!("sort: {}{} ", app.table.sort.label(), if app.table.reverse { " ↑" } else { "" });
    let title = Line::from(title);
    let mut block = Block::default().borders(Borders::ALL).border_style(st.border(focused));
    // Two titles on one short border would overwrite each other: the sort goes when space is short.
    if usize::from(area.width) >= title.width() + sort.chars().count() + 4 {
        block = block.title(Line::from(Span::styled(sort, st.dim())).right_aligned());
    }
    let block = block.title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);

    if let Some(msg) = engine_message(app, st) {
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), inner);
        return;
    }
    if app.table.is_empty() {
        let text = if let Some(g) = app.table.gpu_filter() {
            format!("No container was given GPU {g} or runs on it (Esc shows all).")
        } else if let Some(o) = app.table.owner_filter() {
            format!(
                "No container of {} is listed now (Esc shows all).",
                if o.is_empty() { "unknown owners" } else { o }
            )
        } else if app.table.filter().is_empty() {
            "No containers. Start one with docker run, or press the help key for keys.".to_string()
        } else {
            format!("No container name or image contains {:?} (Esc clears the filter).", app.table.filter())
        };
        f.render_widget(Paragraph::new(text).style(st.dim()).wrap(Wrap { trim: true }), inner);
        return;
    }

    let (cols, widths) = columns(app, inner.width);
    let header = Row::new(cols.iter().map(|c| Cell::from(c.header()))).style(st.header_row());
    let flex_width = flexible_width(&cols, inner.width, app.gpu.any_container_idle());
    // The cursor stays visible: scroll just far enough to show it. Only the rows on screen are
    // built, so 500 containers cost what 30 do.
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    let selected = app.table.selected_index();
    let offset = selected.map(|s| s.saturating_sub(visible - 1)).unwrap_or(0);
    let rows = app
        .table
        .rows()
        .skip(offset)
        .take(visible)
        .map(|c| Row::new(cols.iter().map(|col| cell(*col, c, app, st, flex_width))));
    let table = Table::new(rows, widths).header(header).column_spacing(1).row_highlight_style(st.selected());
    let mut state = TableState::default().with_selected(selected.map(|s| s - offset));
    f.render_stateful_widget(table, inner, &mut state);
}

/// The columns that fit `width` and their widths: the same for drawing and for clicks.
fn columns(app: &AppState, width: u16) -> (Vec<Col>, Vec<Constraint>) {
    let longest = app.table.rows().map(|c| c.name.chars().count()).max().unwrap_or(0);
    let sm_wide = app.gpu.any_container_idle();
    let cols = pick_columns(width, u16::try_from(longest.min(24)).unwrap_or(24), sm_wide);
    let widths = cols
        .iter()
        .map(|c| if c.flexible() { Constraint::Fill(1) } else { Constraint::Length(c.width(sm_wide)) })
        .collect();
    (cols, widths)
}

/// What a click at (x, y) in the container panel `area` is on: a column header (sorts), a row
/// (selects), or the panel.
pub fn hit(app: &AppState, area: Rect, x: u16, y: u16) -> crate::app::Hit {
    use crate::app::Hit;
    let inner =
        Rect::new(area.x + 1, area.y + 1, area.width.saturating_sub(2), area.height.saturating_sub(2));
    if !inner.contains((x, y).into()) || app.table.is_empty() {
        return Hit::Panel(Panel::Containers);
    }
    if y == inner.y {
        let (cols, widths) = columns(app, inner.width);
        let rects = Layout::horizontal(widths).spacing(1).split(inner);
        let col = cols.iter().zip(rects.iter()).find(|(_, r)| x >= r.x && x < r.x + r.width + 1);
        return col.and_then(|(c, _)| c.sort_key()).map_or(Hit::Panel(Panel::Containers), Hit::SortBy);
    }
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    let offset = app.table.selected_index().map(|s| s.saturating_sub(visible - 1)).unwrap_or(0);
    let row = offset + usize::from(y - inner.y - 1);
    if row < app.table.len() { Hit::ContainerRow(row) } else { Hit::Panel(Panel::Containers) }
}

/// Width each flexible column gets, so long names and images can be cut with an ellipsis rather
/// than silently.
fn flexible_width(cols: &[Col], width: u16, sm_wide: bool) -> usize {
    let fixed: u16 = cols.iter().filter(|c| !c.flexible()).map(|c| c.width(sm_wide)).sum();
    let spacing = cols.len().saturating_sub(1) as u16;
    let flex = cols.iter().filter(|c| c.flexible()).count().max(1) as u16;
    usize::from(width.saturating_sub(fixed + spacing) / flex)
}

fn cell<'a>(col: Col, c: &'a Container, app: &AppState, st: &Styles, flex_width: usize) -> Cell<'a> {
    let stats = app.stats.get(&c.id);
    let dash = || Cell::from(Span::styled("-", st.dim()));
    match col {
        Col::Name => Cell::from(Span::styled(truncate(&c.name, flex_width), name_style(c, st))),
        // A guess from a home mount reads `carol?`; an unknown owner is `-`.
        Col::Owner if c.owner.name.is_none() => dash(),
        Col::Owner => Cell::from(truncate(&c.owner.shown(), usize::from(Col::Owner.min_width()))),
        Col::Image => Cell::from(Span::styled(truncate(&c.image, flex_width), st.dim())),
        Col::State => Cell::from(Span::styled(c.state.as_str(), st.state(c.state))),
        // The grace period of a stop: the engine still says running.
        Col::Status if c.state.is_running() && app.stopping.contains(&c.id) => {
            Cell::from(Span::styled("stopping", st.warn()))
        }
        Col::Status => Cell::from(status_text(c, app.now)),
        Col::Cpu => match (stats.and_then(|s| s.cpu_percent), stats.map(stats_text)) {
            (Some(p), Some([cpu, _, _])) => Cell::from(Span::styled(cpu, st.load(p))),
            _ => dash(),
        },
        Col::Mem => match stats.map(stats_text) {
            Some([_, mem, _]) if !mem.is_empty() => Cell::from(mem),
            _ => dash(),
        },
        Col::MemPct => match (stats.and_then(|s| s.mem_percent()), stats.map(stats_text)) {
            (Some(p), Some([_, _, pct])) => Cell::from(Span::styled(pct, st.load(p))),
            _ => dash(),
        },
        Col::Gpus => match gpu_cell(c, app) {
            Some(text) => Cell::from(text),
            None => dash(),
        },
        Col::GpuMem => match app.gpu.usage_of(c).filter(|u| u.memory_used > 0) {
            Some(u) => Cell::from(Span::styled(bytes(u.memory_used), st.key())),
            None => dash(),
        },
        Col::Sm if let Some(text) = app.gpu.container_idle_text(&c.id).filter(|_| c.state.is_running()) => {
            Cell::from(Span::styled(format!("idle {text}"), st.warn()))
        }
        // The mean over its GPUs; n/a: on a GPU, but the driver gives no share (MIG); -: none.
        Col::Sm => match app.gpu.usage_of(c).map(|u| u.sm_percent) {
            Some(Some(p)) => Cell::from(Span::styled(format!("{p}"), st.load(f64::from(p)))),
            Some(None) => Cell::from(Span::styled("n/a", st.dim())),
            None => dash(),
        },
    }
}

fn name_style(c: &Container, st: &Styles) -> ratatui::style::Style {
    match c.state {
        ContainerState::Running => ratatui::style::Style::default(),
        other => st.state(other),
    }
}

fn gpu_cell(c: &Container, app: &AppState) -> Option<String> {
    let label = c.gpus.label(app.gpu.usage_of(c).map_or(&[], |u| u.gpus.as_slice()));
    // The GPU request comes with the inspect.
    label.or_else(|| c.pending.then(|| "…".to_string()))
}

/// "Up 5m (healthy)", "Exited (137) 2h ago", like `docker ps` but from timestamps, so it stays
/// current without asking the engine again.
pub fn status_text(c: &Container, now: i64) -> String {
    let since = |t: Option<i64>| match (t, now) {
        (Some(t), n) if n > 0 => age(n - t),
        _ => "?".to_string(),
    };
    let health = c.health.map(|h| format!(" ({})", h.as_str())).unwrap_or_default();
    match c.state {
        // Times and exit codes come with the inspect: "…" until then, not "?" or a made-up 0.
        ContainerState::Running if c.pending => "Up …".to_string(),
        ContainerState::Paused if c.pending => "Up … (paused)".to_string(),
        ContainerState::Restarting if c.pending => "Restarting …".to_string(),
        ContainerState::Exited if c.pending => "Exited …".to_string(),
        ContainerState::Running => format!("Up {}{health}", since(c.started_at)),
        ContainerState::Paused => format!("Up {} (paused)", since(c.started_at)),
        ContainerState::Restarting => format!("Restarting ({})", c.exit_code.unwrap_or(0)),
        ContainerState::Exited => {
            format!("Exited ({}) {} ago", c.exit_code.unwrap_or(0), since(c.finished_at))
        }
        ContainerState::Created => format!("Created {} ago", since(Some(c.created))),
        ContainerState::Dead => "Dead".to_string(),
        ContainerState::Removing => "Removing".to_string(),
        ContainerState::Unknown => String::new(),
    }
}

/// Text that replaces the table while there is no live engine to list.
fn engine_message<'a>(app: &AppState, st: &Styles) -> Option<Vec<Line<'a>>> {
    match &app.engine {
        EngineStatus::Up(_) => None,
        EngineStatus::Connecting { host } => Some(vec![Line::from(Span::styled(
            format!("Connecting to the Docker engine at {host}…"),
            st.dim(),
        ))]),
        EngineStatus::Down { host, reason, retry_in, attempt } => Some(vec![
            Line::from(Span::styled("Docker engine unreachable", st.error())),
            Line::from(format!("at {host}: {reason}")),
            Line::from(Span::styled(
                format!(
                    "Retrying in {:.1}s (attempt {attempt}); the list comes back by itself.",
                    retry_in.as_secs_f64()
                ),
                st.dim(),
            )),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_panes_keep_the_essential_columns() {
        assert_eq!(pick_columns(38, 12, false), vec![Col::Name, Col::Cpu, Col::Mem, Col::GpuMem]);
        assert_eq!(pick_columns(118, 12, false).len(), Col::ALL.len());
        assert_eq!(pick_columns(10, 12, false), vec![Col::Name]);
    }

    #[test]
    fn long_names_keep_their_room_before_status() {
        // 80 columns, 22-character names: STATUS goes, the names stay whole.
        let cols = pick_columns(78, 22, false);
        assert!(cols.contains(&Col::Name) && !cols.contains(&Col::Status), "{cols:?}");
        assert!(pick_columns(118, 22, false).contains(&Col::Status));
    }
}
