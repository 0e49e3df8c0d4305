//! GPUs: the NVML sampler thread and its backend, GPU health, MIG, and the XID event watcher.
//! Which container a GPU process lives in comes from `procfs`.

pub mod beat;
pub mod fabric;
pub mod health;
pub mod hostproc;
mod identity;
pub mod idle;
pub mod idle_store;
pub mod kernel_xid;
pub mod mig;
pub mod model;
mod nvlink;
pub mod nvml;
pub mod owners;
pub mod pick;
mod putil;
pub mod sampler;
pub mod state;
pub mod topology;
pub mod xid;
pub mod xid_catalog;

pub use model::{
    ContainerGpuUsage, EccCounts, GpuHealth, GpuProcess, GpuSample, GpuSnapshot, HostProcess, MigInstance,
    MigState, ProcessKind, RemappedRows, XidError,
};
pub use sampler::{GpuEvent, GpuSampler};
pub use xid::XidWatcher;
