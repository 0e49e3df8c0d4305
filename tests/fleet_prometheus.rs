//! The fleet collector against a real Prometheus (Debian's `prometheus`) scraping loopback
//! exposition servers: two nodes in gpudock's format and one dcgm-exporter stand-in.
//! Without the binary the test says so and passes; with `CI` set it fails instead.

mod common;

use std::time::{Duration, Instant};

use common::prom::{Exposition, Prometheus, fixture, prometheus_binary};
use gpudock::fleet::{FleetSnapshot, History, PromClient, refresh_once};
use gpudock::gpu::state::State;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn fleet_against_a_real_prometheus() {
    let Some(bin) = prometheus_binary() else {
        assert!(std::env::var_os("CI").is_none(), "prometheus is not installed (apt-get install prometheus)");
        eprintln!("SKIPPED fleet_against_a_real_prometheus: no prometheus binary on PATH");
        return;
    };
    let mut a = Exposition::serve(fixture("node-a.prom"));
    let b = Exposition::serve(fixture("node-b.prom"));
    let c = Exposition::serve(fixture("dcgm.prom"));
    let mut prom = Prometheus::start(&bin, &[&a.addr, &b.addr, &c.addr]);
    prom.wait_for(
        "/api/v1/targets?state=active",
        |body| body.matches(r#""health":"up""#).count() == 3,
        Duration::from_secs(30),
    );
    let rt = runtime();
    let client = PromClient::new(&prom.url, None).unwrap_or_else(|e| panic!("{e}"));
    let history = std::cell::RefCell::new(History::default());
    let refresh = |focus: Option<&str>| -> FleetSnapshot {
        let mut h = history.borrow_mut();
        rt.block_on(refresh_once(&client, focus, &mut h)).unwrap_or_else(|e| panic!("{e}"))
    };

    // Targets are up after their first scrape; give the samples a moment to be queryable.
    let started = Instant::now();
    let mut snap = refresh(None);
    while snap.nodes.len() < 3 && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(200));
        snap = refresh(None);
    }
    // A fresh history: its first range step is now, after the samples arrived.
    *history.borrow_mut() = History::default();
    snap = refresh(None);
    assert_eq!(snap.queries, 4, "time, stats, top containers, history");
    let hosts: Vec<&str> = snap.nodes.iter().map(|n| n.hostname.as_str()).collect();
    assert_eq!(hosts, ["gpu-a", "gpu-b", "gpu-c"], "{snap:#?}");
    let node =
        |s: &FleetSnapshot, h: &str| s.nodes.iter().find(|n| n.hostname == h).cloned().unwrap_or_default();
    let na = node(&snap, "gpu-a");
    assert!(na.fresh, "{na:?}");
    // gpudock's own states: a0 busy, a1 held (idle, 8 GiB), a2 free, a3 broken.
    assert_eq!((na.gpus, na.busy, na.held, na.broken, na.idle_held, na.free()), (4, 1, 1, 1, 1, 1), "{na:?}");
    assert_eq!(na.mem_used, 48.0 * (1u64 << 30) as f64);
    assert_eq!(na.mem_total, 320.0 * (1u64 << 30) as f64);
    assert_eq!(na.top.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(), ["llama-finetune", "jupyter-alice"]);
    let nb = node(&snap, "gpu-b");
    // An exporter without state series: busy and held from utilization and memory.
    assert_eq!((nb.gpus, nb.busy, nb.held, nb.broken, nb.free()), (2, 1, 0, 0, 1), "{nb:?}");
    assert_eq!(nb.top.first().map(|t| t.0.as_str()), Some("triton-server"));
    assert_eq!((na.fabric_degraded, nb.fabric_degraded), (0, 1), "gpu-b's GPU 1 has a link down");
    let nc = node(&snap, "gpu-c");
    // dcgm node: c2 holds 38000 of 46060 MiB at 2 %: held by DCGM_FI_DEV_FB_USED, never free.
    // c3 (last XID 79, nothing held) and c4 (busy, 2 volatile double-bit ECC errors) are broken
    // by dcgm-exporter's own series, neither free nor busy; c1's XID 13 (an application's)
    // leaves it free.
    assert_eq!((nc.gpus, nc.busy, nc.held, nc.broken, nc.free()), (5, 1, 1, 2, 1), "dcgm node: {nc:?}");
    let mib = 30720.0 + 15340.0 + 46060.0 + 38000.0 + 8060.0 + 46080.0 + 10000.0 + 36060.0;
    assert_eq!(nc.mem_total, mib * 1_048_576.0);
    assert!((nc.power - 517.0).abs() < 1.0, "{nc:?}");
    assert_eq!(nc.top, [("llm-0".to_string(), 30720.0 * 1_048_576.0)], "a Kubernetes pod from dcgm's labels");
    assert_eq!(na.util_history.len(), 21);
    assert!(na.util_now().is_some(), "{na:?}");

    let detail = refresh(Some("gpu-a")).detail.unwrap_or_default();
    assert_eq!(detail.gpus.len(), 4);
    let states: Vec<Option<State>> = detail.gpus.iter().map(|g| g.state).collect();
    let want = [State::Busy, State::Held, State::Free, State::Broken].map(Some);
    assert_eq!(states, want, "the health column is gpudock's state");
    assert_eq!(detail.engine_up, Some(true));
    let names: Vec<&str> = detail.containers.iter().map(|c| c.name.as_str()).collect();
    // Host processes' memory too, a PID in another namespace named as such.
    assert_eq!(names, ["llama-finetune", "jupyter-alice", "host: (not visible here: other PID namespace)"]);
    assert_eq!(detail.containers[1].launched_by, "alice");
    let dc = refresh(Some("gpu-c")).detail.unwrap_or_default();
    assert_eq!(dc.gpus.len(), 5);
    let states: Vec<Option<State>> = dc.gpus.iter().map(|g| g.state).collect();
    assert_eq!(
        states,
        [State::Busy, State::Free, State::Held, State::Broken, State::Broken].map(Some),
        "dcgm's GPUs by the same thresholds and faults as the header"
    );
    assert_eq!(dc.gpus[3].xid, Some(79.0));
    assert_eq!(dc.gpus[4].dcgm_problems, [gpudock::gpu::state::Problem::EccUncorrected(2)]);
    assert_eq!(dc.driver.as_deref(), Some("550.54.15"));
    assert_eq!(dc.gpus[0].mem_total, Some((30720.0 + 15340.0) * 1_048_576.0));
    assert_eq!(dc.containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["ml/llm-0"]);

    // Node a's exporter goes away: within two scrape intervals its row is stale.
    a.stop();
    let started = Instant::now();
    let stale = loop {
        let s = refresh(None);
        let n = node(&s, "gpu-a");
        if !n.fresh {
            break n;
        }
        // Two 1 s scrape intervals, and a second for the queries themselves on a busy machine.
        assert!(started.elapsed() < Duration::from_secs(3), "gpu-a still fresh: {n:?}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(stale.gpus, 0, "a stale node's figures are gone: {stale:?}");
    assert!(node(&refresh(None), "gpu-b").fresh);

    prom.stop();
    let err = rt
        .block_on(refresh_once(&client, None, &mut History::default()))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("cannot reach Prometheus"), "{err}");
    drop((b, c));
}
