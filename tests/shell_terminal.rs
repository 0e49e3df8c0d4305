//! The shell (`e`) in a real terminal, a private tmux server, against the test engine: it ends
//! with its terminal, and a detach says so.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::engine::{TestContainer, docker, engine};

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux").arg("-L").arg(socket).args(args).output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

/// A private tmux server, killed when the test ends, pass or fail.
struct Server(String);

impl Drop for Server {
    fn drop(&mut self) {
        tmux(&self.0, &["kill-server"]);
    }
}

fn have_tmux() -> bool {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI needs tmux (.ci/run installs it)");
        return false;
    }
    true
}

/// Waits for `want` on screen; the screen on failure.
fn wait_for(socket: &str, want: &str) -> String {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let screen = tmux(socket, &["capture-pane", "-p"]);
        if screen.contains(want) {
            return screen;
        }
        assert!(Instant::now() < end, "never saw {want:?}:\n{screen}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The processes in the container besides its own `sleep`.
fn others(c: &TestContainer) -> Vec<String> {
    docker(&["top", &c.id, "-o", "pid,args"])
        .lines()
        .skip(1)
        .filter(|l| !l.contains("sleep 300"))
        .map(str::to_string)
        .collect()
}

/// Starts the dashboard on the test engine in tmux, filtered to `c`, and opens its shell.
fn open_shell(socket: &str, c: &TestContainer, log: &std::path::Path) {
    let host = std::env::var(common::engine::HOST_VAR).unwrap_or_default();
    let cmd = format!(
        "{} --docker-host {host} --nvml-lib /nonexistent.so --log-file {}",
        env!("CARGO_BIN_EXE_gpudock"),
        log.display()
    );
    tmux(socket, &["new-session", "-d", "-x", "120", "-y", "30", &cmd]);
    wait_for(socket, "gpudock-test-shell-");
    tmux(socket, &["send-keys", "/"]);
    tmux(socket, &["send-keys", "-l", &c.name]);
    tmux(socket, &["send-keys", "Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux(socket, &["send-keys", "e"]);
    wait_for(socket, &format!("shell in {}", c.name));
    tmux(socket, &["send-keys", "-l", "echo shell-is-up"]);
    tmux(socket, &["send-keys", "Enter"]);
    wait_for(socket, "\nshell-is-up");
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[test]
fn the_shell_and_gpudock_end_with_their_terminal() {
    if !have_tmux() {
        return;
    }
    engine();
    let c = TestContainer::run("shell-hup", &["sleep", "300"]);
    let socket = format!("gpudock-shell-hup-{}", std::process::id());
    let _server = Server(socket.clone());
    let log = std::env::temp_dir().join(format!("{socket}.log"));
    open_shell(&socket, &c, &log);
    assert!(!others(&c).is_empty(), "no shell in the container");
    let pid = tmux(&socket, &["list-panes", "-F", "#{pane_pid}"]).trim().to_string();
    assert!(!pid.is_empty(), "no pane");
    // What an ssh drop or a closed terminal window does: the pane's process gets SIGHUP and
    // its terminal goes away.
    tmux(&socket, &["kill-server"]);
    let end = Instant::now() + Duration::from_secs(15);
    while std::path::Path::new(&format!("/proc/{pid}/status")).exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(!std::path::Path::new(&format!("/proc/{pid}/status")).exists(), "gpudock kept running:\n{text}");
    let end = Instant::now() + Duration::from_secs(10);
    while !others(&c).is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(others(&c), Vec::<String>::new(), "the container's shell kept running");
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[test]
fn a_detach_says_detached() {
    if !have_tmux() {
        return;
    }
    engine();
    let c = TestContainer::run("shell-detach", &["sleep", "300"]);
    let socket = format!("gpudock-shell-detach-{}", std::process::id());
    let _server = Server(socket.clone());
    let log = std::env::temp_dir().join(format!("{socket}.log"));
    open_shell(&socket, &c, &log);
    tmux(&socket, &["send-keys", "C-p"]);
    tmux(&socket, &["send-keys", "C-q"]);
    let screen = wait_for(&socket, "detached from the shell");
    assert!(!screen.contains("exited with code"), "{screen}");
    tmux(&socket, &["send-keys", "q"]);
    let _ = std::fs::remove_file(&log);
}
