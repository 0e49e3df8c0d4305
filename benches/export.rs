//! One scrape of `gpudock export` on a busy node: 8 GPUs with every health field, 500 containers
//! (most running, each with a GPU process), host processes of a few users, idle tracking on.
//! The registry is built from the state and encoded, as a scrape does. Target: under 5 ms.

mod common;

use common::{NOW, id};
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use gpudock::docker::gpus::GpuRequest;
use gpudock::docker::{Container, EngineEvent};
use gpudock::export::State;
use gpudock::export::metrics::render;
use gpudock::gpu::{
    EccCounts, GpuEvent, GpuHealth, GpuProcess, GpuSample, GpuSnapshot, HostProcess, RemappedRows,
};

const CONTAINERS: usize = 500;
const GPUS: u32 = 8;

fn containers() -> Vec<Container> {
    let mut list =
        common::containers(CONTAINERS, |i| if i % 3 == 0 { GpuRequest::Count(1) } else { GpuRequest::All });
    for (i, c) in list.iter_mut().enumerate() {
        c.launched_by = (i % 2 == 0).then(|| "alice".into());
    }
    list
}

fn gpus() -> GpuSnapshot {
    let procs_per_gpu = CONTAINERS as u32 / GPUS + 1;
    GpuSnapshot {
        at: NOW,
        gpus: (0..GPUS)
            .map(|index| GpuSample {
                index,
                name: "NVIDIA H100 80GB HBM3".into(),
                uuid: format!("GPU-{index:08}-0000-0000-0000-000000000000"),
                memory_used: Some(u64::from(index) << 33),
                memory_total: Some(80 << 30),
                util_gpu: Some(index * 11),
                temperature_c: Some(40 + index),
                power_watts: Some(100.0 + f64::from(index) * 50.0),
                power_limit_watts: Some(700.0),
                health: GpuHealth {
                    ecc_volatile: EccCounts { corrected: Some(0), uncorrected: Some(0) },
                    ecc_aggregate: EccCounts { corrected: Some(12), uncorrected: Some(0) },
                    retired_pages: Some(0),
                    retired_pending: Some(false),
                    remapped_rows: Some(RemappedRows::default()),
                    throttle_reasons: Some(1),
                    pcie_gen: Some(5),
                    pcie_gen_max: Some(5),
                    pcie_width: Some(16),
                    pcie_width_max: Some(16),
                    ..Default::default()
                },
                processes: (0..procs_per_gpu)
                    .map(|p| {
                        let n = (index * procs_per_gpu + p) as usize;
                        GpuProcess {
                            pid: 10_000 + n as u32,
                            memory_used: Some(1 << 30),
                            sm_percent: Some(if n.is_multiple_of(5) { 0 } else { 20 }),
                            container_id: (n < CONTAINERS).then(|| id(n)),
                            user: Some(["alice", "bob", "carol"][n % 3].into()),
                            host: Some(HostProcess { start_time: n as u64, ..Default::default() }),
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn state() -> State {
    let mut s = State::new("gpu-node-07".into(), Duration::from_secs(60));
    s.apply(EngineEvent::Connected(Box::default()).into());
    s.apply(EngineEvent::Containers(containers()).into());
    for at in [NOW - 600, NOW] {
        s.apply(GpuEvent::Snapshot(GpuSnapshot { at, ..gpus() }).into());
    }
    s
}

fn scrape(c: &mut Criterion) {
    let s = std::sync::Arc::new(state());
    let text = render(&s);
    assert!(text.lines().count() > 2_000, "the bench state should export every container");
    c.bench_function("export_scrape_8gpus_500containers", |b| b.iter(|| black_box(render(black_box(&s)))));
}

criterion_group!(benches, scrape);
criterion_main!(benches);
