//! A real container's host PID reported by the (fake) driver as a GPU process: gpudock must
//! attribute that memory to the container, in `snapshot --json` and on screen, and leave a
//! host process unattributed.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::engine::{IMAGE, LABEL, TestContainer, docker, engine};
use common::fake_nvml::{FakeConfig, Variant, gpu_line, lib};
use gpudock::app::AppState;
use gpudock::config::Config;
use gpudock::docker::collector::DockerCollector;
use gpudock::gpu::sampler::GpuSampler;
use tokio::sync::mpsc;

const GIB: u64 = 1 << 30;

fn driver_text(container_pid: u32, gib: u64) -> String {
    format!(
        "driver 550.54.15\ncuda 12040\n{}{}proc 1 pid={container_pid} used={} sm=61\nproc 0 pid={} used=1048576 sm=3\n",
        gpu_line(0, ""),
        gpu_line(1, ""),
        gib * GIB,
        std::process::id()
    )
}

/// `gpudock snapshot --json` against the test engine and the fake driver with `cfg`.
fn snapshot_json(host: &gpudock::docker::DockerHost, cfg: &FakeConfig) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gpudock"))
        .args(["snapshot", "--json", "--docker-host", &host.to_string(), "--nvml-lib"])
        .arg(lib(Variant::Full))
        .env("FAKE_NVML_CONFIG", &cfg.path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[test]
fn snapshot_json_attributes_gpu_memory_to_the_container() {
    let host = engine();
    let c = TestContainer::run("gpu-json", &["sleep", "300"]);
    let cfg = FakeConfig::new("json", &driver_text(c.pid(), 7));
    let doc = snapshot_json(&host, &cfg);
    assert_eq!(doc["nvml"]["available"], true);
    assert_eq!(doc["nvml"]["cuda_driver_version"], "12.4");
    assert_eq!(doc["docker"]["connected"], true);
    assert!(doc["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));

    let procs = doc["gpus"][1]["processes"].as_array().cloned().unwrap_or_default();
    let p = procs.iter().find(|p| p["pid"] == c.pid()).unwrap_or_else(|| panic!("pid missing: {procs:?}"));
    assert_eq!(p["container_id"], c.id.as_str());
    assert_eq!(p["container_name"], c.name.as_str());
    assert_eq!(p["memory_used_bytes"], 7 * GIB);
    assert_eq!(p["sm_percent"], 61);

    let host_proc = &doc["gpus"][0]["processes"][0];
    assert_eq!(host_proc["pid"], std::process::id());
    assert!(host_proc["container_id"].is_null(), "{host_proc}");
    assert!(host_proc["command"].is_string());

    let containers = doc["containers"].as_array().cloned().unwrap_or_default();
    let row = containers.iter().find(|x| x["id"] == c.id.as_str()).unwrap_or_else(|| panic!("no row"));
    assert_eq!(row["name"], c.name.as_str());
    assert_eq!(row["gpu_memory_used_bytes"], 7 * GIB);
    assert_eq!(row["gpu_sm_percent"], 61);
    assert!(row["gpu_request"].is_null());
    // Used without asking: in the indices and marked "*", as the dashboard's GPUS column shows.
    assert_eq!(row["gpu_indices"], serde_json::json!([1]));
    assert_eq!(row["gpus"], "1*");
    assert!(row["cpu_percent"].is_number());
    assert!(row["memory_used_bytes"].as_u64().is_some_and(|m| m > 0));
    // No label, mount or user names its owner: said so, not guessed.
    assert!(row["owner"].is_null(), "{row}");
    assert_eq!(row["owner_source"], "unknown");
}

/// One docker user could once kill every operator's dashboard with `--gpus 4294967295`
/// (gpudock built a list of four billion GPU indices).
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[test]
fn an_absurd_gpu_count_is_shown_as_requested_and_never_expanded() {
    let host = engine();
    let name = format!("gpudock-test-absurd-{}", std::process::id());
    // create succeeds without the NVIDIA runtime; only start would fail.
    let id = docker(&[
        "create",
        "--network",
        "none",
        "--label",
        LABEL,
        "--gpus",
        "4294967295",
        "--name",
        &name,
        IMAGE,
        "true",
    ]);
    struct Rm(String);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = common::engine::docker_cmd().args(["rm", "-f", &self.0]).output();
        }
    }
    let _rm = Rm(id.clone());
    let cfg = FakeConfig::new("absurd", &driver_text(std::process::id(), 1));
    let doc = snapshot_json(&host, &cfg);
    let containers = doc["containers"].as_array().cloned().unwrap_or_default();
    let row = containers.iter().find(|x| x["id"] == id.as_str()).unwrap_or_else(|| panic!("no row"));
    assert_eq!(row["gpu_request"], "4294967295");
    assert_eq!(row["gpu_indices"], serde_json::json!([0, 1]));
}

// The only test in this binary that sets FAKE_NVML_CONFIG in-process (the other passes it to a
// child), so it needs no lock.
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_the_containers_gpu_memory_and_follows_changes() {
    let host = engine();
    let c = TestContainer::run("gpu-ui", &["sleep", "300"]);
    let cfg = FakeConfig::new("ui", &driver_text(c.pid(), 7));
    cfg.activate();

    let (tx, mut rx) = mpsc::channel(64);
    let config = Config::default().with_refresh(Some(0.5)).unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(DockerCollector::new(host.clone(), config.refresh, tx.clone()).run());
    GpuSampler { lib: Some(lib(Variant::Full)), refresh: config.refresh, tx, beat: None }
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut app = AppState::new(&config, host.to_string());
    // Other containers may share the engine: filter to ours so its row is on screen.
    for c in std::iter::once('/').chain(c.name.chars()) {
        app.update(gpudock::msg::Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char(c),
        )));
    }
    app.update(gpudock::msg::Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter)));

    let row_of = |screen: &str| {
        screen.lines().find(|l| l.contains(&c.name) && l.contains("running")).map(str::to_string)
    };
    let mut wait_for = async |app: &mut AppState, want: &str, limit: Duration| -> String {
        let end = Instant::now() + limit;
        loop {
            let screen = common::render(app, 160, 40);
            if row_of(&screen).is_some_and(|r| r.contains(want)) {
                return screen;
            }
            let left = end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some(m)) => {
                    app.update(m);
                }
                _ => panic!("row never showed {want:?}:\n{screen}"),
            }
        }
    };
    let screen = wait_for(&mut app, "7GiB", Duration::from_secs(10)).await;
    let row = row_of(&screen).unwrap_or_default();
    assert!(row.contains("61"), "SM% missing: {row}");
    assert!(row.contains("1*"), "GPU in use (not requested) missing: {row}");
    // The GPU panel names the container on GPU 1 and the host process on GPU 0.
    let gpu1 = screen.lines().find(|l| l.contains(" 1 H100")).unwrap_or_default();
    assert!(gpu1.contains(&c.name), "GPU 1 line lacks the container: {gpu1}");
    let gpu0 = screen.lines().find(|l| l.contains(" 0 H100")).unwrap_or_default();
    assert!(gpu0.contains(&format!("pid {}", std::process::id())), "GPU 0 lacks the host process: {gpu0}");

    // The driver now reports 12 GiB: the row follows within 2 s.
    cfg.set(&driver_text(c.pid(), 12));
    let t = Instant::now();
    wait_for(&mut app, "12GiB", Duration::from_secs(2)).await;
    eprintln!("followed the change in {:?}", t.elapsed());
}
