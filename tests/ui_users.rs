//! The Users view (`U`): who holds what, one row per owner, drawn from the app's state.

mod common;

use common::{id, render, render_buffer, resize, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::docker::EngineEvent;
use gpudock::docker::owner::{Owner, OwnerSource};
use gpudock::gpu::{GpuEvent, GpuProcess, GpuSample, GpuSnapshot};
use gpudock::msg::Msg;
use ratatui::style::Color;

const GIB: u64 = 1 << 30;
const NOW: i64 = common::NOW;

fn proc(pid: u32, container: Option<usize>, user: Option<&str>, mem: u64, sm: u32) -> GpuProcess {
    GpuProcess {
        pid,
        container_id: container.map(id),
        user: user.map(str::to_string),
        memory_used: Some(mem),
        sm_percent: Some(sm),
        ..Default::default()
    }
}

/// Three owners found three ways and a host user; carol's notebook holds memory at 0 % SM.
fn app_with_owners() -> gpudock::app::AppState {
    let mut app = sample_app();
    let mut list = app.table.all().to_vec();
    for c in &mut list {
        c.owner = match c.name.as_str() {
            "llama-finetune" => Owner::new("alice", OwnerSource::LaunchedBy),
            "triton-server" => Owner::new("bob", OwnerSource::OwnerLabel("team-owner".into())),
            "jupyter-alice" => Owner::new("carol", OwnerSource::HomeMount),
            _ => None,
        }
        .unwrap_or_default();
    }
    app.update(Msg::Engine(EngineEvent::Containers(list)));
    let gpus = |at: i64| {
        let g = |index: u32, processes| GpuSample {
            index,
            uuid: format!("GPU-{index}"),
            processes,
            ..Default::default()
        };
        GpuSnapshot {
            at,
            gpus: vec![
                g(0, vec![proc(101, Some(1), None, 38 * GIB, 71)]),
                g(1, vec![proc(102, Some(1), None, 30 * GIB, 69), proc(400, None, Some("dave"), 2 * GIB, 5)]),
                g(2, vec![proc(103, Some(4), None, 6 * GIB, 40)]),
                g(3, vec![proc(104, Some(2), None, 12 * GIB, 0)]),
            ],
            ..Default::default()
        }
    };
    // 41 minutes of samples: carol's notebook idles past idle_gpu_after (30m).
    for t in (0..=41 * 60).step_by(60) {
        app.update(Msg::Gpu(GpuEvent::Snapshot(gpus(NOW - 41 * 60 + t))));
    }
    app.update(Msg::Key(KeyEvent::from(KeyCode::Char('U'))));
    app
}

#[test]
fn users_120x40() {
    let mut app = app_with_owners();
    resize(&mut app, 120, 40);
    let screen = render(&app, 120, 40);
    insta::assert_snapshot!(screen);
    let row = |name: &str| {
        screen.lines().find(|l| l.starts_with(&format!("\"│{name} "))).unwrap_or_default().to_string()
    };
    assert!(row("alice").contains("0,1") && row("alice").contains("68GiB"), "{screen}");
    assert!(row("carol?").contains("home mount, guess"), "{screen}");
    assert!(row("carol?").contains("12GiB 41m"), "idle-held memory and for how long:\n{screen}");
    assert!(row("dave").contains("host process"), "{screen}");
    // Most memory first: alice, carol, bob, dave.
    let order: Vec<usize> = ["alice", "carol?", "bob", "dave"]
        .iter()
        .map(|n| screen.find(&format!("│{n} ")).unwrap_or(usize::MAX))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{screen}");
    // Idle-held memory is a warning: it is coloured as one.
    let buf = render_buffer(&app, 120, 40);
    let y = screen.lines().position(|l| l.starts_with("\"│carol? ")).unwrap_or(0) as u16;
    // The snapshot's lines start with a quote that the buffer does not have.
    let x =
        row("carol?").find("12GiB 41m").map(|b| row("carol?")[..b].chars().count() - 1).unwrap_or(0) as u16;
    assert_eq!(buf[(x, y)].fg, Color::Yellow, "{:?}", buf[(x, y)]);
}

#[test]
fn users_60x20_keeps_owner_memory_and_gpus() {
    let mut app = app_with_owners();
    resize(&mut app, 60, 20);
    let screen = render(&app, 60, 20);
    insta::assert_snapshot!(screen);
    assert!(screen.contains("OWNER") && screen.contains("GPU MEM") && screen.contains("GPUS"), "{screen}");
    assert!(!screen.contains("HOW KNOWN"), "{screen}");
}
