//! The top line: which node, its engine and driver at a glance, and what needs attention.
//!
//! The node's name, the engine's state and the driver are never pushed out (people run one pane
//! per node and read which is which from here): alerts and warnings take the room between them
//! and are cut to fit; versions and the refresh show only when there is room left.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fmt::truncate;
use super::theme::Styles;
use crate::app::{AppState, EngineStatus};
use crate::config::Action;

const SEP: &str = " │ ";

fn width(spans: &[Span]) -> usize {
    spans.iter().map(|s| s.content.chars().count()).sum()
}

/// `spans` cut to `room` columns, the cut marked with `…`.
fn cut(spans: Vec<Span<'static>>, room: usize) -> Vec<Span<'static>> {
    if width(&spans) <= room {
        return spans;
    }
    let mut out = Vec::new();
    let mut left = room;
    for s in spans {
        let w = s.content.chars().count();
        if w < left {
            left -= w;
            out.push(s);
            continue;
        }
        if left > 0 {
            out.push(Span::styled(truncate(&s.content, left), s.style));
        }
        break;
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, st: &Styles) {
    let total = usize::from(area.width);
    let narrow = total < 90;

    // What needs attention, in the middle: cut to the room the essentials leave.
    let mut middle: Vec<Span<'static>> = Vec::new();
    let add = |middle: &mut Vec<Span<'static>>, spans: Vec<Span<'static>>| {
        middle.extend(spans);
        middle.push(Span::raw(SEP));
    };
    if app.read_only {
        add(&mut middle, vec![Span::styled("read-only", st.warn())]);
    }
    let lost: Vec<String> = app.gpu.lost().iter().map(|g| g.index.to_string()).collect();
    if !lost.is_empty() {
        let s = if lost.len() == 1 { "" } else { "s" };
        add(&mut middle, vec![Span::styled(format!("⚠ GPU{s} {} lost", lost.join(",")), st.error())]);
    }
    let unseen = app.alerts.unseen_count();
    if let Some(newest) = app.alerts.unseen().next_back() {
        let more = if unseen > 1 { format!(" (+{} more)", unseen - 1) } else { String::new() };
        // The key to mark them seen goes first: it must survive the cut.
        add(
            &mut middle,
            vec![
                Span::styled(app.keymap.label(Action::AckAlerts), st.key()),
                Span::raw(" seen: "),
                Span::styled(format!("⚠ {}{more}", newest.describe(app.now)), st.error()),
            ],
        );
    }
    if let Some(w) = &app.disk_warning {
        add(&mut middle, vec![Span::styled(w.clone(), st.error())]);
    }

    // The essentials: the node, the engine, the driver, and the way to help. Short forms when
    // the long ones would cut what needs attention.
    let essentials = |narrow: bool| -> Vec<Span<'static>> {
        let mut tail: Vec<Span<'static>> = match &app.engine {
            EngineStatus::Up(info) if narrow => {
                let mut v = vec![Span::styled("● docker", st.ok())];
                if let Some(c) = &info.context {
                    v.push(Span::raw(format!(" {c}")));
                }
                v
            }
            EngineStatus::Up(info) => {
                let mut v = vec![
                    Span::styled("● ", st.ok()),
                    Span::raw(format!(
                        "docker {} (API {})",
                        info.server_version.as_deref().unwrap_or("?"),
                        info.api_version.map_or_else(|| "?".to_string(), |v| v.to_string())
                    )),
                ];
                if let Some(c) = &info.context {
                    v.push(Span::raw(format!(" context {c}")));
                }
                v
            }
            EngineStatus::Connecting { .. } => vec![Span::styled("○ docker: connecting", st.dim())],
            EngineStatus::Down { .. } => vec![Span::styled("✖ docker: unreachable", st.error())],
        };
        if let Some(snap) = app.gpu.snapshot.as_ref() {
            let d = snap.driver_version.as_deref().unwrap_or("n/a");
            tail.push(Span::raw(if narrow {
                format!("{SEP}drv {d}")
            } else {
                format!("{SEP}driver {d} CUDA {}", snap.cuda_version.as_deref().unwrap_or("n/a"))
            }));
        }
        tail
    };
    let node = match &app.engine {
        EngineStatus::Up(info) => info
            .machine
            .as_ref()
            .and_then(|m| m.name.as_deref())
            .map(|n| truncate(&crate::sanitize::line(n), 24)),
        _ => None,
    };
    let help =
        vec![Span::raw(SEP), Span::styled(app.keymap.label(Action::Help), st.key()), Span::raw(" help")];

    let mut head = Vec::new();
    if let Some(n) = &node {
        head.push(Span::styled(n.clone(), st.title()));
        head.push(Span::raw(SEP));
    }
    let mut tail = essentials(narrow);
    let crowded = |tail: &[Span]| width(&head) + width(tail) + width(&help) + width(&middle) > total;
    if !narrow && crowded(&tail) {
        tail = essentials(true);
    }
    let essential = width(&head) + width(&tail) + width(&help);
    let title = [Span::styled("gpudock", st.title()), Span::raw(SEP)];
    if essential + width(&title) + width(&middle) <= total || (node.is_none() && essential + 10 <= total) {
        head.splice(0..0, title);
    }
    let room = total.saturating_sub(width(&head) + width(&tail) + width(&help));
    let fits = width(&middle) <= room;
    let middle = if fits {
        middle
    } else {
        let mut m = cut(middle, room.saturating_sub(SEP.chars().count()));
        if !m.is_empty() {
            m.push(Span::raw(SEP));
        }
        m
    };
    if fits && !narrow {
        let refresh = format!("{SEP}refresh {}s", trim_float(app.refresh.as_secs_f64()));
        if width(&head) + width(&middle) + width(&tail) + refresh.chars().count() + width(&help) <= total {
            tail.push(Span::raw(refresh));
        }
    }
    let mut spans = head;
    spans.extend(middle);
    spans.extend(tail);
    let mut help = help;
    if width(&spans) + width(&help) > total {
        // Tight separators before anything essential goes.
        let tight = |v: Vec<Span<'static>>| -> Vec<Span<'static>> {
            v.into_iter().map(|s| Span::styled(s.content.replace(SEP, "│"), s.style)).collect()
        };
        spans = tight(spans);
        help = tight(help);
    }
    if width(&spans) + width(&help) <= total {
        spans.extend(help);
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    // Narrower than the essentials: the way to help stays at the right edge, over the rest.
    let help_w = (width(&help) as u16).min(area.width);
    let [left, right] = Layout::horizontal([Constraint::Min(0), Constraint::Length(help_w)]).areas(area);
    f.render_widget(Paragraph::new(Line::from(spans)), left);
    f.render_widget(Paragraph::new(Line::from(help)), right);
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}
