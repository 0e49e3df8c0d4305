//! The two hot paths of a busy node: drawing one frame with 8 GPUs and 500 containers, and
//! applying a 500-container listing to the state. Targets: both under 1 ms.

mod common;

use common::{NOW, id};
use std::collections::HashMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gpudock::app::AppState;
use gpudock::config::Config;
use gpudock::docker::EngineEvent;
use gpudock::docker::gpus::GpuRequest;
use gpudock::docker::{Container, ContainerId, ContainerStats};
use gpudock::gpu::GpuEvent;
use gpudock::gpu::{GpuProcess, GpuSample, GpuSnapshot, ProcessKind};
use gpudock::msg::Msg;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn containers(n: usize) -> Vec<Container> {
    common::containers(n, |i| if i % 3 == 0 { GpuRequest::Count(1) } else { GpuRequest::None })
}

fn gpus(n: u32) -> GpuSnapshot {
    GpuSnapshot {
        at: NOW,
        driver_version: Some("550.54.15".into()),
        cuda_version: Some("12.4".into()),
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
                        command: None,
                        user: None,
                        ..Default::default()
                    })
                    .collect(),
                lost: None,
                ..Default::default()
            })
            .collect(),
    }
}

fn busy_app(n: usize) -> AppState {
    let mut app = AppState::new(&Config::default(), "unix:///var/run/docker.sock".into());
    app.update(Msg::Engine(EngineEvent::Connected(Box::default())));
    let list = containers(n);
    let stats: HashMap<ContainerId, ContainerStats> = list
        .iter()
        .map(|c| {
            (
                c.id.clone(),
                ContainerStats {
                    cpu_percent: Some(12.5),
                    mem_used: Some(1 << 30),
                    mem_limit: Some(64 << 30),
                },
            )
        })
        .collect();
    app.update(Msg::Engine(EngineEvent::Containers(list)));
    app.update(Msg::Engine(EngineEvent::Stats { at: NOW, stats }));
    for _ in 0..60 {
        app.update(Msg::Gpu(GpuEvent::Snapshot(gpus(8))));
    }
    app
}

fn bench(c: &mut Criterion) {
    let app = busy_app(500);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("render 120x40, 8 GPUs, 500 containers", |b| {
        b.iter(|| {
            term.draw(|f| gpudock::ui::draw(f, black_box(&app))).unwrap_or_else(|e| panic!("{e}"));
        })
    });

    let list = containers(500);
    let mut app = busy_app(500);
    c.bench_function("update: apply a 500-container listing", |b| {
        b.iter_batched(
            || list.clone(),
            |l| app.update(Msg::Engine(EngineEvent::Containers(black_box(l)))),
            BatchSize::SmallInput,
        )
    });

    let mut app = busy_app(500);
    c.bench_function("update: apply an 8-GPU snapshot", |b| {
        b.iter_batched(
            || gpus(8),
            |s| app.update(Msg::Gpu(GpuEvent::Snapshot(black_box(s)))),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
