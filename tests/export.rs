//! `gpudock export` as Prometheus sees it: the real binary on a loopback port, scraped over
//! plain HTTP/1.1, fed by the fake driver and (for the join) a real container on the test engine.

mod common;
#[path = "hostile/mod.rs"]
mod hostile;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fake_nvml::{FakeConfig, Variant, gpu_line, lib};

const GIB: u64 = 1 << 30;

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    l.local_addr().unwrap_or_else(|e| panic!("{e}")).port()
}

/// A running exporter, killed when this drops (a failed assertion included).
struct Exporter {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Exporter {
    fn start(docker_host: &str, nvml_lib: &Path, cfg: Option<&FakeConfig>) -> Exporter {
        Exporter::start_with(docker_host, nvml_lib, cfg, &[])
    }

    fn start_with(docker_host: &str, nvml_lib: &Path, cfg: Option<&FakeConfig>, extra: &[&str]) -> Exporter {
        Exporter::start_full(docker_host, nvml_lib, cfg, extra, &[], None)
    }

    fn start_env(
        docker_host: &str,
        nvml_lib: &Path,
        cfg: Option<&FakeConfig>,
        extra: &[&str],
        env: &[(&str, &Path)],
    ) -> Exporter {
        Exporter::start_full(docker_host, nvml_lib, cfg, extra, env, None)
    }

    /// `nofile`: the exporter's file limit, soft and hard.
    fn start_limited(
        docker_host: &str,
        nvml_lib: &Path,
        cfg: Option<&FakeConfig>,
        extra: &[&str],
        nofile: Option<u64>,
    ) -> Exporter {
        Exporter::start_full(docker_host, nvml_lib, cfg, extra, &[], nofile)
    }

    fn start_full(
        docker_host: &str,
        nvml_lib: &Path,
        cfg: Option<&FakeConfig>,
        extra: &[&str],
        env: &[(&str, &Path)],
        nofile: Option<u64>,
    ) -> Exporter {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("gpudock-export-{}-{port}.log", std::process::id()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpudock"));
        cmd.args(["export", "--listen", &format!("127.0.0.1:{port}"), "--refresh", "0.5"])
            .args(["--docker-host", docker_host, "--nvml-lib"])
            .arg(nvml_lib)
            .arg("--log-file")
            .arg(&log)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(cfg) = cfg {
            cmd.env("FAKE_NVML_CONFIG", &cfg.path);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(n) = nofile {
            hostile::with_file_limit(&mut cmd, n);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start gpudock export: {e}"));
        let ex = Exporter { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the exporter never listened; log:\n{}", ex.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        ex
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn get(&self, path: &str) -> (u16, String) {
        get(self.port, path)
    }

    /// Scrapes until `want` holds for the body, for up to `secs`; the last body.
    fn scrape_until(&self, secs: u64, what: &str, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (status, body) = self.get("/metrics");
            assert_eq!(status, 200, "{body}");
            if want(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{what} within {secs}s; last scrape:\n{body}\nlog:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// One HTTP/1.1 GET with a plain socket: the status and the body.
fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap_or_else(|e| panic!("{e}"));
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
        .unwrap_or_else(|e| panic!("send: {e}"));
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap_or_else(|e| panic!("read: {e}"));
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}

/// The sample lines of family `name` that contain every one of `with`.
fn lines<'a>(body: &'a str, name: &str, with: &[&str]) -> Vec<&'a str> {
    body.lines()
        .filter(|l| l.strip_prefix(name).is_some_and(|r| r.starts_with('{')))
        .filter(|l| with.iter().all(|w| l.contains(w)))
        .collect()
}

fn value(line: &str) -> f64 {
    line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

#[test]
fn without_engine_or_driver_it_serves_and_says_both_are_down() {
    let ex =
        Exporter::start("unix:///nonexistent/docker.sock", Path::new("/nonexistent/libnvidia-ml.so.1"), None);
    let body = ex.scrape_until(10, "engine and NVML down", |b| {
        lines(b, "gpudock_engine_up", &[]).iter().any(|l| value(l) == 0.0)
            && lines(b, "gpudock_nvml_up", &[]).iter().any(|l| value(l) == 0.0)
    });
    assert_eq!(lines(&body, "gpudock_up", &["Hostname=\""]).len(), 1, "{body}");
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert_eq!(ex.get("/other").0, 404);
    assert_eq!(ex.get("/").0, 404);
    assert_eq!(ex.get("/metrics?x=1").0, 200);
}

#[test]
fn sigterm_stops_it_cleanly() {
    let mut ex =
        Exporter::start("unix:///nonexistent/docker.sock", Path::new("/nonexistent/libnvidia-ml.so.1"), None);
    let pid = i32::try_from(ex.child.id()).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: kill(2) on the child we started and still own.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = ex.child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 5 s after SIGTERM; log:\n{}", ex.log_text());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "log:\n{}", ex.log_text());
    assert!(ex.log_text().contains("exporter stopping"), "{}", ex.log_text());
}

#[test]
fn a_remote_engine_exports_no_gpus_and_the_log_says_why() {
    let cfg = FakeConfig::new("export-remote", &format!("driver 550.54.15\ncuda 12040\n{}", gpu_line(0, "")));
    let ex = Exporter::start("tcp://127.0.0.1:1", &lib(Variant::Full), Some(&cfg));
    std::thread::sleep(Duration::from_millis(1500));
    let body = ex.scrape_until(5, "the scrape", |_| true);
    assert_eq!(lines(&body, "gpudock_nvml_up", &[]).iter().map(|l| value(l)).sum::<f64>(), 0.0, "{body}");
    assert!(lines(&body, "gpudock_gpu_memory_total_bytes", &[]).is_empty(), "{body}");
    assert!(ex.log_text().contains("remote engine: no GPUs exported"), "{}", ex.log_text());
}

#[test]
fn a_taken_port_is_a_clear_error_and_exit_2() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = taken.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let log = std::env::temp_dir().join(format!("gpudock-export-taken-{}.log", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_gpudock"))
        .args(["export", "--listen", &addr.to_string(), "--docker-host", "unix:///nonexistent/docker.sock"])
        .args(["--nvml-lib", "/nonexistent/libnvidia-ml.so.1", "--log-file"])
        .arg(&log)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&log);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(err.contains("in use") && err.contains("--listen"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line, said once: {err}");
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[test]
fn a_containers_gpu_memory_is_exported_and_goes_when_it_is_removed() {
    let host = common::engine::engine();
    let c = common::engine::TestContainer::run("export", &["sleep", "300"]);
    let text = format!(
        "driver 550.54.15\ncuda 12040\n{}{}proc 1 pid={} used={} sm=40\nproc 0 pid={} used={}\n",
        gpu_line(0, ""),
        gpu_line(1, ""),
        c.pid(),
        3 * GIB,
        std::process::id(),
        GIB,
    );
    let cfg = FakeConfig::new("export", &text);
    let ex = Exporter::start(&host.to_string(), &lib(Variant::Full), Some(&cfg));
    let name = format!("container=\"{}\"", c.name);
    let uuid1 = "UUID=\"GPU-00000001-0000-0000-0000-000000000000\"";
    let body = ex.scrape_until(15, "the container's GPU memory series", |b| {
        !lines(b, "gpudock_container_gpu_memory_used_bytes", &[&name, uuid1]).is_empty()
    });
    let mem = lines(&body, "gpudock_container_gpu_memory_used_bytes", &[&name, uuid1, "gpu=\"1\""]);
    assert_eq!(mem.len(), 1, "{body}");
    assert!(mem[0].contains(&format!("container_id=\"{}\"", c.id)), "{}", mem[0]);
    assert!(mem[0].contains("image=\"gpudock-test/busybox"), "{}", mem[0]);
    assert!(mem[0].contains("Hostname=\""), "{}", mem[0]);
    assert_eq!(value(mem[0]), (3 * GIB) as f64);
    assert_eq!(lines(&body, "gpudock_container_info", &[&name, "launched_by=\"\""]).len(), 1, "{body}");
    assert_eq!(lines(&body, "gpudock_engine_up", &[]).iter().map(|l| value(l)).sum::<f64>(), 1.0);
    assert_eq!(lines(&body, "gpudock_nvml_up", &[]).iter().map(|l| value(l)).sum::<f64>(), 1.0);
    assert_eq!(lines(&body, "gpudock_gpu_memory_total_bytes", &[]).len(), 2, "{body}");
    // This test process holds memory on GPU 0 as a host process: per user, never per pid.
    let host_mem = lines(&body, "gpudock_host_gpu_memory_used_bytes", &["gpu=\"0\""]);
    assert_eq!(host_mem.len(), 1, "{body}");
    assert_eq!(value(host_mem[0]), GIB as f64);
    assert!(!body.contains("pid="), "{body}");
    assert_eq!(ex.get("/other").0, 404);

    drop(c);
    ex.scrape_until(10, "the removed container's series gone", |b| !b.contains(&name));
}

#[test]
fn a_panicked_collector_ends_the_exporter_rather_than_serving_stale_figures() {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpudock"))
        .args([
            "export",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--docker-host",
            "unix:///nonexistent.sock",
        ])
        .arg("--nvml-lib")
        .arg(lib(Variant::Full))
        .args(["--log-file", "/dev/null"])
        .env("GPUDOCK_FAULT", "panic-in-sampler")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the exporter kept running after its sampler panicked");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(101));
}

#[test]
fn hostname_names_the_node_in_every_series() {
    let ex = Exporter::start_with(
        "unix:///nonexistent/docker.sock",
        Path::new("/nonexistent/libnvidia-ml.so.1"),
        None,
        &["--hostname", "dgx-07"],
    );
    let body = ex.scrape_until(5, "the scrape", |b| b.contains("gpudock_up"));
    let up = body.lines().find(|l| l.starts_with("gpudock_up{")).unwrap_or_default();
    assert_eq!(up, "gpudock_up{Hostname=\"dgx-07\"} 1", "{body}");
}

/// The same fake node read through every surface: the dashboard's state, `snapshot --json`,
/// `export` and `doctor` give each GPU the same state (free, busy, held, broken).
#[test]
fn every_surface_gives_each_gpu_the_same_state() {
    let _g = common::fake_nvml::lock();
    let me = std::process::id();
    let text = format!(
        "driver 550.54.15\ncuda 12040\n{}{}{}{}\
         proc 1 pid={me} used=8589934592 sm=70\nproc 2 pid=4194999 used=2147483648 sm=0\n",
        gpu_line(0, "util_gpu=0 mem_used=0 throttle=0x40"),
        gpu_line(1, "util_gpu=70"),
        gpu_line(2, "util_gpu=0"),
        gpu_line(3, "util_gpu=0 mem_used=0 ecc_vol_uncorr=2"),
    );
    let cfg = FakeConfig::new("surfaces", &text);
    let want = ["free", "busy", "held", "broken"];
    let dead = "unix:///nonexistent/docker.sock";

    // The dashboard: the real sampler path into the app state.
    cfg.activate();
    let mut backend =
        gpudock::gpu::nvml::NvmlBackend::open(Some(&lib(Variant::Full))).unwrap_or_else(|e| panic!("{e}"));
    let snap = backend.sample(gpudock::clock::unix_now()).unwrap_or_else(|e| panic!("{e}"));
    let mut app = gpudock::app::AppState::new(&gpudock::config::Config::default(), dead.into());
    app.update(gpudock::msg::Msg::Gpu(gpudock::gpu::GpuEvent::Snapshot(snap)));
    let dashboard: Vec<&str> =
        (0..4).map(|i| app.gpu.assessment(i).map_or("?", |a| a.state.as_str())).collect();
    assert_eq!(dashboard, want, "dashboard");
    assert_eq!(app.gpu.assessment(0).map(|a| a.warnings()), Some(vec!["throttled: hw thermal".to_string()]));

    // snapshot --json
    let out = Command::new(env!("CARGO_BIN_EXE_gpudock"))
        .args(["snapshot", "--json", "--docker-host", dead, "--nvml-lib"])
        .arg(lib(Variant::Full))
        .env("FAKE_NVML_CONFIG", &cfg.path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let snapshot: Vec<&str> = (0..4).map(|i| doc["gpus"][i]["state"].as_str().unwrap_or("?")).collect();
    assert_eq!(snapshot, want, "snapshot --json");
    assert_eq!(doc["gpus"][3]["faults"], serde_json::json!(["ECC uncorrected 2"]));
    let hidden = &doc["gpus"][2]["processes"][0];
    assert_eq!(hidden["presence"], "not_visible", "{hidden}");

    // export
    let ex = Exporter::start(dead, &lib(Variant::Full), Some(&cfg));
    let body = ex.scrape_until(10, "GPU states", |b| b.contains("gpudock_gpu_state{"));
    let export: Vec<String> = (0..4)
        .map(|i| {
            let on = lines(&body, "gpudock_gpu_state", &[&format!("gpu=\"{i}\"")]);
            let set: Vec<&str> = on.into_iter().filter(|l| value(l) == 1.0).collect();
            assert_eq!(set.len(), 1, "one state per GPU: {set:?}");
            set[0].split("state=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("?").to_string()
        })
        .collect();
    assert_eq!(export, want, "export");
    let host = lines(&body, "gpudock_host_gpu_memory_used_bytes", &["gpu=\"2\""]);
    assert!(host.iter().any(|l| l.contains("user=\"(not visible here: other PID namespace)\"")), "{body}");
    drop(ex);

    // doctor: the broken GPU by name, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_gpudock"))
        .args(["doctor", "--json", "--docker-host", dead, "--nvml-lib"])
        .arg(lib(Variant::Full))
        .env("FAKE_NVML_CONFIG", &cfg.path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let findings = doc["findings"].as_array().cloned().unwrap_or_default();
    let health = findings.iter().find(|f| f["check"] == "GPU health").cloned().unwrap_or_default();
    assert_eq!(health["level"], "fail", "{health}");
    let detail = health["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("GPU 3 (NVIDIA H100 80GB HBM3): ECC uncorrected 2"), "{detail}");
    for other in ["GPU 0 (NVIDIA H100 80GB HBM3): ECC", "GPU 1 (", "GPU 2 ("] {
        assert!(!detail.contains(other), "only GPU 3 is broken: {detail}");
    }
    assert!(detail.contains("warnings: GPU 0 (NVIDIA H100 80GB HBM3): throttled: hw thermal"), "{detail}");
}

/// Idle tracking survives a restart: the state file under `$XDG_STATE_HOME/gpudock/` is written
/// when the idle state changes and on exit, and the next run keeps the idle start it read.
#[test]
fn idle_start_survives_a_restart() {
    let state = std::env::temp_dir().join(format!("gpudock-xdg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let me = std::process::id();
    // This test process, as the fake driver's GPU process: /proc shows it, with a start time.
    let cfg = FakeConfig::new(
        "idle-restart",
        &format!(
            "driver 550.54.15\ncuda 12040\n{}proc 0 pid={me} used=1073741824 sm=0\n",
            gpu_line(0, "util_gpu=0")
        ),
    );
    let file = state.join("gpudock").join("idle-export.json");
    let since = |text: &str| -> Option<i64> {
        let doc: serde_json::Value = serde_json::from_str(text).ok()?;
        let entry = doc["idle"].as_array()?.iter().find(|e| e["pid"] == me)?.clone();
        entry["since"].as_i64()
    };
    let run = || {
        let ex = Exporter::start_env(
            "unix:///nonexistent/docker.sock",
            &lib(Variant::Full),
            Some(&cfg),
            &[],
            &[("XDG_STATE_HOME", state.as_path())],
        );
        ex.scrape_until(10, "a GPU sample", |b| b.contains("gpudock_gpu_state{"));
        ex
    };
    let mut first = run();
    let deadline = Instant::now() + Duration::from_secs(10);
    let started = loop {
        if let Some(t) = std::fs::read_to_string(&file).ok().as_deref().and_then(since) {
            break t;
        }
        assert!(Instant::now() < deadline, "no idle state written; log:\n{}", first.log_text());
        std::thread::sleep(Duration::from_millis(100));
    };
    let pid = i32::try_from(first.child.id()).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: kill(2) on the child we started and still own.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let _ = first.child.wait();
    std::thread::sleep(Duration::from_millis(1100));
    let mut second = run();
    let pid = i32::try_from(second.child.id()).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let _ = second.child.wait();
    let after = std::fs::read_to_string(&file).ok().as_deref().and_then(since);
    assert_eq!(after, Some(started), "the restart kept the idle start, not its own start time");
    let _ = std::fs::remove_dir_all(&state);
}

/// A local user floods the exporter with idle connections under the common 1,024-file limit:
/// Prometheus' scrapes are still answered, the engine stays up with every container series, the
/// exporter holds a few dozen descriptors, and the log does not fill with accept errors.
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[test]
fn a_connection_flood_starves_neither_scrapes_nor_the_engine() {
    let host = common::engine::engine();
    let c = common::engine::TestContainer::run("export-flood", &["sleep", "300"]);
    let ex = Exporter::start_limited(
        &host.to_string(),
        Path::new("/nonexistent/libnvidia-ml.so.1"),
        None,
        &[],
        Some(1024),
    );
    let name = format!("container=\"{}\"", c.name);
    ex.scrape_until(15, "the container exported", |b| {
        !lines(b, "gpudock_container_info", &[&name]).is_empty()
    });
    let flood = hostile::Flood::start(ex.port, 1500);
    let end = Instant::now() + Duration::from_secs(30);
    while flood.opened.load(std::sync::atomic::Ordering::Relaxed) < 1500 {
        assert!(Instant::now() < end, "the flood never opened its connections");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Several refreshes under the flood: the engine connection must keep working.
    std::thread::sleep(Duration::from_secs(2));
    let (status, body) = ex.get("/metrics");
    assert_eq!(status, 200, "{body}");
    assert_eq!(lines(&body, "gpudock_engine_up", &[]).iter().map(|l| value(l)).sum::<f64>(), 1.0, "{body}");
    assert_eq!(lines(&body, "gpudock_container_info", &[&name]).len(), 1, "{body}");
    let fds = std::fs::read_dir(format!("/proc/{}/fd", ex.child.id())).map(|d| d.count()).unwrap_or(0);
    assert!(fds < 200, "the exporter holds {fds} descriptors");
    drop(flood);
    let log = ex.log_text();
    assert!(log.matches("accept failed").count() <= 1, "{log}");
}
