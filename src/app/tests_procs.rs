//! The GPU process view: opening, sorting, filtering, and the question before every signal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::procs::ProcessView;
use super::tests::container;
use super::*;
use crate::docker::{ContainerState, EngineEvent};
use crate::gpu::{GpuEvent, GpuProcess, GpuSample, GpuSnapshot, HostProcess};
use crate::msg::ActionMsg;
use crate::signal::{Sent, Signal, SignalError};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// A process of container `container` (by its test id), or of the host when None.
fn proc(pid: u32, container_n: Option<&str>, mem_gib: u64, sm: Option<u32>, cpu: Option<f64>) -> GpuProcess {
    GpuProcess {
        pid,
        memory_used: Some(mem_gib << 30),
        sm_percent: sm,
        container_id: container_n.map(|n| format!("{n:0<64}").into()),
        command: Some(format!("cmd{pid}")),
        user: Some(if container_n.is_some() { "root" } else { "alice" }.into()),
        host: Some(HostProcess {
            start_time: u64::from(pid) * 10,
            elapsed_secs: Some(100 + u64::from(pid)),
            cpu_percent: cpu,
            rss_bytes: Some(u64::from(pid) << 20),
            cmdline: Some(format!("python train{pid}.py --epochs 3")),
        }),
        ..Default::default()
    }
}

fn snapshot(gpus: Vec<Vec<GpuProcess>>) -> Msg {
    let gpus = gpus
        .into_iter()
        .enumerate()
        .map(|(i, processes)| GpuSample {
            index: i as u32,
            name: "H100".into(),
            uuid: format!("GPU-{i}"),
            processes,
            ..Default::default()
        })
        .collect();
    Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { at: 1000, gpus, ..Default::default() }))
}

/// Two containers and a host process on two GPUs:
/// GPU 0: 101 train (40 GiB, SM 70), 102 alice's host process (2 GiB, SM n/a)
/// GPU 1: 201 serve (10 GiB, SM 90), 101 train again (5 GiB, SM 10)
fn app_with(config: &Config) -> AppState {
    let mut a = AppState::new(config, "unix:///var/run/docker.sock".into());
    a.update(Msg::Engine(EngineEvent::Containers(vec![
        container("1", "train", ContainerState::Running),
        container("2", "serve", ContainerState::Running),
    ])));
    a.update(snapshot(vec![
        vec![proc(101, Some("1"), 40, Some(70), Some(350.0)), proc(102, None, 2, None, None)],
        vec![proc(201, Some("2"), 10, Some(90), Some(20.0)), proc(101, Some("1"), 5, Some(10), Some(350.0))],
    ]));
    a
}

fn app() -> AppState {
    app_with(&Config::default())
}

/// The process view, on top or under the question it asked.
fn view(a: &AppState) -> &ProcessView {
    match (&a.mode, a.back.last()) {
        (Mode::Processes(v), _) | (Mode::Confirm(_), Some(Mode::Processes(v))) => v,
        (other, _) => panic!("not the process view: {other:?}"),
    }
}

/// The question waiting over the process view, if any.
fn pending(a: &AppState) -> Option<String> {
    match (&a.mode, a.back.last()) {
        (Mode::Confirm(c), Some(Mode::Processes(_))) => Some(c.prompt.clone()),
        _ => None,
    }
}

/// (gpu, pid) of the rows as shown.
fn rows(a: &AppState) -> Vec<(u32, u32)> {
    view(a).rows().map(|r| (r.gpu, r.pid)).collect()
}

fn selected(a: &AppState) -> Option<(u32, u32)> {
    view(a).selected().map(|r| (r.gpu, r.pid))
}

#[test]
fn p_from_the_container_panel_lists_every_gpu_process_by_gpu_memory() {
    let mut a = app();
    assert!(a.update(key('p')).is_empty());
    assert_eq!(view(&a).gpu, None);
    assert_eq!(rows(&a), [(0, 101), (1, 201), (1, 101), (0, 102)]);
    let owners: Vec<String> = view(&a).rows().map(|r| r.owner()).collect();
    assert_eq!(owners, ["train", "serve", "train", "cmd102(alice)"]);
    a.update(code(KeyCode::Esc));
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn p_from_the_gpu_panel_shows_only_that_gpu() {
    let mut a = app();
    a.update(code(KeyCode::Tab));
    a.update(key('j'));
    assert_eq!((a.focus, a.gpu.selected), (Panel::Gpus, 1));
    a.update(key('p'));
    assert_eq!(view(&a).gpu, Some(1));
    assert_eq!(rows(&a), [(1, 201), (1, 101)]);
    assert_eq!(view(&a).total(), 2);
}

#[test]
fn sort_keys_cycle_columns_and_the_cursor_follows_its_process() {
    let mut a = app();
    a.update(key('p'));
    a.update(key('j'));
    assert_eq!(selected(&a), Some((1, 201)));
    a.update(key('o'));
    assert_eq!(view(&a).sort, procs::ProcSort::Sm);
    // By SM %, biggest first; the SM-less host process last.
    assert_eq!(rows(&a), [(1, 201), (0, 101), (1, 101), (0, 102)]);
    assert_eq!(selected(&a), Some((1, 201)));
    a.update(key('O'));
    assert_eq!(rows(&a), [(0, 102), (1, 101), (0, 101), (1, 201)]);
    assert_eq!(selected(&a), Some((1, 201)));
    for _ in 0..4 {
        a.update(key('o'));
    }
    assert_eq!(view(&a).sort, procs::ProcSort::Pid);
    assert_eq!(rows(&a), [(0, 101), (1, 101), (0, 102), (1, 201)]);
    // A new sample moves serve's process to the top of the GPU memory order, and the cursor
    // goes with it.
    a.update(key('o'));
    a.update(key('o'));
    assert_eq!(view(&a).sort, procs::ProcSort::GpuMemory);
    a.update(snapshot(vec![
        vec![proc(101, Some("1"), 40, None, None)],
        vec![proc(201, Some("2"), 90, None, None)],
    ]));
    assert_eq!(rows(&a), [(1, 201), (0, 101)]);
    assert_eq!(selected(&a), Some((1, 201)));
}

#[test]
fn filter_matches_container_user_command_and_pid() {
    let mut a = app();
    a.update(key('p'));
    let type_filter = |a: &mut AppState, text: &str| {
        a.update(key('/'));
        a.update(Msg::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
        for c in text.chars() {
            a.update(key(c));
        }
        a.update(code(KeyCode::Enter));
    };
    type_filter(&mut a, "serve");
    assert_eq!(rows(&a), [(1, 201)]);
    type_filter(&mut a, "ALICE");
    assert_eq!(rows(&a), [(0, 102)]);
    type_filter(&mut a, "train101");
    assert_eq!(rows(&a), [(0, 101), (1, 101)]);
    type_filter(&mut a, "20");
    assert_eq!(rows(&a), [(1, 201)]);
    // Keys typed into the filter are text: `q` and `T` neither close nor signal.
    type_filter(&mut a, "qT");
    assert!(view(&a).is_empty() && pending(&a).is_none());
    a.update(key('/'));
    a.update(code(KeyCode::Esc));
    assert_eq!(view(&a).len(), 4);
}

#[test]
fn t_then_y_sends_sigterm_to_that_pid_and_start_time() {
    let mut a = app();
    a.update(key('p'));
    a.update(key('j'));
    assert!(a.update(key('T')).is_empty(), "nothing is sent before the yes");
    assert_eq!(a.mode.scope(), crate::app::Scope::Confirm);
    let prompt = pending(&a).unwrap_or_default();
    assert_eq!(prompt, "Send SIGTERM to PID 201 (python train201.py --epochs 3), container serve?");
    let cmds = a.update(key('y'));
    assert_eq!(cmds, vec![Command::Signal { pid: 201, start_time: 2010, signal: Signal::Term }]);
    assert_eq!(a.mode.scope(), crate::app::Scope::Processes, "the view stays open");
    // K and I likewise; a host process is named with its user.
    a.update(key('G'));
    a.update(key('K'));
    let prompt = pending(&a).unwrap_or_default();
    assert!(prompt.starts_with("Send SIGKILL to PID 102 (") && prompt.ends_with("host process, user alice?"));
    assert_eq!(
        a.update(key('Y')),
        vec![Command::Signal { pid: 102, start_time: 1020, signal: Signal::Kill }]
    );
    a.update(key('I'));
    assert_eq!(a.update(key('y')), vec![Command::Signal { pid: 102, start_time: 1020, signal: Signal::Int }]);
}

#[test]
fn any_other_key_cancels_the_signal() {
    let mut a = app();
    a.update(key('p'));
    for no in [key('n'), key('T'), code(KeyCode::Esc), code(KeyCode::Enter)] {
        a.update(key('T'));
        assert!(a.update(no).is_empty());
        assert!(pending(&a).is_none());
        assert_eq!(a.status.as_ref().map(|s| s.text.as_str()), Some("cancelled: no signal sent"));
    }
    // Keys typed before the question appeared never answer it.
    a.update(key('T'));
    assert!(a.update(Msg::TypedAhead(KeyEvent::from(KeyCode::Char('y')))).is_empty());
    assert!(pending(&a).is_some());
}

#[test]
fn read_only_refuses_signals_and_says_so() {
    let mut a = app();
    a.read_only = true;
    a.update(key('p'));
    for k in ['T', 'K', 'I'] {
        assert!(a.update(key(k)).is_empty());
        assert!(pending(&a).is_none(), "{k} asked in read-only mode");
        let status = a.status.clone().unwrap_or_else(|| panic!("{k}: no status"));
        assert_eq!(status.level, Level::Error);
        assert!(status.text.starts_with("read-only mode: signals are disabled"), "{}", status.text);
    }
    assert!(crate::config::Action::SigTerm.mutates() && crate::config::Action::SigInt.mutates());
}

#[test]
fn a_process_not_in_proc_is_never_signalled() {
    let mut a = app();
    let mut hidden = proc(555, Some("1"), 1, None, None);
    hidden.host = None;
    a.update(snapshot(vec![vec![hidden]]));
    a.update(key('p'));
    assert!(a.update(key('T')).is_empty());
    assert!(pending(&a).is_none());
    let text = a.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(
        text.contains("PID 555 is not in this machine's /proc") && text.contains("nothing was sent"),
        "{text}"
    );
}

#[test]
fn remapping_sig_term_changes_its_key_and_its_hint() {
    let config =
        Config::from_sources(Some("[keys]\nsig_term = [\"x\"]\n"), None).unwrap_or_else(|e| panic!("{e}"));
    let mut a = app_with(&config);
    a.update(key('p'));
    assert!(a.keymap.hint_line(&crate::app::view::hints(procs::KEYS, false)).contains("x SIGTERM"));
    assert!(!a.keymap.hint_line(&crate::app::view::hints(procs::KEYS, false)).contains("T SIGTERM"));
    a.update(key('T'));
    assert!(pending(&a).is_none(), "T is no longer bound");
    a.update(key('x'));
    assert_eq!(
        a.update(key('y')),
        vec![Command::Signal { pid: 101, start_time: 1010, signal: Signal::Term }]
    );
}

#[test]
fn signal_outcomes_reach_the_status_line() {
    let mut a = app();
    a.update(key('p'));
    let mut say = |result: Result<Sent, SignalError>| {
        a.update(Msg::Action(ActionMsg::Signal { pid: 4242, signal: Signal::Term, result }));
        a.status.clone().map(|s| (s.level, s.text)).unwrap_or_else(|| panic!("no status"))
    };
    assert_eq!(
        say(Ok(Sent { command: Some("python".into()) })),
        (Level::Info, "sent SIGTERM to PID 4242 (python)".into())
    );
    assert_eq!(
        say(Err(SignalError::Ended { pid: 4242 })),
        (Level::Error, "PID 4242 ended (or is now another process); nothing was sent".into())
    );
    assert_eq!(
        say(Err(SignalError::PermissionDenied { pid: 4242 })),
        (
            Level::Error,
            "permission denied: PID 4242 belongs to another user (signalling other users' processes needs root)"
                .into()
        )
    );
}

#[test]
fn host_figures_redraw_only_the_process_view() {
    let mut a = app();
    let with_age = |age: u64| {
        let mut p = proc(101, Some("1"), 40, Some(70), Some(350.0));
        if let Some(h) = p.host.as_mut() {
            h.elapsed_secs = Some(age);
        }
        snapshot(vec![vec![p]])
    };
    // Until the sparklines are full of one value, every sample scrolls them.
    for _ in 0..=gpu::SPARK_WIDE {
        a.update(with_age(10));
    }
    a.take_dirty();
    // Only the age moved: nothing on the main screen shows it.
    a.update(with_age(11));
    assert!(!a.take_dirty());
    a.update(key('p'));
    a.take_dirty();
    a.update(with_age(12));
    assert!(a.take_dirty());
    assert_eq!(view(&a).rows().next().and_then(|r| r.elapsed), Some(12));
    a.update(with_age(12));
    assert!(!a.take_dirty(), "an unchanged sample redraws nothing");
}
