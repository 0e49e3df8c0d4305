//! The alert list: one row per alert of the session, active first. Columns drop on narrow
//! panes (the alert and when it started stay). Colour says what still holds: active alerts in
//! the warning or error colour, ended ones dimmed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::fmt::{age, truncate};
use super::theme::Styles;
use crate::app::AppState;
use crate::app::alert_list::{AlertsView, KEYS};
use crate::app::alerts::Alert;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Started,
    End,
    Gpu,
    Who,
    Text,
}

impl Col {
    const ALL: [Col; 5] = [Col::Started, Col::End, Col::Gpu, Col::Who, Col::Text];
    /// Earlier survives a narrow pane.
    const PRIORITY: [Col; 5] = [Col::Text, Col::Started, Col::End, Col::Gpu, Col::Who];
    /// The alert's own text keeps at least this much.
    const TEXT_MIN: u16 = 14;

    fn header(self) -> &'static str {
        match self {
            Col::Started => "STARTED",
            Col::End => "END",
            Col::Gpu => "GPU",
            Col::Who => "WHO",
            Col::Text => "ALERT",
        }
    }

    fn width(self) -> u16 {
        match self {
            Col::Started => 8,
            Col::End => 13,
            Col::Gpu => 3,
            Col::Who => 18,
            Col::Text => Col::TEXT_MIN,
        }
    }
}

fn pick_columns(width: u16) -> Vec<Col> {
    let mut chosen = Vec::new();
    let mut used = 0u16;
    for col in Col::PRIORITY {
        let need = col.width() + u16::from(!chosen.is_empty());
        if used + need <= width || col == Col::Text {
            used += need;
            chosen.push(col);
        }
    }
    Col::ALL.into_iter().filter(|c| chosen.contains(c)).collect()
}

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, v: &AlertsView, st: &Styles) {
    let alerts = app.alerts.session();
    let active = alerts.iter().filter(|a| a.active()).count();
    let title = Line::from(vec![
        Span::styled(" Alerts ", st.title()),
        Span::raw(format!("{} this session, {active} active ", alerts.len())),
    ]);
    let hints = app.keymap.hint_line_within(
        &crate::app::view::hints(KEYS, app.read_only),
        usize::from(area.width.saturating_sub(4)),
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(title)
        .title_bottom(Line::from(Span::styled(format!(" {hints} "), st.dim())));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if alerts.is_empty() {
        let text = "No alerts this session.";
        f.render_widget(Paragraph::new(text).style(st.dim()).wrap(Wrap { trim: true }), inner);
        return;
    }
    // A narrow pane gives each alert two lines: when above when it ended, the text wrapped.
    let narrow = inner.width < NARROW;
    let cols = if narrow { vec![Col::End, Col::Text] } else { pick_columns(inner.width) };
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|c| if *c == Col::Text { Constraint::Min(c.width()) } else { Constraint::Length(c.width()) })
        .collect();
    let text_width = usize::from(
        inner
            .width
            .saturating_sub(cols.iter().filter(|c| **c != Col::Text).map(|c| c.width() + 1).sum::<u16>()),
    );
    let header =
        Row::new(cols.iter().map(|c| Cell::from(if narrow && *c == Col::End { "WHEN" } else { c.header() })))
            .style(st.header_row());
    let height = if narrow { 2 } else { 1 };
    let visible = (usize::from(inner.height.saturating_sub(1)) / height).max(1);
    let selected = v.selected.min(alerts.len() - 1);
    let offset = selected.saturating_sub(visible - 1);
    let body = alerts.iter().skip(offset).take(visible).map(|a| {
        let style = style(a, st);
        let cells = cols.iter().map(|c| match c {
            _ if !narrow => cell(*c, a, app.now, text_width),
            Col::Text => Cell::from(Text::from(wrap_two(&a.text, text_width))),
            _ => Cell::from(Text::from(vec![
                Line::from(format!("{} ago", age(app.now.saturating_sub(a.at)))),
                Line::from(end(a, app.now)),
            ])),
        });
        Row::new(cells).height(height as u16).style(style)
    });
    let table = Table::new(body, widths).header(header).column_spacing(1).row_highlight_style(st.selected());
    let mut state = TableState::default().with_selected(Some(selected - offset));
    f.render_stateful_widget(table, inner, &mut state);
}

/// What still holds stands out; what is over is dimmed.
fn style(a: &Alert, st: &Styles) -> Style {
    match a.ended {
        Some(_) => st.dim(),
        None if a.severe() => st.error(),
        None => st.warn(),
    }
}

/// Below this width the table gives each alert two lines.
const NARROW: u16 = 60;

fn end(a: &Alert, now: i64) -> String {
    match a.ended {
        Some(t) => format!("ended {} ago", age(now.saturating_sub(t))),
        None if a.active() => "active".to_string(),
        None => "event".to_string(),
    }
}

/// `text` on at most two lines of `width`, the second cut with `…`.
fn wrap_two(text: &str, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return vec![Line::from(text.to_string())];
    }
    // At the last space that fits, unless that leaves the first line nearly empty.
    let cut = chars[..=width].iter().rposition(|c| *c == ' ').filter(|i| *i > width / 2).unwrap_or(width);
    let first: String = chars[..cut].iter().collect();
    let rest: String = chars[cut..].iter().collect();
    let mut lines = vec![Line::from(first)];
    if !rest.is_empty() {
        lines.push(Line::from(truncate(rest.trim_start(), width)));
    }
    lines
}

fn cell(col: Col, a: &Alert, now: i64, text_width: usize) -> Cell<'static> {
    match col {
        Col::Started => Cell::from(format!("{} ago", age(now.saturating_sub(a.at)))),
        Col::End => Cell::from(end(a, now)),
        Col::Gpu => Cell::from(a.gpu.map_or_else(|| "-".to_string(), |g| g.to_string())),
        Col::Who => {
            // "container x" in the alert's sentence; the column's header says who it is.
            let who = a.who.as_deref().map_or("-", |w| w.strip_prefix("container ").unwrap_or(w));
            Cell::from(truncate(who, usize::from(Col::Who.width())))
        }
        Col::Text => Cell::from(truncate(&a.text, text_width.max(usize::from(Col::TEXT_MIN)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_panes_keep_the_alert_and_when() {
        assert_eq!(pick_columns(38), vec![Col::Started, Col::End, Col::Text]);
        assert_eq!(pick_columns(118), Col::ALL.to_vec());
        assert_eq!(pick_columns(5), vec![Col::Text]);
    }
}
