//! The help overlay, generated from the live keymap and the views' own declarations, so it
//! never lists a key that does nothing and shows remapped keys as remapped.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::Styles;
use crate::app::{AppState, HELP_HINTS};
use crate::config::{Action, Scope};

/// Columns the key column takes, with its space.
const KEYS: usize = 15;

/// One key's line, its description wrapped under itself rather than under the keys.
fn entry(keys: &str, text: &str, width: usize, st: &Styles) -> Vec<Line<'static>> {
    let room = width.saturating_sub(KEYS).max(16);
    let mut rows: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match rows.last_mut() {
            Some(row) if row.chars().count() + 1 + word.chars().count() <= room => {
                row.push(' ');
                row.push_str(word);
            }
            _ => rows.push(word.to_string()),
        }
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let key = if i == 0 { format!("{keys:>14} ") } else { " ".repeat(KEYS) };
            Line::from(vec![Span::styled(key, st.key()), Span::raw(row)])
        })
        .collect()
}

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, st: &Styles) {
    let width = 76.min(area.width);
    // Inside the border.
    let text_width = usize::from(width.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    for scope in Scope::ALL {
        if scope != Scope::Main {
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(scope.title(), st.title())));
        }
        for a in Action::ALL.iter().filter(|a| a.works_in(scope)) {
            lines.extend(entry(&app.keymap.label(*a), a.describe(scope), text_width, st));
        }
    }
    lines.push(Line::from(Span::styled(
        "Typing into the filter, the log search and the form's text fields: Enter, Esc and Backspace as themselves.",
        st.dim(),
    )));
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "GPUS: what a container was given (all, 2, 0,3, GPU-…); 1,3* = GPUs it uses without having \
         asked. - = none; n/a = the driver does not report it.",
        st.dim(),
    )));
    lines.push(super::launch::runtime_line(app, st));
    if app.read_only {
        lines.push(Line::from(Span::styled(
            "read-only mode: actions that change containers are disabled",
            st.warn(),
        )));
    }
    let config = app
        .config_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "built-in defaults".into());
    lines.push(Line::from(Span::styled(format!("config: {config}"), st.dim())));
    lines.push(Line::from(Span::styled(
        format!("{} · any other key closes this help", app.keymap.hint_line(HELP_HINTS)),
        st.dim(),
    )));

    let height = (lines.len() as u16 + 2).min(area.height);
    let [popup] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)]).flex(Flex::Center).areas(popup);
    f.render_widget(Clear, popup);
    let block = Block::default().borders(Borders::ALL).border_style(st.border(true)).title(" Keys ");
    let max_scroll = (lines.len() as u16 + 2).saturating_sub(height);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((app.help_scroll.min(max_scroll), 0)),
        popup,
    );
}
