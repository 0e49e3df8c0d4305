//! GPUs: the NVML sampler thread and its backend. Which container a GPU process lives in comes
//! from `procfs`.

pub mod hostproc;
mod identity;
pub mod model;
pub mod nvml;
pub mod sampler;

pub use model::{
    ContainerGpuUsage, EccCounts, GpuHealth, GpuProcess, GpuSample, GpuSnapshot, HostProcess, MigInstance,
    MigState, ProcessKind, RemappedRows, XidError,
};
pub use sampler::{GpuEvent, GpuSampler};
