//! The binary's behaviour before any terminal is touched: bad config, bad flags, snapshots
//! without an engine or a driver.

mod common;

use std::process::Command;

use common::fake_nvml::{FakeConfig, Variant, gpu_line, lib};

fn gpudock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gpudock"))
}

#[test]
fn malformed_config_exits_2_with_path_line_and_column() {
    let path = std::env::temp_dir().join(format!("gpudock-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "refresh_seconds = 1.0\n[keys]\nquit = [\"hyper-q\"]\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = gpudock().arg("--config").arg(&path).output().unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("line 3, column"), "{err}");
    assert!(err.contains("unknown key \"hyper-q\""), "{err}");
    // Nothing was drawn: no escape sequences on stdout.
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_refresh_and_host_are_rejected() {
    let out = gpudock().args(["--refresh", "0"]).output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--refresh"));
    let out =
        gpudock().args(["--docker-host", "ftp://x", "snapshot"]).output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported Docker host"));
    // Never an option for ssh.
    let out = gpudock()
        .args(["--docker-host", "ssh://-oProxyCommand=touch", "snapshot"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an ssh://"));
}

#[test]
fn snapshot_without_engine_or_driver_still_exits_0_and_says_why() {
    let out = gpudock()
        .args([
            "snapshot",
            "--json",
            "--docker-host",
            "unix:///nonexistent/docker.sock",
            "--nvml-lib",
            "/nonexistent/libnvidia-ml.so.1",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc["nvml"]["available"], false);
    assert!(doc["nvml"]["error"].as_str().is_some_and(|e| e.contains("/nonexistent/libnvidia-ml.so.1")));
    assert_eq!(doc["docker"]["connected"], false);
    assert!(doc["docker"]["error"].as_str().is_some_and(|e| e.contains("not found")));
    assert_eq!(doc["gpus"], serde_json::json!([]));
    assert_eq!(doc["containers"], serde_json::json!([]));

    let out = gpudock()
        .args([
            "snapshot",
            "--docker-host",
            "unix:///nonexistent/docker.sock",
            "--nvml-lib",
            "/nonexistent/x.so",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("docker: unavailable") && text.contains("nvml: NVML not available"), "{text}");
}

/// This machine's GPUs beside another machine's containers would be a lie.
#[test]
fn a_remote_engine_gets_no_local_gpus() {
    let cfg = FakeConfig::new("remote", &format!("driver 550.54.15\ncuda 12040\n{}", gpu_line(0, "")));
    let out = gpudock()
        .args(["snapshot", "--json", "--docker-host", "tcp://127.0.0.1:9", "--nvml-lib"])
        .arg(lib(Variant::Full))
        .env("FAKE_NVML_CONFIG", &cfg.path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc["gpus"], serde_json::json!([]));
    assert_eq!(doc["nvml"]["available"], false);
    let why = doc["nvml"]["error"].as_str().unwrap_or_default();
    assert!(why.contains("local engines only") && why.contains("tcp://127.0.0.1:9"), "{why}");
}

#[test]
fn tls_requested_for_a_tcp_engine_is_refused_not_downgraded() {
    let out = gpudock()
        .args(["snapshot", "--json"])
        .env("DOCKER_HOST", "tcp://alice:hunter2@127.0.0.1:2376")
        .env("DOCKER_TLS_VERIFY", "1")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DOCKER_TLS_VERIFY") && err.contains("tcp://***@127.0.0.1:2376"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn failures_are_said_in_plain_words_once() {
    let out = gpudock()
        .args(["snapshot", "--json", "--docker-host", "tcp://127.0.0.1:1", "--nvml-lib", "/nonexistent/x.so"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let docker = doc["docker"]["error"].as_str().unwrap_or_default();
    assert!(docker.starts_with("connection refused") && !docker.contains("hyper"), "{docker}");
    let out = gpudock()
        .args([
            "snapshot",
            "--json",
            "--docker-host",
            "unix:///nonexistent.sock",
            "--nvml-lib",
            "/nonexistent/x.so",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let nvml = doc["nvml"]["error"].as_str().unwrap_or_default();
    assert_eq!(nvml.matches("/nonexistent/x.so").count(), 1, "{nvml}");
}

#[test]
fn version_completions_and_man_page() {
    let out = gpudock().arg("--version").output().unwrap_or_else(|e| panic!("{e}"));
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(version.starts_with(&format!("gpudock {}", env!("CARGO_PKG_VERSION"))), "{version}");
    for shell in ["bash", "zsh", "fish"] {
        let out = gpudock().args(["completions", shell]).output().unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("gpudock") && text.contains("snapshot") && text.contains("doctor"), "{shell}");
    }
    let out = gpudock().arg("man").output().unwrap_or_else(|e| panic!("{e}"));
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(man.contains(".TH gpudock 1") && man.contains("docker\\-host"), "{man}");
}

#[test]
fn fleet_without_a_prometheus_url_says_how_to_give_one() {
    let path = std::env::temp_dir().join(format!("gpudock-fleet-{}.toml", std::process::id()));
    std::fs::write(&path, "theme = \"mono\"\n").unwrap_or_else(|e| panic!("{e}"));
    // A DOCKER_HOST the main screen would refuse is not what the fleet view complains about.
    let out = gpudock()
        .env("DOCKER_HOST", "ssh://somewhere")
        .arg("--config")
        .arg(&path)
        .arg("fleet")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--prometheus") && err.contains("prometheus_url"), "{err}");
    let out = gpudock()
        .arg("--config")
        .arg(&path)
        .args(["fleet", "--prometheus", "https://prom:9090"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("https is not supported"));
    assert!(out.stdout.is_empty(), "nothing was drawn");
}
