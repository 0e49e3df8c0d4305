//! The help overlay, generated from the live keymap and the views' own declarations, so it
//! never lists a key that does nothing and shows remapped keys as remapped.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::Styles;
use crate::app::view::hints;
use crate::app::{AppState, Scope};
use crate::doctor::{Finding, Level};

/// Columns the key column takes, with its space.
const KEYS: usize = 15;

/// One key's line, its description wrapped under itself rather than under the keys.
fn entry(keys: &str, text: &str, width: usize, st: &Styles) -> Vec<Line<'static>> {
    hanging(vec![Span::styled(format!("{keys:>14} "), st.key())], KEYS, text, width)
}

/// `lead` and then `text`, wrapped at words so every row of it starts `indent` columns in.
fn hanging(lead: Vec<Span<'static>>, indent: usize, text: &str, width: usize) -> Vec<Line<'static>> {
    let room = width.saturating_sub(indent).max(16);
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
    let mut lead = Some(lead);
    rows.into_iter()
        .map(|row| {
            let mut spans = lead.take().unwrap_or_else(|| vec![Span::raw(" ".repeat(indent))]);
            spans.push(Span::raw(row));
            Line::from(spans)
        })
        .collect()
}

/// This node's readiness, as `gpudock doctor` reports it: every check, with the fix under
/// those that are not ok.
fn node_lines(app: &AppState, st: &Styles, width: usize) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled("This node (gpudock doctor)", st.title()))];
    let Some(findings) = crate::app::node::findings(app) else {
        lines.push(Line::from(Span::styled("waiting for the driver and the engine to answer", st.dim())));
        return lines;
    };
    for f in &findings {
        let (tag, style) = match f.level {
            Level::Ok => ("  ok ", st.ok()),
            Level::Info => ("info ", st.dim()),
            Level::Warn => ("WARN ", st.warn()),
            Level::Fail => ("FAIL ", st.error()),
        };
        // Wide: the check's name beside its detail; narrow: above it.
        let indent = if width >= 60 { 30 } else { 5 };
        let pad = || vec![Span::raw(" ".repeat(indent))];
        let name = Span::styled(format!("{:<25}", f.check), st.key());
        let lead = if width >= 60 {
            vec![Span::styled(tag, style), name]
        } else {
            lines.push(Line::from(vec![Span::styled(tag, style), name]));
            pad()
        };
        lines.extend(hanging(lead, indent, &f.detail, width));
        if let Some(fix) = f.fix.as_ref().filter(|_| f.level != Level::Ok) {
            lines.extend(hanging(pad(), indent, &format!("fix: {fix}"), width));
        }
    }
    if app.node_files.is_none() {
        let why = if matches!(app.gpu.status, crate::app::GpuStatus::Remote { .. }) {
            "toolkit, CDI and daemon.json checks: run gpudock doctor on the engine's machine"
        } else {
            "toolkit, CDI and daemon.json checks: reading this machine's files…"
        };
        lines.push(Line::from(Span::styled(why, st.dim())));
    }
    lines
}

/// The fix of a finding that needs one, set under its detail.
pub fn fix_line(f: &Finding, st: &Styles) -> Option<Line<'static>> {
    let fix = f.fix.as_ref().filter(|_| f.level != Level::Ok)?;
    Some(Line::from(vec![Span::raw(" ".repeat(5)), Span::styled(format!("fix: {fix}"), st.dim())]))
}

/// Where the help sits on `area` and how it scrolls: its pane, the rows of text once wrapped,
/// and how far down it scrolls.
struct Geometry {
    popup: Rect,
    text_width: usize,
    max_scroll: u16,
}

fn geometry(app: &AppState, area: Rect, st: &Styles) -> (Geometry, Vec<Line<'static>>) {
    let width = 76.min(area.width);
    // Inside the border.
    let text_width = usize::from(width.saturating_sub(2));
    let lines = lines(app, st, text_width);
    // Rows once wrapped: the last ones must be reachable by scrolling.
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(text_width.max(1))).sum();
    let rows = u16::try_from(rows).unwrap_or(u16::MAX);
    let height = rows.saturating_add(2).min(area.height);
    let [popup] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)]).flex(Flex::Center).areas(popup);
    let max_scroll = rows.saturating_add(2).saturating_sub(height);
    (Geometry { popup, text_width, max_scroll }, lines)
}

/// Lines the help shows at once on `area`, how far down it scrolls, and the first row that holds
/// the search text (case aside).
pub fn page(app: &AppState, area: Rect) -> (u16, u16, Option<u16>) {
    let (g, lines) = geometry(app, area, &Styles::new(app.theme));
    let found = app.help_search.as_ref().filter(|(t, _)| !t.is_empty()).and_then(|(text, _)| {
        let needle = text.to_lowercase();
        let mut row = 0usize;
        for l in &lines {
            let words: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
            if words.to_lowercase().contains(&needle) {
                return u16::try_from(row).ok();
            }
            row += l.width().max(1).div_ceil(g.text_width.max(1));
        }
        None
    });
    (g.popup.height.saturating_sub(2).max(1), g.max_scroll, found)
}

/// The one definition of a container's SM %, as the table, snapshot, export and fleet use it.
pub const SM_MEANS: &str = "SM%: a container's mean share over the GPUs it runs on (≤100; per GPU in its \
                            detail view); n/a = no per-process share (MIG); - = none";

fn lines(app: &AppState, st: &Styles, text_width: usize) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = Vec::new();
    for scope in Scope::ALL {
        if scope != Scope::Main {
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(scope.title(), st.title())));
        }
        for k in scope.keys() {
            lines.extend(entry(&app.keymap.label(k.action), k.help, text_width, st));
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
    lines.push(Line::from(Span::styled(SM_MEANS, st.dim())));
    lines.push(Line::from(""));
    lines.extend(node_lines(app, st, text_width));
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
    lines.push(Line::from(Span::styled(app.keymap.hint_line(&hints(Scope::Help.keys(), false)), st.dim())));
    lines
}

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, st: &Styles) {
    let (Geometry { popup, text_width, max_scroll }, lines) = geometry(app, area, st);
    f.render_widget(Clear, popup);
    let mut block = Block::default().borders(Borders::ALL).border_style(st.border(true)).title(" Keys ");
    if let Some((text, typing)) = &app.help_search {
        let cursor = if *typing { "█" } else { "" };
        block = block.title_bottom(Line::from(vec![
            Span::styled(" /", st.key()),
            Span::raw(format!("{text}{cursor} ")),
        ]));
    } else if max_scroll > 0 {
        // More below than the pane shows: say how to get there, before any key closes the help.
        let hint =
            app.keymap.hint_line_within(&hints(Scope::Help.keys(), false), text_width.saturating_sub(2));
        block = block.title_bottom(Line::from(Span::styled(format!(" {hint} "), st.dim())));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((app.help_scroll.min(max_scroll), 0)),
        popup,
    );
}
