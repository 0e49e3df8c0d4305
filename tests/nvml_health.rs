//! GPU depth through the real NVML path (nvml-wrapper → dlopen) against the fake driver:
//! health fields, MIG instances, per-process utilisation done right, and XID events.

mod common;

use std::time::{Duration, Instant};

use common::fake_nvml::{FakeConfig, Variant, gpu_line, lib, lock};
use gpudock::clock::unix_now;
use gpudock::gpu::nvml::NvmlBackend;
use gpudock::gpu::{GpuEvent, RemappedRows, XidWatcher};

fn open() -> NvmlBackend {
    NvmlBackend::open(Some(&lib(Variant::Full))).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn health_fields_are_read_and_unsupported_ones_are_none() {
    let _g = lock();
    let sick = "ecc_vol_corr=4 ecc_vol_uncorr=2 ecc_agg_corr=100 ecc_agg_uncorr=3 retired_sbe=2 retired_dbe=1 \
                retired_pending=1 remap_corr=5 remap_unc=1 remap_pending=1 throttle=0x44 pcie_gen=3 pcie_gen_max=5 \
                pcie_width=8 pcie_width_max=16 sm_clock_max=1980 mem_clock_max=2619";
    let text = format!("{}{}", gpu_line(0, sick), gpu_line(1, ""));
    let cfg = FakeConfig::new("health", &text);
    cfg.activate();
    let mut b = open();
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    let h = &s.gpus[0].health;
    assert_eq!((h.ecc_volatile.corrected, h.ecc_volatile.uncorrected), (Some(4), Some(2)));
    assert_eq!((h.ecc_aggregate.corrected, h.ecc_aggregate.uncorrected), (Some(100), Some(3)));
    assert_eq!((h.retired_pages, h.retired_pending), (Some(3), Some(true)));
    assert_eq!(
        h.remapped_rows,
        Some(RemappedRows { correctable: 5, uncorrectable: 1, pending: true, failed: false })
    );
    assert_eq!(h.throttle_reasons, Some(0x44));
    assert_eq!(
        (h.pcie_gen, h.pcie_gen_max, h.pcie_width, h.pcie_width_max),
        (Some(3), Some(5), Some(8), Some(16))
    );
    assert_eq!((h.sm_clock_max_mhz, h.mem_clock_max_mhz), (Some(1980), Some(2619)));
    let a = gpudock::gpu::state::assess(&s.gpus[0], []);
    assert_eq!(a.state, gpudock::gpu::state::State::Broken);
    assert_eq!(a.faults(), ["ECC uncorrected 2", "reset needed"]);
    assert_eq!(a.warnings(), ["throttled: hw thermal", "PCIe x8 of x16"]);
    // GPU 1 supports none of it: every field n/a, the rest of the GPU unaffected.
    let g1 = &s.gpus[1];
    assert_eq!(g1.health, Default::default());
    assert_eq!(g1.util_gpu, Some(20));
    assert_eq!(g1.mig, None);

    // Fast fields follow the driver every sample; the slow counters on their own beat.
    cfg.set(&format!(
        "{}{}",
        gpu_line(
            0,
            &sick.replace("throttle=0x44", "throttle=0x1").replace("ecc_vol_uncorr=2", "ecc_vol_uncorr=9")
        ),
        gpu_line(1, "")
    ));
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.gpus[0].health.throttle_reasons, Some(0x1));
    assert_eq!(s.gpus[0].health.ecc_volatile.uncorrected, Some(2), "read again every SLOW_EVERY samples");
    for _ in 1..gpudock::gpu::health::SLOW_EVERY {
        b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    }
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.gpus[0].health.ecc_volatile.uncorrected, Some(9));
}

#[test]
fn a_mig_gpu_lists_its_instances_and_never_a_made_up_utilisation() {
    let _g = lock();
    let text = format!(
        "{}{}mig 0 0 name=\"NVIDIA A100-SXM4-40GB MIG 3g.20gb\" uuid=MIG-aaaa gi=1 ci=0 mem_total=21474836480 mem_used=8589934592\n\
         mig 0 3 name=\"NVIDIA A100-SXM4-40GB MIG 1g.5gb\" uuid=MIG-bbbb gi=5 ci=0 mem_total=5368709120 mem_used=0\n\
         proc 0 pid=4242 used=1073741824 sm=55 gi=1 ci=0\nproc 1 pid=4243 used=1073741824 sm=30\n",
        gpu_line(0, "mig=1"),
        gpu_line(1, "mig=0"),
    );
    let cfg = FakeConfig::new("mig", &text);
    cfg.activate();
    let mut b = open();
    b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    let g = &s.gpus[0];
    let mig = g.mig.as_ref().unwrap_or_else(|| panic!("MIG state missing"));
    assert!(mig.enabled);
    let found: Vec<(u32, &str, Option<u32>, Option<u64>)> =
        mig.instances.iter().map(|i| (i.index, i.uuid.as_str(), i.gpu_instance, i.memory_used)).collect();
    assert_eq!(found, [(0, "MIG-aaaa", Some(1), Some(8 << 30)), (3, "MIG-bbbb", Some(5), Some(0))]);
    assert_eq!(mig.instances[0].name, "NVIDIA A100-SXM4-40GB MIG 3g.20gb");
    assert_eq!(g.util_gpu, None, "MIG GPUs report no device utilisation");
    let p = &g.processes[0];
    assert_eq!((p.gpu_instance, p.compute_instance, p.sm_percent), (Some(1), Some(0), None));
    // The GPU beside it, MIG off, is unaffected.
    assert_eq!(s.gpus[1].mig.as_ref().map(|m| m.enabled), Some(false));
    assert_eq!(s.gpus[1].processes[0].sm_percent, Some(30));
}

#[test]
fn per_process_samples_drop_bogus_and_stale_values_and_take_the_newest() {
    let _g = lock();
    let text = format!(
        "{}proc 0 pid=1 used=100 sm=55 sm2=90\nproc 0 pid=2 used=100 sm=250\nproc 0 pid=3 used=100 sm=70 ts_age=3600\n",
        gpu_line(0, "")
    );
    let cfg = FakeConfig::new("putil", &text);
    cfg.activate();
    let mut b = open();
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    let sm: Vec<Option<u32>> = s.gpus[0].processes.iter().map(|p| p.sm_percent).collect();
    // 1: the newer of two samples. 2: above 100 is bogus. 3: an hour old, from before the
    // first window: not averaged into "now". Both unknown on first sight.
    assert_eq!(sm, [Some(55), None, None]);
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    let sm: Vec<Option<u32>> = s.gpus[0].processes.iter().map(|p| p.sm_percent).collect();
    assert_eq!(sm, [Some(55), Some(0), Some(0)]);
}

#[test]
fn xid_events_arrive_from_the_watcher_thread_without_the_sampler() {
    let _g = lock();
    let base = format!("{}{}", gpu_line(0, ""), gpu_line(1, "events=0"));
    let cfg = FakeConfig::new("xid", &format!("{base}xid 0 79 seq=1\n"));
    cfg.activate();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<GpuEvent>(8);
    let handle = XidWatcher { lib: Some(lib(Variant::Full)), tx, kernel_log: None }
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let next = |rx: &mut tokio::sync::mpsc::Receiver<GpuEvent>| {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            match rx.try_recv() {
                Ok(GpuEvent::Xid(x)) => return x,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("no XID within 5 s: {e}"),
            }
        }
    };
    let x = next(&mut rx);
    assert_eq!((x.gpu_index, x.xid), (0, 79));
    assert_eq!(x.gpu_uuid, "GPU-00000000-0000-0000-0000-000000000000");
    // Injected while the watcher waits; GPU 1 takes no events, so its XID never comes.
    cfg.set(&format!("{base}xid 0 79 seq=1\nxid 1 48 seq=2\nxid 0 31 seq=3\n"));
    let x = next(&mut rx);
    assert_eq!((x.gpu_index, x.xid), (0, 31));
    // The program ending (receiver gone) ends the thread within a wait.
    drop(rx);
    let until = Instant::now() + Duration::from_secs(3);
    while !handle.is_finished() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(handle.is_finished(), "the watcher thread outlived its receiver");
}

#[test]
fn without_event_support_the_watcher_stops_quietly() {
    let _g = lock();
    let cfg = FakeConfig::new("noevents", &gpu_line(0, "events=0"));
    cfg.activate();
    let (tx, _rx) = tokio::sync::mpsc::channel::<GpuEvent>(8);
    let handle = XidWatcher { lib: Some(lib(Variant::Full)), tx, kernel_log: None }
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let until = Instant::now() + Duration::from_secs(3);
    while !handle.is_finished() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(handle.is_finished(), "nothing to wait for, yet the thread kept running");
}

/// At the start of the watch, this boot's kernel log (here a `journalctl` script) gives the
/// XIDs from before: matched to GPUs by bus, with the log's time; a line from after the start
/// is the watch's own, and a bus no GPU is on has no GPU to mark. They come even where no GPU
/// takes XID events.
#[test]
fn xids_from_the_kernel_log_come_first_matched_by_bus() {
    use std::os::unix::fs::PermissionsExt;
    let _g = lock();
    // numa= gives the fake a topology, and with it each GPU's bus (GPU i at bus i+1).
    let cfg = FakeConfig::new(
        "past-xids",
        &format!("{}{}", gpu_line(0, "numa=0 events=0"), gpu_line(1, "numa=0 events=0")),
    );
    cfg.activate();
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("past-xids-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let script = "#!/bin/sh\n\
        echo '2026-12-06T03:12:44+0000 dgx kernel: NVRM: Xid (PCI:0000:02:00): 79, pid=2831, name=python, GPU has fallen off the bus.'\n\
        echo '2026-12-06T03:13:00+0000 dgx kernel: NVRM: Xid (PCI:0000:3b:00): 48, pid=1, name=x, DBE'\n\
        echo '2999-01-01T00:00:00+0000 dgx kernel: NVRM: Xid (PCI:0000:01:00): 31, pid=1, name=x, MMU fault'\n";
    let journalctl = dir.join("journalctl");
    std::fs::write(&journalctl, script).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&journalctl, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let _in_rt = rt.enter();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<GpuEvent>(8);
    let readers = gpudock::gpu::kernel_xid::Readers { dir: Some(dir.clone()) };
    let handle = XidWatcher { lib: Some(lib(Variant::Full)), tx, kernel_log: Some(readers) }
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let until = Instant::now() + Duration::from_secs(10);
    let past = loop {
        match rx.try_recv() {
            Ok(GpuEvent::PastXids(p)) => break p,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("no past XIDs within 10 s: {e}"),
        }
    };
    let got: Vec<(u32, u64, i64)> = past.iter().map(|x| (x.gpu_index, x.xid, x.at)).collect();
    assert_eq!(got, vec![(1, 79, 1_796_526_764)]);
    assert_eq!(past[0].gpu_uuid, "GPU-00000001-0000-0000-0000-000000000000");
    let until = Instant::now() + Duration::from_secs(3);
    while !handle.is_finished() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(handle.is_finished(), "no GPU takes events: the thread ends after the log");
    let _ = std::fs::remove_dir_all(dir);
}
