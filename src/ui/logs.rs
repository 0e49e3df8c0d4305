//! The log view: the container's output, stderr marked, search matches highlighted (the current
//! one apart from the rest), long lines wrapped or cut and scrolled sideways.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme::Styles;
use crate::app::LogView;
use crate::config::Keymap;

/// Columns the stderr mark takes in front of every line.
const MARK: usize = 2;

pub fn draw(f: &mut Frame, area: Rect, v: &LogView, keymap: &Keymap, st: &Styles) {
    let mode = match (&v.ended, v.follow) {
        (Some(_), _) => "ended".to_string(),
        (None, true) => "following".to_string(),
        // The key as bound: remapped, the title says the new one.
        (None, false) => match keymap.keys(crate::config::Action::Last).first() {
            Some(k) => format!("paused ({k} follows)"),
            None => "paused".to_string(),
        },
    };
    let n = v.lines.len();
    let mut title = format!(" Logs: {} · {n} {} · {mode} ", v.name, if n == 1 { "line" } else { "lines" });
    if v.dropped > 0 {
        title.push_str(&format!("· {} older dropped ", v.dropped));
    }
    if v.older_not_loaded() {
        // Short: it shares the title with the name and the state in an 80-column pane.
        title.push_str("· older output may exist ");
    }
    let hint = if v.searching {
        format!(" /{}█  Enter find · Esc clear ", v.search)
    } else if let Some((pos, total)) = v.match_position() {
        let found = match (total, pos, v.no_match) {
            (0, _, _) => "no matches · ".to_string(),
            (_, 0, _) => format!("{total} {} · ", if total == 1 { "match" } else { "matches" }),
            (_, _, true) => format!("{pos} of {total}, no more that way · "),
            _ => format!("{pos} of {total} · "),
        };
        format!(" \"{}\": {found}{} ", v.search, keymap.hint_line(&v.hints()))
    } else {
        format!(" {} ", keymap.hint_line(&v.hints()))
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(Span::styled(title, st.title()))
        .title_bottom(Line::from(Span::styled(hint, st.dim())));
    let mut inner = block.inner(area);
    f.render_widget(block, area);
    // A notebook server's tunnel takes the bottom row, where a pane of two rows or more has one.
    if let Some(seen) = v.notebook.as_ref().filter(|_| inner.height >= 2) {
        inner.height -= 1;
        let row = Rect { y: inner.y + inner.height, height: 1, ..inner };
        let style = if seen.tunnel.is_some() { st.ok() } else { st.warn() };
        f.render_widget(Paragraph::new(Line::from(Span::styled(seen.describe(), style))), row);
    }
    let height = usize::from(inner.height);
    let width = usize::from(inner.width).max(MARK + 1);
    if height == 0 {
        return;
    }
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    if v.lines.is_empty() {
        let text = v.ended.clone().unwrap_or_else(|| "waiting for output…".into());
        lines.push(Line::from(Span::styled(text, st.dim())));
    } else {
        // From the bottom line up, as many rows as fit; wrapped lines break at the edge, by
        // character, so a row count is exact.
        let room = width - MARK;
        let end = (v.bottom + 1).min(v.lines.len());
        // At the end of an ended stream, the last row says how it ended.
        let closing = v.ended.as_ref().filter(|_| end == v.lines.len());
        let height = height - usize::from(closing.is_some() && height > 1);
        let mut rows: Vec<Line> = Vec::new();
        for i in (0..end).rev() {
            let l = &v.lines[i];
            let style = if v.current == Some(i) {
                st.warn().add_modifier(Modifier::REVERSED)
            } else if v.matches(l) {
                st.warn().add_modifier(Modifier::UNDERLINED)
            } else {
                ratatui::style::Style::default()
            };
            let chars: Vec<char> = l.text.chars().collect();
            let pieces: Vec<String> = if v.wrap {
                chars.chunks(room).map(|c| c.iter().collect()).collect()
            } else {
                vec![chars.iter().skip(v.hscroll).take(room).collect()]
            };
            let pieces = if pieces.is_empty() { vec![String::new()] } else { pieces };
            for (k, piece) in pieces.into_iter().enumerate().rev() {
                let mark = match (k, l.stderr) {
                    (0, true) => Span::styled("E ", st.error()),
                    _ => Span::styled("  ", st.dim()),
                };
                rows.push(Line::from(vec![mark, Span::styled(piece, style)]));
            }
            if rows.len() >= height {
                break;
            }
        }
        rows.truncate(height);
        rows.reverse();
        lines = rows;
        if let Some(reason) = closing {
            lines.push(Line::from(Span::styled(format!("— {reason} —"), st.dim())));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}
