//! GPU health from NVML: ECC counters, retired pages / remapped rows, clock event (throttle)
//! reasons, the PCIe link and the maximum clocks. Every field is read on its own and is None
//! where the GPU does not support it.
//!
//! Counters that move rarely (ECC, retirements, the PCIe link, maxima) cost a driver round trip
//! each; they are read every `SLOW_EVERY` samples and kept in between, so a full sample of 8
//! GPUs stays cheap. Clock event reasons are read every sample.

use nvml_wrapper::Device;
use nvml_wrapper::enum_wrappers::device::{Clock, EccCounter, MemoryError, RetirementCause};

use super::model::{EccCounts, GpuHealth, RemappedRows};
use super::nvml::field;

/// Samples between two reads of the slow-moving counters (10 s at the default refresh).
pub const SLOW_EVERY: u64 = 10;

/// Clock event reasons that mean the GPU is held back (NVML's nvmlClocksEventReason* bits),
/// with the words shown. GPU idle (0x1) and application clocks (0x2) are normal and left out.
pub const THROTTLE_REASONS: [(u64, &str); 8] = [
    (0x4, "sw power cap"),
    (0x8, "hw slowdown"),
    (0x10, "sync boost"),
    (0x20, "sw thermal"),
    (0x40, "hw thermal"),
    (0x80, "hw power brake"),
    (0x100, "display clocks"),
    (0x4000_0000_0000_0000, "unknown"),
];

/// The reasons in `bits` that hold the clocks down, in words.
pub fn throttle_names(bits: u64) -> Vec<&'static str> {
    THROTTLE_REASONS.iter().filter(|(b, _)| bits & b != 0).map(|(_, n)| *n).collect()
}

/// Reads `dev`'s health. `previous` supplies the slow counters when `slow` is false.
pub fn read(dev: &Device, index: u32, previous: Option<&GpuHealth>, slow: bool) -> GpuHealth {
    let mut h = match (slow, previous) {
        (false, Some(p)) => p.clone(),
        _ => read_slow(dev, index),
    };
    h.throttle_reasons =
        field(index, "clock event reasons", dev.current_throttle_reasons()).map(|r| r.bits());
    h
}

fn read_slow(dev: &Device, index: u32) -> GpuHealth {
    let ecc = |counter, what| EccCounts {
        corrected: field(index, what, dev.total_ecc_errors(MemoryError::Corrected, counter)),
        uncorrected: field(index, what, dev.total_ecc_errors(MemoryError::Uncorrected, counter)),
    };
    let retired = [RetirementCause::MultipleSingleBitEccErrors, RetirementCause::DoubleBitEccError]
        .into_iter()
        .map(|cause| field(index, "retired pages", dev.retired_pages(cause)).map(|p| p.len() as u32))
        .try_fold(0u32, |sum, n| n.map(|n| sum + n));
    GpuHealth {
        ecc_volatile: ecc(EccCounter::Volatile, "volatile ECC"),
        ecc_aggregate: ecc(EccCounter::Aggregate, "aggregate ECC"),
        retired_pages: retired,
        retired_pending: field(index, "pending retirement", dev.are_pages_pending_retired()),
        remapped_rows: remapped_rows(dev, index),
        throttle_reasons: None,
        // The link retrains at power-state changes, not second by second.
        pcie_gen: field(index, "PCIe generation", dev.current_pcie_link_gen()),
        pcie_gen_max: field(index, "PCIe max generation", dev.max_pcie_link_gen()),
        pcie_width: field(index, "PCIe width", dev.current_pcie_link_width()),
        pcie_width_max: field(index, "PCIe max width", dev.max_pcie_link_width()),
        sm_clock_max_mhz: field(index, "SM max clock", dev.max_clock_info(Clock::SM)),
        mem_clock_max_mhz: field(index, "memory max clock", dev.max_clock_info(Clock::Memory)),
    }
}

/// nvml-wrapper 0.13 has no method for nvmlDeviceGetRemappedRows, so it is called through the
/// wrapper's loaded symbol table.
fn remapped_rows(dev: &Device, index: u32) -> Option<RemappedRows> {
    let sym = match dev.nvml().lib().nvmlDeviceGetRemappedRows.as_ref() {
        Ok(sym) => sym,
        Err(e) => {
            tracing::trace!(index, error = %e, "no nvmlDeviceGetRemappedRows");
            return None;
        }
    };
    let (mut corr, mut unc, mut pending, mut failed) = (0u32, 0u32, 0u32, 0u32);
    // SAFETY: the handle is live for `dev`'s lifetime and the out-pointers are valid u32s.
    let rc = unsafe { sym(dev.handle(), &mut corr, &mut unc, &mut pending, &mut failed) };
    if rc != 0 {
        tracing::trace!(index, rc, "remapped rows not available");
        return None;
    }
    Some(RemappedRows { correctable: corr, uncorrectable: unc, pending: pending != 0, failed: failed != 0 })
}
