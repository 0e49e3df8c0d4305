//! One consistent screen: overlays close on Esc and q and only the main view quits; read-only
//! mode says so and offers nothing it would refuse; the header keeps the way to help.

mod common;

use common::{render, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::Mode;
use gpudock::docker::EngineEvent;
use gpudock::docker::disk::FsUsage;
use gpudock::msg::Msg;

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

#[test]
fn q_closes_overlays_and_quits_only_from_the_main_view() {
    let mut app = sample_app();
    app.update(key(KeyCode::Char('?')));
    assert_eq!(app.mode, Mode::Help);
    assert!(app.update(key(KeyCode::Char('q'))).is_empty(), "q in the help quit the program");
    assert_eq!(app.mode, Mode::Normal);
    for open in ['l', 'c'] {
        app.update(key(KeyCode::Char(open)));
        assert_ne!(app.mode, Mode::Normal);
        let cmds = app.update(key(KeyCode::Char('q')));
        assert!(!cmds.contains(&gpudock::msg::Command::Quit), "{open}: {cmds:?}");
        assert_eq!(app.mode, Mode::Normal, "{open}");
    }
    assert_eq!(app.update(key(KeyCode::Char('q'))), vec![gpudock::msg::Command::Quit]);
}

#[test]
fn read_only_mode_is_shown_and_offers_no_disabled_action() {
    let mut app = sample_app();
    app.read_only = true;
    let screen = render(&app, 120, 30);
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains("read-only"), "{header}");
    let footer = screen.lines().rev().find(|l| l.contains("quit")).unwrap_or_default();
    assert!(!footer.contains("new") && !footer.contains("stop"), "{footer}");
    assert!(footer.contains("logs") && footer.contains("disk"), "{footer}");
}

#[test]
fn the_header_keeps_help_and_says_which_disk_limit_was_hit() {
    let mut app = sample_app();
    app.update(Msg::Engine(EngineEvent::RootFs {
        dir: "/var/lib/docker".into(),
        fs: FsUsage { total: 1_000_000_000_000, free: 10_000_000_000, used: 990_000_000_000 },
    }));
    for width in [60, 80, 120] {
        let screen = render(&app, width, 20);
        let header = screen.lines().next().unwrap_or_default();
        assert!(header.contains("?/F1 help"), "{width}: {header}");
    }
    let screen = render(&app, 160, 20);
    assert!(screen.contains("below the 20 GB floor"), "{screen}");
}

#[test]
fn help_descriptions_wrap_under_their_text() {
    let mut app = sample_app();
    app.update(key(KeyCode::Char('?')));
    let screen = render(&app, 60, 120);
    let lines: Vec<&str> = screen.lines().collect();
    let i =
        lines.iter().position(|l| l.contains("in the GPU panel: list")).unwrap_or_else(|| panic!("{screen}"));
    let col = |line: &str, byte: usize| line[..byte].chars().count();
    let first = col(lines[i], lines[i].find("in the GPU panel: list").unwrap_or(0));
    let next = lines[i + 1];
    let start = next.find("on that GPU").unwrap_or(0);
    assert_eq!(col(next, start), first, "continuation not under its text:\n{}\n{next}", lines[i]);
}

/// The node's name, the engine and the driver stay in the header whatever the alerts say: an
/// alert is cut to the room left, never the other way round.
#[test]
fn the_header_never_pushes_out_the_node_engine_and_driver() {
    use gpudock::gpu::{GpuEvent, GpuSample, GpuSnapshot, XidError};
    let mut app = sample_app();
    let machine = gpudock::docker::model::Machine { name: Some("dgx-07".into()), ..Default::default() };
    let info = gpudock::docker::EngineInfo { machine: Some(Box::new(machine)), ..common::engine_info() };
    app.update(Msg::Engine(EngineEvent::Connected(Box::new(info))));
    let snap = GpuSnapshot {
        driver_version: Some("550.54.15".into()),
        cuda_version: Some("12.4".into()),
        gpus: vec![GpuSample { index: 0, uuid: "GPU-0".into(), ..Default::default() }],
        ..Default::default()
    };
    app.update(Msg::Gpu(GpuEvent::Snapshot(snap)));
    for _ in 0..3 {
        let xid = XidError { gpu_index: 0, gpu_uuid: "GPU-0".into(), xid: 79, at: common::NOW };
        app.update(Msg::Gpu(GpuEvent::Xid(xid)));
    }
    for width in [40, 60, 90, 120, 200] {
        let screen = render(&app, width, 20);
        let header = screen.lines().next().unwrap_or_default();
        for want in ["dgx-07", "● docker", "550.54.15", "help"] {
            assert!(header.contains(want), "{width}: {want} missing from {header}");
        }
        if width >= 90 {
            assert!(header.contains("⚠ GPU 0 XID 79"), "{width}: {header}");
        } else if width >= 60 {
            assert!(header.contains("seen: ⚠"), "{width}: the alert, cut: {header}");
        }
    }
    let wide = render(&app, 200, 20);
    let header = wide.lines().next().unwrap_or_default();
    assert!(
        header.contains("reboot the node) (+2 more)") && header.contains("driver 550.54.15 CUDA 12.4"),
        "{header}"
    );
}
