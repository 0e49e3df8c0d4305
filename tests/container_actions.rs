//! Launching, stopping, restarting, killing, removing and reading logs against the real
//! engine, driven the way the dashboard drives them: keys → AppState → Command → Executor.

mod common;

use std::time::{Duration, Instant};

use common::drive::{code, execute, key, list_into, select, type_text};
use common::engine::{IMAGE, LABEL, TestContainer, docker, engine};
use crossterm::event::KeyCode;
use gpudock::app::{AppState, Mode};
use gpudock::config::Config;
use gpudock::docker::DockerHost;
use gpudock::docker::actions::ContainerAction;
use gpudock::docker::explain::LaunchError;
use gpudock::docker::launch::Launched;
use gpudock::exec::Executor;
use gpudock::gpu::GpuEvent;
use gpudock::msg::{ActionMsg, Command, Msg};
use tokio::sync::mpsc;

/// Opens the launch form, fills in the test image, `command` and `name`, network none (tests
/// never touch bridges), and presses Enter.
fn fill_form(app: &mut AppState, command: &str, name: &str) -> Vec<Command> {
    app.update(key('n'));
    type_text(app, IMAGE);
    app.update(code(KeyCode::Tab));
    type_text(app, command);
    app.update(code(KeyCode::Tab));
    app.update(code(KeyCode::Tab));
    type_text(app, name);
    while !matches!(&app.mode, Mode::Launch(f) if f.focus == gpudock::app::launch::Field::Network) {
        app.update(code(KeyCode::Tab));
    }
    // Network field: engine default → none.
    app.update(key(' '));
    app.update(code(KeyCode::Enter))
}

fn setup(host: &DockerHost, config: Config) -> (AppState, Executor, mpsc::Receiver<Msg>) {
    let (tx, rx) = mpsc::channel(256);
    let mut app = AppState::new(&config, host.to_string());
    app.user = "tester".into();
    (app, Executor::new(host.clone(), tx), rx)
}

fn unique(name: &str) -> String {
    format!("gpudock-test-{name}-{}", std::process::id())
}

fn inspect(id: &str, format: &str) -> String {
    docker(&["inspect", "-f", format, id])
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_form_creates_a_running_auto_removed_labelled_container() {
    let host = engine();
    let (mut app, mut exec, mut rx) = setup(&host, Config::default());
    let name = unique("launch");
    let _cleanup = scopeguard(&name);
    let cmds = fill_form(&mut app, "sh -c 'echo launched; sleep 300'", &name);
    assert!(matches!(app.mode, Mode::Launching(_)), "{:?}", app.mode);
    assert!(matches!(cmds.as_slice(), [Command::Launch { .. }]), "{cmds:?}");
    let res = execute(&mut exec, &mut rx, cmds, |a| matches!(a, ActionMsg::Launch(_))).await;
    let ActionMsg::Launch(Ok(Launched { id, name: got })) = res.clone() else { panic!("{res:?}") };
    assert_eq!(got, name);
    app.update(Msg::Action(res));
    // The new container's output follows at once.
    assert!(matches!(&app.mode, Mode::Logs(v) if v.id == id), "{:?}", app.mode);
    assert_eq!(inspect(&id, "{{.State.Running}}"), "true");
    assert_eq!(inspect(&id, "{{.HostConfig.AutoRemove}}"), "true");
    assert_eq!(inspect(&id, "{{.HostConfig.NetworkMode}}"), "none");
    assert_eq!(inspect(&id, "{{index .Config.Labels \"io.gpudock.launched-by\"}}"), "tester");
    assert_eq!(inspect(&id, "{{json .Config.Cmd}}"), r#"["sh","-c","echo launched; sleep 300"]"#);
}

/// Removes a container by name when dropped (tests create them through gpudock, not the CLI).
struct NameGuard(String);
impl Drop for NameGuard {
    fn drop(&mut self) {
        let _ = common::engine::docker_cmd().args(["rm", "-f", &self.0]).output();
    }
}
fn scopeguard(name: &str) -> NameGuard {
    NameGuard(name.to_string())
}

fn leftover(name: &str) -> bool {
    !docker(&["ps", "-aq", "--filter", &format!("name=^{name}$")]).is_empty()
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpu_request_without_nvidia_runtime_is_explained_and_leaves_nothing() {
    let host = engine();
    let (_, mut exec, mut rx) = setup(&host, Config::default());
    let name = unique("nogpu");
    let _cleanup = scopeguard(&name);
    let spec = gpudock::docker::LaunchSpec {
        image: IMAGE.into(),
        cmd: vec!["true".into()],
        name: Some(name.clone()),
        gpus: gpudock::docker::gpus::GpuRequest::All,
        auto_remove: true,
        network: Some("none".into()),
        labels: vec![("io.gpudock.test".into(), "1".into())],
        ..Default::default()
    };
    let res = execute(&mut exec, &mut rx, vec![Command::Launch { spec: Box::new(spec) }], |a| {
        matches!(a, ActionMsg::Launch(_))
    })
    .await;
    let ActionMsg::Launch(Err(e)) = res else { panic!("launched without a GPU runtime: {res:?}") };
    let text = e.explain(None);
    assert!(text.contains("NVIDIA Container Toolkit") && text.contains("nvidia-ctk"), "{text}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!leftover(&name), "a failed launch left a container behind");
}

/// `echo hello` launched with --rm (the default) used to vanish with its output; now the log
/// view shows its lines and exit code after the container is gone.
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_rm_container_keeps_its_output_and_exit_code_on_screen() {
    let host = engine();
    let (mut app, mut exec, mut rx) = setup(&host, Config::default());
    let name = unique("echo");
    let _cleanup = scopeguard(&name);
    let cmds = fill_form(&mut app, "sh -c 'echo hello; echo oops >&2; exit 3'", &name);
    let res = execute(&mut exec, &mut rx, cmds, |a| matches!(a, ActionMsg::Launch(_))).await;
    app.update(Msg::Action(res));
    // Everything up to the end of its output.
    let end = Instant::now() + Duration::from_secs(15);
    while !matches!(&app.mode, Mode::Logs(v) if v.ended.is_some()) {
        let left = end.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(m)) => {
                app.update(m);
            }
            _ => panic!("the log view never ended: {:?}", app.mode),
        }
    }
    let Mode::Logs(v) = &app.mode else { panic!("{:?}", app.mode) };
    let lines: Vec<(bool, &str)> = v.lines.iter().map(|l| (l.stderr, l.text.as_str())).collect();
    assert!(lines.contains(&(false, "hello")) && lines.contains(&(true, "oops")), "{lines:?}");
    assert_eq!(v.ended.as_deref(), Some("the container exited with code 3"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!leftover(&name), "--rm did not remove it");
}

/// An empty Command with an image that has no default command is caught before anything is
/// created, and said at the Command field (the engine only says "No command specified").
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_without_a_default_command_is_caught_before_create() {
    let host = engine();
    let (mut app, mut exec, mut rx) = setup(&host, Config::default());
    // The test image without its CMD: exported and imported bare.
    let image = format!("gpudock-test/nocmd:{}", std::process::id());
    let src = docker(&["create", "--network", "none", "--label", LABEL, IMAGE, "true"]);
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("docker export {src} | docker import - {image}"))
        .env("DOCKER_HOST", std::env::var(common::engine::HOST_VAR).unwrap_or_default())
        .status();
    docker(&["rm", &src]);
    assert!(status.is_ok_and(|s| s.success()), "import failed");
    app.update(key('n'));
    type_text(&mut app, &image);
    let cmds = app.update(code(KeyCode::Enter));
    let res = execute(&mut exec, &mut rx, cmds, |a| matches!(a, ActionMsg::Launch(_))).await;
    app.update(Msg::Action(res));
    let made = docker(&["ps", "-aq", "--filter", &format!("ancestor={image}")]);
    docker(&["rmi", &image]);
    let Mode::Launch(form) = &app.mode else { panic!("not back at the form: {:?}", app.mode) };
    let err = form.errors.get(&gpudock::app::launch::Field::Command).cloned().unwrap_or_default();
    assert!(err.contains("no default command"), "{:?}", form.errors);
    assert_eq!(form.image, image);
    assert_eq!(made, "", "a container was created");
}

/// Esc during a launch once aborted the task and left the created (even started) container.
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_launch_leaves_no_container_and_says_so() {
    cancel_a_launch("cancelled", &[]).await;
}

/// Leaving the log view (or opening another log) right after a cancel stops only the log
/// following: the launch still cleans up and reports.
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_the_log_view_never_cuts_a_cancelled_launchs_cleanup_short() {
    let other = gpudock::docker::ContainerId::from("no-such-container".to_string());
    cancel_a_launch("cancel-stop", &[Command::StopLogs, Command::FollowLogs { id: other, tail: 10 }]).await;
}

async fn cancel_a_launch(hint: &str, then: &[Command]) {
    let host = engine();
    let (_, mut exec, mut rx) = setup(&host, Config::default());
    let name = unique(hint);
    let _cleanup = scopeguard(&name);
    let spec = gpudock::docker::LaunchSpec {
        image: IMAGE.into(),
        cmd: vec!["sleep".into(), "300".into()],
        name: Some(name.clone()),
        auto_remove: false,
        network: Some("none".into()),
        labels: vec![("io.gpudock.test".into(), "1".into())],
        ..Default::default()
    };
    let mut cmds = vec![Command::Launch { spec: Box::new(spec) }, Command::CancelLaunch];
    cmds.extend(then.iter().cloned());
    let res = execute(&mut exec, &mut rx, cmds, |a| matches!(a, ActionMsg::Launch(_))).await;
    let ActionMsg::Launch(Err(e)) = res else { panic!("the launch was not cancelled: {res:?}") };
    assert!(matches!(e, LaunchError::Cancelled { .. }), "{e:?}");
    assert!(e.to_string().starts_with("launch cancelled"), "{e}");
    assert!(!leftover(&name), "a cancelled launch left {name} behind");
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_image_without_registry_gives_a_pull_error() {
    let host = engine();
    let (_, mut exec, mut rx) = setup(&host, Config::default());
    let spec = gpudock::docker::LaunchSpec {
        image: "nvidia/cuda:12.9.1-base-ubuntu24.04".into(),
        network: Some("none".into()),
        ..Default::default()
    };
    let res = execute(&mut exec, &mut rx, vec![Command::Launch { spec: Box::new(spec) }], |a| {
        matches!(a, ActionMsg::Launch(_))
    })
    .await;
    let ActionMsg::Launch(Err(e)) = res else { panic!("{res:?}") };
    let text = e.explain(None);
    assert!(text.starts_with("Cannot pull nvidia/cuda:12.9.1-base-ubuntu24.04"), "{text}");
    assert!(text.contains("unreachable") || text.contains("not found") || text.contains("denied"), "{text}");
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_creates_nothing() {
    let host = engine();
    let taken = TestContainer::run("taken", &["sleep", "300"]);
    let (mut app, _exec, _rx) = setup(&host, Config::default());
    // Anything the form launches carries `launched-by=<user>`: a user no sibling test uses
    // scopes the "nothing created" check to this test.
    app.user = format!("invalid-input-{}", std::process::id());
    let mine = format!("label={}={}", gpudock::docker::model::LAUNCHED_BY_LABEL, app.user);
    list_into(&mut app, &host).await;
    // Two GPUs, as NVML would report them: GPU fields are checked against these.
    let gpus = (0..2)
        .map(|index| gpudock::gpu::GpuSample { index, uuid: format!("GPU-{index}"), ..Default::default() })
        .collect();
    app.update(Msg::Gpu(GpuEvent::Snapshot(gpudock::gpu::GpuSnapshot { gpus, ..Default::default() })));
    for (field_tabs, text, want) in [
        (0, "Not/An:Image:", "not a valid image reference"),
        (2, "0,7", "no GPU 7"),
        (2, "3", "this host has 2"),
        (3, taken.name.as_str(), "already exists"),
        (6, "NOEQUALS", "KEY=VALUE"),
        (7, "/only-one-side", "host:container"),
    ] {
        app.update(key('n'));
        if field_tabs != 0 {
            type_text(&mut app, IMAGE);
        }
        for _ in 0..field_tabs {
            app.update(code(KeyCode::Tab));
        }
        type_text(&mut app, text);
        let cmds = app.update(code(KeyCode::Enter));
        assert!(cmds.is_empty(), "{text}: {cmds:?}");
        let Mode::Launch(form) = &app.mode else { panic!("form closed on invalid input {text}") };
        let errors: Vec<&String> = form.errors.values().collect();
        assert!(errors.iter().any(|e| e.contains(want)), "{text}: {errors:?}");
        app.update(code(KeyCode::Esc));
    }
    // Sibling tests create and remove containers meanwhile: only this test's label and the
    // taken name count.
    let new = docker(&["ps", "-aq", "--filter", &mine]);
    assert!(new.is_empty(), "containers created by invalid input: {new:?}");
    let named = docker(&["ps", "-aq", "--filter", &format!("name=^{}$", taken.name)]);
    assert_eq!(named.lines().count(), 1, "the taken name: {named:?}");
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_restart_kill_remove_each_need_confirmation() {
    let host = engine();
    let c = TestContainer::run("actions", &["sleep", "300"]);
    let (mut app, mut exec, mut rx) = setup(&host, Config { stop_timeout: 0, ..Config::default() });
    list_into(&mut app, &host).await;
    select(&mut app, &c.name);

    // Any key but y cancels, and nothing is sent.
    assert!(app.update(key('s')).is_empty());
    assert!(matches!(app.mode, Mode::Confirm(_)));
    assert!(app.update(key('n')).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(inspect(&c.id, "{{.State.Running}}"), "true");

    let cmds = {
        app.update(key('s'));
        app.update(key('y'))
    };
    assert!(
        matches!(cmds.as_slice(), [Command::Container { action: ContainerAction::Stop { .. }, .. }]),
        "{cmds:?}"
    );
    let res = execute(&mut exec, &mut rx, cmds, |_| true).await;
    assert!(matches!(res, ActionMsg::Container { result: Ok(_), .. }), "{res:?}");
    assert_eq!(inspect(&c.id, "{{.State.Running}}"), "false");

    list_into(&mut app, &host).await;
    app.update(key('r'));
    let res = execute(&mut exec, &mut rx, app.update(key('y')), |_| true).await;
    assert!(matches!(res, ActionMsg::Container { result: Ok(_), .. }), "{res:?}");
    assert_eq!(inspect(&c.id, "{{.State.Running}}"), "true");

    list_into(&mut app, &host).await;
    app.update(key('K'));
    let res = execute(&mut exec, &mut rx, app.update(key('y')), |_| true).await;
    assert!(matches!(res, ActionMsg::Container { result: Ok(_), .. }), "{res:?}");
    assert_eq!(inspect(&c.id, "{{.State.ExitCode}}"), "137");

    // Removing a running container asks twice and forces.
    docker(&["start", &c.id]);
    list_into(&mut app, &host).await;
    app.update(key('d'));
    assert!(app.update(key('y')).is_empty(), "a running container needs a second confirmation");
    let cmds = app.update(key('y'));
    assert!(
        matches!(
            cmds.as_slice(),
            [Command::Container { action: ContainerAction::Remove { force: true }, .. }]
        ),
        "{cmds:?}"
    );
    let res = execute(&mut exec, &mut rx, cmds, |_| true).await;
    assert!(matches!(res, ActionMsg::Container { result: Ok(_), .. }), "{res:?}");
    assert!(!leftover(&c.name));
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_mode_blocks_every_action() {
    let host = engine();
    let c = TestContainer::run("readonly", &["sleep", "300"]);
    let (mut app, _exec, _rx) = setup(&host, Config { read_only: true, ..Config::default() });
    list_into(&mut app, &host).await;
    select(&mut app, &c.name);
    for k in ['s', 'r', 'd', 'K', 'n', 'e'] {
        let cmds = app.update(key(k));
        assert!(app.status.as_ref().is_some_and(|s| s.text.contains("read-only")), "{k}: {:?}", app.status);
        let again = app.update(key('y'));
        assert!(cmds.is_empty() && again.is_empty(), "{k} did something in read-only mode");
        assert_eq!(app.mode, Mode::Normal);
    }
    // Reading logs changes nothing, so it stays available.
    assert!(matches!(app.update(key('l')).as_slice(), [Command::FollowLogs { .. }]));
    assert_eq!(inspect(&c.id, "{{.State.Running}}"), "true");
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_show_stdout_and_stderr() {
    let host = engine();
    let c = TestContainer::run("logs", &["sh", "-c", "echo to-stdout; echo to-stderr >&2; sleep 300"]);
    let (mut app, mut exec, mut rx) = setup(&host, Config::default());
    list_into(&mut app, &host).await;
    select(&mut app, &c.name);
    let cmds = app.update(key('l'));
    for cmd in cmds {
        exec.run(cmd);
    }
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Mode::Logs(v) = &app.mode
            && v.lines.len() >= 2
        {
            let out = v.lines.iter().find(|l| l.text == "to-stdout");
            let err = v.lines.iter().find(|l| l.text == "to-stderr");
            assert!(out.is_some_and(|l| !l.stderr), "{:?}", v.lines);
            assert!(err.is_some_and(|l| l.stderr), "{:?}", v.lines);
            break;
        }
        let left = end.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(m)) => {
                app.update(m);
            }
            _ => panic!("log lines never arrived: {:?}", app.mode),
        }
    }
    let screen = common::render(&app, 80, 10);
    assert!(screen.contains("E to-stderr"), "{screen}");

    // `w` saves the lines kept, `W` the whole log from the engine; both match `docker logs`.
    let dir = std::env::temp_dir().join(format!("gpudock-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut expected: Vec<String> = ["to-stdout", "to-stderr"].iter().map(|s| s.to_string()).collect();
    expected.sort();
    for k in ['w', 'W'] {
        let cmds: Vec<Command> = app
            .update(key(k))
            .into_iter()
            .map(|c| match c {
                // Into a temp dir, not the test's working directory.
                Command::SaveLines { path, lines } => Command::SaveLines { path: dir.join(path), lines },
                Command::SaveLog { id, path } => Command::SaveLog { id, path: dir.join(path) },
                other => panic!("{k}: {other:?}"),
            })
            .collect();
        let res = execute(&mut exec, &mut rx, cmds, |a| matches!(a, ActionMsg::Saved { .. })).await;
        let ActionMsg::Saved { path, result } = res else { panic!() };
        assert_eq!(result, Ok(2), "{k}");
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let suffix = if k == 'w' { "Z.log" } else { "Z-all.log" };
        assert!(name.starts_with(&c.name) && name.ends_with(suffix), "{name}");
        let mut got: Vec<String> =
            std::fs::read_to_string(&path).unwrap_or_default().lines().map(str::to_string).collect();
        got.sort();
        assert_eq!(got, expected, "{k}");
        let _ = std::fs::remove_file(&path);
        // A second save in the same second would need a new name: never written over.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let cmds = app.update(code(KeyCode::Esc));
    assert_eq!(cmds, vec![Command::StopLogs]);
    assert_eq!(app.mode, Mode::Normal);
    let _ = LABEL;
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_key_opens_an_exec_with_a_tty_and_reports_its_exit_code() {
    let host = engine();
    let c = TestContainer::run("shell", &["sleep", "300"]);
    let stopped = TestContainer::run("shell-stopped", &["true"]);
    let (mut app, _exec, _rx) = setup(&host, Config::default());
    wait_until_exited(&stopped.id);
    list_into(&mut app, &host).await;

    // A stopped container has nothing to exec into: said so, nothing sent.
    select(&mut app, &stopped.name);
    assert!(app.update(key('e')).is_empty());
    assert!(app.status.as_ref().is_some_and(|s| s.text.contains("not running")), "{:?}", app.status);

    let (mut app, _exec, _rx) = setup(&host, Config::default());
    list_into(&mut app, &host).await;
    select(&mut app, &c.name);
    let cmds = app.update(key('e'));
    let [Command::Shell { id, name, cmd }] = cmds.as_slice() else { panic!("{cmds:?}") };
    assert_eq!((id.as_str(), name.as_str()), (c.id.as_str(), c.name.as_str()));
    assert_eq!(cmd, &gpudock::docker::shell::default_command());

    // The real exec path, with a command in place of the interactive shell: it gets a TTY, runs
    // in the container, and its exit code comes back.
    let d = gpudock::docker::connect(&host).await.unwrap_or_else(|e| panic!("{e}"));
    let probe = ["sh", "-c", "[ -t 1 ] && echo tty > /tmp/shell-mark; exit 3"].map(String::from).to_vec();
    let result = gpudock::docker::shell::run(&d, id, probe).await;
    assert!(matches!(result, Ok(gpudock::docker::shell::ShellEnd::Exited(Some(3)))), "{result:?}");
    assert_eq!(docker(&["exec", &c.id, "cat", "/tmp/shell-mark"]), "tty");

    app.update(Msg::Action(ActionMsg::ShellEnded { name: name.clone(), result }));
    let status = app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.contains("exited with code 3"), "{status}");
    assert_eq!(app.mode, Mode::Normal);
}

fn wait_until_exited(id: &str) {
    let end = Instant::now() + Duration::from_secs(10);
    while inspect(id, "{{.State.Running}}") == "true" {
        assert!(Instant::now() < end, "container {id} never exited");
        std::thread::sleep(Duration::from_millis(50));
    }
}
