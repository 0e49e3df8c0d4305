//! Small overlays: the confirmation dialog and the launch progress.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};

use super::fmt::bytes;
use super::theme::Styles;
use crate::app::view::hints;
use crate::app::{CONFIRM_KEYS, Confirm, LAUNCHING_KEYS, Launching};
use crate::config::Keymap;

/// A centred rectangle of at most `w` x `h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [r] = Layout::vertical([Constraint::Length(h.min(area.height))]).flex(Flex::Center).areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))]).flex(Flex::Center).areas(r);
    r
}

pub fn confirm(f: &mut Frame, area: Rect, c: &Confirm, keymap: &Keymap, st: &Styles) {
    confirm_text(f, area, &c.prompt, keymap, st);
}

/// "y confirm   any other key cancel", with the keys the keymap binds.
pub fn yes_no_line(keymap: &Keymap, st: &Styles, yes: &str) -> Line<'static> {
    let mut spans = Vec::new();
    for hint in &hints(CONFIRM_KEYS, false) {
        if let Some(keys) = keymap.hint_keys(hint) {
            spans.push(Span::styled(keys, st.key()));
            spans.push(Span::raw(format!(" {yes}   ")));
        }
    }
    spans.push(Span::styled("any other key", st.key()));
    spans.push(Span::raw(" cancel"));
    Line::from(spans)
}

pub fn confirm_text(f: &mut Frame, area: Rect, prompt: &str, keymap: &Keymap, st: &Styles) {
    let width = 64.min(area.width);
    let text = vec![Line::from(prompt.to_string()), Line::from(""), yes_no_line(keymap, st, "confirm")];
    // Enough lines for the prompt wrapped to the dialog's width.
    let inner_w = usize::from(width.saturating_sub(2)).max(1);
    let height = (prompt.chars().count().div_ceil(inner_w) + 4) as u16;
    let r = centered(area, width, height);
    f.render_widget(Clear, r);
    let block = Block::default().borders(Borders::ALL).border_style(st.warn()).title(" Confirm ");
    f.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: true }), r);
}

pub fn launching(f: &mut Frame, area: Rect, l: &Launching, keymap: &Keymap, st: &Styles) {
    let r = centered(area, 70, if l.pick.is_some() { 6 } else { 5 });
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(format!(" Launching {} ", l.image))
        .title_bottom(
            Line::from(format!(" {} ", keymap.hint_line(&hints(LAUNCHING_KEYS, false)))).right_aligned(),
        );
    let ratio = if l.total > 0 { (l.done as f64 / l.total as f64).clamp(0.0, 1.0) } else { 0.0 };
    let label = if l.total > 0 {
        format!("{} {} / {}", l.status, bytes(l.done), bytes(l.total))
    } else {
        l.status.clone()
    };
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [text, gauge, pick] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Length(1)]).areas(inner);
    f.render_widget(Paragraph::new(label), text);
    if let Some(p) = &l.pick {
        f.render_widget(Paragraph::new(p.as_str()).style(st.ok()), pick);
    }
    f.render_widget(
        Gauge::default().ratio(ratio).gauge_style(st.ok()).label(format!("{:.0}%", ratio * 100.0)),
        gauge,
    );
}
