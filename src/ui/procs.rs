//! The GPU process view: one row per process per GPU. Columns drop by priority on narrow panes
//! (PID, container and GPU memory stay) and the command line takes whatever width is left.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::fmt::{bytes, truncate};
use super::theme::Styles;
use crate::app::AppState;
use crate::app::procs::{KEYS, ProcRow, ProcessView};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Gpu,
    Pid,
    Owner,
    GpuMem,
    Sm,
    Cpu,
    Rss,
    Time,
    Command,
}

impl Col {
    /// Display order.
    const ALL: [Col; 9] =
        [Col::Gpu, Col::Pid, Col::Owner, Col::GpuMem, Col::Sm, Col::Cpu, Col::Rss, Col::Time, Col::Command];
    /// Which columns survive when space runs out: earlier wins. A row is a PID of a container
    /// holding GPU memory; the rest explains it.
    const PRIORITY: [Col; 9] =
        [Col::Pid, Col::Owner, Col::GpuMem, Col::Command, Col::Gpu, Col::Sm, Col::Cpu, Col::Time, Col::Rss];

    fn header(self) -> &'static str {
        match self {
            Col::Gpu => "GPU",
            Col::Pid => "PID",
            Col::Owner => "CONTAINER",
            Col::GpuMem => "GPU MEM",
            Col::Sm => "SM%",
            Col::Cpu => "CPU%",
            Col::Rss => "RSS",
            Col::Time => "TIME",
            Col::Command => "COMMAND",
        }
    }

    fn min_width(self) -> u16 {
        match self {
            Col::Gpu => 3,
            Col::Pid => 7,
            Col::Owner => 9,
            Col::GpuMem | Col::Rss | Col::Time | Col::Command => 8,
            Col::Sm => 4,
            Col::Cpu => 6,
        }
    }
}

/// The columns that fit `width` and the owner column's width. PID and owner always show; the
/// owner gives up room (down to its minimum) so that GPU memory and the command still fit.
fn pick_columns(width: u16, owner_wants: u16) -> (Vec<Col>, u16) {
    let reserve = [Col::Pid, Col::GpuMem, Col::Command].iter().map(|c| c.min_width() + 1).sum::<u16>();
    let owner = owner_wants.min(width.saturating_sub(reserve)).max(Col::Owner.min_width());
    let mut chosen = Vec::new();
    let mut used: u16 = 0;
    for col in Col::PRIORITY {
        let own = if col == Col::Owner { owner } else { col.min_width() };
        let need = own + u16::from(!chosen.is_empty());
        if used + need <= width || matches!(col, Col::Pid | Col::Owner) {
            used += need;
            chosen.push(col);
        }
    }
    (Col::ALL.into_iter().filter(|c| chosen.contains(c)).collect(), owner)
}

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, v: &ProcessView, st: &Styles) {
    let mut title = vec![Span::styled(" GPU processes ", st.title())];
    if let Some(g) = v.gpu {
        title.push(Span::styled(format!("on GPU {g} · "), st.warn()));
    }
    title.push(Span::raw(if v.len() == v.total() {
        format!("{} ", v.total())
    } else {
        format!("{} of {} match ", v.len(), v.total())
    }));
    let title = Line::from(title);
    let sort = format!("sort: {}{} ", v.sort.label(), if v.reverse { " ↑" } else { "" });
    let mut block = Block::default().borders(Borders::ALL).border_style(st.border(true));
    if usize::from(area.width) >= title.width() + sort.chars().count() + 4 {
        block = block.title(Line::from(Span::styled(sort, st.dim())).right_aligned());
    }
    let block = block.title(title).title_bottom(bottom_line(app, v, area.width.saturating_sub(2), st));
    let inner = block.inner(area);
    f.render_widget(block, area);

    if v.is_empty() {
        let text = match &v.unavailable {
            Some(why) => why.clone(),
            None if !v.filter.is_empty() => format!("No process matches {:?}.", v.filter),
            None => match v.gpu {
                Some(g) => format!("No processes on GPU {g}."),
                None => "No processes on the GPUs.".to_string(),
            },
        };
        f.render_widget(Paragraph::new(text).style(st.dim()).wrap(Wrap { trim: true }), inner);
    } else {
        table(f, inner, v, st);
    }
}

fn table(f: &mut Frame, inner: Rect, v: &ProcessView, st: &Styles) {
    let longest = v.rows().map(|r| r.owner().chars().count()).max().unwrap_or(0);
    let (cols, owner) = pick_columns(inner.width, u16::try_from(longest.min(24)).unwrap_or(24));
    // SM% widens to hold "idle ≥42m" (a lower bound) while some process holds its GPU memory idle.
    let sm_wide = v.rows().any(|r| r.idle.is_some());
    let width_of = |c: &Col| match c {
        Col::Owner => owner,
        Col::Sm if sm_wide => 10,
        c => c.min_width(),
    };
    let fixed: u16 = cols.iter().filter(|c| **c != Col::Command).map(width_of).sum();
    let spacing = u16::try_from(cols.len().saturating_sub(1)).unwrap_or(0);
    let command_width = usize::from(inner.width.saturating_sub(fixed + spacing));
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|c| if *c == Col::Command { Constraint::Fill(1) } else { Constraint::Length(width_of(c)) })
        .collect();
    let header = Row::new(cols.iter().map(|c| Cell::from(c.header()))).style(st.header_row());
    // Scroll just far enough to keep the cursor visible; only the rows on screen are built.
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    let selected = v.selected_index();
    let offset = selected.map(|s| s.saturating_sub(visible - 1)).unwrap_or(0);
    let rows = v
        .rows()
        .skip(offset)
        .take(visible)
        .map(|r| Row::new(cols.iter().map(|c| cell(*c, r, usize::from(owner), command_width, st))));
    let table = Table::new(rows, widths).header(header).column_spacing(1).row_highlight_style(st.selected());
    let mut state = TableState::default().with_selected(selected.map(|s| s - offset));
    f.render_stateful_widget(table, inner, &mut state);
}

fn cell(col: Col, r: &ProcRow, owner: usize, command: usize, st: &Styles) -> Cell<'static> {
    let dash = || Cell::from(Span::styled("-", st.dim()));
    match col {
        Col::Gpu => Cell::from(r.gpu.to_string()),
        Col::Pid => Cell::from(r.pid.to_string()),
        Col::Owner => {
            let style = if r.container.is_some() { st.key() } else { ratatui::style::Style::default() };
            Cell::from(Span::styled(truncate(&r.owner(), owner), style))
        }
        Col::GpuMem => match r.gpu_memory {
            Some(b) => Cell::from(bytes(b)),
            None => Cell::from(Span::styled("n/a", st.dim())),
        },
        Col::Sm => sm_cell(r, st),
        Col::Cpu => match r.cpu_percent {
            Some(p) => Cell::from(Span::styled(format!("{p:.1}"), st.load(p))),
            None => dash(),
        },
        Col::Rss => r.rss.map_or_else(dash, |b| Cell::from(bytes(b))),
        Col::Time => r.elapsed.map_or_else(dash, |s| Cell::from(elapsed(s))),
        Col::Command => Cell::from(Span::styled(truncate(r.command_line(), command), st.dim())),
    }
}

/// The SM share of a process: its own function, so marks (an idle process holding memory) can
/// join it in one place.
fn sm_cell(r: &ProcRow, st: &Styles) -> Cell<'static> {
    if let Some(secs) = r.idle {
        let text = format!("idle {}", crate::app::gpu::idle_age(secs, r.idle_bound));
        return Cell::from(Span::styled(text, st.warn()));
    }
    match r.sm_percent {
        Some(p) => Cell::from(Span::styled(p.to_string(), st.load(f64::from(p)))),
        None => Cell::from(Span::styled("n/a", st.dim())),
    }
}

/// "05:07", "3:12:40", "4d07h": a process's age, exact while short, coarse when long.
fn elapsed(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match secs {
        0..3600 => format!("{m:02}:{s:02}"),
        3600..86_400 => format!("{h}:{m:02}:{s:02}"),
        _ => format!("{d}d{h:02}h"),
    }
}

/// The filter being typed, or the view's keys as bound (whole hints only, and none that
/// read-only mode refuses).
fn bottom_line(app: &AppState, v: &ProcessView, width: u16, st: &Styles) -> Line<'static> {
    if v.filtering {
        return Line::from(vec![
            Span::styled(" /", st.key()),
            Span::raw(v.filter.clone()),
            Span::styled("█", st.dim()),
            Span::styled(" Enter keep · Esc clear ", st.dim()),
        ]);
    }
    let allowed = crate::app::view::hints(KEYS, app.read_only);
    let hints = app.keymap.hint_line_within(&allowed, usize::from(width).saturating_sub(2));
    let mut text = if hints.is_empty() { String::new() } else { format!(" {hints}") };
    if !v.filter.is_empty() && text.chars().count() + v.filter.chars().count() + 12 <= usize::from(width) {
        text.push_str(&format!(" · filter: {}", v.filter));
    }
    Line::from(Span::styled(format!("{text} "), st.dim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_panes_keep_pid_owner_memory_and_command() {
        assert_eq!(pick_columns(38, 14), (vec![Col::Pid, Col::Owner, Col::GpuMem, Col::Command], 12));
        let (wide, owner) = pick_columns(118, 14);
        assert_eq!((wide.len(), owner), (Col::ALL.len(), 14));
        let (mid, _) = pick_columns(58, 14);
        assert!(mid.contains(&Col::Gpu) && mid.contains(&Col::Cpu) && !mid.contains(&Col::Rss), "{mid:?}");
        assert_eq!(pick_columns(10, 14).0, vec![Col::Pid, Col::Owner]);
    }

    #[test]
    fn ages() {
        assert_eq!(elapsed(307), "05:07");
        assert_eq!(elapsed(3 * 3600 + 12 * 60 + 40), "3:12:40");
        assert_eq!(elapsed(4 * 86_400 + 7 * 3600 + 5), "4d07h");
    }
}
