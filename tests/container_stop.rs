//! What a stop or restart did is what the screen says, against the real engine: the row reads
//! `stopping` through the grace period, a container that ignores SIGTERM is reported killed
//! after it (exit 137), and a GPU container that cannot restart gets the launch's explanation.

mod common;

use common::drive::{execute, key, list_into, select};
use common::engine::{IMAGE, LABEL, TestContainer, docker, docker_cmd, engine};
use common::render;
use gpudock::app::AppState;
use gpudock::config::Config;
use gpudock::docker::{DockerHost, EngineEvent};
use gpudock::exec::Executor;
use gpudock::msg::{ActionMsg, Command, Msg};
use tokio::sync::mpsc;

fn setup(host: &DockerHost, config: &str) -> (AppState, Executor, mpsc::Receiver<Msg>) {
    let config = Config::from_sources(Some(config), None).unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = mpsc::channel(256);
    let mut app = AppState::new(&config, host.to_string());
    app.update(Msg::Engine(EngineEvent::Connected(Box::new(common::engine_info()))));
    (app, Executor::new(host.clone(), tx), rx)
}

/// Runs the commands and waits for the container action's result.
async fn result(exec: &mut Executor, rx: &mut mpsc::Receiver<Msg>, commands: Vec<Command>) -> ActionMsg {
    execute(exec, rx, commands, |a| matches!(a, ActionMsg::Container { .. })).await
}

fn status(app: &AppState) -> String {
    app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default()
}

fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    // The table row, not the status line that may name it too.
    screen
        .lines()
        .find(|l| l.contains(name) && l.contains("busybox"))
        .unwrap_or_else(|| panic!("{name} not on screen:\n{screen}"))
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_that_outlasts_its_grace_period_reads_stopping_then_killed_after_n_s() {
    let host = engine();
    // busybox `sleep` as PID 1 has no SIGTERM handler, so the kernel ignores SIGTERM: only
    // the SIGKILL after the grace period ends it.
    let c = TestContainer::run("stopkill", &["sleep", "300"]);
    let (mut app, mut exec, mut rx) = setup(&host, "stop_timeout_seconds = 1\n");
    list_into(&mut app, &host).await;
    select(&mut app, &c.name);
    app.update(key('s'));
    let commands = app.update(key('y'));
    assert!(row(&render(&app, 160, 30), &c.name).contains("stopping"), "{}", render(&app, 160, 30));
    // The engine still lists it running during the grace period: the row keeps `stopping`.
    list_into(&mut app, &host).await;
    assert!(row(&render(&app, 160, 30), &c.name).contains("stopping"));
    let done = result(&mut exec, &mut rx, commands).await;
    app.update(Msg::Action(done));
    let said = status(&app);
    assert!(said.contains(&format!("killed {} after 1 s (exit 137)", c.name)), "{said}");
    assert!(!said.starts_with("stopped"), "{said}");
    list_into(&mut app, &host).await;
    let screen = render(&app, 160, 30);
    let line = row(&screen, &c.name);
    assert!(!line.contains("stopping") && line.contains("Exited"), "{line}");
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_that_ends_on_sigterm_says_stopped() {
    let host = engine();
    // A shell that traps SIGTERM exits at once.
    let c = TestContainer::run("stopterm", &["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]);
    let (mut app, mut exec, mut rx) = setup(&host, "stop_timeout_seconds = 20\n");
    list_into(&mut app, &host).await;
    select(&mut app, &c.name);
    app.update(key('s'));
    let commands = app.update(key('y'));
    let done = result(&mut exec, &mut rx, commands).await;
    app.update(Msg::Action(done));
    assert_eq!(status(&app), format!("stopped {}", c.name));
    assert!(app.stopping.is_empty());
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_a_gpu_container_without_the_toolkit_is_explained_as_a_launch_is() {
    let host = engine();
    let name = format!("gpudock-test-restartgpu-{}", std::process::id());
    let _ = docker_cmd().args(["rm", "-f", &name]).output();
    // Created, not started: the test engine has no NVIDIA runtime, so starting it fails.
    let id = docker(&[
        "create",
        "--gpus",
        "all",
        "--network",
        "none",
        "--label",
        LABEL,
        "--name",
        &name,
        IMAGE,
        "true",
    ]);
    let _guard = TestContainer { id, name: name.clone() };
    let (mut app, mut exec, mut rx) = setup(&host, "");
    list_into(&mut app, &host).await;
    select(&mut app, &name);
    app.update(key('r'));
    let commands = app.update(key('y'));
    let done = result(&mut exec, &mut rx, commands).await;
    app.update(Msg::Action(done));
    let said = status(&app);
    assert!(said.starts_with(&format!("restart {name}: ")), "{said}");
    assert!(said.contains("NVIDIA Container Toolkit") && said.contains("nvidia-ctk"), "{said}");
    assert!(!said.contains("HTTP 500"), "the engine's raw status, not an explanation: {said}");
}
