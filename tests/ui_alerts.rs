//! The alert list (`A`): every alert of the session, active first, with when it started and
//! ended, its GPU and container; reached from the main screen and every full view, `Esc` back.
//! Colour says what still holds: active alerts warn (or err), ended ones are dimmed.

mod common;

use common::{NOW, id, render, render_buffer, resize, sample_app};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gpudock::app::{AppState, Mode};
use gpudock::config::Config;
use gpudock::gpu::{GpuEvent, GpuProcess, GpuSample, GpuSnapshot, XidError};
use gpudock::msg::Msg;
use gpudock::ui::theme::Styles;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn esc() -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE))
}

fn gpu(index: u32, temp: u32, used_gib: u64, processes: Vec<GpuProcess>) -> GpuSample {
    GpuSample {
        index,
        name: "NVIDIA H100 80GB HBM3".into(),
        uuid: format!("GPU-{index:08}"),
        memory_used: Some(used_gib << 30),
        memory_total: Some(80 << 30),
        util_gpu: Some(0),
        temperature_c: Some(temp),
        processes,
        ..Default::default()
    }
}

fn holder(sm: u32) -> GpuProcess {
    GpuProcess {
        pid: 4242,
        memory_used: Some(20 << 30),
        sm_percent: Some(sm),
        container_id: Some(id(1)),
        command: Some("python".into()),
        ..Default::default()
    }
}

fn snapshot(app: &mut AppState, at: i64, gpus: Vec<GpuSample>) {
    app.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { at, gpus, ..Default::default() })));
}

/// A session with one alert of each kind: GPU 0 ran hot and cooled (ended), llama-finetune
/// holds memory idle on it (active), GPU 1's memory is full (active), GPU 1 had an XID 79.
fn session() -> AppState {
    let cfg = "idle_gpu_after = \"5s\"\n[alerts]\ntemperature_c = 85\nmemory_percent = 95\n";
    let cfg = Config::from_sources(Some(cfg), None).unwrap_or_else(|e| panic!("{e}"));
    let mut app = sample_app();
    app.idle_after = cfg.idle_gpu_after;
    app.alert_rules = cfg.alerts;
    snapshot(&mut app, NOW - 700, vec![gpu(0, 60, 20, vec![holder(40)]), gpu(1, 50, 10, vec![])]);
    snapshot(&mut app, NOW - 600, vec![gpu(0, 90, 20, vec![holder(0)]), gpu(1, 50, 10, vec![])]);
    snapshot(&mut app, NOW - 300, vec![gpu(0, 60, 20, vec![holder(0)]), gpu(1, 50, 78, vec![])]);
    let xid = XidError { gpu_index: 1, gpu_uuid: "GPU-00000001".into(), xid: 79, at: NOW - 120 };
    app.update(Msg::Gpu(GpuEvent::Xid(xid)));
    snapshot(&mut app, NOW, vec![gpu(0, 60, 20, vec![holder(0)]), gpu(1, 50, 78, vec![])]);
    app
}

fn fg_of_line(buf: &Buffer, needle: &str) -> Color {
    for y in 0..buf.area.height {
        let text: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(i) = text.find(needle) {
            let x = u16::try_from(text[..i].chars().count()).unwrap_or(0);
            return buf[(x, y)].fg;
        }
    }
    panic!("{needle:?} is not on screen")
}

#[test]
fn the_alert_list_shows_every_alert_active_first_with_times_gpu_and_container() {
    let mut app = session();
    resize(&mut app, 120, 40);
    app.update(key('A'));
    assert!(matches!(app.mode, Mode::Alerts(_)), "{:?}", app.mode);
    let screen = render(&app, 120, 40);
    let lines: Vec<&str> = screen.lines().collect();
    // Below the header, which names the newest unseen alert.
    let at = |needle: &str| {
        lines
            .iter()
            .skip(1)
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("{screen}"))
    };
    let (idle, full, xid, hot) = (at("idle for"), at("memory 98% full"), at("XID 79"), at("GPU 0 at 90°C"));
    assert!(idle < hot && full < hot && full < xid, "active first:\n{screen}");
    assert!(lines[hot].contains("10m ago") && lines[hot].contains("ended 5m ago"), "{}", lines[hot]);
    assert!(lines[idle].contains("active") && lines[idle].contains(" llama-finetune "), "{screen}");
    assert!(lines[xid].contains("2m ago") && lines[xid].contains("event"), "{}", lines[xid]);
    insta::assert_snapshot!(screen);

    let st = Styles::new(app.theme);
    let buf = render_buffer(&app, 120, 40);
    assert_eq!(fg_of_line(&buf, "GPU 1 memory 98% full"), st.warn().fg.unwrap_or(Color::Reset));
    assert_eq!(fg_of_line(&buf, "GPU 1 XID 79"), st.error().fg.unwrap_or(Color::Reset));
    assert_eq!(fg_of_line(&buf, "GPU 0 at 90°C"), st.dim().fg.unwrap_or(Color::Reset), "ended: dimmed");
    assert_ne!(st.dim().fg, st.warn().fg);

    app.update(esc());
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn the_alert_list_at_40x12_keeps_the_alert_and_its_times() {
    let mut app = session();
    resize(&mut app, 40, 12);
    app.update(key('A'));
    let screen = render(&app, 40, 12);
    assert!(screen.contains("active") && screen.contains("GPU 1 memory 98% full"), "{screen}");
    insta::assert_snapshot!(screen);
    // The list scrolls to alerts below the fold.
    app.update(key('G'));
    let screen = render(&app, 40, 12);
    assert!(screen.contains("GPU 0 at 90°C") && screen.contains("ended 5m ago"), "{screen}");
}

#[test]
fn one_key_reaches_the_alert_list_from_every_full_view_and_esc_returns_there() {
    let mut app = session();
    resize(&mut app, 120, 40);
    app.focus = gpudock::app::Panel::Gpus;
    for open in ['i', 'U', 'p', 'c'] {
        app.update(key(open));
        let before = std::mem::discriminant(&app.mode);
        assert_ne!(app.mode, Mode::Normal, "{open}");
        app.update(key('A'));
        assert!(matches!(app.mode, Mode::Alerts(_)), "A from the view of {open}: {:?}", app.mode);
        assert!(render(&app, 120, 40).contains("XID 79"));
        app.update(esc());
        assert_eq!(std::mem::discriminant(&app.mode), before, "Esc returns to the view of {open}");
        app.update(esc());
        assert_eq!(app.mode, Mode::Normal, "{open}");
    }
    // The help lists it for the views that take it.
    app.update(key('?'));
    let help = render(&app, 120, 200);
    assert!(help.contains("Alert list"), "{help}");
}
