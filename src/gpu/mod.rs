//! GPUs: the NVML sampler and its backend, which container a GPU process lives in (`owner`),
//! and which GPUs a container was given (`request`).

pub mod model;
pub mod nvml;
pub mod owner;
pub mod request;
pub mod sampler;

pub use model::{ContainerGpuUsage, GpuProcess, GpuSample, GpuSnapshot, ProcessKind};
