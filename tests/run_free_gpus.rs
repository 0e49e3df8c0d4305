//! `gpudock run --gpus free:N` on a fake node (the fake `libnvidia-ml.so.1`): busy, held, broken
//! and free GPUs; the pick shown, the refusal naming who holds the rest, and the pick made
//! just before create on the real engine.

mod common;

use std::process::Command;

use common::engine::{IMAGE, docker_cmd};
use common::fake_nvml::{FakeConfig, Variant, gpu_line, lib};

/// A live host process to hold GPU memory (its name and owner come from /proc).
struct Holder(std::process::Child);

impl Holder {
    fn new() -> Holder {
        Holder(Command::new("sleep").arg("120").spawn().unwrap_or_else(|e| panic!("{e}")))
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GPU 0 held by a host process, GPU 1 busy (a process at 90 % SM), GPU 2 broken (uncorrected
/// ECC errors), GPUs 3 and 4 free (no process, no memory used), 4 the cooler one.
fn node(idle: &Holder, busy: &Holder) -> String {
    let mut text = String::from("driver 570.86.15\ncuda 12080\n");
    text += &gpu_line(0, "temp=30 util_gpu=0");
    text += &gpu_line(1, "temp=31 util_gpu=90");
    text += &gpu_line(2, "temp=20 util_gpu=0 mem_used=0 ecc_vol_corr=0 ecc_vol_uncorr=2");
    text += &gpu_line(3, "temp=70 util_gpu=0 mem_used=0");
    text += &gpu_line(4, "temp=35 util_gpu=0 mem_used=0");
    text += &format!("proc 0 pid={} used=1073741824\n", idle.0.id());
    text += &format!("proc 1 pid={} used=2147483648 sm=90\n", busy.0.id());
    text
}

fn gpudock(cfg: &FakeConfig) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gpudock"));
    c.env("FAKE_NVML_CONFIG", &cfg.path)
        .env("GPUDOCK_NVML_LIB", lib(Variant::Full))
        .env_remove("DOCKER_HOST")
        .arg("--log-file")
        .arg(std::env::temp_dir().join(format!("gpudock-free-{}.log", std::process::id())));
    c
}

fn out(c: &mut Command) -> (Option<i32>, String, String) {
    let o = c.output().unwrap_or_else(|e| panic!("{e}"));
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

#[test]
fn free_n_picks_healthy_unheld_gpus_coolest_first_and_refuses_with_who_holds_the_rest() {
    let (idle, busy) = (Holder::new(), Holder::new());
    let cfg = FakeConfig::new("free", &node(&idle, &busy));
    let (code, line, err) = out(gpudock(&cfg).args(["run", "--dry-run", "--gpus", "free:1", "busybox"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("free:1 picked GPU 4: coolest and least used (35 °C, 0 %) (2 free)"), "{err}");
    assert!(line.contains("--gpus device=4 "), "{line}");
    let (_, line, err) = out(gpudock(&cfg).args(["run", "--dry-run", "--gpus", "free:2", "busybox"]));
    assert!(line.contains("--gpus '\"device=4,3\"' "), "{line} {err}");

    let (code, line, err) = out(gpudock(&cfg).args(["run", "--dry-run", "--gpus", "free:3", "busybox"]));
    assert_eq!((code, line.as_str()), (Some(125), ""), "{err}");
    assert!(
        err.contains("free:3 cannot be met: 2 GPUs are free (GPUs 3, 4)")
            && err.contains("GPU 0 is held by sleep(")
            && err.contains(&format!("pid {}; GPU 1 is held by sleep(", idle.0.id()))
            && err.contains(&format!("pid {}; GPU 2", busy.0.id()))
            && err.contains("GPU 2 is broken (ECC uncorrected 2)"),
        "{err}"
    );

    // No NVML: free:N cannot be resolved, and says why.
    let (code, _, err) = out(gpudock(&cfg).env("GPUDOCK_NVML_LIB", "/nonexistent/libnvidia-ml.so.1").args([
        "run",
        "--dry-run",
        "--gpus",
        "free:1",
        "busybox",
    ]));
    assert_eq!(code, Some(125));
    assert!(err.contains("NVML is unavailable"), "{err}");
}

#[cfg_attr(not(engine_tests), ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST (README: Set up)")]
#[test]
fn the_pick_is_made_before_create_and_reaches_the_engine() {
    common::engine::engine();
    let (idle, busy) = (Holder::new(), Holder::new());
    let cfg = FakeConfig::new("free-engine", &node(&idle, &busy));
    let name = format!("gpudock-test-run-free-{}", std::process::id());
    let host = std::env::var(common::engine::HOST_VAR).unwrap_or_default();
    let (code, _, err) = out(gpudock(&cfg).args([
        "--docker-host",
        &host,
        "run",
        "--keep",
        "--network",
        "none",
        "--gpus",
        "free:1",
        "--name",
        &name,
        IMAGE,
        "true",
    ]));
    let _ = docker_cmd().args(["rm", "-f", &name]).output();
    // The test engine has no NVIDIA runtime: the start fails, explained, after the pick.
    assert_eq!(code, Some(125), "{err}");
    let picked = err.find("free:1 picked GPU 4").unwrap_or_else(|| panic!("{err}"));
    let failed = err.find("No NVIDIA device driver").unwrap_or_else(|| panic!("{err}"));
    assert!(picked < failed, "{err}");
}

/// An 8-GPU node of two NVLink quads (each pair of a quad joined by 2 direct links; quads on
/// NUMA nodes 0 and 1, two GPUs per PCIe switch): GPU 4 the coolest, GPU 5 held.
fn quads() -> String {
    let mut text = String::from("driver 570.86.15\ncuda 12080\n");
    for i in 0..8u32 {
        let temp = if i == 4 { 30 } else { 40 + i };
        let used = if i == 5 { 1_073_741_824 } else { 0 };
        text += &gpu_line(
            i,
            &format!(
                "temp={temp} util_gpu=0 mem_used={used} bus={} numa={} pcie_switch={}",
                0x18 + i,
                i / 4,
                i / 2
            ),
        );
        let peers = (0..8).filter(|&p| p != i && p / 4 == i / 4);
        for (k, peer) in peers.flat_map(|p| [p, p]).enumerate() {
            text += &format!("link {i} {k} state=1 version=4 peer={peer}\n");
        }
    }
    text
}

#[test]
fn free_n_keeps_an_nvlink_quad_together_and_says_why() {
    let cfg = FakeConfig::new("free-quads", &quads());
    let run = |n: &str| out(gpudock(&cfg).args(["run", "--dry-run", "--gpus", n, "busybox"]));
    let (code, line, err) = run("free:1");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("free:1 picked GPU 4: coolest and least used (30 °C, 0 %) (7 free)"), "{err}");
    assert!(line.contains("--gpus device=4 "), "{line}");
    let (_, line, err) = run("free:2");
    assert!(err.contains("free:2 picked GPUs 4,6: joined by 2 NVLinks (7 free)"), "{err}");
    assert!(line.contains("--gpus '\"device=4,6\"' "), "{line}");
    // GPU 5 is held: GPU 4's quad cannot take four any more, the other quad can.
    let (_, line, err) = run("free:4");
    assert!(err.contains("free:4 picked GPUs 0,1,2,3: every pair joined by NVLink (2 or more)"), "{err}");
    assert!(line.contains("--gpus '\"device=0,1,2,3\"' "), "{line}");
}
