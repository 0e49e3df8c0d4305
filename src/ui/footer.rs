//! The bottom line: the filter being typed, the latest status message, or key hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::theme::Styles;
use crate::app::{AppState, Level, Mode, Scope};

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, st: &Styles) {
    let line = if app.mode == Mode::Filter {
        Line::from(vec![
            Span::styled("/", st.key()),
            Span::raw(app.table.filter().to_string()),
            Span::styled("█", st.dim()),
            Span::styled("  Enter keep · Esc clear", st.dim()),
        ])
    } else if let Some(status) = &app.status {
        let style = if status.level == Level::Error { st.error() } else { Style::default() };
        Line::from(Span::styled(status.text.clone(), style))
    } else if app.mode != Mode::Normal {
        // Every other view lists its own keys in its border or dialog; the main screen's here
        // would mislead (`n`, `d` and `q` mean other things there, or type into a field).
        Line::from("")
    } else {
        let mut spans = Vec::new();
        // Whole hints only: a narrow pane drops the last ones rather than cutting one in half.
        let mut used = 0;
        for hint in crate::app::view::hints(Scope::Main.keys(), app.read_only) {
            if let Some(keys) = app.keymap.hint_keys(&hint) {
                let label = format!(" {}  ", hint.label);
                let w = keys.chars().count() + label.chars().count();
                if used + w > usize::from(area.width) + 2 {
                    break;
                }
                used += w;
                spans.push(Span::styled(keys, st.key()));
                spans.push(Span::raw(label));
            }
        }
        if !app.table.filter().is_empty() {
            spans.push(Span::styled(format!("filter: {}", app.table.filter()), st.warn()));
        }
        Line::from(spans)
    };
    let mut p = Paragraph::new(line);
    if app.status.is_some() && app.mode != Mode::Filter {
        p = p.wrap(Wrap { trim: true });
    }
    f.render_widget(p, area);
}

use ratatui::style::Style;

/// A long status message (an explained engine error) gets up to three lines rather than being
/// cut off; everything else needs one.
pub fn height(app: &AppState, area: Rect) -> u16 {
    match &app.status {
        Some(s) if app.mode != Mode::Filter => {
            let width = usize::from(area.width.max(1));
            (s.text.chars().count().div_ceil(width) as u16).clamp(1, 3).min(area.height / 4).max(1)
        }
        _ => 1,
    }
}
