//! The per-tick path of a busy node at N = 50 and 500 running containers, stage by stage:
//! reading every container's cgroup counters (the collector's sampler, on real kernel cgroups),
//! applying the stats to the app, applying a listing and a GPU snapshot, and drawing a frame.
//! The README's performance table has the figures and the cost per container.
//!
//! The cgroup stage needs root and cgroup v1 (this project's machine class): it makes N memory
//! and cpuacct cgroups under `gpudock-bench/`, each holding one `sleep`, and removes them after.
//! Elsewhere it says why it is skipped and the other stages still run.

mod common;

use common::{NOW, id};
use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gpudock::app::AppState;
use gpudock::config::Config;
use gpudock::docker::EngineEvent;
use gpudock::docker::gpus::GpuRequest;
use gpudock::docker::stats::StatsSampler;
use gpudock::docker::{Container, ContainerId, ContainerState, ContainerStats};
use gpudock::gpu::GpuEvent;
use gpudock::gpu::{GpuProcess, GpuSample, GpuSnapshot, ProcessKind};
use gpudock::msg::Msg;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZES: [usize; 2] = [50, 500];

fn containers(n: usize) -> Vec<Container> {
    common::containers(n, |i| if i % 3 == 0 { GpuRequest::Count(1) } else { GpuRequest::None })
}

fn gpus(n: u32) -> GpuSnapshot {
    GpuSnapshot {
        at: NOW,
        driver_version: Some("550.54.15".into()),
        cuda_version: Some("12.4".into()),
        topology: None,
        gpus: (0..n)
            .map(|index| GpuSample {
                index,
                name: "NVIDIA H100 80GB HBM3".into(),
                uuid: format!("GPU-{index}"),
                memory_used: Some(u64::from(index) << 33),
                memory_total: Some(80 << 30),
                util_gpu: Some(index * 11),
                util_memory: Some(index * 3),
                temperature_c: Some(40 + index),
                power_watts: Some(100.0 + f64::from(index) * 50.0),
                power_limit_watts: Some(700.0),
                sm_clock_mhz: Some(1980),
                mem_clock_mhz: Some(2619),
                fan_percent: None,
                processes: (0..4)
                    .map(|p| GpuProcess {
                        pid: 10_000 + index * 4 + p,
                        kind: ProcessKind::Compute,
                        memory_used: Some(4 << 30),
                        sm_percent: Some(20),
                        container_id: Some(id((index * 4 + p) as usize)),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    }
}

/// Stats for every running container; `tick` moves memory by a few pages, as a real tick does.
fn stats(list: &[Container], tick: u64) -> HashMap<ContainerId, ContainerStats> {
    list.iter()
        .filter(|c| c.state.is_running())
        .map(|c| {
            let s = ContainerStats {
                cpu_percent: Some(0.0),
                mem_used: Some((600 << 20) + (tick % 7) * 4096),
                mem_limit: Some(64 << 30),
            };
            (c.id.clone(), s)
        })
        .collect()
}

fn busy_app(n: usize) -> AppState {
    let mut app = AppState::new(&Config::default(), "unix:///var/run/docker.sock".into());
    app.update(Msg::Engine(EngineEvent::Connected(Box::default())));
    let list = containers(n);
    app.update(Msg::Engine(EngineEvent::Stats { at: NOW, stats: stats(&list, 0) }));
    app.update(Msg::Engine(EngineEvent::Containers(list)));
    for _ in 0..60 {
        app.update(Msg::Gpu(GpuEvent::Snapshot(gpus(8))));
    }
    app
}

/// N real cgroups (v1 memory + cpuacct), each with a `sleep` in it, removed on drop.
struct Cgroups {
    dirs: Vec<PathBuf>,
    children: Vec<Child>,
    containers: Vec<Container>,
}

impl Cgroups {
    fn make(n: usize) -> Result<Cgroups, String> {
        let root = Path::new("/sys/fs/cgroup");
        if !root.join("memory").is_dir() || !root.join("cpuacct").is_dir() {
            return Err("no cgroup v1 memory and cpuacct hierarchies".into());
        }
        let mut made = Cgroups { dirs: Vec::new(), children: Vec::new(), containers: containers(n) };
        for c in made.containers.iter_mut() {
            c.state = ContainerState::Running;
            let child = Command::new("sleep").arg("600").spawn().map_err(|e| format!("sleep: {e}"))?;
            let pid = child.id();
            made.children.push(child);
            for ctl in ["memory", "cpuacct"] {
                let dir = root.join(ctl).join("gpudock-bench").join(c.id.as_str());
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                made.dirs.push(dir.clone());
                std::fs::write(dir.join("cgroup.procs"), pid.to_string())
                    .map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            c.pid = Some(pid);
        }
        Ok(made)
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // A cgroup can go once its process has left it.
        for d in self.dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        for ctl in ["memory", "cpuacct"] {
            let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(ctl).join("gpudock-bench"));
        }
    }
}

fn bench_cgroups(c: &mut Criterion, rt: &tokio::runtime::Runtime, n: usize) {
    let groups = match Cgroups::make(n) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("skipping the cgroup stage at N = {n}: {e}");
            return;
        }
    };
    // Never asked: every container's counters are readable, so no stats call goes out. A
    // listener nobody accepts on stands in for an engine.
    let sock = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-never.sock");
    let _ = std::fs::remove_file(&sock);
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap_or_else(|e| panic!("{e}"));
    let docker = gpudock::docker::client(&gpudock::docker::DockerHost::Unix(sock.clone()))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sampler = StatsSampler::new(true);
    let first = rt.block_on(sampler.sample(&docker, &groups.containers));
    assert_eq!(first.len(), n, "every cgroup was read");
    c.bench_function(&format!("tick {n}: read every container's cgroup counters"), |b| {
        b.iter(|| black_box(rt.block_on(sampler.sample(&docker, black_box(&groups.containers)))))
    });
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for n in SIZES {
        bench_cgroups(c, &rt, n);

        let list = containers(n);
        let mut app = busy_app(n);
        let mut tick = 0;
        c.bench_function(&format!("tick {n}: update() with every container's stats"), |b| {
            b.iter_batched(
                || {
                    tick += 1;
                    stats(&list, tick)
                },
                |s| app.update(Msg::Engine(EngineEvent::Stats { at: NOW, stats: black_box(s) })),
                BatchSize::SmallInput,
            )
        });

        let mut app = busy_app(n);
        c.bench_function(&format!("tick {n}: update() with an 8-GPU snapshot"), |b| {
            b.iter_batched(
                || gpus(8),
                |s| app.update(Msg::Gpu(GpuEvent::Snapshot(black_box(s)))),
                BatchSize::SmallInput,
            )
        });

        let app = busy_app(n);
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap_or_else(|e| panic!("{e}"));
        c.bench_function(&format!("tick {n}: draw a 120x40 frame, 8 GPUs"), |b| {
            b.iter(|| {
                term.draw(|f| gpudock::ui::draw(f, black_box(&app))).unwrap_or_else(|e| panic!("{e}"));
            })
        });

        // Not per tick: the listing comes on events and every 30 s.
        let mut app = busy_app(n);
        c.bench_function(&format!("listing {n}: update() with the container list"), |b| {
            b.iter_batched(
                || list.clone(),
                |l| app.update(Msg::Engine(EngineEvent::Containers(black_box(l)))),
                BatchSize::SmallInput,
            )
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
