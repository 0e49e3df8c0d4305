//! A panic in a background thread (here the NVML sampler, by an injected fault) ends the
//! dashboard with the terminal restored and the message printed, instead of leaving it half
//! alive on a cooked terminal. Run in a real terminal: a private tmux server.

use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux").arg("-L").arg(socket).args(args).output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

#[test]
fn a_panic_in_the_sampler_thread_exits_with_the_terminal_restored() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI needs tmux (.ci/run installs it)");
        eprintln!("skipping: no tmux");
        return;
    }
    let socket = format!("gpudock-panic-{}", std::process::id());
    let script = format!(
        "GPUDOCK_FAULT=panic-in-sampler {} --docker-host unix:///nonexistent.sock --log-file /dev/null; \
         echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon; sleep 30",
        env!("CARGO_BIN_EXE_gpudock")
    );
    tmux(&socket, &["new-session", "-d", "-x", "100", "-y", "30", "sh", "-c", &script]);
    let end = Instant::now() + Duration::from_secs(15);
    let mut screen = String::new();
    while Instant::now() < end {
        screen = tmux(&socket, &["capture-pane", "-p"]);
        if screen.contains("icanon") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    tmux(&socket, &["kill-server"]);
    assert!(screen.contains("EXIT=101"), "did not exit with 101:\n{screen}");
    assert!(screen.contains("injected panic in the NVML sampler"), "no message:\n{screen}");
    assert!(screen.lines().any(|l| l.trim() == "icanon"), "the terminal was left raw:\n{screen}");
    assert!(!screen.contains("┌"), "the dashboard is still on screen:\n{screen}");
}

/// Killing the tmux pane (or an SSH drop) takes the terminal away: gpudock leaves quietly,
/// without a panic about printing to a terminal that is gone.
#[test]
fn a_vanished_terminal_ends_gpudock_quietly() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI needs tmux (.ci/run installs it)");
        return;
    }
    let socket = format!("gpudock-gone-{}", std::process::id());
    let log = std::env::temp_dir().join(format!("gpudock-gone-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let cmd = format!(
        "{} --docker-host unix:///nonexistent.sock --nvml-lib /nonexistent.so --log-file {}",
        env!("CARGO_BIN_EXE_gpudock"),
        log.display()
    );
    tmux(&socket, &["new-session", "-d", "-x", "80", "-y", "20", &cmd]);
    std::thread::sleep(Duration::from_millis(800));
    let pid = tmux(&socket, &["list-panes", "-F", "#{pane_pid}"]).trim().to_string();
    assert!(!pid.is_empty(), "no pane");
    tmux(&socket, &["kill-server"]);
    let end = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!std::path::Path::new(&format!("/proc/{pid}/status")).exists(), "gpudock kept running");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(!text.contains("panic"), "{text}");
}
