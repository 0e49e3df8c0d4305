//! Text from other users never reaches the operator's terminal as control sequences: process
//! names, container settings, config files, on every output path.

mod common;

use std::process::Command;

use common::fake_nvml::{FakeConfig, Variant, gpu_line, lib};
use common::{render, sample_app};
use gpudock::docker::{ContainerState, EngineEvent};
use gpudock::msg::Msg;

fn gpudock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gpudock"))
}

fn has_controls(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.chars().find(|c| c.is_control() && *c != '\n').map(|c| format!("{:?} in {text}", c))
}

/// A process whose name writes the clipboard (OSC 52) and sets the title, with a C1 CSI.
struct HostileProcess(std::process::Child, std::path::PathBuf);

impl HostileProcess {
    fn start() -> HostileProcess {
        HostileProcess::named("hostile", "\u{1b}]52;c;QQ\u{7}\u{9b}2J", '\u{1b}')
    }

    /// `sleep 30` under the name `name` (its `comm`), once `comm` shows `mark`.
    fn named(tag: &str, name: &str, mark: char) -> HostileProcess {
        let dir =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let exe = dir.join(name);
        std::fs::copy("/bin/sleep", &exe).unwrap_or_else(|e| panic!("{e}"));
        // Another test thread forking while the copy was open for writing makes exec fail with
        // "text file busy" for a moment.
        let mut tries = 0;
        let child = loop {
            match Command::new(&exe).arg("30").spawn() {
                Ok(c) => break c,
                Err(e) if e.raw_os_error() == Some(26) && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("{e}"),
            }
        };
        // Until the exec has happened, the child still carries this thread's name.
        let comm = format!("/proc/{}/comm", child.id());
        for _ in 0..100 {
            // comm always ends in a newline: look for the mark before it.
            if std::fs::read_to_string(&comm).is_ok_and(|c| c.trim_end_matches('\n').contains(mark)) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        HostileProcess(child, dir)
    }
}

impl Drop for HostileProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

#[test]
fn snapshot_text_and_json_carry_no_control_characters() {
    let p = HostileProcess::start();
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", p.0.id())).unwrap_or_default();
    assert!(comm.contains('\u{1b}'), "the test process is not hostile: {comm:?}");
    let cfg = FakeConfig::new(
        "hostile",
        &format!(
            "driver 550.54.15\ncuda 12040\n{}proc 0 pid={} used=1048576 sm=3\n",
            gpu_line(0, ""),
            p.0.id()
        ),
    );
    for json in [false, true] {
        let mut cmd = gpudock();
        cmd.args(["snapshot", "--docker-host", "unix:///nonexistent/docker.sock", "--nvml-lib"])
            .arg(lib(Variant::Full));
        if json {
            cmd.arg("--json");
        }
        let out = cmd.env("FAKE_NVML_CONFIG", &cfg.path).output().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(has_controls(&out.stdout), None, "json={json}");
        if json {
            let doc: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
            // The name survives, escaped: a script reading the JSON still sees what NVML saw.
            let command = doc["gpus"][0]["processes"][0]["command"].as_str().unwrap_or_default();
            assert!(command.contains('\u{1b}') && command.contains('\u{9b}'), "{command:?}");
        } else {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("]52;c;QQ"), "the process is still listed: {text}");
        }
    }
}

/// A process named with a newline (`prctl(PR_SET_NAME)`, or its file name) would print a forged
/// line of its own in the text snapshot.
#[test]
fn a_newline_in_a_process_name_forges_no_line() {
    let p = HostileProcess::named("forger", "x\nGPU 9 forged", '\n');
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", p.0.id())).unwrap_or_default();
    assert!(comm.trim_end().contains('\n'), "the test process has no newline in its name: {comm:?}");
    let cfg = FakeConfig::new(
        "forger",
        &format!(
            "driver 550.54.15\ncuda 12040\n{}proc 0 pid={} used=1048576 sm=3\n",
            gpu_line(0, ""),
            p.0.id()
        ),
    );
    let out = gpudock()
        .args(["snapshot", "--docker-host", "unix:///nonexistent/docker.sock", "--nvml-lib"])
        .arg(lib(Variant::Full))
        .env("FAKE_NVML_CONFIG", &cfg.path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.lines().any(|l| l.starts_with("GPU 9 forged")), "a forged line:\n{text}");
    assert!(text.contains("host x\\nGPU 9 forged ("), "the name, on its own line:\n{text}");
}

#[test]
fn config_errors_do_not_echo_escapes_to_stderr() {
    let path = std::env::temp_dir().join(format!("gpudock-hostile-{}.toml", std::process::id()));
    std::fs::write(&path, "\"\\u001b]0;owned\\u0007\" = 1\n").unwrap_or_else(|e| panic!("{e}"));
    let out = gpudock().arg("--config").arg(&path).output().unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("]0;owned"), "the error still names the key");
    assert_eq!(has_controls(&out.stderr), None);
}

#[test]
fn the_dashboard_draws_no_control_characters() {
    let mut app = sample_app();
    let mut evil = common::container(9, "evil\u{1b}]52;c;QQ\u{7}", "img\u{9b}2J", ContainerState::Running);
    evil.health = None;
    let mut list: Vec<_> = app.table.all().to_vec();
    list.push(evil);
    app.update(Msg::Engine(EngineEvent::Containers(list)));
    let screen = render(&app, 120, 30);
    assert!(screen.contains("evil"), "{screen}");
    assert_eq!(has_controls(screen.as_bytes()), None);
}
