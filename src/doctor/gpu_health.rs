//! The GPU-health check: every broken GPU by name with what is wrong (exit 2), throttling and a
//! PCIe link below its maximum as warnings (exit 1), from the one GPU state model.

use super::checks::{Check, Driver, Facts, Finding, GpuFact, Level, finding};
use crate::gpu::state::State;
use crate::gpu::xid_catalog;

/// Where to look for the XIDs a one-shot run cannot see.
const ELSEWHERE: &str = "the dashboard's alert list (A) and gpudock export's gpudock_gpu_last_xid see XIDs as they \
                         happen; `journalctl -k | grep -i xid` as root lists this boot's";

/// XIDs from before this run: the driver keeps no history, so only the kernel log has them.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum PastXids {
    /// Not looked for: a remote engine's node, or the dashboard (it watches XIDs itself).
    #[default]
    NotRead,
    /// This boot's, oldest first: (the GPU at its bus, if any, code).
    Read { source: &'static str, xids: Vec<(Option<u32>, u64)> },
    /// Why the kernel log could not be read.
    Unknown(Vec<String>),
}

/// What the kernel log says of XIDs before this run, or that they are unknown: information,
/// never a warning (a fatal one already fails the GPU-health check through the state model).
pub(super) fn past_xids(f: &Facts) -> Option<Finding> {
    if !matches!(f.nvml, Driver::Up { .. }) {
        return None;
    }
    Some(match &f.past_xids {
        PastXids::NotRead => return None,
        PastXids::Unknown(why) => finding(
            Check::Xids,
            Level::Info,
            format!(
                "one-shot: XIDs before this run are not visible (kernel log unreadable: {})",
                why.join("; ")
            ),
            Some(ELSEWHERE),
        ),
        PastXids::Read { source, xids } if xids.is_empty() => {
            finding(Check::Xids, Level::Ok, format!("none in the kernel log ({source})"), None)
        }
        PastXids::Read { source, xids } => {
            let each: Vec<String> = xids
                .iter()
                .map(|(gpu, code)| {
                    let gpu = gpu.map_or_else(|| "a GPU not in this sample".into(), |g| format!("GPU {g}"));
                    format!("{gpu}: XID {code}{}", xid_catalog::describe(*code))
                })
                .collect();
            finding(Check::Xids, Level::Info, format!("{} ({source})", each.join("; ")), None)
        }
    })
}

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
