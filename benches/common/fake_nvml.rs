//! The fake driver the NVML benches load (tests/fake_nvml), and the busy 8-GPU node they list.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the fake `libnvidia-ml.so.1` into `dir`.
pub fn lib(dir: &Path) -> PathBuf {
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

/// The config's driver and 8 GPUs with every health field, MIG off; the processes follow.
pub fn gpus() -> String {
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
    text
}
