use std::collections::HashMap;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::SortKey;
use crate::docker::EngineEvent;
use crate::docker::actions::ContainerAction;
use crate::docker::gpus::GpuRequest;
use crate::docker::{Container, ContainerId, ContainerState};
use crate::gpu::GpuEvent;

pub fn container(id: &str, name: &str, state: ContainerState) -> Container {
    Container {
        id: format!("{id:0<64}").into(),
        name: name.to_string(),
        image: format!("img/{name}"),
        state,
        created: 1000,
        started_at: Some(1000),
        finished_at: None,
        exit_code: None,
        health: None,
        pid: None,
        gpus: GpuRequest::None,
        launched_by: None,
        owner: Default::default(),
        pending: false,
        published: Vec::new(),
        host_network: false,
    }
}

fn app() -> AppState {
    AppState::new(&Config::default(), "unix:///var/run/docker.sock".into())
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn list(app: &mut AppState, items: Vec<Container>) {
    app.update(Msg::Engine(EngineEvent::Containers(items)));
}

fn names(app: &AppState) -> Vec<String> {
    app.table.rows().map(|c| c.name.clone()).collect()
}

fn selected(app: &AppState) -> Option<String> {
    app.table.selected().map(|c| c.name.clone())
}

#[test]
fn list_message_sorts_running_first_then_by_name() {
    let mut a = app();
    list(
        &mut a,
        vec![
            container("1", "zeta", ContainerState::Exited),
            container("2", "beta", ContainerState::Running),
            container("3", "alpha", ContainerState::Running),
        ],
    );
    assert_eq!(names(&a), ["alpha", "beta", "zeta"]);
    assert_eq!(selected(&a).as_deref(), Some("alpha"));
    assert!(a.take_dirty());
}

#[test]
fn event_driven_changes_keep_the_selection_on_the_same_container() {
    let mut a = app();
    let mut items = vec![
        container("1", "a", ContainerState::Running),
        container("2", "b", ContainerState::Running),
        container("3", "c", ContainerState::Running),
    ];
    list(&mut a, items.clone());
    a.update(key('j'));
    assert_eq!(selected(&a).as_deref(), Some("b"));
    // b stops: it sorts after the running ones, and the cursor follows it.
    items[1].state = ContainerState::Exited;
    list(&mut a, items.clone());
    assert_eq!(names(&a), ["a", "c", "b"]);
    assert_eq!(selected(&a).as_deref(), Some("b"));
    // b is removed: the cursor stays at the same row, now c... clamped to the end.
    items.remove(1);
    list(&mut a, items.clone());
    assert_eq!(names(&a), ["a", "c"]);
    assert_eq!(selected(&a).as_deref(), Some("c"));
    // Everything goes: no selection, no panic on movement.
    list(&mut a, Vec::new());
    assert_eq!(selected(&a), None);
    a.update(key('j'));
    a.update(key('G'));
    assert_eq!(selected(&a), None);
}

#[test]
fn movement_keys_clamp() {
    let mut a = app();
    list(
        &mut a,
        (0..5).map(|i| container(&i.to_string(), &format!("c{i}"), ContainerState::Running)).collect(),
    );
    a.update(key('k'));
    assert_eq!(selected(&a).as_deref(), Some("c0"));
    a.update(key('G'));
    assert_eq!(selected(&a).as_deref(), Some("c4"));
    a.update(code(KeyCode::Down));
    assert_eq!(selected(&a).as_deref(), Some("c4"));
    a.update(key('g'));
    assert_eq!(selected(&a).as_deref(), Some("c0"));
    // A page is what the last frame showed, not a guess from the terminal's height.
    a.update(Msg::Layout(crate::msg::Pages { table: 3, ..Default::default() }));
    a.update(code(KeyCode::PageDown));
    assert_eq!(selected(&a).as_deref(), Some("c3"));
}

#[test]
fn stats_message_updates_figures_and_cpu_sort() {
    let mut a = app();
    list(
        &mut a,
        vec![
            container("1", "idle", ContainerState::Running),
            container("2", "busy", ContainerState::Running),
        ],
    );
    a.with_table(|t, m| t.set_sort(SortKey::Cpu, false, m));
    a.take_dirty();
    let mut stats = HashMap::new();
    stats.insert(
        ContainerId::new(format!("{:0<64}", "1")),
        ContainerStats { cpu_percent: Some(0.5), mem_used: Some(10), mem_limit: Some(100) },
    );
    stats.insert(
        ContainerId::new(format!("{:0<64}", "2")),
        ContainerStats { cpu_percent: Some(99.0), mem_used: Some(20), mem_limit: Some(100) },
    );
    a.update(Msg::Engine(EngineEvent::Stats { at: 2000, stats: stats.clone() }));
    assert!(a.take_dirty());
    assert_eq!(names(&a), ["busy", "idle"]);
    assert_eq!(a.now, 2000);
    // The same figures within the same minute change nothing on screen: no redraw.
    a.update(Msg::Engine(EngineEvent::Stats { at: 2001, stats }));
    assert!(!a.take_dirty());
}

#[test]
fn sort_keys_cycle_and_reverse() {
    let mut a = app();
    list(
        &mut a,
        vec![container("1", "b", ContainerState::Running), container("2", "a", ContainerState::Exited)],
    );
    assert_eq!(a.table.sort, SortKey::State);
    a.update(key('o'));
    assert_eq!(a.table.sort, SortKey::GpuMemory);
    for _ in 0..3 {
        a.update(key('o'));
    }
    assert_eq!(a.table.sort, SortKey::Name);
    assert_eq!(names(&a), ["a", "b"]);
    a.update(key('O'));
    assert_eq!(names(&a), ["b", "a"]);
    assert!(a.status.as_ref().is_some_and(|s| s.text.contains("reversed")));
}

#[test]
fn filter_narrows_keeps_and_clears() {
    let mut a = app();
    list(
        &mut a,
        vec![
            container("1", "trainer", ContainerState::Running),
            container("2", "jupyter", ContainerState::Running),
            container("3", "train-eval", ContainerState::Exited),
        ],
    );
    a.update(key('G'));
    a.update(key('/'));
    assert_eq!(a.mode, Mode::Filter);
    for c in "TRAIN".chars() {
        a.update(key(c));
    }
    assert_eq!(names(&a), ["trainer", "train-eval"]);
    assert_eq!(selected(&a).as_deref(), Some("trainer"));
    // Keys typed into the filter are text, not commands.
    a.update(key('q'));
    assert!(names(&a).is_empty());
    a.update(code(KeyCode::Backspace));
    a.update(code(KeyCode::Enter));
    assert_eq!(a.mode, Mode::Normal);
    assert_eq!(a.table.filter(), "TRAIN");
    assert_eq!(selected(&a).as_deref(), Some("trainer"));
    // Matching on the image too.
    a.update(key('/'));
    a.update(code(KeyCode::Esc));
    assert_eq!(a.table.filter(), "");
    assert_eq!(names(&a).len(), 3);
    a.update(key('/'));
    for c in "img/jup".chars() {
        a.update(key(c));
    }
    assert_eq!(names(&a), ["jupyter"]);
}

#[test]
fn quit_paths() {
    let mut a = app();
    assert_eq!(a.update(key('q')), vec![Command::Quit]);
    assert_eq!(
        a.update(Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))),
        vec![Command::Quit]
    );
    a.update(key('/'));
    assert_eq!(
        a.update(Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))),
        vec![Command::Quit]
    );
    assert_eq!(a.update(Msg::Quit), vec![Command::Quit]);
}

#[test]
fn engine_down_clears_stale_rows_and_reconnect_restores() {
    let mut a = app();
    list(&mut a, vec![container("1", "a", ContainerState::Running)]);
    a.update(Msg::Engine(EngineEvent::Down {
        host: "unix:///x".into(),
        reason: "connection refused".into(),
        retry_in: Duration::from_secs(1),
        attempt: 1,
    }));
    assert!(matches!(a.engine, EngineStatus::Down { .. }));
    assert!(a.table.is_empty());
    // A reconnect attempt keeps the reason on screen until it succeeds.
    a.update(Msg::Engine(EngineEvent::Connecting { host: "unix:///x".into() }));
    assert!(matches!(a.engine, EngineStatus::Down { .. }));
    a.update(Msg::Engine(EngineEvent::Connected(Default::default())));
    assert!(matches!(a.engine, EngineStatus::Up(_)));
}

#[test]
fn enter_on_a_gpu_lists_the_containers_on_it() {
    use crate::gpu::{GpuProcess, GpuSample, GpuSnapshot, ProcessKind};
    let mut a = app();
    let mut given = container("1", "given-all", ContainerState::Running);
    given.gpus = GpuRequest::All;
    let mut given_one = container("2", "given-gpu0", ContainerState::Running);
    given_one.gpus = GpuRequest::Count(1);
    let user = container("3", "runs-on-gpu1", ContainerState::Running);
    let idle = container("4", "no-gpu", ContainerState::Running);
    let user_id = user.id.clone();
    list(&mut a, vec![given, given_one, user, idle]);
    let proc_on = |pid, id: &str| GpuProcess {
        pid,
        kind: ProcessKind::Compute,
        memory_used: Some(1),
        sm_percent: None,
        container_id: Some(ContainerId::from(id)),
        command: None,
        user: None,
        ..Default::default()
    };
    let gpus = vec![
        GpuSample { index: 0, ..Default::default() },
        GpuSample { index: 1, processes: vec![proc_on(9, &user_id)], ..Default::default() },
    ];
    a.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { gpus, ..Default::default() })));
    // On the container table, Enter opens the selected container's details instead.
    let cmds = a.update(code(KeyCode::Enter));
    assert!(matches!(a.mode, Mode::Detail(_)) && matches!(cmds.as_slice(), [Command::Inspect(_)]));
    a.update(code(KeyCode::Esc));
    assert_eq!(names(&a).len(), 4);
    a.update(code(KeyCode::Tab));
    a.update(key('j'));
    a.update(code(KeyCode::Enter));
    assert_eq!(a.focus, Panel::Containers);
    assert_eq!(names(&a), ["given-all", "runs-on-gpu1"]);
    a.update(code(KeyCode::Esc));
    assert_eq!(names(&a).len(), 4);
}

#[test]
fn a_container_given_a_gpu_by_uuid_is_listed_on_that_gpu() {
    use crate::docker::gpus::GpuRef;
    use crate::gpu::{GpuSample, GpuSnapshot};
    let mut a = app();
    let uuid = "GPU-0c3f6a7e-1111-2222-3333-444455556666";
    let mut by_uuid = container("1", "by-uuid", ContainerState::Running);
    by_uuid.gpus = GpuRequest::Devices(vec![GpuRef::Uuid(uuid.into())]);
    let elsewhere = container("2", "no-gpu", ContainerState::Running);
    list(&mut a, vec![by_uuid, elsewhere]);
    // No process runs on the GPU: only the request ties the container to it.
    let gpus = vec![
        GpuSample { index: 0, uuid: "GPU-aaaa".into(), ..Default::default() },
        GpuSample { index: 1, uuid: uuid.into(), ..Default::default() },
    ];
    a.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { gpus, ..Default::default() })));
    a.update(code(KeyCode::Tab));
    a.update(key('j'));
    a.update(code(KeyCode::Enter));
    assert_eq!(names(&a), ["by-uuid"]);
    a.update(code(KeyCode::Esc));
    a.update(code(KeyCode::Tab));
    a.update(key('k'));
    a.update(code(KeyCode::Enter));
    assert!(names(&a).is_empty(), "{:?}", names(&a));
}

#[test]
fn steady_gpu_readings_stop_redrawing_once_the_sparklines_are_flat() {
    use crate::gpu::{GpuSample, GpuSnapshot};
    let mut a = app();
    let snap = |at, util| GpuSnapshot {
        at,
        gpus: vec![GpuSample { index: 0, util_gpu: Some(util), ..Default::default() }],
        ..Default::default()
    };
    let mut redraws = 0;
    for t in 0..(gpu::HISTORY as i64 + 5) {
        a.update(Msg::Gpu(GpuEvent::Snapshot(snap(t, 40))));
        redraws += usize::from(a.take_dirty());
    }
    // Only while the shown sparklines fill up: not for the whole kept history (five minutes
    // of a frame a second on a freshly opened, idle dashboard).
    assert_eq!(redraws, gpu::SPARK_WIDE, "{redraws}");
    a.update(Msg::Gpu(GpuEvent::Snapshot(snap(1000, 40))));
    assert!(!a.take_dirty(), "a flat, unchanged GPU must not redraw");
    a.update(Msg::Gpu(GpuEvent::Snapshot(snap(1001, 41))));
    assert!(a.take_dirty(), "a new reading redraws");
}

#[test]
fn a_confirmed_stop_says_it_is_under_way() {
    let mut a = app();
    list(&mut a, vec![container("1", "train", ContainerState::Running)]);
    assert!(a.update(key('s')).is_empty());
    let cmds = a.update(key('y'));
    assert!(
        matches!(cmds.as_slice(), [Command::Container { action: ContainerAction::Stop { .. }, .. }]),
        "{cmds:?}"
    );
    assert_eq!(a.status.as_ref().map(|s| s.text.as_str()), Some("stopping train (up to 10s)…"));
}

#[test]
fn a_stopped_container_with_a_stale_gpu_process_neither_sorts_first_nor_counts_as_on_the_gpu() {
    use crate::gpu::{GpuProcess, GpuSample, GpuSnapshot};
    let mut a = app();
    let stopped = container("1", "stopped", ContainerState::Exited);
    let busy = container("2", "busy", ContainerState::Running);
    let (stopped_id, busy_id) = (stopped.id.clone(), busy.id.clone());
    list(&mut a, vec![stopped, busy]);
    let on = |pid, id: &ContainerId, mem| GpuProcess {
        pid,
        memory_used: Some(mem),
        container_id: Some(id.clone()),
        ..Default::default()
    };
    // NVML still lists the stopped container's process, with more memory than the live one.
    let gpus = vec![GpuSample {
        index: 0,
        uuid: "GPU-0".into(),
        processes: vec![on(1, &stopped_id, 40 << 30), on(2, &busy_id, 1 << 30)],
        ..Default::default()
    }];
    a.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { gpus, ..Default::default() })));
    a.with_table(|t, m| t.set_sort(SortKey::GpuMemory, false, m));
    assert_eq!(names(&a), ["busy", "stopped"]);
    a.focus = Panel::Gpus;
    a.update(code(KeyCode::Enter));
    assert_eq!(names(&a), ["busy"], "only the running container is on GPU 0");
}
