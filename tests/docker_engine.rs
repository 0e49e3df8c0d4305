//! The Docker collector against a real engine: live list through events, state changes,
//! removal, CPU/memory from cgroup files, and recovery when the engine comes back.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::engine::{TestContainer, engine};
use gpudock::docker::EngineEvent;
use gpudock::docker::cgroup::CgroupReader;
use gpudock::docker::collector::DockerCollector;
use gpudock::docker::{Container, ContainerId, ContainerState, ContainerStats, DockerHost};
use gpudock::msg::Msg;
use tokio::sync::mpsc;

struct Feed {
    rx: mpsc::Receiver<Msg>,
    containers: Vec<Container>,
    /// Every list received, in order.
    lists: Vec<Vec<Container>>,
    stats: HashMap<ContainerId, ContainerStats>,
    connected: bool,
    down_reason: Option<String>,
}

impl Feed {
    fn start(host: DockerHost, refresh: Duration) -> Feed {
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(DockerCollector::new(host, refresh, tx).run());
        Feed {
            rx,
            containers: Vec::new(),
            lists: Vec::new(),
            stats: HashMap::new(),
            connected: false,
            down_reason: None,
        }
    }

    /// Reads messages until `done` holds or `limit` passes; returns whether it held.
    async fn until(&mut self, limit: Duration, mut done: impl FnMut(&Feed) -> bool) -> bool {
        let end = Instant::now() + limit;
        while !done(self) {
            let left = end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(Msg::Engine(m))) => match m {
                    EngineEvent::Connected(_) => {
                        self.connected = true;
                        self.down_reason = None;
                    }
                    EngineEvent::Down { reason, .. } => {
                        self.connected = false;
                        self.down_reason = Some(reason);
                    }
                    EngineEvent::Containers(list) => {
                        self.lists.push(list.clone());
                        self.containers = list;
                    }
                    EngineEvent::Stats { stats, .. } => self.stats = stats,
                    EngineEvent::Connecting { .. } | EngineEvent::RootFs { .. } => {}
                },
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return done(self),
            }
        }
        true
    }

    fn find(&self, id: &str) -> Option<&Container> {
        self.containers.iter().find(|c| c.id == id)
    }
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_run_stop_and_rm_within_two_seconds() {
    let host = engine();
    let mut feed = Feed::start(host, Duration::from_secs(1));
    assert!(
        feed.until(Duration::from_secs(10), |f| f.connected).await,
        "never connected: {:?}",
        feed.down_reason
    );
    // Let the initial listing arrive before the container exists, so what follows is events.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let c = TestContainer::run("follow", &["sleep", "300"]);
    let t = Instant::now();
    assert!(
        feed.until(Duration::from_secs(2), |f| f
            .find(&c.id)
            .is_some_and(|x| x.state == ContainerState::Running))
            .await,
        "new container not seen running within 2 s"
    );
    let seen = feed.find(&c.id).cloned().unwrap_or_else(|| panic!("vanished"));
    eprintln!("appeared after {:?}", t.elapsed());
    assert_eq!(seen.name, c.name);
    assert_eq!(seen.image, common::engine::IMAGE);
    assert!(seen.pid.is_some_and(|p| p > 0));
    assert!(seen.started_at.is_some());

    // busybox sleep as PID 1 ignores SIGTERM: a 0 s grace period makes the stop immediate.
    common::engine::docker(&["stop", "-t", "0", &c.id]);
    assert!(
        feed.until(Duration::from_secs(2), |f| f
            .find(&c.id)
            .is_some_and(|x| x.state == ContainerState::Exited))
            .await,
        "stop not seen within 2 s"
    );
    let stopped = feed.find(&c.id).cloned().unwrap_or_else(|| panic!("vanished"));
    assert_eq!(stopped.exit_code, Some(137));
    assert_eq!(stopped.pid, None);

    common::engine::docker(&["rm", &c.id]);
    assert!(
        feed.until(Duration::from_secs(2), |f| f.find(&c.id).is_none()).await,
        "removal not seen within 2 s"
    );
}

/// A session's first listing goes out before its inspects, marked pending; the inspected list
/// follows, and later lists are never pending.
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_listing_comes_before_its_inspects_and_the_details_follow() {
    let c = TestContainer::run("early", &["sleep", "300"]);
    let mut feed = Feed::start(engine(), Duration::from_secs(1));
    assert!(
        feed.until(Duration::from_secs(10), |f| f.find(&c.id).is_some_and(|x| !x.pending)).await,
        "the inspected list never came: {:?}",
        feed.down_reason
    );
    let first =
        feed.lists[0].iter().find(|x| x.id == c.id.as_str()).cloned().unwrap_or_else(|| panic!("not listed"));
    assert!(first.pending, "{first:?}");
    assert_eq!((first.name.as_str(), first.state), (c.name.as_str(), ContainerState::Running));
    assert_eq!((first.pid, first.started_at), (None, None), "known only from the inspect");
    let done = feed.find(&c.id).cloned().unwrap_or_else(|| panic!("vanished"));
    assert!(done.pid.is_some() && done.started_at.is_some(), "{done:?}");
    assert!(feed.lists[1..].iter().flatten().all(|x| !x.pending), "only the first list is pending");
}

/// The listing can still say "running" just after the `die` event; the row must not stay so.
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_container_is_shown_exited_within_two_seconds_every_time() {
    let host = engine();
    let mut feed = Feed::start(host, Duration::from_secs(1));
    assert!(feed.until(Duration::from_secs(10), |f| f.connected).await, "never connected");
    for cycle in 0..20u64 {
        let c = TestContainer::run(&format!("kill{cycle}"), &["sleep", "3600"]);
        assert!(
            feed.until(Duration::from_secs(3), |f| f
                .find(&c.id)
                .is_some_and(|x| x.state == ContainerState::Running))
                .await,
            "cycle {cycle}: not seen running"
        );
        // About a second after the start, as a person would.
        tokio::time::sleep(Duration::from_millis(600 + cycle * 37 % 500)).await;
        common::engine::docker(&["kill", &c.id]);
        let t = Instant::now();
        let exited = feed
            .until(Duration::from_secs(2), |f| {
                f.find(&c.id).is_some_and(|x| x.state == ContainerState::Exited)
            })
            .await;
        let state = feed.find(&c.id).map(|x| x.state);
        assert!(exited, "cycle {cycle}: still {state:?} {:?} after the kill", t.elapsed());
    }
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_container_has_cpu_and_memory_matching_the_engine() {
    let host = engine();
    let c = TestContainer::run("busy", &["sh", "-c", "while :; do :; done"]);
    let mut feed = Feed::start(host.clone(), Duration::from_millis(500));
    let ok = feed
        .until(Duration::from_secs(10), |f| {
            f.stats.get(c.id.as_str()).is_some_and(|s| s.cpu_percent.is_some_and(|p| p > 10.0))
        })
        .await;
    let s = feed.stats.get(c.id.as_str()).copied();
    assert!(ok, "busy container shows no CPU: {s:?}");
    let s = s.unwrap_or_default();
    assert!(s.mem_used.is_some_and(|m| m > 0), "{s:?}");
    assert!(s.mem_limit.is_some_and(|l| l > 0), "{s:?}");

    // The cgroup counters and the engine's own one-shot stats describe the same thing.
    let reader = CgroupReader::default();
    let paths = reader.resolve(c.pid(), &c.id).unwrap_or_else(|e| panic!("{e}"));
    let docker = gpudock::docker::connect(&host).await.unwrap_or_else(|e| panic!("{e}"));
    let before = reader.read(&paths).unwrap_or_else(|e| panic!("{e}"));
    let opts = bollard::query_parameters::StatsOptions { stream: false, one_shot: true };
    use futures_util::StreamExt;
    let api = docker
        .stats(&c.id, Some(opts))
        .next()
        .await
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("no stats"));
    let after = reader.read(&paths).unwrap_or_else(|e| panic!("{e}"));
    let api_cpu = api.cpu_stats.and_then(|c| c.cpu_usage).and_then(|u| u.total_usage).unwrap_or(0);
    assert!(
        (before.cpu_usage_ns..=after.cpu_usage_ns).contains(&api_cpu),
        "engine CPU {api_cpu} outside cgroup readings {} ..= {}",
        before.cpu_usage_ns,
        after.cpu_usage_ns
    );
    let mem = api.memory_stats.unwrap_or_default();
    let inactive = mem
        .stats
        .as_ref()
        .and_then(|s| s.get("total_inactive_file").or(s.get("inactive_file")).copied())
        .unwrap_or(0);
    let api_mem = mem.usage.unwrap_or(0).saturating_sub(inactive);
    let diff = api_mem.abs_diff(after.mem_used);
    assert!(diff <= 1 << 20, "memory differs by {diff} bytes: engine {api_mem}, cgroup {}", after.mem_used);
}

/// A socket that forwards to the real engine, so a test can make "the engine" vanish and
/// come back without touching the daemon other tests use.
struct Proxy {
    task: tokio::task::JoinHandle<()>,
    path: PathBuf,
}

impl Proxy {
    fn start(path: PathBuf, target: PathBuf) -> Proxy {
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path).unwrap_or_else(|e| panic!("{e}"));
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                conns.spawn(async move {
                    if let Ok(mut upstream) = tokio::net::UnixStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
        Proxy { task, path }
    }

    /// Dropping the accept task drops the JoinSet, which aborts every forwarded connection.
    fn kill(self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_a_missing_engine_and_recovers_when_it_returns() {
    let DockerHost::Unix(real) = engine() else { panic!("this test needs a unix-socket engine") };
    let path = std::env::temp_dir().join(format!("gpudock-proxy-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut feed = Feed::start(DockerHost::Unix(path.clone()), Duration::from_secs(1));
    assert!(feed.until(Duration::from_secs(5), |f| f.down_reason.is_some()).await);
    let reason = feed.down_reason.clone().unwrap_or_default();
    assert!(reason.contains("not found") || reason.contains("running"), "unhelpful reason: {reason}");

    let proxy = Proxy::start(path.clone(), real.clone());
    let t = Instant::now();
    assert!(feed.until(Duration::from_secs(6), |f| f.connected).await, "did not recover");
    assert!(t.elapsed() <= Duration::from_secs(5), "recovery took {:?}", t.elapsed());

    proxy.kill();
    assert!(feed.until(Duration::from_secs(5), |f| !f.connected).await, "engine loss not noticed");
    let proxy = Proxy::start(path.clone(), real);
    let t = Instant::now();
    assert!(feed.until(Duration::from_secs(6), |f| f.connected).await, "did not recover the second time");
    assert!(t.elapsed() <= Duration::from_secs(5), "second recovery took {:?}", t.elapsed());
    proxy.kill();
}

/// Under CI the engine tests must run, never be skipped for want of an engine.
#[test]
fn engine_tests_are_compiled_in_under_ci() {
    let compiled_in = cfg!(engine_tests);
    if std::env::var_os("CI").is_some() && !compiled_in {
        panic!(
            "CI is set but GPUDOCK_TEST_DOCKER_HOST was not when the tests were built: the engine tests would be skipped"
        );
    }
}

/// `gpudock doctor` on this machine: an engine without the NVIDIA runtime must fail (exit 2)
/// and say how to fix it; `--json` is for scripts.
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[test]
fn doctor_names_the_missing_nvidia_runtime_and_the_fix() {
    let host = engine();
    let run = |json: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gpudock"));
        cmd.args([
            "doctor",
            "--docker-host",
            &host.to_string(),
            "--nvml-lib",
            "/nonexistent/libnvidia-ml.so.1",
        ]);
        cmd.args([
            "--daemon-json",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/daemon-nvidia-default.json"),
        ]);
        if json {
            cmd.arg("--json");
        }
        cmd.output().unwrap_or_else(|e| panic!("{e}"))
    };
    let out = run(false);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL  nvidia runtime"), "{text}");
    assert!(text.contains("edited but not restarted"), "the fixture names the runtime: {text}");
    let out = run(true);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc["exit_code"], 2);
    let findings = doc["findings"].as_array().cloned().unwrap_or_default();
    let engine_ok = findings.iter().any(|f| f["check"] == "Docker engine" && f["level"] == "ok");
    assert!(engine_ok, "{findings:?}");
    let rt = findings.iter().find(|f| f["check"] == "nvidia runtime").cloned().unwrap_or_default();
    assert_eq!(rt["level"], "fail");
    assert!(rt["fix"].as_str().is_some_and(|f| f.contains("restart docker")), "{rt}");
}

/// bollard sends `/events` only when the stream is first polled, after the first listing. A
/// container that starts and exits in between must still arrive: the subscription starts from
/// the engine's clock read before the listing.
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_before_the_subscription_went_out_are_not_missed() {
    use futures_util::StreamExt;
    use gpudock::docker::events;
    let host = engine();
    let docker = gpudock::docker::connect(&host).await.unwrap_or_else(|e| panic!("{e}"));
    let info = docker.info().await.unwrap_or_else(|e| panic!("{e}"));
    let since = events::engine_clock(info.system_time.as_deref());
    let since = since.unwrap_or_else(|| panic!("the engine's clock is unreadable: {:?}", info.system_time));
    // Starts and exits before anything subscribes.
    let c = TestContainer::run("before-subscribe", &["true"]);
    let mut stream = events::subscribe(&docker, &since);
    let end = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !(seen.contains(&"start".to_string()) && seen.contains(&"die".to_string())) {
        let left = end.saturating_duration_since(Instant::now());
        let ev = match tokio::time::timeout(left, stream.next()).await {
            Ok(Some(Ok(ev))) => ev,
            other => panic!("missed the events of {}: saw {seen:?}, then {other:?}", c.name),
        };
        if ev.actor.and_then(|a| a.id).as_deref() == Some(c.id.as_str()) {
            seen.extend(ev.action);
        }
    }
}
