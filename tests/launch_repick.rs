//! `free:N` from the launch form is picked again right before create, from the candidates the
//! app publishes each sample: a GPU taken during the launch moves the pick (and the progress
//! says so); none left fails the launch with who holds what, and nothing is created. Real
//! engine (without the NVIDIA runtime, so a GPU container never starts: what matters is what
//! happens before create).

mod common;

use std::time::{Duration, Instant};

use common::engine::{IMAGE, docker, engine};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::{AppState, Mode};
use gpudock::config::Config;
use gpudock::docker::explain::{LaunchError, LaunchFailure};
use gpudock::docker::gpus::{GpuRef, GpuRequest};
use gpudock::exec::Executor;
use gpudock::gpu::{GpuEvent, GpuProcess, GpuSample, GpuSnapshot};
use gpudock::msg::{ActionMsg, Command, Msg};
use tokio::sync::{mpsc, watch};

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

fn type_text(app: &mut AppState, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

/// Four free GPUs, GPU 3 the coolest, then 2; `held` hold memory (a host process each).
fn sample(app: &mut AppState, held: &[u32]) {
    let gpus = (0..4)
        .map(|index| GpuSample {
            index,
            uuid: format!("GPU-{index}"),
            temperature_c: Some(50 - index),
            util_gpu: Some(0),
            memory_used: Some(if held.contains(&index) { 1 << 30 } else { 0 }),
            memory_total: Some(80 << 30),
            processes: if held.contains(&index) {
                vec![GpuProcess { pid: 4000 + index, memory_used: Some(1 << 30), ..Default::default() }]
            } else {
                Vec::new()
            },
            ..Default::default()
        })
        .collect();
    app.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { gpus, ..Default::default() })));
}

/// What the event loop does after each update: publish the candidates.
fn publish(app: &AppState, picks: &watch::Sender<Option<gpudock::gpu::pick::Candidates>>) {
    picks.send_replace(gpudock::app::launch::gpus::candidates(&app.gpu, &app.table));
}

/// The form with the test image, `true`, `free:1`, `name`, network none; Enter.
fn submit(app: &mut AppState, name: &str) -> Vec<Command> {
    app.update(key(KeyCode::Char('n')));
    type_text(app, IMAGE);
    app.update(key(KeyCode::Tab));
    type_text(app, "true");
    app.update(key(KeyCode::Tab));
    type_text(app, "free:1");
    app.update(key(KeyCode::Tab));
    type_text(app, name);
    while !matches!(&app.mode, Mode::Launch(f) if f.focus == gpudock::app::launch::Field::Network) {
        app.update(key(KeyCode::Tab));
    }
    app.update(key(KeyCode::Char(' ')));
    app.update(key(KeyCode::Enter))
}

/// Runs the launch and feeds every message to the app until its result; the action messages
/// in order.
async fn launch(
    app: &mut AppState,
    exec: &mut Executor,
    rx: &mut mpsc::Receiver<Msg>,
    cmds: Vec<Command>,
) -> Vec<ActionMsg> {
    for c in cmds {
        exec.run(c);
    }
    let mut seen = Vec::new();
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let Ok(Some(m)) = tokio::time::timeout(left, rx.recv()).await else {
            panic!("no launch result: {seen:?}")
        };
        if let Msg::Action(a) = &m {
            seen.push(a.clone());
            if let ActionMsg::LaunchRepicked(_) = a {
                app.update(m);
                let Mode::Launching(l) = &app.mode else { panic!("{:?}", app.mode) };
                assert!(l.pick.as_deref().is_some_and(|p| p.starts_with("free:1 now picks GPU 2")), "{l:?}");
                continue;
            }
            let done = matches!(a, ActionMsg::Launch(_));
            app.update(m);
            if done {
                return seen;
            }
        }
    }
}

fn leftover(name: &str) -> bool {
    !docker(&["ps", "-aq", "--filter", &format!("name=^{name}$")]).is_empty()
}

fn setup() -> (AppState, Executor, mpsc::Receiver<Msg>, watch::Sender<Option<gpudock::gpu::pick::Candidates>>)
{
    let host = engine();
    let (tx, rx) = mpsc::channel(256);
    let mut app = AppState::new(&Config::default(), host.to_string());
    app.user = "tester".into();
    let (picks, picks_rx) = watch::channel(None);
    (app, Executor::new(host, tx).with_picks(picks_rx), rx, picks)
}

#[cfg_attr(not(engine_tests), ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST (README: Set up)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_taken_between_submit_and_create_moves_the_pick_and_the_progress_says_so() {
    let (mut app, mut exec, mut rx, picks) = setup();
    let name = format!("gpudock-test-repick-{}", std::process::id());
    sample(&mut app, &[]);
    publish(&app, &picks);
    let cmds = submit(&mut app, &name);
    let [Command::Launch { spec }] = cmds.as_slice() else { panic!("{cmds:?} {:?}", app.mode) };
    assert_eq!((spec.gpus.clone(), spec.free), (GpuRequest::Devices(vec![GpuRef::Index(3)]), Some(1)));
    // Someone takes GPU 3 while the launch is on its way.
    sample(&mut app, &[3]);
    publish(&app, &picks);
    let seen = launch(&mut app, &mut exec, &mut rx, cmds).await;
    let _ = docker(&["rm", "-f", &name]);
    let Some(ActionMsg::LaunchRepicked(text)) =
        seen.iter().find(|a| matches!(a, ActionMsg::LaunchRepicked(_)))
    else {
        panic!("not picked again: {seen:?}")
    };
    assert!(
        text.starts_with("free:1 now picks GPU 2: coolest and least used (48 °C, 0 %), as GPU 3 was taken meanwhile (held by"),
        "{text}"
    );
    // The new pick went to the engine: it has no NVIDIA runtime, so the create with a GPU fails
    // as any GPU launch does here, after the new pick.
    let Some(ActionMsg::Launch(Err(e))) = seen.last() else { panic!("{seen:?}") };
    assert!(matches!(e, LaunchError::Engine { why: LaunchFailure::NoGpuDriver, .. }), "{e:?}");
}

#[cfg_attr(not(engine_tests), ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST (README: Set up)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_free_gpu_left_at_create_fails_the_launch_with_who_holds_what_and_creates_nothing() {
    let (mut app, mut exec, mut rx, picks) = setup();
    let name = format!("gpudock-test-repick-none-{}", std::process::id());
    sample(&mut app, &[]);
    publish(&app, &picks);
    let cmds = submit(&mut app, &name);
    sample(&mut app, &[0, 1, 2, 3]);
    publish(&app, &picks);
    let seen = launch(&mut app, &mut exec, &mut rx, cmds).await;
    let Some(ActionMsg::Launch(Err(e))) = seen.last() else { panic!("{seen:?}") };
    assert!(matches!(e, LaunchError::Engine { why: LaunchFailure::NoFreeGpus, .. }), "{e:?}");
    assert!(!leftover(&name), "a refused launch created a container");
    // Back at the form, the refusal at the GPUs field.
    let Mode::Launch(form) = &app.mode else { panic!("{:?}", app.mode) };
    let text = form.errors.get(&gpudock::app::launch::Field::Gpus).cloned().unwrap_or_default();
    assert!(
        text.starts_with("free:1 cannot be met: no GPU is free; GPU 0 is held by")
            && text.ends_with("(picked again before create; nothing was created)"),
        "{text}"
    );
}
