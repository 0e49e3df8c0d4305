//! Drawing. Every function here reads `&AppState` and writes to the frame; none changes state.

mod alerts;
mod containers;
mod detail;
mod dialogs;
mod disk;
pub mod fleet;
mod fleet_help;
mod fleet_users;
mod footer;
mod gpu_badges;
mod gpu_detail;
mod gpu_fabric;
mod gpu_users;
mod gpus;
mod header;
mod help;
mod launch;
mod logs;
mod procs;
pub mod theme;
mod topology;
mod users;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::{AppState, Mode};
use theme::Styles;

pub use crate::fmt;
pub use crate::fmt::{same_on_screen, stats_text};
pub use containers::status_text;

/// Header, body and footer of the screen.
fn frame_areas(app: &AppState, area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(footer::height(app, area)),
    ])
    .areas(area)
}

/// The GPU panel and the container panel of the main screen's body.
fn panels(app: &AppState, body: Rect) -> [Rect; 2] {
    let gpu_height = gpu_panel_height(app, body.height);
    Layout::vertical([Constraint::Length(gpu_height), Constraint::Min(0)]).areas(body)
}

/// What a mouse click or wheel at (x, y) on a `width` x `height` screen is over, by the layout
/// the last frame was drawn with.
pub fn hit(app: &AppState, width: u16, height: u16, x: u16, y: u16) -> Option<crate::app::Hit> {
    use crate::app::Hit;
    let area = Rect::new(0, 0, width, height);
    let [_, body, _] = frame_areas(app, area);
    if !matches!(app.mode, Mode::Normal) || !body.contains((x, y).into()) {
        return None;
    }
    let [gpu_area, container_area] = panels(app, body);
    if gpu_area.contains((x, y).into()) {
        return Some(gpus::row_at(app, gpu_area, y).map_or(Hit::Panel(crate::app::Panel::Gpus), Hit::GpuRow));
    }
    Some(containers::hit(app, container_area, x, y))
}

/// What fits on one page of each scrolling view on a `width` x `height` screen, by the layout
/// `draw` uses: the loop hands it to the app after each frame, so page keys move by what shows.
pub fn pages(app: &AppState, width: u16, height: u16) -> crate::msg::Pages {
    let area = Rect::new(0, 0, width, height);
    let [_, body, _] = frame_areas(app, area);
    let [_, container_area] = panels(app, body);
    // The help's text is built only while it is open; it re-measures on its first frame.
    let (help, help_max, help_match) = if app.mode == Mode::Help {
        help::page(app, area)
    } else {
        (app.pages.help, app.pages.help_max, app.pages.help_match)
    };
    let prune = match (&app.mode, app.back.last()) {
        (Mode::Confirm(c), Some(Mode::Disk(v))) => {
            prune_preview(c).map(|p| disk::preview_fits(app, body, v, &p))
        }
        _ => None,
    };
    crate::msg::Pages {
        prune: prune.unwrap_or(app.pages.prune),
        // Inside the table's border, less its header row.
        table: usize::from(container_area.height.saturating_sub(3)).max(1),
        // Inside the view's border.
        log: usize::from(body.height.saturating_sub(2)).max(1),
        help,
        help_max,
        help_match,
    }
}

/// The prune preview a question shows, if it is one.
fn prune_preview(c: &crate::app::Confirm) -> Option<disk::Preview<'_>> {
    match &c.shows {
        crate::app::Shows::Prune { category, items, bytes, scroll } => Some(disk::Preview {
            category: *category,
            items: items.as_deref(),
            bytes: *bytes,
            scroll: *scroll,
        }),
        crate::app::Shows::Prompt => None,
    }
}

pub fn draw(f: &mut Frame, app: &AppState) {
    let st = Styles::new(app.theme);
    let area = f.area();
    if area.width < 10 || area.height < 3 {
        return;
    }
    let [header_area, body, footer_area] = frame_areas(app, area);
    header::draw(f, header_area, app, &st);
    // A question draws over the view that asked it (the process view, the image list).
    let under = match (&app.mode, app.back.last()) {
        (Mode::Confirm(_), Some(view)) => view,
        (mode, _) => mode,
    };
    // Views that take the whole body; the main screen's dialogs draw over the panels below.
    let whole_body = match under {
        Mode::Logs(view) => {
            logs::draw(f, body, view, &app.keymap, &st);
            true
        }
        Mode::Detail(view) => {
            detail::draw(f, body, app, view, &st);
            true
        }
        Mode::Disk(view) => {
            disk::draw(f, body, app, view, &st);
            true
        }
        Mode::GpuDetail(view) => {
            gpu_detail::draw(f, body, app, view, &st);
            true
        }
        Mode::Processes(view) => {
            procs::draw(f, body, app, view, &st);
            true
        }
        Mode::Topology(view) => {
            topology::draw(f, body, app, view, &st);
            true
        }
        Mode::Users(view) => {
            users::draw(f, body, app, view, &crate::app::users::rows(app), &st);
            true
        }
        Mode::Alerts(view) => {
            alerts::draw(f, body, app, view, &st);
            true
        }
        _ => false,
    };
    if whole_body {
        footer::draw(f, footer_area, app, &st);
        match (&app.mode, under) {
            (Mode::Confirm(c), Mode::Disk(v)) if let Some(p) = prune_preview(c) => {
                disk::preview(f, body, app, v, &p, &st)
            }
            (Mode::Confirm(c), _) => dialogs::confirm(f, area, c, &app.keymap, &st),
            _ => {}
        }
        return;
    }
    let [gpu_area, container_area] = panels(app, body);
    gpus::draw(f, gpu_area, app, &st);
    containers::draw(f, container_area, app, &st);
    footer::draw(f, footer_area, app, &st);
    match &app.mode {
        Mode::Help => help::draw(f, area, app, &st),
        Mode::Confirm(c) => {
            // The launch form's question (a broken GPU) shows over the form as typed.
            if let Mode::Launch(form) = under {
                launch::draw(f, area, app, form, &st);
            }
            dialogs::confirm(f, area, c, &app.keymap, &st)
        }
        Mode::Launch(form) => launch::draw(f, area, app, form, &st),
        Mode::Launching(l) => dialogs::launching(f, area, l, &app.keymap, &st),
        _ => {}
    }
}

/// The GPU panel takes two lines per GPU when the containers still get a useful table, one line
/// per GPU when that fits, and at most half the body otherwise (it scrolls).
fn gpu_panel_height(app: &AppState, body: u16) -> u16 {
    const MIN_TABLE: u16 = 8;
    let (one, two) = gpus::wanted_height(app);
    if body >= two + MIN_TABLE {
        two
    } else if body >= one + MIN_TABLE / 2 {
        one
    } else {
        one.min((body / 2).max(3)).min(body)
    }
}
