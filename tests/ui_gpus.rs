//! Snapshot tests of the GPU panel: 2 and 8 GPUs at 120x40 and 60x15, and NVML unavailable.

mod common;

use std::time::Duration;

use common::{NOW, id, render, sample_app};
use gpudock::app::AppState;
use gpudock::docker::EngineEvent;
use gpudock::docker::gpus::GpuRequest;
use gpudock::gpu::GpuEvent;
use gpudock::gpu::{GpuProcess, GpuSample, GpuSnapshot, ProcessKind};
use gpudock::msg::Msg;

fn gpu(index: u32, step: u32) -> GpuSample {
    let mut processes = Vec::new();
    if index == 0 {
        processes.push(GpuProcess {
            pid: 4242,
            kind: ProcessKind::Compute,
            memory_used: Some(40 << 30),
            sm_percent: Some(71),
            container_id: Some(id(1)),
            command: Some("python".into()),
            user: Some("root".into()),
            ..Default::default()
        });
    }
    if index == 1 {
        processes.push(GpuProcess {
            pid: 777,
            kind: ProcessKind::Compute,
            memory_used: Some(3 << 30),
            sm_percent: Some(5),
            container_id: None,
            command: Some("python3".into()),
            user: Some("alice".into()),
            ..Default::default()
        });
    }
    if index == 3 {
        processes.push(GpuProcess {
            pid: 5151,
            kind: ProcessKind::Compute,
            memory_used: Some(20 << 30),
            sm_percent: Some(33),
            container_id: Some(id(4)),
            command: None,
            user: None,
            ..Default::default()
        });
    }
    let busy = processes.iter().map(|p| p.memory_used.unwrap_or(0)).sum::<u64>();
    GpuSample {
        index,
        name: "NVIDIA H100 80GB HBM3".into(),
        uuid: format!("GPU-{index:08}"),
        memory_used: Some(busy + (512 << 20)),
        memory_total: Some(80 << 30),
        util_gpu: Some(((index * 13 + step * 7) % 100).min(if busy > 0 { 100 } else { 3 })),
        util_memory: Some(index * 5),
        temperature_c: Some(35 + index * 4),
        power_watts: Some(80.0 + f64::from(index) * 60.0),
        power_limit_watts: Some(700.0),
        sm_clock_mhz: Some(1980),
        mem_clock_mhz: Some(2619),
        fan_percent: None,
        processes,
        lost: None,
        ..Default::default()
    }
}

fn with_gpus(n: u32) -> AppState {
    let mut app = sample_app();
    // Two containers were given GPUs; the table shows what they asked for.
    let mut list: Vec<_> = app.table.all().to_vec();
    list[0].gpus = GpuRequest::All;
    list[3].gpus = GpuRequest::Count(2);
    app.update(Msg::Engine(EngineEvent::Containers(list)));
    for step in 0..12 {
        let snap = GpuSnapshot {
            at: NOW,
            driver_version: Some("550.54.15".into()),
            cuda_version: Some("12.4".into()),
            gpus: (0..n).map(|i| gpu(i, step)).collect(),
            topology: None,
        };
        app.update(Msg::Gpu(GpuEvent::Snapshot(snap)));
    }
    app
}

#[test]
fn two_gpus_120x40() {
    insta::assert_snapshot!(render(&with_gpus(2), 120, 40));
}

#[test]
fn eight_gpus_120x40() {
    let screen = render(&with_gpus(8), 120, 40);
    for i in 0..8 {
        assert!(screen.contains(&format!("│ {i} H100")), "GPU {i} not readable:\n{screen}");
    }
    insta::assert_snapshot!(screen);
}

#[test]
fn two_gpus_60x15() {
    insta::assert_snapshot!(render(&with_gpus(2), 60, 15));
}

#[test]
fn eight_gpus_60x15_scrolls() {
    let mut app = with_gpus(8);
    insta::assert_snapshot!(render(&app, 60, 15));
    // Focus the GPU panel and walk to the last GPU: it scrolls into view.
    app.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Tab)));
    app.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('G'))));
    let screen = render(&app, 60, 15);
    assert!(screen.contains("│7 "), "GPU 7 not scrolled into view:\n{screen}");
    // The focused panel's key hints show whole where they fit, and never cover its title.
    let wide = render(&app, 120, 40);
    assert!(wide.contains("GPUs 8") && wide.contains("next idle"), "{wide}");
    let narrow = render(&app, 40, 12);
    let border = narrow.lines().nth(1).unwrap_or_default();
    assert!(border.contains("┌ GPUs ") && !border.contains("idle"), "{border}");
}

#[test]
fn nvml_unavailable() {
    let mut app = sample_app();
    app.update(Msg::Gpu(GpuEvent::Unavailable {
        reason: "NVML not available: libnvidia-ml.so.1 not found — no NVIDIA driver on this host?".into(),
        retry_in: Duration::from_secs(10),
    }));
    insta::assert_snapshot!(render(&app, 120, 40));
    insta::assert_snapshot!("nvml_unavailable_60x15", render(&app, 60, 15));
}

#[test]
fn a_remote_engine_shows_no_local_gpus_and_says_why() {
    let mut app = sample_app();
    app.gpu.remote("tcp://10.0.0.7:2375".into());
    let screen = render(&app, 120, 30);
    assert!(screen.contains("GPUs are shown for local engines only: tcp://10.0.0.7:2375"), "{screen}");
    assert!(!screen.contains("H100"), "{screen}");
}

/// NVML can still list the PID of a process whose container has exited: the exited container
/// never shows GPU memory for it.
#[test]
fn an_exited_container_never_shows_gpu_memory() {
    let mut app = sample_app();
    let stale = GpuProcess {
        pid: 31337,
        kind: ProcessKind::Compute,
        memory_used: Some(9 << 30),
        sm_percent: Some(50),
        // cuda-smoke, exited
        container_id: Some(id(3)),
        command: None,
        user: None,
        ..Default::default()
    };
    let g = GpuSample { index: 0, uuid: "GPU-0".into(), processes: vec![stale], ..Default::default() };
    app.update(Msg::Gpu(gpudock::gpu::GpuEvent::Snapshot(GpuSnapshot {
        gpus: vec![g],
        ..Default::default()
    })));
    let screen = render(&app, 120, 30);
    // Its table row shows nothing on the GPUs; the GPU panel names the PID as stopped.
    let row = screen.lines().find(|l| l.contains("cuda-smoke") && l.contains("exited")).unwrap_or_default();
    assert!(!row.contains("GiB") && !row.contains("50"), "{row}");
    assert!(screen.contains("pid 31337 (cuda-smoke stopped)"), "{screen}");
}

/// A GPU that falls off the bus (XID 79) or goes away in a driver reset is shown as lost, with
/// a warning on every screen, not silently dropped.
#[test]
fn a_gpu_that_disappears_is_shown_lost() {
    let mut app = sample_app();
    let two = GpuSnapshot { gpus: vec![gpu(0, 0), gpu(1, 0)], ..Default::default() };
    app.update(Msg::Gpu(gpudock::gpu::GpuEvent::Snapshot(two)));
    let one = GpuSnapshot { gpus: vec![gpu(0, 1)], ..Default::default() };
    app.update(Msg::Gpu(gpudock::gpu::GpuEvent::Snapshot(one)));
    let screen = render(&app, 120, 40);
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains("⚠ GPU 1 lost"), "{header}");
    assert!(screen.contains("LOST H100 80GB HBM3 — no longer reported by the driver"), "{screen}");
    // "Who is on GPU 1?" says it is lost.
    app.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Tab)));
    app.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('j'))));
    app.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter)));
    let status = app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.starts_with("GPU 1 is lost"), "{status}");
}

/// A container on two GPUs at 71 % and 69 % is at 70 %, the mean, not 140; one on a GPU whose
/// driver gives no per-process share (MIG) is `n/a`, not `-` (none).
#[test]
fn a_containers_sm_share_is_the_mean_over_its_gpus() {
    let mut app = sample_app();
    let on = |pid, container, sm| GpuProcess {
        pid,
        memory_used: Some(10 << 30),
        sm_percent: sm,
        container_id: Some(id(container)),
        ..Default::default()
    };
    let gpus = vec![
        GpuSample {
            index: 0,
            uuid: "GPU-0".into(),
            processes: vec![on(10, 1, Some(71))],
            ..Default::default()
        },
        GpuSample {
            index: 1,
            uuid: "GPU-1".into(),
            processes: vec![on(11, 1, Some(69)), on(12, 4, None)],
            ..Default::default()
        },
    ];
    app.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { gpus, ..Default::default() })));
    let screen = render(&app, 120, 40);
    let row = |name: &str| {
        screen.lines().find(|l| l.contains(name) && l.contains("running")).unwrap_or_default().to_string()
    };
    let train = row("llama-finetune");
    assert!(train.trim_end_matches(['"', '│', ' ']).ends_with(" 70"), "{train}\n{screen}");
    assert!(!screen.contains("140"), "{screen}");
    let triton = row("triton-server");
    assert!(triton.trim_end_matches(['"', '│', ' ']).ends_with("n/a"), "{triton}\n{screen}");
    assert_eq!(app.gpu.usage[&id(1)].sm_by_gpu, [Some(71), Some(69)]);
}
