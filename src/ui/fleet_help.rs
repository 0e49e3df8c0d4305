//! The fleet's help: its keys from the same lists they are resolved against, and a legend.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Styles;
use crate::app::fleet::FleetState;

pub fn draw(f: &mut Frame, area: Rect, s: &FleetState, st: &Styles) {
    // The same lists the keys are resolved against, as the keymap binds them.
    let keys =
        [("", crate::app::fleet::keys::LIST_KEYS), ("on an open node: ", crate::app::fleet::keys::NODE_KEYS)];
    let mut seen = Vec::new();
    let lines: Vec<Line> = keys
        .into_iter()
        .flat_map(|(when, list)| list.iter().map(move |k| (when, k)))
        .filter(|(_, k)| {
            // Quit and help read the same in both views: listed once.
            let once = matches!(k.action, crate::config::Action::Quit | crate::config::Action::Help);
            !(once && seen.contains(&k.action)) && {
                seen.push(k.action);
                true
            }
        })
        .map(|(when, k)| {
            Line::from(vec![
                Span::styled(format!("{:>12} ", s.keymap.label(k.action)), st.key()),
                Span::raw(format!("{when}{}", k.help)),
            ])
        })
        .chain([
            Line::raw(""),
            Line::styled("GPU t/b/h/x: total / busy (util > 5 %) / held (memory held, not", Style::default()),
            Line::styled("  busy) / broken (a health fault); free: none of these", Style::default()),
            Line::styled(
                "stale: no sample from the node's exporter (dimmed, with its age)",
                Style::default(),
            ),
        ])
        .collect();
    let w = area.width.min(80);
    let inner = usize::from(w.saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let h = u16::try_from(rows + 2).unwrap_or(u16::MAX).min(area.height);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h);
    f.render_widget(Clear, r);
    let block = Block::default().borders(Borders::ALL).title(" fleet keys (any key closes) ");
    f.render_widget(Paragraph::new(lines).block(block).wrap(ratatui::widgets::Wrap { trim: false }), r);
}
