//! MIG: a GPU split into instances. NVML gives each instance its own handle; memory is per
//! instance, while processes still come from the parent with their GPU/compute instance IDs.
//! Utilisation is not reported per instance, so it stays None ("n/a"), never a made-up 0.

use nvml_wrapper::Device;
use nvml_wrapper::error::NvmlError;

use super::model::{MigInstance, MigState};
use super::nvml::field;

/// MIG on `dev`: None when the GPU does not support it.
pub fn read(dev: &Device, index: u32) -> Option<MigState> {
    let mode = field(index, "MIG mode", dev.mig_mode())?;
    // NVML_DEVICE_MIG_ENABLE is 1.
    let enabled = mode.current == 1;
    if !enabled {
        return Some(MigState { enabled, instances: Vec::new() });
    }
    let max = field(index, "MIG device count", dev.mig_device_count()).unwrap_or(0);
    let mut instances = Vec::new();
    for slot in 0..max {
        let mig = match dev.mig_device_by_index(slot) {
            Ok(m) => m,
            // Slots are sparse: an empty one answers NOT_FOUND (or INVALID_ARGUMENT).
            Err(NvmlError::NotFound | NvmlError::InvalidArg) => continue,
            Err(e) => {
                tracing::debug!(index, slot, error = %e, "cannot open MIG device");
                continue;
            }
        };
        let mem = field(index, "MIG memory", mig.memory_info());
        instances.push(MigInstance {
            index: slot,
            uuid: field(index, "MIG uuid", mig.uuid()).unwrap_or_default(),
            name: field(index, "MIG name", mig.name()).unwrap_or_else(|| format!("MIG {slot}")),
            gpu_instance: instance_id(&mig, index, Which::Gpu),
            compute_instance: instance_id(&mig, index, Which::Compute),
            memory_used: mem.as_ref().map(|m| m.used),
            memory_total: mem.as_ref().map(|m| m.total),
        });
    }
    Some(MigState { enabled, instances })
}

enum Which {
    Gpu,
    Compute,
}

/// nvml-wrapper 0.13 has no method for the instance IDs of a MIG handle, so they are read
/// through its loaded symbol table.
fn instance_id(mig: &Device, index: u32, which: Which) -> Option<u32> {
    let lib = mig.nvml().lib();
    let sym = match which {
        Which::Gpu => lib.nvmlDeviceGetGpuInstanceId.as_ref(),
        Which::Compute => lib.nvmlDeviceGetComputeInstanceId.as_ref(),
    };
    let sym = sym.map_err(|e| tracing::trace!(index, error = %e, "no MIG instance ID symbol")).ok()?;
    let mut id = 0u32;
    // SAFETY: the handle is live for `mig`'s lifetime and `id` is a valid out-pointer.
    let rc = unsafe { sym(mig.handle(), &mut id) };
    if rc != 0 {
        tracing::trace!(index, rc, "MIG instance ID not available");
        return None;
    }
    Some(id)
}

/// The instance a process with these IDs runs in.
pub fn instance_of(state: &MigState, gi: Option<u32>, ci: Option<u32>) -> Option<&MigInstance> {
    let gi = gi?;
    state.instances.iter().find(|m| m.gpu_instance == Some(gi) && (ci.is_none() || m.compute_instance == ci))
}
