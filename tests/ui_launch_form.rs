//! The launch form on a node with a broken, a held and two free GPUs: what `free:N` picks, the
//! `docker run` preview, a port clash at its field, and the question before a broken GPU.

mod common;

use common::{render, render_buffer, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::AppState;
use gpudock::docker::EngineEvent;
use gpudock::docker::ports::{Proto, Published};
use gpudock::gpu::{GpuEvent, GpuProcess, GpuSample, GpuSnapshot};
use gpudock::msg::Msg;
use ratatui::style::Modifier;

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

fn type_text(app: &mut AppState, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

/// GPU 0 broken (uncorrected ECC), 1 held by llama-finetune, 2 hot, 3 cool; jupyter-alice
/// publishes host port 8888.
fn node() -> AppState {
    let mut app = sample_app();
    let mut list = app.table.all().to_vec();
    list.iter_mut().filter(|c| c.name == "jupyter-alice").for_each(|c| {
        c.published = vec![Published {
            container: c.name.clone(),
            ip: None,
            port: 8888,
            proto: Proto::Tcp,
            container_port: 8888,
        }]
    });
    let llama = list.iter().find(|c| c.name == "llama-finetune").map(|c| c.id.clone());
    app.update(Msg::Engine(EngineEvent::Containers(list)));
    let gpu = |index: u32, temp: u32| GpuSample {
        index,
        uuid: format!("GPU-{index}"),
        temperature_c: Some(temp),
        util_gpu: Some(0),
        memory_used: Some(0),
        memory_total: Some(80 << 30),
        ..Default::default()
    };
    let mut broken = gpu(0, 30);
    broken.health.ecc_volatile.uncorrected = Some(2);
    let mut held = gpu(1, 35);
    held.memory_used = Some(30 << 30);
    held.processes =
        vec![GpuProcess { pid: 7, memory_used: Some(30 << 30), container_id: llama, ..Default::default() }];
    let gpus = vec![broken, held, gpu(2, 70), gpu(3, 40)];
    app.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { gpus, ..Default::default() })));
    app
}

/// The form with busybox, `echo hi`, and `gpus` in the GPUs field (focused).
fn form(app: &mut AppState, gpus: &str) {
    app.update(key(KeyCode::Char('n')));
    type_text(app, "busybox");
    app.update(key(KeyCode::Tab));
    type_text(app, "echo hi");
    app.update(key(KeyCode::Tab));
    type_text(app, gpus);
}

fn row_of(screen: &str, text: &str) -> Option<(u16, u16)> {
    screen.lines().enumerate().find_map(|(y, l)| {
        let l = l.trim_start_matches('"');
        l.find(text).map(|b| (l[..b].chars().count() as u16, y as u16))
    })
}

#[test]
fn free_n_shows_its_pick_and_the_docker_run_line_at_120x40() {
    let mut app = node();
    form(&mut app, "free:1");
    let screen = render(&app, 120, 40);
    assert!(screen.contains("→ free:1 now picks GPU 3: coolest and least used ("), "{screen}");
    assert!(screen.contains("docker run line"), "{screen}");
    assert!(screen.contains("docker run --gpus device=3 --label io.gpudock.launched-by="), "{screen}");
    insta::assert_snapshot!(screen);
    // Asking for more than are free: the refusal, in the error style, names who holds the rest.
    app.update(key(KeyCode::Backspace));
    type_text(&mut app, "3");
    let screen = render(&app, 120, 40);
    assert!(
        screen.contains("✖ free:3 cannot be met: 2 GPUs are free (GPUs 2, 3); GPU 1 is held by"),
        "{screen}"
    );
    assert!(screen.contains("llama-finetune; GPU 0 is broken (ECC uncorrected 2)"), "{screen}");
    let (x, y) = row_of(&screen, "✖ free:3").unwrap_or_else(|| panic!("{screen}"));
    let buf = render_buffer(&app, 120, 40);
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD), "the refusal is an error: {:?}", buf[(x, y)]);
    assert!(screen.contains("docker run line: shown once every field is valid"), "{screen}");
}

#[test]
fn a_small_pane_keeps_the_fields_and_leaves_the_preview_out() {
    let mut app = node();
    form(&mut app, "free:1");
    let screen = render(&app, 40, 12);
    assert!(!screen.contains("docker run"), "{screen}");
    assert!(screen.contains("GPUs"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn a_clashing_port_is_refused_at_the_ports_field() {
    let mut app = node();
    form(&mut app, "device=3");
    for _ in 0..6 {
        app.update(key(KeyCode::Tab));
    }
    type_text(&mut app, "8888:8888");
    app.update(key(KeyCode::Enter));
    let screen = render(&app, 120, 40);
    assert!(
        screen.contains("✖ host port 8888/tcp is already published by container jupyter-alice"),
        "{screen}"
    );
}

#[test]
fn naming_a_broken_gpu_asks_first_naming_its_fault() {
    let mut app = node();
    form(&mut app, "0,3");
    app.update(key(KeyCode::Enter));
    let screen = render(&app, 120, 40);
    assert!(screen.contains("GPU 0 is broken (ECC uncorrected 2): launch on it anyway?"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn a_site_preset_is_marked_fills_its_ports_and_shows_its_note() {
    let mut app = node();
    app.presets.push(gpudock::config::Preset {
        name: "lab-notebook".into(),
        description: "JupyterLab on one free GPU".into(),
        image: "busybox".into(),
        command: "echo hi".into(),
        gpus: "free:1".into(),
        ports: "8890:8888".into(),
        note: "Datasets are under /data, read-only.\u{1b}[31m Ask #gpu-admins.".into(),
        site: true,
        ..Default::default()
    });
    app.update(key(KeyCode::Char('n')));
    for _ in 0..4 {
        app.update(key(KeyCode::Tab));
    }
    // Back from none: the last preset, the site's.
    app.update(key(KeyCode::Left));
    let screen = render(&app, 120, 40);
    assert!(screen.contains("‹ lab-notebook (site) › JupyterLab on one free GPU"), "{screen}");
    assert!(screen.contains("ℹ Datasets are under /data, read-only."), "{screen}");
    assert!(!screen.contains('\u{1b}'), "{screen}");
    assert!(screen.contains("Ports (host:ctr,…)    8890:8888"), "{screen}");
    assert!(screen.contains("→ free:1 now picks GPU 3: coolest and least used ("), "{screen}");
    assert!(screen.contains("docker run --gpus device=3 -p 8890:8888 --label"), "{screen}");
}

#[test]
fn the_launch_progress_says_what_free_n_picked_and_why() {
    let mut app = node();
    form(&mut app, "free:1");
    let before = render_buffer(&app, 120, 40);
    let ok_fg = {
        let screen = render(&app, 120, 40);
        let (x, y) = row_of(&screen, "→ free:1 now picks").unwrap_or_else(|| panic!("{screen}"));
        before[(x, y)].fg
    };
    app.update(key(KeyCode::Enter));
    let screen = render(&app, 120, 40);
    assert!(screen.contains("Launching busybox"), "{screen}");
    let (x, y) = row_of(&screen, "free:1 picks GPU 3: coolest and least used (40 °C, 0 %)")
        .unwrap_or_else(|| panic!("{screen}"));
    let buf = render_buffer(&app, 120, 40);
    assert_eq!(buf[(x, y)].fg, ok_fg, "the pick in the form's ok colour");
}
