//! The GPU process view on screen: wide, medium and a 40x12 tmux pane, the signal question, and
//! read-only mode.

mod common;

use common::{NOW, id, render, render_buffer, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::AppState;
use gpudock::gpu::{GpuEvent, GpuProcess, GpuSample, GpuSnapshot, HostProcess};
use gpudock::msg::Msg;

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

fn process(pid: u32, container: Option<usize>, gib: u64, sm: Option<u32>, host: HostProcess) -> GpuProcess {
    GpuProcess {
        pid,
        memory_used: Some(gib << 30),
        sm_percent: sm,
        container_id: container.map(id),
        command: Some(if container.is_some() { "python" } else { "python3" }.into()),
        user: Some(if container.is_some() { "root" } else { "alice" }.into()),
        host: Some(host),
        ..Default::default()
    }
}

fn host(start_time: u64, elapsed_secs: u64, cpu: Option<f64>, rss_mib: u64, cmdline: &str) -> HostProcess {
    HostProcess {
        start_time,
        elapsed_secs: Some(elapsed_secs),
        cpu_percent: cpu,
        rss_bytes: Some(rss_mib << 20),
        cmdline: Some(cmdline.into()),
    }
}

/// The sample containers with processes on two GPUs, the process view open.
fn procs_app() -> AppState {
    let mut app = sample_app();
    let gpu0 = vec![
        process(
            4242,
            Some(1),
            40,
            Some(71),
            host(
                100,
                3725,
                Some(387.5),
                12 << 10,
                "python -m torch.distributed.run --nproc_per_node=2 finetune.py --model llama-3-8b --epochs 3",
            ),
        ),
        process(4243, Some(1), 2, None, host(101, 3724, None, 900, "python finetune.py --worker 1")),
    ];
    let gpu1 = vec![
        process(
            777,
            None,
            3,
            Some(5),
            host(50, 200_000, Some(12.0), 2048, "python3 /home/alice/notebook.py"),
        ),
        process(
            5151,
            Some(4),
            20,
            Some(33),
            host(300, 59, Some(35.0), 3072, "tritonserver --model-repository=/models"),
        ),
    ];
    let gpus = [gpu0, gpu1]
        .into_iter()
        .enumerate()
        .map(|(i, processes)| GpuSample {
            index: i as u32,
            name: "NVIDIA H100 80GB HBM3".into(),
            uuid: format!("GPU-{i:08}"),
            memory_total: Some(80 << 30),
            processes,
            ..Default::default()
        })
        .collect();
    let snap = GpuSnapshot { at: NOW, driver_version: Some("550.54.15".into()), gpus, ..Default::default() };
    app.update(Msg::Gpu(GpuEvent::Snapshot(snap)));
    app.update(key(KeyCode::Char('p')));
    app
}

#[test]
fn process_view_120x40() {
    let screen = render(&procs_app(), 120, 40);
    for needle in [
        "GPU processes 4",
        "sort: gpu memory",
        "GPU PID     CONTAINER",
        "0   4242    llama-finetune 40GiB    71   387.5  12GiB    1:02:05  python -m torch.distributed.run",
        "1   777     python3(alice)",
        "2d07h",
        "00:59",
        "o sort · T SIGTERM · K SIGKILL · I SIGINT",
    ] {
        assert!(screen.contains(needle), "lacks {needle:?}:\n{screen}");
    }
    // GPU memory, biggest first; no SM reading shows as n/a, a first CPU reading as -.
    let order: Vec<usize> =
        ["4242 ", "5151 ", "777 ", "4243 "].iter().filter_map(|p| screen.find(&format!("   {p}"))).collect();
    assert_eq!(order.len(), 4, "{screen}");
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{screen}");
    let line = screen.lines().find(|l| l.contains(" 4243 ")).unwrap_or_default();
    assert!(line.contains("n/a") && line.contains(" - "), "{line}");
    insta::assert_snapshot!(screen);
}

#[test]
fn process_view_60x20() {
    let screen = render(&procs_app(), 60, 20);
    assert!(screen.contains("PID") && screen.contains("CPU%") && !screen.contains("RSS"), "{screen}");
    assert!(screen.contains("Esc back") && screen.contains("T SIGTERM"), "{screen}");
    assert!(screen.contains("llama-finetune") && screen.contains("python -m"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn process_view_40x12_keeps_pid_container_memory_and_command() {
    let screen = render(&procs_app(), 40, 12);
    for needle in ["4242", "llama-finet…", "40GiB", "python3(ali…", "python", "Esc back"] {
        assert!(screen.contains(needle), "lacks {needle:?}:\n{screen}");
    }
    assert!(screen.lines().all(|l| l.chars().count() <= 42), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn the_signal_question_names_pid_command_and_container() {
    let mut app = procs_app();
    app.update(key(KeyCode::Char('T')));
    let screen = render(&app, 120, 40);
    assert!(screen.contains("Send SIGTERM to PID 4242 (python -m torch.distributed.run"), "{screen}");
    assert!(screen.contains("), container") && screen.contains("llama-finetune?"), "{screen}");
    assert!(screen.contains("y confirm") && screen.contains("any other key cancel"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn the_selected_row_is_highlighted_and_read_only_offers_no_signal() {
    let mut app = procs_app();
    app.update(key(KeyCode::Down));
    let buf = render_buffer(&app, 120, 40);
    let row = (0..40).find(|y| {
        let line: String = (0..120).map(|x| buf[(x, *y)].symbol().to_string()).collect();
        line.contains(" 5151 ")
    });
    let row = row.unwrap_or_else(|| panic!("no row for 5151"));
    let plain = (0..40).find(|y| *y != row && (0..120).any(|x| buf[(x, *y)].symbol() == "7")).unwrap_or(0);
    assert_ne!(buf[(3, row)].style(), buf[(3, plain)].style(), "the cursor row looks like the others");

    app.read_only = true;
    let screen = render(&app, 120, 40);
    assert!(!screen.contains("SIGTERM") && screen.contains("Esc back"), "{screen}");
}

#[test]
fn the_help_screen_lists_the_process_view_as_bound() {
    let config = gpudock::config::Config::from_sources(Some("[keys]\nsig_term = [\"x\"]\n"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut app = sample_app();
    app.keymap = config.keymap;
    app.update(key(KeyCode::Char('?')));
    let screen = render(&app, 100, 200);
    for needle in ["GPU processes", "send SIGKILL to the selected process", "filter by container, user"] {
        assert!(screen.contains(needle), "help lacks {needle:?}:\n{screen}");
    }
    let term = screen.lines().find(|l| l.contains("send SIGTERM")).unwrap_or_default();
    assert!(term.contains(" x "), "{term}");
    let open = screen.lines().find(|l| l.contains("GPU processes: every process")).unwrap_or_default();
    assert!(open.contains(" p "), "{open}");
}
