//! The GPU-health check: every broken GPU by name with what is wrong (exit 2), throttling and a
//! PCIe link below its maximum as warnings (exit 1), from the one GPU state model.

use super::checks::{Check, Driver, Facts, Finding, GpuFact, Level, finding};
use crate::gpu::state::State;

/// Broken GPUs fail (exit 2) with what is wrong with each; throttling and a PCIe link below
/// its maximum warn (exit 1). Nothing to say without a driver: the driver check says why.
pub(super) fn gpu_health(f: &Facts) -> Option<Finding> {
    if !matches!(f.nvml, Driver::Up { .. }) || f.gpus.is_empty() {
        return None;
    }
    let name = |g: &GpuFact, what: &[String]| format!("GPU {} ({}): {}", g.index, g.name, what.join(", "));
    let broken: Vec<String> =
        f.gpus.iter().filter(|g| g.state == State::Broken).map(|g| name(g, &g.faults)).collect();
    let warned: Vec<String> =
        f.gpus.iter().filter(|g| !g.warnings.is_empty()).map(|g| name(g, &g.warnings)).collect();
    Some(if !broken.is_empty() {
        let mut detail = format!("broken, unfit for new work: {}", broken.join("; "));
        if !warned.is_empty() {
            detail.push_str(&format!("; warnings: {}", warned.join("; ")));
        }
        finding(
            Check::GpuHealth,
            Level::Fail,
            detail,
            Some(
                "keep new work off these GPUs; reset a GPU that needs it (nvidia-smi -r -i N, with nothing \
                 running on it), reboot after XID 79, drain the node and report the hardware after a failed \
                 row remap",
            ),
        )
    } else if !warned.is_empty() {
        finding(
            Check::GpuHealth,
            Level::Warn,
            warned.join("; "),
            Some(
                "thermal or power throttling slows jobs: check cooling and power; a PCIe link below its maximum: reseat or check the slot",
            ),
        )
    } else {
        let n = f.gpus.len();
        finding(
            Check::GpuHealth,
            Level::Ok,
            format!("{n} GPU{} healthy", if n == 1 { "" } else { "s" }),
            None,
        )
    })
}
