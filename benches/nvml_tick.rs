//! The sampler's per-tick path on a busy node: one NVML sample of 8 GPUs with every health
//! field, MIG off, and 500 GPU processes (real NVML calls through nvml-wrapper's dlopen, into
//! the fake driver in tests/fake_nvml), then the join onto containers and the app's apply (idle
//! tracking, alerts). Target: well under the 1 s beat; the README's performance table has the
//! figures.
//!
//! The fake re-checks its config file's stat on every call, so the NVML part is an upper bound
//! of what a real driver's user-space costs for the same calls.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use gpudock::app::AppState;
use gpudock::config::Config;
use gpudock::docker::ContainerId;
use gpudock::gpu::GpuEvent;
use gpudock::gpu::model::usage_by_container;
use gpudock::gpu::nvml::NvmlBackend;
use gpudock::msg::Msg;

#[path = "common/fake_nvml.rs"]
mod fake_nvml;

/// 8 GPUs with health fields, and `procs` compute processes spread over them; this process's
/// own PID among them so the /proc path is exercised for real.
fn config(procs: u32) -> String {
    let mut text = fake_nvml::gpus();
    let me = std::process::id();
    for p in 0..procs {
        let pid = if p == 0 { me } else { 100_000 + p };
        text.push_str(&format!("proc {} pid={pid} used=1073741824 sm={}\n", p % 8, p % 90));
    }
    text
}

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-nvml");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let lib = fake_nvml::lib(&dir);
    for procs in [50u32, 500] {
        let cfg = dir.join(format!("busy-{procs}.conf"));
        std::fs::write(&cfg, config(procs)).unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: set before any NVML call of this benchmark; nothing else reads it.
        unsafe { std::env::set_var("FAKE_NVML_CONFIG", &cfg) };
        let mut backend = NvmlBackend::open(Some(&lib)).unwrap_or_else(|e| panic!("{e}"));
        let mut app = AppState::new(&Config::default(), "unix:///var/run/docker.sock".into());
        let mut at = 1_795_958_337;
        c.bench_function(&format!("tick: NVML sample of 8 GPUs with health, {procs} processes"), |b| {
            b.iter(|| black_box(backend.sample(at).unwrap_or_else(|e| panic!("{e}"))))
        });
        // The fake's PIDs live in no container: give each one, as on a node where every GPU
        // process runs in a container (two processes to a container).
        let mut snap = backend.sample(at).unwrap_or_else(|e| panic!("{e}"));
        for (k, p) in snap.gpus.iter_mut().flat_map(|g| g.processes.iter_mut()).enumerate() {
            p.container_id = Some(ContainerId::new(format!("{:064x}", k / 2)));
        }
        c.bench_function(
            &format!("tick: attribution (GPU processes to containers), {procs} processes"),
            |b| b.iter(|| black_box(usage_by_container(black_box(&snap.gpus)))),
        );
        c.bench_function(&format!("tick: sample + attribution + app apply, {procs} processes"), |b| {
            b.iter(|| {
                at += 1;
                // The fake's PIDs live in no container: give each one, as on a node where every GPU
                // process runs in a container (two processes to a container).
                let mut snap = backend.sample(at).unwrap_or_else(|e| panic!("{e}"));
                for (k, p) in snap.gpus.iter_mut().flat_map(|g| g.processes.iter_mut()).enumerate() {
                    p.container_id = Some(ContainerId::new(format!("{:064x}", k / 2)));
                }
                black_box(usage_by_container(&snap.gpus));
                app.update(Msg::Gpu(GpuEvent::Snapshot(snap)))
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
