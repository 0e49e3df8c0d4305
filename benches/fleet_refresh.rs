//! One fleet refresh over N nodes (`FLEET_NODES`, default 100): gpudock's CPU time per refresh
//! and the bytes Prometheus sends. 90 % of the nodes in gpudock's format (8 GPUs with their state,
//! 2 containers each) and 10 % in dcgm-exporter's, all in one exposition file served on loopback
//! and scraped by a real `prometheus`, every second up to 200 nodes and every 5 s above
//! (`FLEET_SCRAPE_SECS`): a 70,000-series target takes longer than a second to scrape on 2 cores.
//! Run: `cargo test --bench fleet_refresh` (a debug build: an upper bound) or `cargo bench --bench fleet_refresh`;
//! `FLEET_NODES=1000 cargo test --bench fleet_refresh` for the 1,000-node fleet.
//! Targets: ≤ 20 ms CPU and ≤ 64 KB per refresh at 100 nodes; ≤ 50 ms and ≤ 512 KB at 1,000.
//! Skips (and says so) without `prometheus` on PATH.

#[path = "../tests/common/prom.rs"]
#[allow(dead_code)]
mod prom;

use std::fmt::Write;
use std::time::{Duration, Instant};

use gpudock::fleet::{History, PromClient, refresh_once};

const REFRESHES: u32 = 20;

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|e| panic!("{name}={v:?}: {e}")),
        Err(_) => default,
    }
}

fn exposition(nodes: usize) -> String {
    let dcgm_nodes = nodes / 10;
    let mut out = String::new();
    for n in 0..nodes {
        let host = format!("gpu-node-{n:03}");
        if n < nodes - dcgm_nodes {
            let _ = writeln!(out, "gpudock_up{{Hostname=\"{host}\"}} 1");
            for g in 0..8 {
                let l = format!(
                    "gpu=\"{g}\",UUID=\"GPU-{n:03}-{g}\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"{host}\""
                );
                let busy = (n + g) % 3 == 0;
                // Figures that differ from GPU to GPU, as a real fleet's do: uniform ones would
                // flatter the gzipped answers.
                let spread = ((n * 31 + g * 17) % 97) as f64;
                for (m, v) in [
                    ("memory_used_bytes", if busy { 40e9 + spread * 2.1e8 } else { 0.0 }),
                    ("memory_total_bytes", 85_899_345_920.0),
                    ("utilization_percent", if busy { 6.0 + spread } else { 0.0 }),
                    ("temperature_celsius", 30.0 + spread / 2.0),
                    ("power_watts", if busy { 300.0 + spread * 4.125 } else { 70.0 + spread / 8.0 }),
                    ("power_limit_watts", 700.0),
                    ("idle_held_processes", f64::from(u8::from(g == 7))),
                    ("xid_errors_total", 0.0),
                ] {
                    let _ = writeln!(out, "gpudock_gpu_{m}{{{l}}} {v}");
                }
                let now = if busy {
                    "busy"
                } else if g == 7 {
                    "held"
                } else {
                    "free"
                };
                for state in ["free", "held", "busy", "broken"] {
                    let _ = writeln!(
                        out,
                        "gpudock_gpu_state{{{l},state=\"{state}\"}} {}",
                        u8::from(state == now)
                    );
                }
            }
            for c in 0..2 {
                let l = format!(
                    "container=\"job-{n}-{c}\",container_id=\"{n:04}{c:060}\",image=\"nvcr.io/nvidia/pytorch:25.01-py3\",gpu=\"{c}\",UUID=\"GPU-{n:03}-{c}\",Hostname=\"{host}\""
                );
                let (mem, sm) = (1e10 + ((n * 7 + c) % 89) as f64 * 3.3e8, (n * 13 + c) % 101);
                let _ = writeln!(out, "gpudock_container_gpu_memory_used_bytes{{{l}}} {mem}");
                let _ = writeln!(out, "gpudock_container_gpu_sm_percent{{{l}}} {sm}");
            }
        } else {
            for g in 0..8 {
                let l = format!(
                    "gpu=\"{g}\",UUID=\"GPU-{n:03}-{g}\",device=\"nvidia{g}\",modelName=\"NVIDIA L40S\",Hostname=\"{host}\",DCGM_FI_DRIVER_VERSION=\"550.54.15\""
                );
                let spread = (n * 31 + g * 17) % 97;
                for (m, v) in [
                    ("FB_USED", 20000 + spread * 100),
                    ("FB_FREE", 26060 - spread * 100),
                    ("GPU_UTIL", spread),
                    ("POWER_USAGE", 100 + spread * 3),
                    ("GPU_TEMP", 30 + spread / 2),
                ] {
                    let _ = writeln!(out, "DCGM_FI_DEV_{m}{{{l}}} {v}");
                }
            }
        }
    }
    out
}

fn cpu_seconds() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills a struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn main() {
    let Some(bin) = prom::prometheus_binary() else {
        println!("fleet_refresh: SKIPPED, no prometheus on PATH");
        return;
    };
    let nodes = env_number("FLEET_NODES", 100);
    let scrape = env_number("FLEET_SCRAPE_SECS", if nodes > 200 { 5 } else { 1 });
    let server = prom::Exposition::serve(exposition(nodes));
    let p = prom::Prometheus::start_every(&bin, &[&server.addr], scrape as u32);
    // "up" once the first scrape is in whole: every node's series are there from then on.
    p.wait_for("/api/v1/targets?state=active", |b| b.contains(r#""health":"up""#), Duration::from_secs(120));
    // Everything on this thread: its CPU time is gpudock's whole cost of a refresh.
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("{e}"));
    let client = PromClient::new(&p.url, None).unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let once =
        |h: &mut History| rt.block_on(refresh_once(&client, None, h)).unwrap_or_else(|e| panic!("{e}"));
    let mut snap = once(&mut History::default());
    while snap.nodes.len() < nodes && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(300));
        snap = once(&mut History::default());
    }
    assert_eq!(snap.nodes.len(), nodes, "every node in the fleet");
    // What each query costs, for the report.
    use gpudock::fleet::queries;
    let now = gpudock::clock::unix_now() as f64;
    for (name, q) in [
        ("node_stats", queries::node_stats()),
        ("top_containers", queries::top_containers()),
        ("node_gpus", queries::node_gpus("gpu-node-042")),
        ("node_containers", queries::node_containers("gpu-node-042")),
    ] {
        let (_, b) = rt.block_on(client.query(&q, None)).unwrap_or_else(|e| panic!("{e}"));
        // The same answer unpacked: what a client without gzip would read.
        let encoded = percent_encoding::utf8_percent_encode(&q, percent_encoding::NON_ALPHANUMERIC);
        // A busy Prometheus may take longer than `get`'s 5 s per read: asked again.
        let json = (0..3).find_map(|_| p.get(&format!("/api/v1/query?query={encoded}")));
        let json = json.map_or_else(|| "no answer".into(), |j| format!("{:.1} KB", j.len() as f64 / 1024.0));
        println!("  {name}: {:.1} KB gzipped ({json} of JSON)", b as f64 / 1024.0);
    }
    let step = f64::from(queries::STEP_SECS);
    let end = (now / step).floor() * step;
    let hist = queries::util_history();
    let range = client.query_range(&hist, end - f64::from(queries::HISTORY_SECS), end, queries::STEP_SECS);
    let (_, b) = rt.block_on(range).unwrap_or_else(|e| panic!("{e}"));
    println!("  util_history (range): {:.1} KB", b as f64 / 1024.0);
    for (label, focus) in [("overview", None), ("with a node open", Some("gpu-node-042"))] {
        let mut history = History::default();
        let (mut cpu, mut wall, mut first, mut steady, mut queries) = (0.0, Duration::ZERO, 0, 0, 0);
        for i in 0..REFRESHES {
            let (c0, w0) = (cpu_seconds(), Instant::now());
            let s = rt.block_on(refresh_once(&client, focus, &mut history)).unwrap_or_else(|e| panic!("{e}"));
            cpu += cpu_seconds() - c0;
            wall += w0.elapsed();
            if i == 0 {
                first = s.bytes;
            } else {
                steady = steady.max(s.bytes);
                queries = queries.max(s.queries);
            }
        }
        println!(
            "fleet_refresh {nodes} nodes, {label}: {queries} queries, {:.2} ms gpudock CPU and {:.1} ms wall per refresh; \
             {:.1} KB from Prometheus per refresh (first refresh {:.1} KB)",
            cpu * 1e3 / f64::from(REFRESHES),
            wall.as_secs_f64() * 1e3 / f64::from(REFRESHES),
            steady as f64 / 1024.0,
            first as f64 / 1024.0
        );
    }
    // A full history is 21 points per node: the same count as 21 s of this server's 1 s scrapes
    // at a 1 s step, which is what the first refresh of a long-running Prometheus reads.
    std::thread::sleep(Duration::from_secs(21).saturating_sub(started.elapsed()));
    let now = gpudock::clock::unix_now() as f64;
    let full = client.query_range(&hist, now - 20.0, now, 1);
    let (_, b) = rt.block_on(full).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "  a full 21-point history for {nodes} nodes: {:.1} KB (read once, at start)",
        b as f64 / 1024.0
    );
}
