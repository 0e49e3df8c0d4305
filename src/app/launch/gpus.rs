//! The form's GPU facts, taken from the dashboard's state model: what `free:N` would pick now,
//! and which broken GPUs a request names. Pure: both read the latest sample and its assessment
//! (XIDs the dashboard saw included), so the form, `gpudock run` and the panel agree.

use crate::app::gpu::GpuState;
use crate::app::table::ContainerTable;
use crate::docker::gpus::{GpuRef, GpuRequest};
use crate::gpu::pick::{self, Candidates, Joins, Pick, Refusal};
use crate::gpu::state::State;

/// Every sampled GPU as a `free:N` candidate, broken as the state model says (with XIDs), and
/// how they are joined (the sample's NVLinks, the topology NVML gave).
pub fn candidates(gpu: &GpuState, table: &ContainerTable) -> Option<Candidates> {
    let snap = gpu.snapshot.as_ref()?;
    let name = |id: &str| table.all().iter().find(|c| c.id.as_str() == id).map(|c| c.name.clone());
    let gpus = snap
        .gpus
        .iter()
        .map(|g| {
            let mut c = pick::from_sample(g, &name);
            if let Some(a) = gpu.assessment(g.index) {
                c.broken = (a.state == State::Broken).then(|| a.faults().join(", "));
            }
            c
        })
        .collect();
    Some(Candidates { gpus, joins: Joins::from_sample(snap.topology.as_ref(), &snap.gpus) })
}

/// What `free:n` picks from the latest sample, and why; Err(None) without NVML.
pub fn free_pick(n: u32, gpu: &GpuState, table: &ContainerTable) -> Result<Pick, Option<Refusal>> {
    candidates(gpu, table).ok_or(None)?.pick(n).map_err(Some)
}

/// The picked indices as the request the engine takes.
pub fn devices(indices: &[u32]) -> GpuRequest {
    GpuRequest::Devices(indices.iter().map(|i| GpuRef::Index(*i)).collect())
}

/// The broken GPUs `req` names, each with its faults: `all`, a count (the engine gives GPUs
/// 0..n), indices and UUIDs. A pick never names one.
pub fn broken_named(req: &GpuRequest, gpu: &GpuState) -> Vec<(u32, String)> {
    let Some(snap) = &gpu.snapshot else { return Vec::new() };
    let named = |g: &crate::gpu::model::GpuSample| match req {
        GpuRequest::None => false,
        GpuRequest::All => true,
        GpuRequest::Count(n) => g.index < *n,
        GpuRequest::Devices(refs) => refs.iter().any(|r| match r {
            GpuRef::Index(i) => *i == g.index,
            GpuRef::Uuid(u) => g.uuid == *u,
            GpuRef::Other(_) => false,
        }),
    };
    snap.gpus
        .iter()
        .filter(|g| named(g))
        .filter_map(|g| {
            let a = gpu.assessment(g.index)?;
            (a.state == State::Broken).then(|| (g.index, a.faults().join(", ")))
        })
        .collect()
}
