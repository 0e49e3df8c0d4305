//! The top line: engine state at a glance.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Styles;
use crate::app::{AppState, EngineStatus};
use crate::config::Action;

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, st: &Styles) {
    // A narrow pane cuts the line from the right: the low-disk warning goes first, versions
    // only when there is room for them.
    let narrow = area.width < 90;
    let mut spans = vec![Span::styled("gpudock", st.title()), Span::raw(" │ ")];
    if app.read_only {
        spans.push(Span::styled("read-only", st.warn()));
        spans.push(Span::raw(" │ "));
    }
    let lost: Vec<String> = app.gpu.lost().iter().map(|g| g.index.to_string()).collect();
    if !lost.is_empty() {
        let s = if lost.len() == 1 { "" } else { "s" };
        spans.push(Span::styled(format!("⚠ GPU{s} {} lost", lost.join(",")), st.error()));
        spans.push(Span::raw(" │ "));
    }
    let unseen = app.alerts.unseen_count();
    if let Some(newest) = app.alerts.unseen().next_back() {
        let more = if unseen > 1 { format!(" (+{} more)", unseen - 1) } else { String::new() };
        spans.push(Span::styled(format!("⚠ {}{more} ", newest.text), st.error()));
        spans.push(Span::styled(app.keymap.label(Action::AckAlerts), st.key()));
        spans.push(Span::raw(" seen │ "));
    }
    if let Some(w) = &app.disk_warning {
        spans.push(Span::styled(w.clone(), st.error()));
        spans.push(Span::raw(" │ "));
    }
    match &app.engine {
        EngineStatus::Up(info) if narrow => {
            spans.push(Span::styled("● docker", st.ok()));
            if let Some(c) = &info.context {
                spans.push(Span::raw(format!(" {c}")));
            }
        }
        EngineStatus::Up(info) => {
            spans.push(Span::styled("● ", st.ok()));
            spans.push(Span::raw(format!(
                "docker {} (API {})",
                info.server_version.as_deref().unwrap_or("?"),
                info.api_version.map_or_else(|| "?".to_string(), |v| v.to_string())
            )));
            if let Some(c) = &info.context {
                spans.push(Span::raw(format!(" context {c}")));
            }
        }
        EngineStatus::Connecting { .. } => spans.push(Span::styled("○ docker: connecting", st.dim())),
        EngineStatus::Down { .. } => spans.push(Span::styled("✖ docker: unreachable", st.error())),
    }
    // The way to help stays on screen however narrow the pane: it is drawn at the right edge,
    // over whatever the left part had to cut.
    let help =
        vec![Span::raw(" │ "), Span::styled(app.keymap.label(Action::Help), st.key()), Span::raw(" help")];
    let help_width: usize = help.iter().map(|s| s.content.chars().count()).sum();
    // Versions and the refresh are extras: each shows whole or not at all, never cut mid-word.
    let mut extras = Vec::new();
    if let Some(snap) = app.gpu.snapshot.as_ref().filter(|_| !narrow) {
        extras.push(format!(
            " │ driver {} CUDA {}",
            snap.driver_version.as_deref().unwrap_or("n/a"),
            snap.cuda_version.as_deref().unwrap_or("n/a")
        ));
    }
    if !narrow {
        extras.push(format!(" │ refresh {}s", trim_float(app.refresh.as_secs_f64())));
    }
    for extra in extras {
        let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
        if used + extra.chars().count() + help_width <= usize::from(area.width) {
            spans.push(Span::raw(extra));
        }
    }
    let left_width: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    if left_width + help_width <= usize::from(area.width) {
        spans.extend(help);
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let help_w = (help_width as u16).min(area.width);
    let [left, right] = Layout::horizontal([Constraint::Min(0), Constraint::Length(help_w)]).areas(area);
    f.render_widget(Paragraph::new(Line::from(spans)), left);
    f.render_widget(Paragraph::new(Line::from(help)), right);
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}
