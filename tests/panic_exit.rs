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
