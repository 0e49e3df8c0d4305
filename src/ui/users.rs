//! The Users view: one row per owner, most GPU memory first. Columns drop by priority on narrow
//! panes (owner, GPU memory and GPUs stay).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::fmt::{age, bytes, truncate};
use super::theme::Styles;
use crate::app::AppState;
use crate::app::users::{KEYS, UserRow, UsersView};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Owner,
    Containers,
    Gpus,
    GpuMem,
    Sm,
    Idle,
    Hours,
    Source,
}

impl Col {
    const ALL: [Col; 8] =
        [Col::Owner, Col::Containers, Col::Gpus, Col::GpuMem, Col::Sm, Col::Idle, Col::Hours, Col::Source];
    /// Earlier survives a narrow pane.
    const PRIORITY: [Col; 8] =
        [Col::Owner, Col::GpuMem, Col::Gpus, Col::Idle, Col::Sm, Col::Containers, Col::Hours, Col::Source];

    fn header(self) -> &'static str {
        match self {
            Col::Owner => "OWNER",
            Col::Containers => "CONTAINERS",
            Col::Gpus => "GPUS",
            Col::GpuMem => "GPU MEM",
            Col::Sm => "SM%",
            Col::Idle => "IDLE-HELD",
            Col::Hours => "GPU-h",
            Col::Source => "HOW KNOWN",
        }
    }

    fn width(self) -> u16 {
        match self {
            Col::Owner => 14,
            Col::Containers => 10,
            Col::Gpus => 12,
            Col::GpuMem => 8,
            Col::Sm => 4,
            Col::Idle => 15,
            Col::Hours => 6,
            Col::Source => 18,
        }
    }
}

fn pick_columns(width: u16) -> Vec<Col> {
    let mut chosen = Vec::new();
    let mut used = 0u16;
    for col in Col::PRIORITY {
        let need = col.width() + u16::from(!chosen.is_empty());
        if used + need <= width || col == Col::Owner {
            used += need;
            chosen.push(col);
        }
    }
    Col::ALL.into_iter().filter(|c| chosen.contains(c)).collect()
}

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, v: &UsersView, rows: &[UserRow], st: &Styles) {
    let since =
        app.users_clock.since.map(|s| format!("GPU-h since {} ago ", age(app.now - s))).unwrap_or_default();
    let title = Line::from(vec![Span::styled(" Users ", st.title()), Span::raw(format!("{} ", rows.len()))]);
    let hints = app.keymap.hint_line_within(
        &crate::app::view::hints(KEYS, app.read_only),
        usize::from(area.width.saturating_sub(4)),
    );
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(title)
        .title_bottom(Line::from(Span::styled(format!(" {hints} "), st.dim())));
    if usize::from(area.width) >= since.chars().count() + 16 {
        block = block.title(Line::from(Span::styled(since, st.dim())).right_aligned());
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    if rows.is_empty() {
        let text = "Nobody runs a container or holds GPU memory here.";
        f.render_widget(Paragraph::new(text).style(st.dim()).wrap(Wrap { trim: true }), inner);
        return;
    }
    let cols = pick_columns(inner.width);
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|c| if *c == Col::Owner { Constraint::Min(c.width()) } else { Constraint::Length(c.width()) })
        .collect();
    let header = Row::new(cols.iter().map(|c| Cell::from(c.header()))).style(st.header_row());
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    let selected = v.selected.min(rows.len() - 1);
    let offset = selected.saturating_sub(visible - 1);
    let owner_width = usize::from(
        inner
            .width
            .saturating_sub(cols.iter().filter(|c| **c != Col::Owner).map(|c| c.width() + 1).sum::<u16>()),
    );
    let body = rows
        .iter()
        .skip(offset)
        .take(visible)
        .map(|r| Row::new(cols.iter().map(|c| cell(*c, r, owner_width, st))));
    let table = Table::new(body, widths).header(header).column_spacing(1).row_highlight_style(st.selected());
    let mut state = TableState::default().with_selected(Some(selected - offset));
    f.render_stateful_widget(table, inner, &mut state);
}

fn cell(col: Col, r: &UserRow, owner_width: usize, st: &Styles) -> Cell<'static> {
    let u = &r.usage;
    let dash = || Cell::from(Span::styled("-", st.dim()));
    match col {
        Col::Owner if u.owner.name.is_none() => Cell::from(Span::styled("- (unknown)", st.dim())),
        Col::Owner => Cell::from(truncate(&u.owner.shown(), owner_width.max(6))),
        // Host processes are not containers: said in words, not as a count beside one.
        Col::Containers => Cell::from(match (u.containers_running, u.host_processes) {
            (0, 0) => "-".to_string(),
            (0, _) => "host".to_string(),
            (n, 0) => n.to_string(),
            (n, _) => format!("{n} + host"),
        }),
        Col::Gpus if u.gpus_held.is_empty() => dash(),
        Col::Gpus => {
            let list: Vec<String> = u.gpus_held.iter().map(u32::to_string).collect();
            Cell::from(truncate(&list.join(","), usize::from(Col::Gpus.width())))
        }
        Col::GpuMem if u.memory_used == 0 => dash(),
        Col::GpuMem => Cell::from(Span::styled(bytes(u.memory_used), st.key())),
        Col::Sm => match u.sm_percent {
            _ if u.gpus_held.is_empty() => dash(),
            Some(p) => Cell::from(Span::styled(format!("{p:.0}"), st.load(p))),
            None => Cell::from(Span::styled("n/a", st.dim())),
        },
        Col::Idle => match u.idle_seconds {
            Some(s) => {
                Cell::from(Span::styled(format!("{} {}", bytes(u.idle_memory), age(s as i64)), st.warn()))
            }
            None => dash(),
        },
        Col::Hours => Cell::from(format!("{:.2}", r.session_gpu_hours)),
        Col::Source => Cell::from(Span::styled(source(&u.owner.source), st.dim())),
    }
}

fn source(s: &crate::docker::owner::OwnerSource) -> String {
    use crate::docker::owner::OwnerSource as S;
    match s {
        S::LaunchedBy => "gpudock label".into(),
        S::OwnerLabel(k) => format!("label {k}"),
        S::HomeMount => "home mount, guess".into(),
        S::User => "container user".into(),
        S::HostProcess => "host process".into(),
        S::Unknown => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_panes_keep_owner_memory_and_gpus() {
        assert_eq!(pick_columns(40), vec![Col::Owner, Col::Gpus, Col::GpuMem]);
        assert_eq!(pick_columns(118).len(), Col::ALL.len());
        assert_eq!(pick_columns(5), vec![Col::Owner]);
    }
}
