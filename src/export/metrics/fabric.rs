//! The DGX fabric's series: NVLinks up and down, their error counters, and the Fabric Manager
//! state, under the same dcgm-style GPU labels. GPUs without NVLink or fabric info (PCIe
//! parts) have no series here.

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;

use super::{GpuL, V, family, int, label};
use crate::gpu::GpuSample;
use crate::gpu::fabric::{FabricState, LinkCounter};

pub(super) fn encode(enc: &mut DescriptorEncoder, samples: &[GpuSample], labels: &[GpuL]) -> fmt::Result {
    let gpus = || samples.iter().zip(labels);
    let links = gpus().flat_map(|(g, l)| {
        g.nvlink.iter().flat_map(move |n| {
            [("up", n.up()), ("down", n.present() - n.up())].into_iter().map(move |(state, count)| {
                let mut l = l.to_vec();
                l.push(("state", state.into()));
                (l, V::Int(count as i64))
            })
        })
    });
    family(enc, "gpu_nvlink_links", "NVLinks of this GPU by state (up, down)", links)?;
    let errors = gpus().flat_map(|(g, l)| {
        g.nvlink.iter().flat_map(move |n| {
            LinkCounter::ALL.into_iter().filter_map(move |c| {
                let mut l = l.to_vec();
                l.push(("counter", c.key().into()));
                Some((l, V::Counter(n.total(c)?)))
            })
        })
    });
    family(
        enc,
        "gpu_nvlink_errors",
        "NVLink data-link errors by counter (replay, recovery, crc_flit, crc_data), all links summed",
        errors,
    )?;
    let fabric = gpus().filter_map(|(g, l)| {
        let f = g.fabric.as_ref()?;
        let status = f.error.as_deref().map_or("success".into(), |e| label(e).into_owned());
        let mut l = l.to_vec();
        l.extend([("state", f.state.key().into()), ("status", status.into())]);
        let n = match f.state {
            FabricState::NotStarted => 1,
            FabricState::InProgress => 2,
            FabricState::Completed => 3,
        };
        Some((l, V::Int(int(n))))
    });
    family(
        enc,
        "gpu_fabric_state",
        "Fabric Manager registration: 1 not started, 2 in progress, 3 completed; status names an error",
        fabric,
    )
}
