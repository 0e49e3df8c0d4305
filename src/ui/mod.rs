//! Drawing. Every function here reads `&AppState` and writes to the frame; none changes state.

mod containers;
pub mod fmt;
mod footer;
mod header;
mod help;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};

use crate::app::{AppState, Mode};
use theme::Styles;

pub use containers::status_text;

pub fn draw(f: &mut Frame, app: &AppState) {
    let st = Styles::new(app.theme);
    let area = f.area();
    if area.width < 10 || area.height < 3 {
        return;
    }
    let [header_area, body, footer_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    header::draw(f, header_area, app, &st);
    containers::draw(f, body, app, &st);
    footer::draw(f, footer_area, app, &st);
    if app.mode == Mode::Help {
        help::draw(f, area, app, &st);
    }
}
