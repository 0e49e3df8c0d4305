//! The GPU health and MIG parts of `gpudock snapshot --json`. Every field is null where the GPU
//! does not report it.

use serde::Serialize;

use crate::gpu::health::throttle_names;
use crate::gpu::state::{Problem, health_problems};
use crate::gpu::{GpuHealth, MigState};

#[derive(Debug, Serialize)]
pub struct HealthDoc {
    /// What needs attention, in words ("ECC uncorrected 2", "reset needed", "PCIe x8 of x16").
    pub problems: Vec<String>,
    pub ecc_volatile_corrected: Option<u64>,
    pub ecc_volatile_uncorrected: Option<u64>,
    pub ecc_aggregate_corrected: Option<u64>,
    pub ecc_aggregate_uncorrected: Option<u64>,
    pub retired_pages: Option<u32>,
    pub retired_pages_pending: Option<bool>,
    pub remapped_rows_correctable: Option<u32>,
    pub remapped_rows_uncorrectable: Option<u32>,
    pub remapped_rows_pending: Option<bool>,
    pub remapped_rows_failed: Option<bool>,
    /// NVML's clock event (throttle) reason bits, and the ones that hold clocks down in words.
    pub clock_event_reasons_bits: Option<u64>,
    pub clock_event_reasons: Option<Vec<&'static str>>,
    pub pcie_link_gen: Option<u32>,
    pub pcie_link_gen_max: Option<u32>,
    pub pcie_link_width: Option<u32>,
    pub pcie_link_width_max: Option<u32>,
    pub sm_clock_max_mhz: Option<u32>,
    pub memory_clock_max_mhz: Option<u32>,
}

impl From<&GpuHealth> for HealthDoc {
    fn from(h: &GpuHealth) -> HealthDoc {
        let remap = h.remapped_rows;
        HealthDoc {
            problems: health_problems(h).iter().map(Problem::words).collect(),
            ecc_volatile_corrected: h.ecc_volatile.corrected,
            ecc_volatile_uncorrected: h.ecc_volatile.uncorrected,
            ecc_aggregate_corrected: h.ecc_aggregate.corrected,
            ecc_aggregate_uncorrected: h.ecc_aggregate.uncorrected,
            retired_pages: h.retired_pages,
            retired_pages_pending: h.retired_pending,
            remapped_rows_correctable: remap.map(|r| r.correctable),
            remapped_rows_uncorrectable: remap.map(|r| r.uncorrectable),
            remapped_rows_pending: remap.map(|r| r.pending),
            remapped_rows_failed: remap.map(|r| r.failed),
            clock_event_reasons_bits: h.throttle_reasons,
            clock_event_reasons: h.throttle_reasons.map(throttle_names),
            pcie_link_gen: h.pcie_gen,
            pcie_link_gen_max: h.pcie_gen_max,
            pcie_link_width: h.pcie_width,
            pcie_link_width_max: h.pcie_width_max,
            sm_clock_max_mhz: h.sm_clock_max_mhz,
            memory_clock_max_mhz: h.mem_clock_max_mhz,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MigDoc {
    pub enabled: bool,
    pub instances: Vec<MigInstanceDoc>,
}

#[derive(Debug, Serialize)]
pub struct MigInstanceDoc {
    pub index: u32,
    pub uuid: String,
    pub name: String,
    pub gpu_instance_id: Option<u32>,
    pub compute_instance_id: Option<u32>,
    pub memory_used_bytes: Option<u64>,
    pub memory_total_bytes: Option<u64>,
    /// NVML does not report utilisation per MIG instance: always null, never a made-up 0.
    pub utilization_gpu_percent: Option<u32>,
}

impl From<&MigState> for MigDoc {
    fn from(m: &MigState) -> MigDoc {
        MigDoc {
            enabled: m.enabled,
            instances: m
                .instances
                .iter()
                .map(|i| MigInstanceDoc {
                    index: i.index,
                    uuid: i.uuid.clone(),
                    name: i.name.clone(),
                    gpu_instance_id: i.gpu_instance,
                    compute_instance_id: i.compute_instance,
                    memory_used_bytes: i.memory_used,
                    memory_total_bytes: i.memory_total,
                    utilization_gpu_percent: None,
                })
                .collect(),
        }
    }
}
