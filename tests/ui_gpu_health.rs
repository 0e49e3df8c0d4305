//! GPU depth on screen: health badges and the GPU detail view, MIG sub-rows, idle-held
//! marks, XID alerts in the header, and the keys that reach them.

mod common;

use std::time::Duration;

use common::{NOW, id, render, sample_app};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gpudock::app::{AppState, Mode};
use gpudock::config::Config;
use gpudock::gpu::{
    EccCounts, GpuEvent, GpuHealth, GpuProcess, GpuSample, GpuSnapshot, MigInstance, MigState, RemappedRows,
    XidError,
};
use gpudock::msg::{Command, Msg};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn proc(pid: u32, container: Option<usize>, mem: u64, sm: Option<u32>) -> GpuProcess {
    GpuProcess {
        pid,
        memory_used: Some(mem),
        sm_percent: sm,
        container_id: container.map(id),
        command: Some("python".into()),
        user: Some("alice".into()),
        ..Default::default()
    }
}

fn gpu(index: u32, processes: Vec<GpuProcess>) -> GpuSample {
    GpuSample {
        index,
        name: "NVIDIA A100-SXM4-80GB".into(),
        uuid: format!("GPU-{index:08}"),
        memory_used: Some(30 << 30),
        memory_total: Some(80 << 30),
        util_gpu: Some(12),
        util_memory: Some(3),
        temperature_c: Some(50),
        power_watts: Some(200.0),
        power_limit_watts: Some(400.0),
        sm_clock_mhz: Some(1410),
        mem_clock_mhz: Some(1593),
        processes,
        health: GpuHealth {
            ecc_volatile: EccCounts { corrected: Some(3), uncorrected: Some(0) },
            ecc_aggregate: EccCounts { corrected: Some(120), uncorrected: Some(0) },
            retired_pages: None,
            retired_pending: None,
            remapped_rows: Some(RemappedRows::default()),
            throttle_reasons: Some(0x1),
            pcie_gen: Some(4),
            pcie_gen_max: Some(4),
            pcie_width: Some(16),
            pcie_width_max: Some(16),
            sm_clock_max_mhz: Some(1410),
            mem_clock_max_mhz: Some(1593),
        },
        ..Default::default()
    }
}

fn snapshot(app: &mut AppState, at: i64, gpus: Vec<GpuSample>) -> Vec<Command> {
    app.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot {
        at,
        driver_version: Some("570.86.15".into()),
        cuda_version: Some("12.8".into()),
        gpus,
        topology: None,
    })))
}

fn app_with(idle_after: &str, bell: bool) -> AppState {
    let text = format!("idle_gpu_after = \"{idle_after}\"\n[alerts]\nbell = {bell}\n");
    let cfg = Config::from_sources(Some(&text), None).unwrap_or_else(|e| panic!("{e}"));
    let mut app = sample_app();
    app.idle_after = cfg.idle_gpu_after;
    app.alert_rules = cfg.alerts;
    app
}

#[test]
fn memory_held_at_zero_percent_is_marked_idle_after_the_configured_time() {
    let mut app = app_with("5s", false);
    let train = || vec![gpu(0, vec![proc(4242, Some(1), 20 << 30, Some(0))]), gpu(1, Vec::new())];
    // Seen working first: its idle time has an exact start (no "≥").
    snapshot(
        &mut app,
        NOW - 1,
        vec![gpu(0, vec![proc(4242, Some(1), 20 << 30, Some(40))]), gpu(1, Vec::new())],
    );
    snapshot(&mut app, NOW, train());
    assert!(!render(&app, 120, 40).contains("idle 0s"), "not before idle_gpu_after");
    snapshot(&mut app, NOW + 3, train());
    assert_eq!(app.gpu.container_idle(&id(1)), None);
    snapshot(&mut app, NOW + 6, train());
    assert_eq!(app.gpu.container_idle(&id(1)), Some(6));
    let screen = render(&app, 120, 40);
    // In the container's SM% cell, in the GPU panel's user list and badge, and as an alert.
    let row = screen.lines().find(|l| l.contains("llama-finetune") && l.contains("idle 6s"));
    assert!(row.is_some(), "{screen}");
    assert!(screen.contains("llama-finetune 20GiB idle 6s"), "{screen}");
    assert!(screen.contains("⚠ container llama-finetune holds 20GiB on GPU 0 idle for 6s"), "{screen}");
    // The GPU process view (p) marks the process the same way.
    app.update(key('p'));
    let procs = render(&app, 120, 40);
    let row = procs.lines().find(|l| l.contains("4242")).unwrap_or_default();
    assert!(row.contains("idle 6s") && row.contains("llama-finetune"), "{procs}");
    app.update(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    // Activity resets it.
    snapshot(
        &mut app,
        NOW + 7,
        vec![gpu(0, vec![proc(4242, Some(1), 20 << 30, Some(40))]), gpu(1, Vec::new())],
    );
    assert_eq!(app.gpu.container_idle(&id(1)), None);
    assert!(!render(&app, 120, 40).lines().any(|l| l.contains("llama-finetune") && l.contains("idle 7s")));
}

#[test]
fn next_idle_key_jumps_to_the_idle_holder() {
    let mut app = app_with("1s", false);
    let gpus = || {
        vec![
            gpu(0, vec![proc(1, Some(1), 1 << 30, Some(50)), proc(2, Some(4), 2 << 30, Some(0))]),
            gpu(1, Vec::new()),
        ]
    };
    snapshot(&mut app, NOW, gpus());
    snapshot(&mut app, NOW + 2, gpus());
    app.update(key('I'));
    assert_eq!(app.table.selected().map(|c| c.name.as_str()), Some("triton-server"));
    let screen = render(&app, 120, 40);
    // Idle when first seen: since some time before that, so a lower bound.
    assert!(screen.contains("triton-server holds GPU memory at 0% SM for ≥2s"), "{screen}");
    assert!(screen.contains("200/400W idle ≥2s │ triton-server"), "{screen}");
}

#[test]
fn an_xid_raises_an_alert_until_seen_and_stays_in_the_detail_view() {
    let mut app = app_with("30m", true);
    snapshot(&mut app, NOW, vec![gpu(0, Vec::new()), gpu(1, Vec::new())]);
    let xid = XidError { gpu_index: 1, gpu_uuid: "GPU-00000001".into(), xid: 79, at: NOW };
    let cmds = app.update(Msg::Gpu(GpuEvent::Xid(xid)));
    assert_eq!(cmds, vec![Command::Bell], "bell = true rings once per alert");
    let screen = render(&app, 120, 40);
    // The header alert says what to do, not just the code.
    assert!(screen.contains("⚠ GPU 1 XID 79 (GPU has fallen off the bus; reboot the node)"), "{screen}");
    assert!(screen.contains("⚠XID 79"), "badge on the GPU row:\n{screen}");
    app.update(key('!'));
    let screen = render(&app, 120, 40);
    assert!(!screen.contains("⚠ GPU 1 XID 79"), "seen alerts leave the header:\n{screen}");
    // The detail view of GPU 1 keeps it.
    app.update(key('j'));
    app.focus = gpudock::app::Panel::Gpus;
    app.update(key('j'));
    app.update(key('i'));
    assert!(matches!(app.mode, Mode::GpuDetail(_)));
    let screen = render(&app, 120, 40);
    assert!(screen.contains("GPU 1 · A100-SXM4-80GB"), "{screen}");
    assert!(screen.contains("XID 79 (GPU has fallen off the bus; reboot the node) 0s ago"), "{screen}");
    assert!(screen.contains("state             broken"), "a fatal XID breaks the GPU:\n{screen}");
    app.update(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    assert_eq!(app.mode, Mode::Normal);
}

/// XIDs from before the run (the watcher reads them from the kernel log at start): the GPU is
/// broken and the alert raised as for a live one, with the log's time, but no bell.
#[test]
fn xids_from_before_the_run_break_the_gpu_without_a_bell() {
    let mut app = app_with("30m", true);
    snapshot(&mut app, NOW, vec![gpu(0, Vec::new()), gpu(1, Vec::new())]);
    let past = vec![
        XidError { gpu_index: 0, gpu_uuid: "GPU-00000000".into(), xid: 13, at: NOW - 7200 },
        XidError { gpu_index: 1, gpu_uuid: "GPU-00000001".into(), xid: 79, at: NOW - 3600 },
    ];
    let cmds = app.update(Msg::Gpu(GpuEvent::PastXids(past)));
    assert!(cmds.is_empty(), "no bell for what happened before: {cmds:?}");
    let state = |app: &gpudock::app::AppState, i| app.gpu.assessment(i).map(|a| a.state.as_str());
    assert_eq!(state(&app, 1), Some("broken"));
    assert_ne!(state(&app, 0), Some("broken"), "an application XID breaks nothing");
    let screen = render(&app, 120, 40);
    assert!(screen.contains("⚠XID 79"), "badge on the GPU row:\n{screen}");
    assert!(screen.contains("⚠ GPU 1 XID 79 (GPU has fallen off the bus; reboot the node)"), "{screen}");
    app.update(key('A'));
    let list = render(&app, 120, 40);
    let line = list.lines().skip(1).find(|l| l.contains("GPU 1 XID 79")).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("1h ago") && line.contains("· kernel log"), "the log's time and source: {line}");
    app.update(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    // A live one later still rings, and both count.
    let live = XidError { gpu_index: 0, gpu_uuid: "GPU-00000000".into(), xid: 48, at: NOW + 1 };
    assert_eq!(app.update(Msg::Gpu(GpuEvent::Xid(live))), vec![Command::Bell]);
    assert_eq!(app.gpu.xids.iter().map(|x| x.xid).collect::<Vec<_>>(), vec![13, 79, 48]);
    // However many harmless XIDs follow, the fatal ones keep their GPUs broken.
    for n in 0..100 {
        let x = XidError { gpu_index: 1, gpu_uuid: "GPU-00000001".into(), xid: 13, at: NOW + 2 + n };
        app.update(Msg::Gpu(GpuEvent::Xid(x)));
    }
    assert!(app.gpu.xids.iter().all(|x| x.xid == 13), "the kept list has moved on");
    assert_eq!(state(&app, 1), Some("broken"));
    assert_eq!(state(&app, 0), Some("broken"), "XID 48 on GPU 0");
}

#[test]
fn a_condition_that_lasts_raises_one_alert() {
    let mut app = app_with("30m", false);
    let mut hot = gpu(0, Vec::new());
    hot.temperature_c = Some(91);
    hot.health.ecc_volatile.uncorrected = Some(2);
    for t in 0..5 {
        snapshot(&mut app, NOW + t, vec![hot.clone()]);
    }
    let texts: Vec<&str> = app.alerts.list.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(texts, ["GPU 0 at 91°C", "GPU 0: 2 uncorrected ECC errors"]);
    // It cools down: the alerts are resolved, with when, and the header says it is over.
    snapshot(&mut app, NOW + 6, vec![gpu(0, Vec::new())]);
    let ended: Vec<Option<i64>> = app.alerts.list.iter().map(|a| a.ended).collect();
    assert_eq!(ended, [Some(NOW + 6), Some(NOW + 6)]);
    app.now = NOW + 66;
    let screen = render(&app, 160, 40);
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains("ended 1m ago"), "no present tense for what is over: {header}");
    // Then heats up again: a new alert, active, first in the session's list.
    snapshot(&mut app, NOW + 7, vec![hot.clone()]);
    assert_eq!(app.alerts.list.len(), 4);
    let session: Vec<(bool, Option<i64>)> =
        app.alerts.session().iter().map(|a| (a.active(), a.ended)).collect();
    assert_eq!(session, [(true, None), (true, None), (false, Some(NOW + 6)), (false, Some(NOW + 6))]);
}

#[test]
fn the_detail_view_shows_health_fields_and_na_where_unsupported() {
    let mut app = app_with("30m", false);
    let mut sick = gpu(0, Vec::new());
    sick.health.remapped_rows =
        Some(RemappedRows { correctable: 1, uncorrectable: 2, pending: true, failed: false });
    sick.health.throttle_reasons = Some(0x40 | 0x4);
    sick.health.pcie_width = Some(8);
    sick.health.ecc_aggregate = EccCounts::default();
    snapshot(&mut app, NOW, vec![sick, gpu(1, Vec::new())]);
    let panel = render(&app, 120, 40);
    // Every problem, each short, on the row's second line: not "⚠reset needed+2".
    assert!(panel.contains("   ⚠reset ⚠hw-thermal ⚠PCIe x8/16 mem"), "{panel}");
    app.update(key('i'));
    let screen = render(&app, 120, 40);
    for want in [
        "state             broken",
        "faults            reset needed",
        "health            throttled: hw thermal · PCIe x8 of x16",
        "clocks held by    sw power cap, hw thermal",
        "PCIe link         gen 4 of gen 4, x8 of x16 (down-trained)",
        "ECC volatile      corrected 3  uncorrected 0",
        "ECC aggregate     corrected n/a  uncorrected n/a",
        "retired pages     n/a",
        "remapped rows     1 correctable, 2 uncorrectable · pending: reset needed",
        "SM clock          1410 / 1410 MHz",
        "MIG               not supported",
    ] {
        assert!(screen.contains(want), "missing {want:?}:\n{screen}");
    }
    // `i` again: the next GPU.
    app.update(key('i'));
    assert!(render(&app, 120, 40).contains("GPU 1 · A100"));
    // A GPU that reports no clocks: one n/a, not "n/a / n/a MHz".
    let mut bare = gpu(1, Vec::new());
    bare.sm_clock_mhz = None;
    bare.health.sm_clock_max_mhz = None;
    // Nor a PCIe link: one n/a, not "gen n/a of gen n/a, xn/a of xn/a".
    bare.health.pcie_gen = None;
    bare.health.pcie_gen_max = None;
    bare.health.pcie_width = None;
    bare.health.pcie_width_max = None;
    let first = app.gpu.snapshot.as_ref().map(|s| s.gpus[0].clone()).unwrap_or_default();
    snapshot(&mut app, NOW + 1, vec![first, bare]);
    let screen = render(&app, 120, 40);
    assert!(screen.contains("SM clock          n/a ") && !screen.contains("n/a / n/a"), "{screen}");
    assert!(screen.contains("PCIe link         n/a ") && !screen.contains("xn/a"), "{screen}");
    // A small pane still shows the view's title and first fields.
    let small = render(&app, 40, 12);
    assert!(small.contains("GPU 1"), "{small}");
    // Its key hints fit whole or are left out, never cut mid-word.
    let bottom = small.lines().nth(10).unwrap_or_default();
    assert!(bottom.contains("i next GPU") && !bottom.contains("alerts se┘"), "{bottom}");
}

#[test]
fn a_mig_gpu_shows_its_instances_with_their_containers() {
    let mut app = app_with("30m", false);
    let mut g = gpu(
        0,
        vec![GpuProcess {
            gpu_instance: Some(1),
            compute_instance: Some(0),
            ..proc(9, Some(2), 4 << 30, None)
        }],
    );
    g.util_gpu = None;
    let inst = |index: u32, gi: u32, name: &str| MigInstance {
        index,
        uuid: format!("MIG-{index:08}"),
        name: format!("NVIDIA A100-SXM4-80GB MIG {name}"),
        gpu_instance: Some(gi),
        compute_instance: Some(0),
        memory_used: Some(4 << 30),
        memory_total: Some(19 << 30),
    };
    g.mig = Some(MigState { enabled: true, instances: vec![inst(0, 1, "2g.20gb"), inst(1, 2, "2g.20gb")] });
    snapshot(&mut app, NOW, vec![g, gpu(1, Vec::new())]);
    let screen = render(&app, 120, 40);
    let first = screen.lines().find(|l| l.contains("MIG 0")).unwrap_or_default();
    assert!(
        first.contains("2g.20gb") && first.contains("util n/a") && first.contains("jupyter-alice"),
        "{screen}"
    );
    let second = screen.lines().find(|l| l.contains("MIG 1")).unwrap_or_default();
    assert!(second.contains("│ no processes"), "{screen}");
    // A container given the MIG device resolves to the parent GPU.
    let ids = app.gpu.ids();
    assert!(ids.contains(&(0, "MIG-00000001")));
    let req = gpudock::docker::gpus::GpuRequest::Devices(vec![gpudock::docker::gpus::GpuRef::parse(
        "MIG-00000001",
    )]);
    assert_eq!(req.indices(&ids), Some(vec![0]));
    let _ = Duration::ZERO;
}
