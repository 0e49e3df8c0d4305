//! `gpudock report` against a real Prometheus that scraped a real `gpudock export` (fake driver,
//! real containers on the test engine) every second: the GPU-hours it prints are checked against
//! the same samples added up here by hand.

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::engine::{IMAGE, LABEL, docker, docker_cmd, engine};
use common::fake_nvml::{FakeConfig, Variant, gpu_line, lib};
use common::prom::{Prometheus, prometheus_binary};

const GIB: u64 = 1 << 30;
const STEP: f64 = 15.0;

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running container with extra `docker run` options, removed on drop.
struct Running(String);

impl Running {
    fn new(name_hint: &str, opts: &[&str]) -> Running {
        let name = format!("gpudock-test-report-{name_hint}-{}", std::process::id());
        let _ = docker_cmd().args(["rm", "-f", &name]).output();
        let mut args = vec!["run", "-d", "--network", "none", "--label", LABEL, "--name", &name];
        args.extend_from_slice(opts);
        args.extend_from_slice(&[IMAGE, "sleep", "600"]);
        docker(&args);
        Running(name)
    }

    fn pid(&self) -> u32 {
        docker(&["inspect", "-f", "{{.State.Pid}}", &self.0]).parse().unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = docker_cmd().args(["rm", "-f", &self.0]).output();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    l.local_addr().unwrap_or_else(|e| panic!("{e}")).port()
}

fn api(prom: &Prometheus, path: &str, params: &[(&str, String)]) -> serde_json::Value {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let q: Vec<String> =
        params.iter().map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC))).collect();
    let body =
        prom.get(&format!("{path}?{}", q.join("&"))).unwrap_or_else(|| panic!("{path} {params:?} failed"));
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Per owner: `expr` at every 15 s step in (end - 60 s, end], added up as GPU-hours.
fn by_hand(prom: &Prometheus, expr: &str, end: f64) -> Vec<(String, f64)> {
    let first = ((end - 60.0) / STEP).floor() * STEP + STEP;
    let last = (end / STEP).floor() * STEP;
    let doc = api(
        prom,
        "/api/v1/query_range",
        &[
            ("query", expr.to_string()),
            ("start", first.to_string()),
            ("end", last.to_string()),
            ("step", "15".into()),
        ],
    );
    let mut out: Vec<(String, f64)> = doc["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let owner = s["metric"]["owner"].as_str().unwrap_or_default().to_string();
            let steps: f64 = s["values"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v[1].as_str()?.parse::<f64>().ok())
                .sum();
            (owner, steps * STEP / 3600.0)
        })
        .collect();
    // Owners of other running containers hold no GPU: the report leaves them out.
    out.retain(|(_, h)| *h > 0.0);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[test]
fn report_adds_up_what_prometheus_scraped_from_export() {
    let Some(bin) = prometheus_binary() else {
        assert!(std::env::var_os("CI").is_none(), "prometheus is not installed (.ci/run installs it)");
        eprintln!("skipped: prometheus is not installed");
        return;
    };
    let host = engine();
    let alice = Running::new("alice", &["--label", "io.gpudock.launched-by=alice"]);
    let bob = Running::new("bob", &["--label", "owner=bob"]);
    let driver = format!(
        "driver 550.54.15\ncuda 12040\n{}{}proc 0 pid={} used={} sm=60\nproc 1 pid={} used={} sm=0\nproc 1 pid={} used={GIB} sm=0\n",
        gpu_line(0, "util_gpu=60"),
        gpu_line(1, "util_gpu=0"),
        alice.pid(),
        4 * GIB,
        bob.pid(),
        2 * GIB,
        std::process::id(),
    );
    let fake = FakeConfig::new("report", &driver);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "idle_gpu_after = \"1s\"\n").unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let export = Guard(
        Command::new(env!("CARGO_BIN_EXE_gpudock"))
            .args([
                "export",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--refresh",
                "0.5",
                "--hostname",
                "node-r",
            ])
            .args(["--docker-host", &host.to_string(), "--nvml-lib"])
            .arg(lib(Variant::Full))
            .arg("--config")
            .arg(&config)
            .arg("--log-file")
            .arg(dir.path().join("export.log"))
            .env("FAKE_NVML_CONFIG", &fake.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("gpudock export: {e}")),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the exporter never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    let target = format!("127.0.0.1:{port}");
    let prom = Prometheus::start(&bin, &[&target]);
    // Until the exporter's owners are in Prometheus, then three full 15 s steps more.
    prom.wait_for(
        "/api/v1/query?query=gpudock_owner_gpus_held%7Bowner%3D%22bob%22%7D",
        |b| b.contains("\"bob\""),
        Duration::from_secs(30),
    );
    std::thread::sleep(Duration::from_secs(46));

    let out = Command::new(env!("CARGO_BIN_EXE_gpudock"))
        .args(["report", "--prometheus", &prom.url, "--since", "1m", "--json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((doc["by"].as_str(), doc["resolution_seconds"].as_u64()), (Some("owner"), Some(15)), "{doc}");
    let end = doc["end_unix_seconds"].as_f64().unwrap_or_else(|| panic!("{doc}"));
    let rows = doc["rows"].as_array().cloned().unwrap_or_default();
    let row = |owner: &str| {
        rows.iter().find(|r| r["owner"] == owner).cloned().unwrap_or_else(|| panic!("no {owner}: {doc}"))
    };
    let hours = |owner: &str, figure: &str| row(owner)[figure].as_f64().unwrap_or(f64::NAN);

    // The same samples, added up here.
    let held = by_hand(&prom, "sum by (owner) (gpudock_owner_gpus_held)", end);
    let busy = by_hand(
        &prom,
        "count by (owner) (count by (Hostname, gpu, owner) (gpudock_container_gpu_sm_percent > 5))",
        end,
    );
    let idle = by_hand(
        &prom,
        "count by (owner) (count by (Hostname, gpu, owner) (gpudock_container_gpu_idle_seconds))",
        end,
    );
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    let owners: Vec<&str> = held.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(owners, ["alice", "bob", "root"], "{held:?}");
    for (owner, h) in &held {
        assert!(close(hours(owner, "held_gpu_hours"), *h), "held {owner}: report {doc} vs hand {held:?}");
    }
    for (owner, h) in &busy {
        assert!(close(hours(owner, "busy_gpu_hours"), *h), "busy {owner}: {doc} vs {busy:?}");
    }
    for (owner, h) in &idle {
        assert!(close(hours(owner, "idle_held_gpu_hours"), *h), "idle {owner}: {doc} vs {idle:?}");
    }
    // And plausible: three or four steps of one GPU each, out of a minute.
    let a = hours("alice", "held_gpu_hours");
    assert!((3.0 * STEP / 3600.0 - 1e-9..=60.0 / 3600.0 + 1e-9).contains(&a), "{doc}");
    assert!(close(hours("alice", "busy_gpu_hours"), a), "alice works at 60 %: {doc}");
    assert_eq!(hours("bob", "busy_gpu_hours"), 0.0, "{doc}");
    assert!(hours("bob", "idle_held_gpu_hours") > 0.0, "bob holds 2 GiB at 0 %: {doc}");
    assert!(hours("root", "held_gpu_hours") > 0.0, "a host process's owner is its user: {doc}");
    assert_eq!(row("alice")["peak_memory_bytes"].as_f64(), Some((4 * GIB) as f64), "{doc}");
    assert_eq!(rows[0]["owner"], "alice", "widest first (alice, bob and root hold one GPU each): {doc}");

    // The table says the same, and where the figures come from.
    let out = Command::new(env!("CARGO_BIN_EXE_gpudock"))
        .args(["report", "--prometheus", &prom.url, "--since", "10m", "--by", "container"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("GPU time by container from "), "{text}");
    assert!(text.contains(&format!("node-r/{}", alice.0)) && text.contains("resolution 15 s"), "{text}");
    drop(export);
}
