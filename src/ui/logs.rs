//! The log view: the container's output, stderr marked, matches of the search highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme::Styles;
use crate::app::LogView;
use crate::config::Keymap;

pub fn draw(f: &mut Frame, area: Rect, v: &LogView, keymap: &Keymap, st: &Styles) {
    let mode = match (&v.ended, v.follow) {
        (Some(_), _) => "ended",
        (None, true) => "following",
        (None, false) => "paused (G follows)",
    };
    let mut title = format!(" Logs: {} · {} lines · {mode} ", v.name, v.lines.len());
    if v.dropped > 0 {
        title.push_str(&format!("· {} older dropped ", v.dropped));
    }
    let hint = if v.searching {
        format!(" /{}█  Enter find · Esc clear ", v.search)
    } else if !v.search.is_empty() {
        let found = if v.no_match { "no more matches · " } else { "" };
        format!(" \"{}\": {found}{} ", v.search, keymap.hint_line(v.hints()))
    } else {
        format!(" {} ", keymap.hint_line(v.hints()))
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(Span::styled(title, st.title()))
        .title_bottom(Line::from(Span::styled(hint, st.dim())));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let height = usize::from(inner.height);
    if height == 0 {
        return;
    }
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    if v.lines.is_empty() {
        let text = v.ended.clone().unwrap_or_else(|| "waiting for output…".into());
        lines.push(Line::from(Span::styled(text, st.dim())));
    } else {
        let end = (v.bottom + 1).min(v.lines.len());
        let start = end.saturating_sub(height);
        for l in v.lines.range(start..end) {
            let mut spans =
                vec![if l.stderr { Span::styled("E ", st.error()) } else { Span::styled("  ", st.dim()) }];
            let mut span = Span::raw(l.text.clone());
            if v.matches(l) {
                span = span.style(st.warn().add_modifier(Modifier::REVERSED));
            }
            spans.push(span);
            lines.push(Line::from(spans));
        }
        if let Some(reason) = &v.ended
            && lines.len() < height
        {
            lines.push(Line::from(Span::styled(format!("— {reason} —"), st.dim())));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}
