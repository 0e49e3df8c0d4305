//! `gpudock run` against the private test engine: exit codes, stdout and stderr kept apart,
//! Ctrl-C (SIGINT to the process), `--rm` cleanup, `--keep`, `--detach`, and `--dry-run`'s
//! line, run by a shell, creating the same container as `gpudock run` does.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::engine::{IMAGE, docker, docker_cmd, engine};

fn gpudock() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gpudock"));
    let host = std::env::var(common::engine::HOST_VAR).unwrap_or_default();
    // No NVML on the test machine unless a test names the fake one; a log file of our own.
    c.env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .env("GPUDOCK_NVML_LIB", "/nonexistent/libnvidia-ml.so.1")
        .arg("--docker-host")
        .arg(host)
        .arg("--log-file")
        .arg(std::env::temp_dir().join(format!("gpudock-run-test-{}.log", std::process::id())));
    c
}

fn unique(hint: &str) -> String {
    format!("gpudock-test-run-{hint}-{}", std::process::id())
}

/// Removes the named containers when dropped, even after a failed assertion.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = docker_cmd().args(["rm", "-f", n]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
    }
}

fn exists(name: &str) -> bool {
    docker_cmd()
        .args(["inspect", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg_attr(not(engine_tests), ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST (README: Set up)")]
#[test]
fn exit_code_and_both_streams_come_through_and_rm_cleans_up() {
    engine();
    let name = unique("exit");
    let _c = Cleanup(vec![name.clone()]);
    let out = gpudock()
        .args(["run", "--network", "none", "--name", &name, IMAGE, "sh", "-c"])
        .arg("echo one; echo two >&2; echo three; exit 3")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\nthree\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "two\n");
    assert!(!exists(&name), "--rm is the default: the container is gone");

    // --keep leaves it, exited with the same code; the labels are the form's.
    let out = gpudock()
        .args(["run", "--keep", "--network", "none", "--name", &name, IMAGE, "sh", "-c", "exit 42"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(docker(&["inspect", "-f", "{{.State.ExitCode}}", &name]), "42");
    let by = docker(&["inspect", "-f", "{{index .Config.Labels \"io.gpudock.launched-by\"}}", &name]);
    assert!(!by.is_empty(), "launched-by label missing");
    docker(&["rm", "-f", &name]);

    // Bad input: docker run's 125, a message naming the flag, nothing created.
    let out = gpudock()
        .args(["run", "--network", "none", "--name", &name, "-e", "1BAD=x", IMAGE])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("-e 1BAD=x"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!exists(&name));
}

#[cfg_attr(not(engine_tests), ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST (README: Set up)")]
#[test]
fn detach_prints_the_id_of_a_running_container() {
    engine();
    let name = unique("detach");
    let _c = Cleanup(vec![name.clone()]);
    let out = gpudock()
        .args(["run", "-d", "--network", "none", "--name", &name, IMAGE, "sleep", "30"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    assert_eq!(docker(&["inspect", "-f", "{{.State.Running}}", &id]), "true");
}

#[cfg_attr(not(engine_tests), ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST (README: Set up)")]
#[test]
fn ctrl_c_stops_the_container_and_rm_removes_it() {
    engine();
    let name = unique("sigint");
    let _c = Cleanup(vec![name.clone()]);
    let cfg = std::env::temp_dir().join(format!("gpudock-run-sigint-{}.toml", std::process::id()));
    std::fs::write(&cfg, "stop_timeout_seconds = 5\n").unwrap_or_else(|e| panic!("{e}"));
    let mut child = gpudock()
        .arg("--config")
        .arg(&cfg)
        .args(["run", "--network", "none", "--name", &name, IMAGE, "sh", "-c"])
        // PID 1 ignores signals it has no handler for: the trap makes SIGTERM end it.
        // Bounded, so a lost Ctrl-C fails the test instead of hanging it.
        .arg("trap 'echo got TERM; exit 143' TERM; echo ready; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(line, "ready\n");
    // SAFETY: kill sends a signal to the child we started.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(rc, 0);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap_or_else(|e| panic!("{e}"));
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&cfg);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(rest, "got TERM\n", "the container saw the stop; stderr: {err}");
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(err.contains(&format!("stopping {name}")) && err.contains("removed (--rm)"), "{err}");
    assert!(!exists(&name), "the --rm container is gone");
}

/// Inspect fields that make two containers "the same".
fn fingerprint(name: &str) -> serde_json::Value {
    let raw = docker(&["inspect", name]);
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{e}"));
    let c = &v[0];
    let mut env: Vec<String> = c["Config"]["Env"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e.as_str().map(String::from)).collect())
        .unwrap_or_default();
    env.sort();
    // The CLI sends an empty map where gpudock sends none: the same container.
    let ports = match &c["HostConfig"]["PortBindings"] {
        serde_json::Value::Object(m) if m.is_empty() => serde_json::Value::Null,
        p => p.clone(),
    };
    serde_json::json!({
        "image": c["Config"]["Image"],
        "cmd": c["Config"]["Cmd"],
        "env": env,
        "workdir": c["Config"]["WorkingDir"],
        "labels": c["Config"]["Labels"],
        "binds": c["HostConfig"]["Binds"],
        "gpus": c["HostConfig"]["DeviceRequests"],
        "ipc": c["HostConfig"]["IpcMode"],
        "shm": c["HostConfig"]["ShmSize"],
        "network": c["HostConfig"]["NetworkMode"],
        "ports": ports,
        "exposed": c["Config"]["ExposedPorts"],
        "auto_remove": c["HostConfig"]["AutoRemove"],
    })
}

#[cfg_attr(not(engine_tests), ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST (README: Set up)")]
#[test]
fn dry_run_line_in_a_shell_makes_the_same_container() {
    engine();
    let (ours, theirs) = (unique("dry-a"), unique("dry-b"));
    let _c = Cleanup(vec![ours.clone(), theirs.clone()]);
    let host = std::env::var(common::engine::HOST_VAR).unwrap_or_default();
    let common_args = |name: &str| -> Vec<String> {
        [
            "run",
            "--keep",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "-e",
            "A=1",
            "-e",
            "B=it's a b,c",
            "-v",
            "/tmp:/hosttmp:ro",
            "--ipc-host",
            "--shm-size",
            "64m",
            "-w",
            "/tmp",
            IMAGE,
            "sh",
            "-c",
            "echo \"$A $B\"; sleep 30",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let out = gpudock().args(common_args(&ours)).output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut dry = common_args(&theirs);
    dry.insert(1, "--dry-run".into());
    let out = gpudock().args(&dry).output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0));
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(line.starts_with("docker run ") && !line.contains('\n'), "{line}");
    let sh = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(sh.status.success(), "{line}: {}", String::from_utf8_lossy(&sh.stderr));
    assert_eq!(fingerprint(&ours), fingerprint(&theirs), "{line}");

    // GPUs and ports cannot start on this engine (no NVIDIA runtime, no bridge): compare what
    // `docker create` makes of the line with what gpudock sends.
    let gpu_name = unique("dry-gpu");
    let _g = Cleanup(vec![gpu_name.clone()]);
    let out = gpudock()
        .args([
            "run",
            "--dry-run",
            "--keep",
            "--name",
            &gpu_name,
            "--gpus",
            "0,2",
            "-p",
            "127.0.0.1:18888:8888",
            IMAGE,
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let line = String::from_utf8_lossy(&out.stdout).trim().replacen("docker run", "docker create", 1);
    let sh = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(sh.status.success(), "{line}: {}", String::from_utf8_lossy(&sh.stderr));
    let spec = gpudock::docker::LaunchSpec {
        image: IMAGE.into(),
        gpus: gpudock::docker::gpus::GpuRequest::Devices(vec![
            gpudock::docker::gpus::GpuRef::Index(0),
            gpudock::docker::gpus::GpuRef::Index(2),
        ]),
        ports: gpudock::docker::ports::parse_all(&["127.0.0.1:18888:8888"]).unwrap_or_default(),
        ..Default::default()
    };
    let body = serde_json::to_value(gpudock::docker::launch::create_body(&spec)).unwrap_or_default();
    let made = fingerprint(&gpu_name);
    assert_eq!(made["gpus"], body["HostConfig"]["DeviceRequests"], "{line}");
    assert_eq!(made["ports"], body["HostConfig"]["PortBindings"], "{line}");
    assert_eq!(made["exposed"], body["ExposedPorts"], "{line}");
}

#[cfg_attr(not(engine_tests), ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST (README: Set up)")]
#[test]
fn a_notebook_url_in_the_output_gets_its_tunnel_line_on_stderr() {
    engine();
    let name = unique("notebook");
    let _c = Cleanup(vec![name.clone()]);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_string();
    let out = gpudock()
        .args(["run", "--network", "host", "--name", &name, IMAGE, "sh", "-c"])
        .arg("echo '[I 2024-01-15 10:23:45.123 ServerApp] http://127.0.0.1:8888/lab?token=4f1d6e0a5c2b' >&2")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "gpudock: JupyterLab at http://localhost:8888/lab?token=4f1d6e0a5c2b — from your laptop: ssh -L 8888:localhost:8888 {host}\n"
        )),
        "{err}"
    );
}
