//! How the GPUs of a node reach each other: the `nvidia-smi topo -m` matrix as plain data, and
//! the NVLink islands `snapshot` lists. `free:N` weighs the same links and levels pair by pair
//! (`gpu::pick::Joins`).
//!
//! The PCIe level comes from `nvmlDeviceGetTopologyCommonAncestor`, read once per NVML open
//! (it changes only with the hardware); the NVLink counts come from each GPU's links as last
//! sampled, since links go down and up while gpudock runs.

use super::fabric::LinkPeer;
use super::model::GpuSample;

/// nvmlGpuTopologyLevel_t: the nearest common ancestor of two GPUs on the PCIe tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TopoLevel {
    /// Both on one board (dual-GPU cards).
    Internal,
    /// One PCIe switch.
    Single,
    /// Several PCIe switches, no host bridge.
    Multiple,
    HostBridge,
    /// The same NUMA node, several host bridges.
    Node,
    /// Across NUMA nodes (the SMP interconnect).
    System,
}

impl TopoLevel {
    /// `nvidia-smi topo -m`'s symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            // nvidia-smi has no own symbol for a dual-GPU board: it is behind one switch.
            TopoLevel::Internal | TopoLevel::Single => "PIX",
            TopoLevel::Multiple => "PXB",
            TopoLevel::HostBridge => "PHB",
            TopoLevel::Node => "NODE",
            TopoLevel::System => "SYS",
        }
    }
}

/// Where one GPU sits: its bus, and the CPUs and NUMA node near it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GpuPlace {
    pub index: u32,
    /// `00000000:18:00.0`, upper case as NVML writes it.
    pub bus_id: Option<String>,
    /// CPU affinity as a list, e.g. `0-55,112-167`.
    pub cpus: Option<String>,
    pub numa: Option<u32>,
}

/// The node's topology, read once per NVML open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Topology {
    pub gpus: Vec<GpuPlace>,
    /// (a, b, level) for every ordered pair NVML answered, a != b.
    pub levels: Vec<(u32, u32, TopoLevel)>,
}

impl Topology {
    pub fn level(&self, a: u32, b: u32) -> Option<TopoLevel> {
        self.levels.iter().find(|(x, y, _)| *x == a && *y == b).map(|(_, _, l)| *l)
    }

    pub fn place(&self, index: u32) -> Option<&GpuPlace> {
        self.gpus.iter().find(|p| p.index == index)
    }
}

/// Active NVLinks joining GPUs `a` and `b`: direct links counted from the remote-PCI answers;
/// through NVSwitches, the fewer of the two GPUs' active switch links (what `nvidia-smi topo
/// -m` prints on DGX systems, e.g. NV18).
pub fn nvlinks_between(gpus: &[GpuSample], a: u32, b: u32) -> u32 {
    let links = |i: u32| gpus.iter().find(|g| g.index == i).and_then(|g| g.nvlink.as_ref());
    let (Some(la), Some(lb)) = (links(a), links(b)) else { return 0 };
    let direct = la.links.iter().filter(|l| l.up && l.peer == Some(LinkPeer::Gpu(b))).count();
    let switch = |l: &super::fabric::NvLinks| {
        l.links.iter().filter(|k| k.up && k.peer == Some(LinkPeer::NvSwitch)).count()
    };
    (direct + switch(la).min(switch(lb))) as u32
}

/// One cell of the matrix: `X`, `NV#`, the PCIe symbol, or None where NVML says nothing.
pub fn cell(topology: &Topology, gpus: &[GpuSample], a: u32, b: u32) -> Option<String> {
    if a == b {
        return Some("X".into());
    }
    match nvlinks_between(gpus, a, b) {
        0 => topology.level(a, b).map(|l| l.symbol().to_string()),
        n => Some(format!("NV{n}")),
    }
}

/// Whether any GPU has an NVLink or NVML gave any topology: else there is nothing to show.
pub fn known(topology: Option<&Topology>, gpus: &[GpuSample]) -> bool {
    topology
        .is_some_and(|t| !t.levels.is_empty() || t.gpus.iter().any(|p| p.cpus.is_some() || p.numa.is_some()))
        || gpus.iter().any(|g| g.nvlink.is_some())
}

/// GPUs joined by active NVLinks (directly or through NVSwitches), each island sorted, the
/// islands largest first; GPUs without links are islands of one.
pub fn islands(gpus: &[GpuSample]) -> Vec<Vec<u32>> {
    let mut left: Vec<u32> = gpus.iter().map(|g| g.index).collect();
    let mut out = Vec::new();
    while let Some(first) = left.first().copied() {
        let mut island = vec![first];
        left.retain(|&i| i != first);
        let mut k = 0;
        while k < island.len() {
            let here = island[k];
            let (joined, rest): (Vec<u32>, Vec<u32>) =
                left.iter().partition(|&&i| nvlinks_between(gpus, here, i) > 0);
            island.extend(joined);
            left = rest;
            k += 1;
        }
        island.sort_unstable();
        out.push(island);
    }
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    out
}

/// A CPU mask (64 bits per word, lowest CPU first) as a list: `0-55,112-167`.
pub fn cpu_list(words: &[u64]) -> Option<String> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (w, word) in words.iter().enumerate() {
        for bit in 0..64 {
            if word & (1u64 << bit) == 0 {
                continue;
            }
            let cpu = w * 64 + bit;
            match ranges.last_mut() {
                Some((_, end)) if *end + 1 == cpu => *end = cpu,
                _ => ranges.push((cpu, cpu)),
            }
        }
    }
    let text: Vec<String> =
        ranges.iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    (!text.is_empty()).then(|| text.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::fabric::{NvLink, NvLinks};

    fn link(n: u32, up: bool, peer: LinkPeer) -> NvLink {
        NvLink {
            link: n,
            up,
            version: Some(4),
            peer: Some(peer),
            counters: Default::default(),
            since_start: Default::default(),
            rising: false,
        }
    }

    fn gpu(index: u32, links: Vec<NvLink>) -> GpuSample {
        GpuSample { index, nvlink: Some(NvLinks { links, secs_since_start: 0 }), ..Default::default() }
    }

    #[test]
    fn switch_links_count_as_the_fewer_of_the_two() {
        let all = |i| (0..18).map(|n| link(n, !(i == 1 && n == 3), LinkPeer::NvSwitch)).collect();
        let gpus = vec![gpu(0, all(0)), gpu(1, all(1)), gpu(2, all(2))];
        assert_eq!(nvlinks_between(&gpus, 0, 2), 18);
        assert_eq!(nvlinks_between(&gpus, 0, 1), 17);
        let t = Topology::default();
        assert_eq!(cell(&t, &gpus, 1, 1).as_deref(), Some("X"));
        assert_eq!(cell(&t, &gpus, 2, 1).as_deref(), Some("NV17"));
    }

    #[test]
    fn direct_links_make_islands_and_pcie_levels_fill_the_rest() {
        let gpus = vec![
            gpu(0, vec![link(0, true, LinkPeer::Gpu(1)), link(1, true, LinkPeer::Gpu(1))]),
            gpu(1, vec![link(0, true, LinkPeer::Gpu(0)), link(1, true, LinkPeer::Gpu(0))]),
            gpu(2, vec![link(0, false, LinkPeer::Gpu(3))]),
            GpuSample { index: 3, ..Default::default() },
        ];
        assert_eq!(islands(&gpus), vec![vec![0, 1], vec![2], vec![3]]);
        let t = Topology { gpus: vec![], levels: vec![(0, 2, TopoLevel::Node), (2, 3, TopoLevel::Single)] };
        assert_eq!(cell(&t, &gpus, 0, 1).as_deref(), Some("NV2"));
        assert_eq!(cell(&t, &gpus, 0, 2).as_deref(), Some("NODE"));
        assert_eq!(cell(&t, &gpus, 2, 3).as_deref(), Some("PIX"));
        assert_eq!(cell(&t, &gpus, 1, 3), None);
    }

    #[test]
    fn cpu_masks_read_as_lists() {
        assert_eq!(cpu_list(&[0xff]).as_deref(), Some("0-7"));
        assert_eq!(cpu_list(&[0b1011, 1]).as_deref(), Some("0-1,3,64"));
        assert_eq!(cpu_list(&[0]), None);
    }
}
