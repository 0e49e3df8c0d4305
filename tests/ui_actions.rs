//! Snapshot tests of the launch form, its errors, the confirmation dialog, launch progress and
//! the log view.

mod common;

use common::{render, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::docker::LogLine;
use gpudock::docker::launch::PullProgress;
use gpudock::docker::logs::LogChunk;
use gpudock::msg::Msg;

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

fn type_text(app: &mut gpudock::app::AppState, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

#[test]
fn launch_form_with_a_preset() {
    let mut app = sample_app();
    app.update(key(KeyCode::Char('n')));
    for _ in 0..4 {
        app.update(key(KeyCode::Tab));
    }
    app.update(key(KeyCode::Char(' ')));
    insta::assert_snapshot!(render(&app, 120, 32));
}

#[test]
fn launch_form_errors_at_their_fields() {
    let mut app = sample_app();
    app.update(key(KeyCode::Char('n')));
    type_text(&mut app, "NVIDIA/Cuda");
    app.update(key(KeyCode::Tab));
    type_text(&mut app, "sh -c 'unclosed");
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    type_text(&mut app, "jupyter-alice");
    app.update(key(KeyCode::Enter));
    insta::assert_snapshot!(render(&app, 120, 32));
}

#[test]
fn confirmation_dialog_names_the_container() {
    let mut app = sample_app();
    app.update(key(KeyCode::Char('d')));
    let screen = render(&app, 100, 20);
    assert!(screen.contains("Remove jupyter-alice? It is running."), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn launch_progress() {
    let mut app = sample_app();
    app.update(key(KeyCode::Char('n')));
    type_text(&mut app, "nvidia/cuda:12.9.1-base-ubuntu24.04");
    app.update(key(KeyCode::Enter));
    app.update(Msg::from(PullProgress {
        image: "nvidia/cuda:12.9.1-base-ubuntu24.04".into(),
        done: 60 << 20,
        total: 120 << 20,
        status: "Downloading".into(),
    }));
    insta::assert_snapshot!(render(&app, 100, 20));
}

#[test]
fn log_view_marks_stderr_and_matches() {
    let mut app = sample_app();
    app.update(key(KeyCode::Char('l')));
    let id = app.table.selected().map(|c| c.id.clone()).unwrap_or_default();
    let lines = (1..=30)
        .map(|i| LogLine { stderr: i % 5 == 0, text: format!("step {i} loss {:.3}", 1.0 / f64::from(i)) })
        .collect();
    app.update(Msg::from(LogChunk { id, lines }));
    app.update(key(KeyCode::Char('/')));
    type_text(&mut app, "step 2");
    app.update(key(KeyCode::Enter));
    insta::assert_snapshot!(render(&app, 80, 16));
}

#[test]
fn log_view_wraps_long_lines_says_what_was_not_loaded_and_ends() {
    let mut app = sample_app();
    app.update(key(KeyCode::Char('l')));
    let id = app.table.selected().map(|c| c.id.clone()).unwrap_or_default();
    let mut lines: Vec<LogLine> =
        (0..999).map(|i| LogLine { stderr: false, text: format!("line {i}") }).collect();
    lines.push(LogLine { stderr: false, text: format!("long {} END", "x".repeat(200)) });
    app.update(Msg::from(LogChunk { id: id.clone(), lines }));
    let screen = render(&app, 80, 16);
    assert!(screen.contains("older output may exist"), "{screen}");
    assert!(screen.contains("END"), "the end of a long line wraps into view:\n{screen}");
    app.update(Msg::Action(gpudock::msg::ActionMsg::LogsEnded { id, error: None, exit_code: Some(0) }));
    let screen = render(&app, 80, 16);
    assert!(screen.contains("· ended") && !screen.contains("following"), "{screen}");
    assert!(screen.contains("the container exited with code 0"), "{screen}");
}

/// The launch form's GPU list uses the engine layer's states: a broken GPU is marked with what
/// is wrong, a GPU someone holds memory on is not "free".
#[test]
fn the_launch_forms_gpu_list_marks_broken_and_held_gpus() {
    use gpudock::gpu::{GpuEvent, GpuProcess, GpuSample, GpuSnapshot};
    let mut app = sample_app();
    let gpu = |index: u32| GpuSample {
        index,
        uuid: format!("GPU-{index}"),
        memory_used: Some(0),
        memory_total: Some(80 << 30),
        util_gpu: Some(0),
        ..Default::default()
    };
    let mut held = gpu(1);
    held.processes = vec![GpuProcess {
        pid: 10,
        memory_used: Some(38 << 30),
        sm_percent: Some(0),
        container_id: Some(common::id(1)),
        ..Default::default()
    }];
    let mut broken = gpu(2);
    broken.health.ecc_volatile.uncorrected = Some(2);
    let snap = GpuSnapshot { gpus: vec![gpu(0), held, broken], ..Default::default() };
    app.update(Msg::Gpu(GpuEvent::Snapshot(snap)));
    app.update(key(KeyCode::Char('n')));
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    let screen = render(&app, 120, 40);
    let line =
        |n: u32| screen.lines().find(|l| l.contains(&format!("GPU {n} "))).unwrap_or_default().to_string();
    assert!(line(0).contains("free"), "{screen}");
    assert!(line(1).contains("held: llama-finetune") && !line(1).contains("free"), "{screen}");
    assert!(line(2).contains("BROKEN: ECC uncorrected 2"), "{screen}");
}
