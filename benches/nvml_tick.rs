//! The sampler's per-tick path on a busy node: one NVML sample of 8 GPUs with every health
//! field, MIG off, and 500 GPU processes (real NVML calls through nvml-wrapper's dlopen, into
//! the fake driver in tests/fake_nvml), then the join onto containers and the app's apply (idle
//! tracking, alerts). Target: well under the 1 s beat; the README's performance table has the
//! figures.
//!
//! The fake re-checks its config file's stat on every call, so the NVML part is an upper bound
//! of what a real driver's user-space costs for the same calls.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use gpudock::app::AppState;
use gpudock::config::Config;
use gpudock::docker::ContainerId;
use gpudock::gpu::GpuEvent;
use gpudock::gpu::model::usage_by_container;
use gpudock::gpu::nvml::NvmlBackend;
use gpudock::msg::Msg;

fn fake_lib(dir: &Path) -> PathBuf {
    let out = dir.join("libnvidia-ml.so.1");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_nvml/fake_nvml.c");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&out)
        .arg(src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run cc: {e}"));
    assert!(status.success(), "building the fake NVML failed");
    out
}

/// 8 GPUs with health fields, and `procs` compute processes spread over them; this process's
/// own PID among them so the /proc path is exercised for real.
fn config(procs: u32) -> String {
    let mut text = String::from("driver 570.86.15\ncuda 12080\n");
    for i in 0..8 {
        text.push_str(&format!(
            "gpu {i} name=\"NVIDIA H100 80GB HBM3\" uuid=GPU-{i:08}-0000-0000-0000-000000000000 \
             mem_total=85520809984 mem_used=40000000000 util_gpu=50 util_mem=20 temp=55 power_mw=300000 \
             power_limit_mw=700000 sm_clock=1980 mem_clock=2619 fan=na ecc_vol_corr=0 ecc_vol_uncorr=0 \
             ecc_agg_corr=12 ecc_agg_uncorr=0 retired_sbe=0 retired_dbe=0 retired_pending=0 remap_corr=0 \
             throttle=0x1 pcie_gen=5 pcie_gen_max=5 pcie_width=16 pcie_width_max=16 sm_clock_max=1980 \
             mem_clock_max=2619 mig=0\n"
        ));
    }
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
    let lib = fake_lib(&dir);
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
