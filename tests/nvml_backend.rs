//! The real NVML code path (nvml-wrapper → dlopen) against the fake driver library.

mod common;

use common::fake_nvml::{FakeConfig, Variant, gpu_line, lib, lock};
use gpudock::clock::unix_now;
use gpudock::gpu::ProcessKind;
use gpudock::gpu::nvml::{NvmlBackend, NvmlOpenError};

fn open(variant: Variant) -> NvmlBackend {
    NvmlBackend::open(Some(&lib(variant))).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn reads_every_field_and_process() {
    let _g = lock();
    let me = std::process::id();
    let text = format!(
        "driver 550.54.15\ncuda 12040\n{}{}proc 1 pid={me} used=2147483648 sm=42 mem=7\ngproc 1 pid=999999 used=52428800\n",
        gpu_line(0, ""),
        gpu_line(1, "fan=55")
    );
    let cfg = FakeConfig::new("fields", &text);
    cfg.activate();
    let mut b = open(Variant::Full);
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.driver_version.as_deref(), Some("550.54.15"));
    assert_eq!(s.cuda_version.as_deref(), Some("12.4"));
    assert_eq!(s.gpus.len(), 2);
    let g = &s.gpus[1];
    assert_eq!(g.index, 1);
    assert_eq!(g.name, "NVIDIA H100 80GB HBM3");
    assert_eq!(g.uuid, "GPU-00000001-0000-0000-0000-000000000000");
    assert_eq!(g.memory_total, Some(85_520_809_984));
    assert_eq!(g.memory_used, Some(2_000_000_000));
    assert_eq!(g.util_gpu, Some(20));
    assert_eq!(g.util_memory, Some(10));
    assert_eq!(g.temperature_c, Some(41));
    assert_eq!(g.power_watts, Some(150.0));
    assert_eq!(g.power_limit_watts, Some(700.0));
    assert_eq!(g.sm_clock_mhz, Some(1980));
    assert_eq!(g.mem_clock_mhz, Some(2619));
    assert_eq!(g.fan_percent, Some(55));
    // Datacenter GPUs refuse fan speed: that one field is n/a, nothing else.
    assert_eq!(s.gpus[0].fan_percent, None);
    assert_eq!(s.gpus[0].temperature_c, Some(40));

    assert_eq!(g.processes.len(), 2);
    let p = &g.processes[0];
    assert_eq!(
        (p.pid, p.kind, p.memory_used, p.sm_percent),
        (me, ProcessKind::Compute, Some(2 << 30), Some(42))
    );
    // This test process is not in a container: it shows its command and user instead.
    assert_eq!(p.container_id, None);
    assert!(p.command.is_some() && p.user.is_some(), "{p:?}");
    // What /proc says of it: the same process (its start time), its memory and command line.
    let host = p.host.as_ref().unwrap_or_else(|| panic!("no host figures: {p:?}"));
    assert_eq!(Some(host.start_time), gpudock::procfs::start_time(std::path::Path::new("/proc"), me));
    assert!(host.rss_bytes.is_some_and(|b| b > 0) && host.cmdline.is_some(), "{host:?}");
    assert_eq!(host.cpu_percent, None, "first sight");
    let gp = &g.processes[1];
    assert_eq!((gp.pid, gp.kind, gp.memory_used), (999_999, ProcessKind::Graphics, Some(52_428_800)));
    // Not a process here: no host figures rather than invented ones.
    assert_eq!(gp.host, None);
    let again = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    let host = again.gpus[1].processes[0].host.as_ref();
    assert!(host.is_some_and(|h| h.cpu_percent.is_some()), "second sight has a CPU rate: {host:?}");
}

#[test]
fn unsupported_fields_are_none_one_by_one() {
    let _g = lock();
    let text = "driver 535.1\ngpu 0 name=\"Tesla T4\" uuid=GPU-x mem_total=100 mem_used=na util_gpu=na temp=50 power_mw=na power_limit_mw=na sm_clock=na mem_clock=na fan=na\nproc 0 pid=4242 used=na\n";
    let cfg = FakeConfig::new("na", text);
    cfg.activate();
    let mut b = open(Variant::Full);
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    let g = &s.gpus[0];
    assert_eq!(g.temperature_c, Some(50));
    assert_eq!((g.util_gpu, g.util_memory, g.power_watts, g.power_limit_watts), (None, None, None, None));
    assert_eq!((g.sm_clock_mhz, g.mem_clock_mhz, g.fan_percent), (None, None, None));
    // The v2 memory call answers all or nothing; the sample still carries the rest.
    assert_eq!(g.processes[0].memory_used, None);
    // No CUDA version line: n/a, not an error.
    assert_eq!(s.cuda_version, None);
}

#[test]
fn no_utilization_samples_mean_zero_and_a_missing_symbol_means_unknown() {
    let _g = lock();
    let text = format!("{}proc 0 pid=4242 used=1048576\n", gpu_line(0, ""));
    let cfg = FakeConfig::new("nosamples", &text);
    cfg.activate();
    let mut b = open(Variant::Full);
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.gpus[0].processes[0].sm_percent, None, "a process first seen without a sample is unknown");
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.gpus[0].processes[0].sm_percent, Some(0), "then NOT_FOUND is an idle window");

    let mut b = open(Variant::NoProcessUtilization);
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    let p = &s.gpus[0].processes[0];
    assert_eq!(p.sm_percent, None, "a library without the symbol cannot tell");
    assert_eq!(p.memory_used, Some(1_048_576), "everything else still works");
}

#[test]
fn values_follow_changes_to_the_driver() {
    let _g = lock();
    let cfg = FakeConfig::new("follow", &gpu_line(0, ""));
    cfg.activate();
    let mut b = open(Variant::Full);
    assert_eq!(b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}")).gpus[0].util_gpu, Some(10));
    cfg.set(&gpu_line(0, "util_gpu=99"));
    assert_eq!(b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}")).gpus[0].util_gpu, Some(99));
}

#[test]
fn missing_library_and_failed_init_say_why() {
    let _g = lock();
    let err = NvmlBackend::open(Some(std::path::Path::new("/nonexistent/libnvidia-ml.so.1"))).err();
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("/nonexistent/libnvidia-ml.so.1"), "{msg}");

    // With a real driver installed the default names load: that is tested only when asked
    // for, never assumed from a path.
    if std::env::var_os("GPUDOCK_TEST_REAL_NVML").is_some() {
        let real = NvmlBackend::open(None);
        assert!(real.is_ok(), "GPUDOCK_TEST_REAL_NVML is set but the driver does not load: {:?}", real.err());
        return;
    }
    match NvmlBackend::open(None) {
        Err(NvmlOpenError::NotFound(name)) => assert_eq!(name, "libnvidia-ml.so.1"),
        Err(other) => panic!("unexpected error {other}"),
        Ok(b) => {
            panic!("{} loaded: a real driver is installed, set GPUDOCK_TEST_REAL_NVML=1 to test it", b.lib)
        }
    }
    let text = NvmlOpenError::NotFound("libnvidia-ml.so.1".into()).to_string();
    assert_eq!(text, "libnvidia-ml.so.1 not found — no NVIDIA driver on this host?");

    let cfg = FakeConfig::new("initerr", "init_error 9\n");
    cfg.activate();
    let msg = NvmlBackend::open(Some(&lib(Variant::Full))).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("driver is not loaded"), "{msg}");
}

#[test]
fn a_library_without_nvml_shutdown_does_not_crash_on_drop() {
    let _g = lock();
    let cfg = FakeConfig::new("noshutdown", &gpu_line(0, ""));
    cfg.activate();
    let mut b = open(Variant::NoShutdown);
    assert_eq!(b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}")).gpus.len(), 1);
    drop(b);
}

#[test]
fn zero_gpus_is_an_empty_snapshot() {
    let _g = lock();
    let cfg = FakeConfig::new("zero", "driver 550.1\n");
    cfg.activate();
    let mut b = open(Variant::Full);
    let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.gpus.is_empty());
}

/// A PID the driver lists that this machine's /proc never showed lives in another PID namespace:
/// alive, "not visible here", never "(exited)". One /proc showed and that then ended is exited.
#[test]
fn a_pid_outside_proc_is_not_visible_here_and_an_ended_one_is_exited() {
    use gpudock::gpu::model::{Presence, host_owner};
    let _g = lock();
    let mut child = std::process::Command::new("sleep").arg("60").spawn().unwrap_or_else(|e| panic!("{e}"));
    // Above any PID this machine hands out (pid_max is at most 4194304).
    let text = format!(
        "driver 550.54.15\ncuda 12040\n{}proc 0 pid=4194999 used=1073741824 sm=0\nproc 0 pid={} used=1048576 sm=1\n",
        gpu_line(0, ""),
        child.id()
    );
    let cfg = FakeConfig::new("presence", &text);
    cfg.activate();
    let mut b = open(Variant::Full);
    let presence = |b: &mut NvmlBackend| -> Vec<(u32, Presence, String)> {
        let s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
        s.gpus[0].processes.iter().map(|p| (p.pid, p.presence, host_owner(p))).collect()
    };
    let first = presence(&mut b);
    assert_eq!(first[0], (4194999, Presence::NotVisible, "(not visible here: other PID namespace)".into()));
    assert_eq!(first[1].1, Presence::Here, "{first:?}");
    let _ = child.kill();
    let _ = child.wait();
    let after = presence(&mut b);
    assert_eq!(after[0].1, Presence::NotVisible, "still alive elsewhere: {after:?}");
    assert_eq!(after[1].1, Presence::Exited, "{after:?}");
    assert_eq!(after[1].2, "(exited)");
}
