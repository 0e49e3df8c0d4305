//! The container detail view drawn: charts labelled with the latest readings, the GPUs given
//! against those used, the inspect text with env values hidden until asked for, at a full
//! screen and in a small tmux pane.

mod common;

use std::collections::HashMap;

use common::{NOW, id, render, resize, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::AppState;
use gpudock::app::detail::MASK;
use gpudock::docker::gpus::GpuRequest;
use gpudock::docker::inspect::{ContainerDetail, Mount, MountKind};
use gpudock::docker::{ContainerState, ContainerStats, EngineEvent};
use gpudock::gpu::{GpuEvent, GpuProcess, GpuSample, GpuSnapshot};
use gpudock::msg::{ActionMsg, Command, Msg};

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

fn gpus(step: u64, sm: Option<u32>) -> GpuSnapshot {
    let p = GpuProcess {
        pid: 4242,
        memory_used: Some((36 << 30) + (step << 30)),
        sm_percent: sm.map(|s| s + step as u32),
        container_id: Some(id(1)),
        ..Default::default()
    };
    let gpu = |index: u32, processes| GpuSample {
        index,
        name: "NVIDIA H100 80GB HBM3".into(),
        uuid: format!("GPU-{index:08}"),
        memory_total: Some(80 << 30),
        processes,
        ..Default::default()
    };
    GpuSnapshot {
        at: NOW + step as i64,
        gpus: vec![gpu(0, vec![p]), gpu(1, Vec::new())],
        ..Default::default()
    }
}

/// The sample app after a few beats, llama-finetune (given all GPUs, on GPU 0) selected, its
/// detail view open with `sm` as its processes' SM share.
fn detail_app(sm: Option<u32>) -> (AppState, Vec<Command>) {
    let mut app = sample_app();
    let mut list = app.table.all().to_vec();
    list[0].gpus = GpuRequest::All;
    app.update(Msg::Engine(EngineEvent::Containers(list)));
    for step in 0..5u64 {
        let cpu = 300.0 + 20.0 * step as f64;
        let stats = HashMap::from([(
            id(1),
            ContainerStats {
                cpu_percent: Some(cpu),
                mem_used: Some((8 + step) << 30),
                mem_limit: Some(64 << 30),
            },
        )]);
        app.update(Msg::Engine(EngineEvent::Stats { at: NOW + step as i64, stats }));
        app.update(Msg::Gpu(GpuEvent::Snapshot(gpus(step, sm))));
    }
    let row =
        app.table.rows().position(|c| c.name == "llama-finetune").unwrap_or_else(|| panic!("not listed"));
    app.table.select(row);
    let cmds = app.update(key(KeyCode::Enter));
    (app, cmds)
}

fn inspect_answer() -> ContainerDetail {
    ContainerDetail {
        id: id(1),
        name: "llama-finetune".into(),
        image: "nvcr.io/nvidia/pytorch:25.01-py3".into(),
        command: vec!["torchrun".into(), "--nproc-per-node=2".into(), "train.py".into()],
        created: Some(NOW - 7200),
        started_at: Some(NOW - 3660),
        state: ContainerState::Running,
        restart_policy: "no".into(),
        labels: vec![
            ("io.gpudock.launched-by".into(), "alice".into()),
            ("io.gpudock.preset".into(), "ngc-pytorch".into()),
            ("team".into(), "llm".into()),
        ],
        mounts: vec![
            Mount {
                kind: MountKind::Bind,
                source: "/data".into(),
                destination: "/data".into(),
                read_write: false,
            },
            Mount {
                kind: MountKind::Tmpfs,
                source: String::new(),
                destination: "/scratch".into(),
                read_write: true,
            },
        ],
        env: vec![("HF_TOKEN".into(), "hf_s3cretvalue".into()), ("NCCL_DEBUG".into(), "INFO".into())],
        network_mode: "none".into(),
        runtime: "runc".into(),
        gpus: GpuRequest::All,
        ..Default::default()
    }
}

fn answered(sm: Option<u32>) -> AppState {
    let (mut app, _) = detail_app(sm);
    app.update(Msg::Action(ActionMsg::Inspected { id: id(1), result: Ok(Box::new(inspect_answer())) }));
    app
}

#[test]
fn inspecting_is_shown_until_the_answer_comes() {
    let (app, cmds) = detail_app(Some(70));
    assert_eq!(cmds, vec![Command::Inspect(id(1))]);
    let screen = render(&app, 120, 40);
    assert!(screen.contains("llama-finetune · running"), "{screen}");
    assert!(screen.contains("inspecting…"), "{screen}");
}

#[test]
fn detail_120x40_charts_gpus_and_hidden_env() {
    let mut app = answered(Some(70));
    let screen = render(&app, 120, 40);
    for label in ["GPU mem 40GiB", "SM 74%", "CPU 380.0%", "mem 12GiB"] {
        assert!(screen.contains(label), "no {label}:\n{screen}");
    }
    assert!(screen.contains("GPUs given all → 0,1 · used 0"), "{screen}");
    assert!(screen.contains("io.gpudock.launched-by=alice"), "{screen}");
    assert!(screen.contains("bind   /data → /data (ro)"), "{screen}");
    assert!(screen.contains(&format!("HF_TOKEN={MASK}")), "{screen}");
    assert!(!screen.contains("hf_s3cretvalue"), "an env value shown before v:\n{screen}");
    insta::assert_snapshot!(screen);
    app.update(key(KeyCode::Char('v')));
    let screen = render(&app, 120, 40);
    assert!(screen.contains("HF_TOKEN=hf_s3cretvalue"), "{screen}");
}

#[test]
fn detail_40x12_keeps_labels_and_scrolls_the_text() {
    let mut app = answered(Some(70));
    let screen = render(&app, 40, 12);
    for label in ["GPU mem 40GiB", "SM 74%", "CPU 380.0%", "mem 12GiB"] {
        assert!(screen.contains(label), "no {label}:\n{screen}");
    }
    assert!(screen.contains("GPUs given all → 0,1 · used 0"), "{screen}");
    insta::assert_snapshot!(screen);
    // The env is below the fold: the end of the text shows it, masked, then shown on v.
    resize(&mut app, 40, 12);
    app.update(key(KeyCode::End));
    let screen = render(&app, 40, 12);
    assert!(screen.contains(&format!("HF_TOKEN={MASK}")), "{screen}");
    assert!(!screen.contains("hf_s3cret"), "{screen}");
    app.update(key(KeyCode::Char('v')));
    let screen = render(&app, 40, 12);
    assert!(screen.contains("HF_TOKEN=hf_s3cret"), "{screen}");
}

#[test]
fn detail_60x20_and_unknown_sm_is_not_zero() {
    let app = answered(None);
    let screen = render(&app, 60, 20);
    assert!(screen.contains("SM n/a"), "{screen}");
    assert!(!screen.contains("SM 0"), "{screen}");
    assert!(screen.contains("GPU mem 40GiB"), "{screen}");
    // Every text line fits its row: nothing wraps into the next one.
    assert!(screen.contains("Image       nvcr.io/nvidia/pytorch:25.01-py3"), "{screen}");
}

#[test]
fn tiny_panes_draw_what_fits_without_panicking() {
    let mut app = answered(Some(70));
    for (w, h) in [(10, 3), (20, 5), (30, 8), (40, 9), (200, 60)] {
        resize(&mut app, w, h);
        app.update(key(KeyCode::End));
        let screen = render(&app, w, h);
        assert!(w < 20 || screen.contains("llama"), "{w}x{h}:\n{screen}");
    }
    // Under 9 rows the charts go and the text keeps the room.
    let screen = render(&app, 40, 8);
    assert!(!screen.contains("GPU mem") && screen.contains("GPUs given"), "{screen}");
}

#[test]
fn remapped_detail_keys_change_what_works_and_what_the_view_says() {
    let config = gpudock::config::Config::from_sources(
        Some("[keys]\nshow_env = [\"x\"]\nback = [\"h\"]\n"),
        Some(std::path::Path::new("/tmp/gpudock-test.toml")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut app = answered(Some(70));
    app.keymap = config.keymap;
    let screen = render(&app, 120, 40);
    assert!(screen.contains("j/k scroll · x env values · l logs · h back"), "{screen}");
    app.update(key(KeyCode::Char('v')));
    assert!(!render(&app, 120, 40).contains("hf_s3cret"), "v no longer shows the values");
    app.update(key(KeyCode::Char('x')));
    assert!(render(&app, 120, 40).contains("HF_TOKEN=hf_s3cretvalue"));
    app.update(key(KeyCode::Esc));
    assert!(matches!(app.mode, gpudock::app::Mode::Detail(_)), "Esc is no longer back");
    app.update(key(KeyCode::Char('h')));
    assert_eq!(app.mode, gpudock::app::Mode::Normal);
    // The help lists the view's keys as bound.
    app.update(key(KeyCode::Char('?')));
    let help = render(&app, 100, 200);
    assert!(help.contains("Container details"), "{help}");
    assert!(help.contains("show / hide the values of the environment variables"), "{help}");
}
