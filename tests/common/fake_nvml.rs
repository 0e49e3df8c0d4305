//! Builds the fake `libnvidia-ml.so.1` (tests/fake_nvml/fake_nvml.c) once per test binary and
//! writes its config files. The library reads `FAKE_NVML_CONFIG`, which is process-wide, so
//! tests that use it take `lock()` first.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Full,
    NoProcessUtilization,
    NoShutdown,
}

/// Path of the built library for `variant`, compiling it on first use.
pub fn lib(variant: Variant) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fake-nvml-{}", std::process::id()));
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_nvml/fake_nvml.c");
        for (sub, define) in [
            ("full", None),
            ("no-procutil", Some("-DFAKE_NVML_OMIT_PROCESS_UTILIZATION")),
            ("no-shutdown", Some("-DFAKE_NVML_OMIT_SHUTDOWN")),
        ] {
            let out = dir.join(sub);
            std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
            let mut cc = Command::new("cc");
            cc.args(["-shared", "-fPIC", "-O1", "-Wall", "-o"]).arg(out.join("libnvidia-ml.so.1")).arg(&src);
            if let Some(d) = define {
                cc.arg(d);
            }
            let status = cc.status().unwrap_or_else(|e| panic!("cannot run cc (install gcc): {e}"));
            assert!(status.success(), "building the fake NVML library failed");
        }
        dir
    });
    let sub = match variant {
        Variant::Full => "full",
        Variant::NoProcessUtilization => "no-procutil",
        Variant::NoShutdown => "no-shutdown",
    };
    dir.join(sub).join("libnvidia-ml.so.1")
}

/// Serialises the tests of one binary around the process-wide config variable.
pub fn lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A config file for the fake library; `set` rewrites it atomically (the library re-reads it).
pub struct FakeConfig {
    pub path: PathBuf,
}

impl FakeConfig {
    pub fn new(name: &str, text: &str) -> FakeConfig {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fake-nvml-{}-{name}.conf", std::process::id()));
        let cfg = FakeConfig { path };
        cfg.set(text);
        cfg
    }

    pub fn set(&self, text: &str) {
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("{e}"));
        std::fs::rename(&tmp, &self.path).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Points this process's fake library at the file.
    pub fn activate(&self) {
        // SAFETY: tests that touch the variable hold `lock()`, and the library reads it only
        // inside NVML calls made by those tests.
        unsafe { std::env::set_var("FAKE_NVML_CONFIG", &self.path) };
    }
}

impl Drop for FakeConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One H100-like GPU line; `extra` overrides or adds keys.
pub fn gpu_line(index: u32, extra: &str) -> String {
    format!(
        "gpu {index} name=\"NVIDIA H100 80GB HBM3\" uuid=GPU-{index:08}-0000-0000-0000-000000000000 \
         mem_total=85520809984 mem_used={} util_gpu={} util_mem=10 temp={} power_mw={} \
         power_limit_mw=700000 sm_clock=1980 mem_clock=2619 fan=na {extra}\n",
        (u64::from(index) + 1) * 1_000_000_000,
        10 + index * 10,
        40 + index,
        100_000 + index * 50_000,
    )
}

/// How one GPU of `dgx_node` differs from a healthy DGX H100 GPU.
#[derive(Debug, Clone, Copy, Default)]
pub struct DgxGpu<'a> {
    /// Links reported down.
    pub down: &'a [u32],
    /// The CRC flit count on link 0.
    pub crc_flit: u64,
    /// nvmlGpuFabricState_t: 3 completed (the default when 0 is given), 1 not started, 2 in progress.
    pub fabric_state: u32,
}

/// An 8-GPU DGX H100 node: 18 NVLink 4 links per GPU, all to NVSwitches, fabric completed,
/// GPUs 0-3 on NUMA node 0 (CPUs 0-55) and 4-7 on node 1 (CPUs 56-63), pairs behind one PCIe
/// switch. `gpu(i)` says how GPU i differs.
#[allow(dead_code)]
pub fn dgx_node(gpu: impl Fn(u32) -> DgxGpu<'static>) -> String {
    const BUSES: [u32; 8] = [0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB];
    let mut text = String::from("driver 550.54.15\ncuda 12040\n");
    for i in 0..8u32 {
        let d = gpu(i);
        let numa = i / 4;
        let cpus = if numa == 0 { "0x00ffffffffffffff" } else { "0xff00000000000000" };
        let state = if d.fabric_state == 0 { 3 } else { d.fabric_state };
        text += &gpu_line(
            i,
            &format!(
                "bus={} numa={numa} cpus={cpus} pcie_switch={} fabric_state={state}",
                BUSES[i as usize],
                i / 2
            ),
        );
        for l in 0..18u32 {
            let crc = if l == 0 { d.crc_flit } else { 0 };
            text += &format!(
                "link {i} {l} state={} version=4 peer=switch replay=0 recovery=0 crc_flit={crc} crc_data=0\n",
                u32::from(!d.down.contains(&l))
            );
        }
    }
    text
}
