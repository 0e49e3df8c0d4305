//! Where colour and emphasis carry meaning, the cells say so: the selected row, container
//! states, search matches, and the mono theme that must not rely on colour.

mod common;

use common::{render_buffer, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::AppState;
use gpudock::config::Theme;
use gpudock::docker::LogLine;
use gpudock::docker::logs::LogChunk;
use gpudock::msg::Msg;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

/// (x, y) of the first cell of `needle` on the first line that also holds `row`.
fn find_in(buf: &Buffer, row: &str, needle: &str) -> (u16, u16) {
    let area = buf.area;
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buf[(x, y)].symbol().to_string()).collect();
        if !line.contains(row) {
            continue;
        }
        if let Some(i) = line.find(needle) {
            // Column in cells: every symbol here is one cell wide before the match.
            let col = line[..i].chars().count() as u16;
            return (col, y);
        }
    }
    panic!("{needle:?} not on screen in a line with {row:?}");
}

fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    find_in(buf, needle, needle)
}

fn fg(buf: &Buffer, needle: &str) -> Color {
    let (x, y) = find(buf, needle);
    buf[(x, y)].fg
}

/// The colour of `needle` in the row of container `name`.
fn fg_in_row(buf: &Buffer, name: &str, needle: &str) -> Color {
    let (x, y) = find_in(buf, name, needle);
    buf[(x, y)].fg
}

fn modifiers(buf: &Buffer, needle: &str) -> Modifier {
    let (x, y) = find(buf, needle);
    buf[(x, y)].modifier
}

#[test]
fn states_are_coloured_and_the_selected_row_is_reversed() {
    let app = sample_app();
    let buf = render_buffer(&app, 120, 30);
    assert_eq!(fg_in_row(&buf, "jupyter-alice", "running"), Color::Green);
    assert_eq!(fg_in_row(&buf, "cuda-smoke", "exited"), Color::DarkGray);
    assert_eq!(fg_in_row(&buf, "old-build", "created"), Color::DarkGray);
    let selected = app.table.selected().map(|c| c.name.clone()).unwrap_or_default();
    assert!(modifiers(&buf, &selected).contains(Modifier::REVERSED), "{selected} is not highlighted");
    let other = app.table.rows().map(|c| c.name.clone()).find(|n| *n != selected).unwrap_or_default();
    assert!(!modifiers(&buf, &other).contains(Modifier::REVERSED), "{other} is highlighted");
}

#[test]
fn search_matches_are_marked_in_the_log_view() {
    let mut app = sample_app();
    app.update(key(KeyCode::Char('l')));
    let id = app.table.selected().map(|c| c.id.clone()).unwrap_or_default();
    let lines = ["epoch 1 loss 0.9", "checkpoint saved", "epoch 2 loss 0.5"]
        .iter()
        .map(|t| LogLine { stderr: false, text: t.to_string() })
        .collect();
    app.update(Msg::from(LogChunk { id, lines }));
    app.update(key(KeyCode::Char('/')));
    for c in "loss".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.update(key(KeyCode::Enter));
    let buf = render_buffer(&app, 80, 12);
    assert!(modifiers(&buf, "epoch 2 loss").contains(Modifier::REVERSED));
    assert_eq!(fg(&buf, "epoch 2 loss"), Color::Yellow);
    assert!(!modifiers(&buf, "checkpoint saved").contains(Modifier::REVERSED));
}

fn mono(mut app: AppState) -> AppState {
    app.theme = Theme::Mono;
    app
}

#[test]
fn the_mono_theme_uses_no_colour_but_keeps_the_selection_visible() {
    let app = mono(sample_app());
    let buf = render_buffer(&app, 120, 30);
    for cell in buf.content() {
        assert!(matches!(cell.fg, Color::Reset), "coloured cell {:?} in mono", cell.symbol());
    }
    let selected = app.table.selected().map(|c| c.name.clone()).unwrap_or_default();
    assert!(modifiers(&buf, &selected).contains(Modifier::REVERSED));
}

#[test]
fn light_and_high_contrast_themes_keep_meaning_in_text_and_emphasis() {
    for theme in [Theme::Light, Theme::HighContrast] {
        let mut app = sample_app();
        app.theme = theme;
        let buf = render_buffer(&app, 120, 30);
        // The state is written out whatever the colour; yellow and cyan are gone on light.
        assert_eq!(find_in(&buf, "jupyter-alice", "running").1, find(&buf, "jupyter-alice").1);
        for cell in buf.content() {
            if theme == Theme::Light {
                assert!(!matches!(cell.fg, Color::Yellow | Color::Cyan), "{theme:?}: {:?}", cell.symbol());
            } else {
                assert!(
                    !matches!(cell.fg, Color::DarkGray | Color::Gray),
                    "{theme:?}: dimmed {:?}",
                    cell.symbol()
                );
            }
        }
        let selected = app.table.selected().map(|c| c.name.clone()).unwrap_or_default();
        assert!(modifiers(&buf, &selected).contains(Modifier::REVERSED), "{theme:?}");
    }
    let mut app = sample_app();
    app.theme = Theme::HighContrast;
    let buf = render_buffer(&app, 120, 30);
    let selected = app.table.selected().map(|c| c.name.clone()).unwrap_or_default();
    assert!(modifiers(&buf, &selected).contains(Modifier::BOLD));
}
