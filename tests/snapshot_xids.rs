//! One-shot runs and XIDs from before them: `snapshot` and `doctor` read this boot's kernel log
//! (journalctl, then dmesg) through the real reader, and say "unknown" where it is unreadable.
//! The readers here are scripts first on PATH that print captured driver lines.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::fake_nvml::{FakeConfig, Variant, gpu_line, lib};

const DEAD: &str = "unix:///nonexistent/docker.sock";

/// A directory with `journalctl` and `dmesg` scripts of the given bodies.
fn readers(name: &str, journalctl: &str, dmesg: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("xid-readers-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    for (program, body) in [("journalctl", journalctl), ("dmesg", dmesg)] {
        let path = dir.join(program);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

fn run(cfg: &FakeConfig, bin: &Path, args: &[&str]) -> (Option<i32>, String) {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new(env!("CARGO_BIN_EXE_gpudock"))
        .args(args)
        .args(["--docker-host", DEAD, "--nvml-lib"])
        .arg(lib(Variant::Full))
        .env("FAKE_NVML_CONFIG", &cfg.path)
        .env("PATH", path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn node() -> String {
    // numa= gives the fake a topology, and with it each GPU's bus (GPU i at bus i+1).
    format!("driver 550.54.15\ncuda 12040\n{}{}", gpu_line(0, "numa=0"), gpu_line(1, "numa=0"))
}

/// An XID 79 before the run, in the kernel log: GPU 0 is broken on `snapshot` (text and JSON)
/// and `doctor`, with the catalogue's action; GPU 1's application XID 13 breaks nothing.
#[test]
fn xids_in_the_kernel_log_count_in_snapshot_and_doctor() {
    let cfg = FakeConfig::new("kernel-xids", &node());
    let bin = readers(
        "read",
        "echo '2026-12-06T03:00:00+0000 dgx kernel: Linux version 6.8'\n\
         echo '2026-12-06T03:12:44+0000 dgx kernel: NVRM: Xid (PCI:0000:01:00): 79, pid=2831, name=python, GPU has fallen off the bus.'\n\
         echo '2026-12-06T03:12:50+0000 dgx kernel: NVRM: Xid (PCI:0000:02:00): 13, pid=77, name=x, Graphics Exception'",
        "exit 1",
    );
    let (code, out) = run(&cfg, &bin, &["snapshot", "--json"]);
    assert_eq!(code, Some(0));
    let doc = json(&out);
    assert_eq!(doc["gpus"][0]["state"], "broken", "{doc}");
    let faults = doc["gpus"][0]["faults"].to_string();
    assert!(faults.contains("XID 79 (GPU has fallen off the bus; reboot the node)"), "{faults}");
    assert_ne!(doc["gpus"][1]["state"], "broken");
    let x = &doc["xids"];
    assert_eq!(x["source"], "journalctl -k", "{x}");
    assert_eq!((x["events"][0]["gpu"].as_u64(), x["events"][0]["code"].as_u64()), (Some(0), Some(79)));
    assert_eq!(x["events"][0]["action"], "reboot_node");
    assert_eq!(x["events"][0]["time"], "2026-12-06T03:12:44+0000");
    assert_eq!(
        (x["events"][1]["gpu"].as_u64(), x["events"][1]["breaks_gpu"].as_bool()),
        (Some(1), Some(false))
    );

    let (_, text) = run(&cfg, &bin, &["snapshot"]);
    assert!(text.contains("XIDs this boot (journalctl -k):"), "{text}");
    assert!(text.contains("GPU 0 XID 79 (GPU has fallen off the bus; reboot the node)"), "{text}");

    let (code, out) = run(&cfg, &bin, &["doctor", "--json"]);
    assert_eq!(code, Some(2));
    let doc = json(&out);
    let findings = doc["findings"].as_array().cloned().unwrap_or_default();
    let find = |check: &str| findings.iter().find(|f| f["check"] == check).cloned().unwrap_or_default();
    let health = find("GPU health");
    assert_eq!(health["level"], "fail", "{doc}");
    assert!(
        health["detail"].as_str().unwrap_or_default().contains("GPU 0 (NVIDIA H100 80GB HBM3): XID 79"),
        "{health}"
    );
    let xids = find("XIDs this boot");
    assert_eq!(xids["level"], "info", "{doc}");
    assert!(xids["detail"].as_str().unwrap_or_default().contains("GPU 1: XID 13"), "{xids}");
}

/// Neither reader can read the log (journalctl shows nothing to a user outside adm, dmesg is
/// refused): XIDs before the run are unknown, and every one-shot surface says so.
#[test]
fn an_unreadable_kernel_log_is_said_not_taken_for_no_xids() {
    let cfg = FakeConfig::new("kernel-unreadable", &node());
    let bin = readers(
        "unreadable",
        "exit 0",
        "echo 'dmesg: read kernel buffer failed: Operation not permitted' >&2; exit 1",
    );
    let (_, out) = run(&cfg, &bin, &["snapshot", "--json"]);
    let doc = json(&out);
    let x = &doc["xids"];
    assert!(x["events"].is_null() && x["source"].is_null(), "{x}");
    let note = x["note"].as_str().unwrap_or_default();
    assert!(note.starts_with("one-shot: XIDs before this run are not visible"), "{note}");
    assert!(
        note.contains("journalctl shows no kernel line") && note.contains("dmesg exited with status 1"),
        "{note}"
    );
    assert_eq!(doc["gpus"][0]["state"], "busy");

    let (_, text) = run(&cfg, &bin, &["snapshot"]);
    assert!(text.contains("XIDs: unknown. one-shot: XIDs before this run are not visible"), "{text}");

    let (_, out) = run(&cfg, &bin, &["doctor"]);
    let line = out.lines().find(|l| l.contains("XIDs this boot")).unwrap_or_default();
    assert!(line.starts_with("info") && line.contains("one-shot"), "{out}");
}
