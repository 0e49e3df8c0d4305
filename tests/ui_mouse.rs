//! The mouse: a click selects a row or a panel, a click on a column header sorts by it, the
//! wheel scrolls; `m` gives the mouse back to the terminal for selecting text.

mod common;

use common::{render, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::{Hit, Panel};
use gpudock::config::{Config, SortKey};
use gpudock::msg::{Command, Msg};

const W: u16 = 120;
const H: u16 = 30;

/// (column, row) of the first cell of `needle` on the screen.
fn at(screen: &str, needle: &str) -> (u16, u16) {
    for (y, line) in screen.lines().enumerate() {
        let line = line.trim_start_matches('"');
        if let Some(i) = line.find(needle) {
            return (line[..i].chars().count() as u16, y as u16);
        }
    }
    panic!("{needle:?} not on screen:\n{screen}");
}

fn click(app: &mut gpudock::app::AppState, needle: &str) -> Option<Hit> {
    let (x, y) = at(&render(app, W, H), needle);
    let hit = gpudock::ui::hit(app, W, H, x, y);
    if let Some(h) = hit {
        app.update(Msg::Click(h));
    }
    hit
}

#[test]
fn a_click_selects_the_row_under_it() {
    let mut app = sample_app();
    let before = app.table.selected().map(|c| c.name.clone());
    assert_eq!(click(&mut app, "triton-server"), Some(Hit::ContainerRow(2)));
    assert_eq!(app.table.selected().map(|c| c.name.as_str()), Some("triton-server"));
    assert_ne!(before.as_deref(), Some("triton-server"));
    assert_eq!(app.focus, Panel::Containers);
}

#[test]
fn a_click_on_a_column_header_sorts_and_again_reverses() {
    let mut app = sample_app();
    assert_eq!(click(&mut app, "CPU%"), Some(Hit::SortBy(SortKey::Cpu)));
    assert_eq!((app.table.sort, app.table.reverse), (SortKey::Cpu, false));
    let first = app.table.rows().next().map(|c| c.name.clone());
    assert_eq!(first.as_deref(), Some("llama-finetune"), "busiest first");
    click(&mut app, "CPU%");
    assert!(app.table.reverse);
}

#[test]
fn the_wheel_scrolls_what_it_is_over() {
    let mut app = sample_app();
    app.table.select(0);
    app.update(Msg::Wheel { down: true, over: Some(Panel::Containers) });
    assert_eq!(app.table.selected_index(), Some(3));
    app.update(Msg::Wheel { down: false, over: Some(Panel::Containers) });
    assert_eq!(app.table.selected_index(), Some(0));
}

#[test]
fn m_gives_the_mouse_back_to_the_terminal_and_the_config_can_start_without_it() {
    let mut app = sample_app();
    assert!(app.mouse);
    let cmds = app.update(Msg::Key(KeyEvent::from(KeyCode::Char('m'))));
    assert_eq!(cmds, vec![Command::SetMouse(false)]);
    let status = app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.contains("mouse off"), "{status}");
    let config = Config::from_sources(Some("mouse = false\n"), None).unwrap_or_else(|e| panic!("{e}"));
    assert!(!config.mouse);
}

#[test]
fn a_click_on_a_gpu_row_selects_it_and_the_border_below_selects_none() {
    use gpudock::gpu::{GpuEvent, GpuSample, GpuSnapshot};
    let mut app = sample_app();
    let gpu = |index: u32, name: &str| GpuSample {
        index,
        name: name.into(),
        uuid: format!("GPU-{index}"),
        memory_used: Some(1 << 30),
        memory_total: Some(80 << 30),
        ..Default::default()
    };
    // More than fit in a short pane: a GPU scrolled out of view lies just past the border.
    let mut gpus = vec![gpu(0, "Alpha"), gpu(1, "Bravo")];
    gpus.extend((2..8).map(|i| gpu(i, "Other")));
    app.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { at: common::NOW, gpus, ..Default::default() })));
    let h = 16;
    let screen = render(&app, W, h);
    let (x, y) = at(&screen, "Bravo");
    let hit = gpudock::ui::hit(&app, W, h, x, y);
    assert_eq!(hit, Some(Hit::GpuRow(1)), "{screen}");
    // The GPU panel's bottom border: the first line that closes a box.
    let border = screen.lines().position(|l| l.trim_start_matches('"').starts_with('└'));
    let y = border.and_then(|y| u16::try_from(y).ok()).unwrap_or_else(|| panic!("{screen}"));
    let hit = gpudock::ui::hit(&app, W, h, 10, y);
    assert!(!matches!(hit, Some(Hit::GpuRow(_))), "the border hit {hit:?}:\n{screen}");
}
