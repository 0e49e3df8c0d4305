//! The help screen and the launch form say what `gpudock doctor` says about this node, from
//! the facts the app already has and the files the executor reads when either opens.

mod common;

use common::{NOW, engine_info, id, render, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::node;
use gpudock::docker::EngineEvent;
use gpudock::doctor::{Check, DaemonJson, HostFiles, Level};
use gpudock::gpu::{GpuEvent, GpuProcess, GpuSample, GpuSnapshot, ProcessKind};
use gpudock::msg::{ActionMsg, Command, Msg};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::from(KeyCode::Char(c)))
}

/// One GPU, with a process of `llama-finetune`, which asked for no GPUs.
fn gpu_snapshot() -> Msg {
    let process = GpuProcess {
        pid: 4242,
        kind: ProcessKind::Compute,
        memory_used: Some(1 << 30),
        sm_percent: None,
        container_id: Some(id(1)),
        command: Some("python".into()),
        user: None,
        ..Default::default()
    };
    let gpu = GpuSample {
        index: 0,
        name: "NVIDIA H100 80GB HBM3".into(),
        uuid: "GPU-0".into(),
        processes: vec![process],
        ..Default::default()
    };
    Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot {
        at: NOW,
        driver_version: Some("550.54.15".into()),
        cuda_version: Some("12.4".into()),
        gpus: vec![gpu],
        topology: None,
    }))
}

/// daemon.json names the nvidia runtime; the toolkit is installed; no CDI spec.
fn files_edited_not_restarted() -> Msg {
    let mut daemon = DaemonJson::default();
    daemon.runtimes.insert("nvidia".into(), serde_json::json!({"path": "nvidia-container-runtime"}));
    let files = HostFiles {
        daemon_json: ("/etc/docker/daemon.json".into(), Some(Ok(daemon))),
        toolkit: vec![("nvidia-ctk", Some("/usr/bin/nvidia-ctk".into()))],
        cdi_specs: Vec::new(),
    };
    Msg::Action(ActionMsg::NodeChecked(Some(Box::new(files))))
}

fn find(all: &[gpudock::doctor::Finding], check: Check) -> Option<&gpudock::doctor::Finding> {
    all.iter().find(|f| f.check == check)
}

#[test]
fn help_and_launch_form_show_the_doctors_findings_with_their_fixes() {
    let mut app = sample_app();
    // Until the driver answers there is nothing to judge it by.
    assert_eq!(node::findings(&app), None);
    app.update(gpu_snapshot());

    // Opening help reads the node's files (off the render loop).
    let cmds = app.update(key('?'));
    assert!(
        matches!(cmds.as_slice(), [Command::CheckNode { cdi_dirs }] if cdi_dirs.iter().any(|d| d == "/etc/cdi")),
        "{cmds:?}"
    );
    // Before they arrive, only what the app knows: no verdict on files it has not read.
    let before = node::findings(&app).unwrap_or_default();
    assert!(find(&before, Check::Toolkit).is_none(), "{before:?}");
    let runtime = find(&before, Check::NvidiaRuntime).map(|f| f.level);
    assert_eq!(runtime, Some(Level::Fail), "{before:?}");
    let unasked = find(&before, Check::Unasked).map(|f| (f.level, f.detail.clone()));
    assert_eq!(unasked, Some((Level::Warn, "llama-finetune on GPU 0".into())));

    app.update(files_edited_not_restarted());
    let after = node::findings(&app).unwrap_or_default();
    assert_eq!(find(&after, Check::Toolkit).map(|f| f.level), Some(Level::Ok));
    let runtime = find(&after, Check::NvidiaRuntime).cloned();
    assert!(runtime.as_ref().is_some_and(|f| f.detail.contains("edited but not restarted")), "{runtime:?}");

    // The help screen lists every check; scrolled to its end it shows the fix.
    for _ in 0..200 {
        app.update(key('j'));
    }
    let screen = render(&app, 120, 40);
    assert!(screen.contains("This node (gpudock doctor)"), "{screen}");
    assert!(screen.contains("FAIL nvidia runtime"), "{screen}");
    assert!(screen.contains("fix: sudo systemctl restart docker"), "{screen}");
    assert!(screen.contains("WARN GPUs held without asking"), "{screen}");

    // The launch form names what stands between it and GPUs, and reads the files again.
    app.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
    let cmds = app.update(key('n'));
    assert!(matches!(cmds.as_slice(), [Command::CheckNode { .. }]), "{cmds:?}");
    let screen = render(&app, 120, 40);
    assert!(screen.contains("✖ nvidia runtime (for GPUs)"), "{screen}");
    assert!(screen.contains("fix: sudo systemctl restart docker"), "{screen}");
    assert!(!screen.contains("CDI"), "only what blocks --gpus belongs in the form: {screen}");

    // Once dockerd runs with the runtime, the form has nothing to warn about.
    let mut info = engine_info();
    info.runtimes.push("nvidia".into());
    app.update(Msg::Engine(EngineEvent::Connected(Box::new(info))));
    assert_eq!(node::gpu_blockers(&app), Vec::new());
    let screen = render(&app, 120, 40);
    assert!(screen.contains("✔ nvidia runtime registered"), "{screen}");
}

#[test]
fn a_remote_engine_gets_no_verdicts_from_this_machines_files_or_driver() {
    let mut app = sample_app();
    app.gpu.remote("ssh://gpu-07".into());
    app.update(Msg::Action(ActionMsg::NodeChecked(None)));
    let all = node::findings(&app).unwrap_or_default();
    let checks: Vec<Check> = all.iter().map(|f| f.check).collect();
    assert!(checks.contains(&Check::Engine) && checks.contains(&Check::NvidiaRuntime), "{checks:?}");
    for local in [Check::Driver, Check::Toolkit, Check::CdiSpecs] {
        assert!(!checks.contains(&local), "{local} judged from this machine: {checks:?}");
    }
}
