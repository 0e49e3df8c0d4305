//! Views own their keys: each view's footer shows its own keys only, back walks the views in the
//! order they were opened, and a page is what the last frame showed.

mod common;

use common::{NOW, container, render, resize, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::{AppState, Mode};
use gpudock::docker::{ContainerState, EngineEvent};
use gpudock::gpu::{GpuEvent, GpuSample, GpuSnapshot};
use gpudock::msg::Msg;

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(code))
}

fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

fn footer(screen: &str) -> String {
    screen.lines().last().unwrap_or_default().to_string()
}

fn eight_gpus(app: &mut AppState) {
    let gpus = (0..8)
        .map(|index| GpuSample {
            index,
            name: "NVIDIA H100 80GB HBM3".into(),
            uuid: format!("GPU-{index:08}"),
            memory_used: Some(1 << 30),
            memory_total: Some(80 << 30),
            util_gpu: Some(0),
            ..Default::default()
        })
        .collect();
    let snap = GpuSnapshot {
        at: NOW,
        driver_version: Some("550.54.15".into()),
        cuda_version: None,
        gpus,
        topology: None,
    };
    app.update(Msg::Gpu(GpuEvent::Snapshot(snap)));
}

#[test]
fn every_views_footer_shows_only_its_own_keys() {
    let mut app = sample_app();
    eight_gpus(&mut app);
    for (w, h) in [(120, 40), (40, 12)] {
        let main = footer(&render(&app, w, h));
        assert!(main.contains("q quit"), "{w}x{h}: {main}");
    }
    // GPU detail (q goes back there), the launch form (letters type into fields), the help.
    for open in [ch('i'), ch('n'), ch('?')] {
        app.update(open);
        assert_ne!(app.mode, Mode::Normal);
        for (w, h) in [(120, 40), (40, 12)] {
            let line = footer(&render(&app, w, h));
            for other in ["q quit", "n new", "s stop", "l logs"] {
                assert!(
                    !line.contains(other),
                    "{:?} at {w}x{h} shows the main screen's {other}: {line}",
                    app.mode
                );
            }
        }
        app.update(key(KeyCode::Esc));
        assert_eq!(app.mode, Mode::Normal);
    }
}

#[test]
fn back_walks_details_then_logs_in_the_order_they_were_opened() {
    let mut app = sample_app();
    app.update(key(KeyCode::Enter));
    assert!(matches!(app.mode, Mode::Detail(_)), "{:?}", app.mode);
    app.update(ch('l'));
    assert!(matches!(app.mode, Mode::Logs(_)), "{:?}", app.mode);
    let screen = render(&app, 120, 40);
    assert!(screen.contains("Logs:"), "{screen}");
    app.update(key(KeyCode::Esc));
    assert!(matches!(app.mode, Mode::Detail(_)), "back from the logs lands on the details: {:?}", app.mode);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Normal);
    // Logs opened from the main screen go back to it.
    app.update(ch('l'));
    assert!(matches!(app.mode, Mode::Logs(_)), "{:?}", app.mode);
    app.update(ch('q'));
    assert_eq!(app.mode, Mode::Normal);
    assert!(app.back.is_empty());
}

#[test]
fn page_down_moves_exactly_one_visible_page_of_containers_on_an_8_gpu_node() {
    let mut app = sample_app();
    let list: Vec<_> =
        (0..60).map(|n| container(n + 100, &format!("job-{n:02}"), "img", ContainerState::Running)).collect();
    app.update(Msg::Engine(EngineEvent::Containers(list)));
    eight_gpus(&mut app);
    for (w, h) in [(120, 40), (40, 12)] {
        resize(&mut app, w, h);
        app.update(ch('g'));
        let screen = render(&app, w, h);
        let visible = screen.lines().filter(|l| l.contains("job-")).count();
        assert!(visible > 1, "{w}x{h}:\n{screen}");
        app.update(key(KeyCode::PageDown));
        let at = app.table.selected().map(|c| c.name.clone()).unwrap_or_default();
        assert_eq!(
            at,
            format!("job-{visible:02}"),
            "{w}x{h}: PgDn from the top lands on the first row not shown:\n{screen}"
        );
    }
}

#[test]
fn the_help_searches_and_pages_by_what_the_frame_showed() {
    let mut app = sample_app();
    app.update(ch('?'));
    resize(&mut app, 120, 40);
    app.update(key(KeyCode::End));
    resize(&mut app, 120, 40);
    let end = render(&app, 120, 40);
    assert!(end.contains("config: built-in defaults"), "End shows the help's last line:\n{end}");
    app.update(ch('g'));
    app.update(ch('/'));
    for c in "sigkill".chars() {
        app.update(ch(c));
        // The loop reports each frame's layout, the search's match row among it.
        resize(&mut app, 120, 40);
    }
    assert_eq!(app.mode, Mode::Help, "typing a search does not close the help");
    app.update(key(KeyCode::Enter));
    assert!(app.help_scroll > 0, "Enter jumps down to the match");
    let screen = render(&app, 120, 40);
    let first = screen.lines().nth(1).unwrap_or_default();
    assert!(first.contains("SIGKILL"), "the match is the first row shown:\n{screen}");
    app.update(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Normal);
}
