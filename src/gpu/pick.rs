//! `--gpus free:N`: which N GPUs to give a new container, and why those. Free means healthy
//! with no process holding memory on it. One GPU: the coolest and least used free one, then by
//! index. N > 1: a set joined best, since a multi-GPU job runs at the speed of its slowest
//! path: from each free GPU in preference order, free GPUs are added by the most NVLinks to
//! those already chosen, then by the nearest PCIe level (PIX, PXB, PHB, NODE, SYS), then by
//! preference; the best-joined set wins (every pair NVLinked first, more links first, then the
//! nearer farthest PCIe path between GPUs no NVLink joins), ties to the set started from the
//! better GPU. So two free GPUs
//! of one NVLink quad beat the coolest GPU of a quad that can no longer hold N. Where the
//! topology is unknown every set ties and the pick is by preference, as before.
//!
//! The input is plain data of its own (`Candidate`s and their `Joins`), so the caller can fill
//! it from any reading of the GPUs; `from_sample` and `Joins::from_sample` fill it from one
//! NVML sample.

use std::cmp::Reverse;
use std::fmt;

use super::model::{GpuSample, host_owner};
use super::topology::{TopoLevel, Topology, nvlinks_between};

/// What the picker needs to know of one GPU.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Candidate {
    pub index: u32,
    /// Why the GPU must not be handed out (lost, uncorrected ECC errors, a remap pending or
    /// failed, a retirement pending); None when healthy.
    pub broken: Option<String>,
    /// Who holds memory on it: container names, or `command(user)` for host processes.
    pub holders: Vec<String>,
    pub temperature_c: Option<u32>,
    pub util_percent: Option<u32>,
}

impl Candidate {
    pub fn is_free(&self) -> bool {
        self.broken.is_none() && self.holders.is_empty()
    }
}

/// How the GPUs reach each other, as far as known: active NVLinks per pair (as last sampled:
/// links go down while gpudock runs) and the PCIe level per pair (read once per NVML open).
/// Empty where NVML says nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Joins {
    /// (a, b, active NVLinks) with a < b, for pairs joined by at least one.
    pub nvlinks: Vec<(u32, u32, u32)>,
    /// (a, b, nearest common PCIe ancestor), in either order.
    pub levels: Vec<(u32, u32, TopoLevel)>,
}

impl Joins {
    /// From one sample's links and the topology NVML gave (`topology::nvlinks_between`, the
    /// count `t` and `nvidia-smi topo -m` show).
    pub fn from_sample(topology: Option<&Topology>, gpus: &[GpuSample]) -> Joins {
        let mut nvlinks = Vec::new();
        for (k, a) in gpus.iter().enumerate() {
            for b in &gpus[k + 1..] {
                let (lo, hi) = (a.index.min(b.index), a.index.max(b.index));
                match nvlinks_between(gpus, lo, hi) {
                    0 => {}
                    n => nvlinks.push((lo, hi, n)),
                }
            }
        }
        Joins { nvlinks, levels: topology.map(|t| t.levels.clone()).unwrap_or_default() }
    }

    pub fn nvlinks(&self, a: u32, b: u32) -> u32 {
        let (lo, hi) = (a.min(b), a.max(b));
        self.nvlinks.iter().find(|(x, y, _)| *x == lo && *y == hi).map_or(0, |(_, _, n)| *n)
    }

    pub fn level(&self, a: u32, b: u32) -> Option<TopoLevel> {
        self.levels.iter().find(|(x, y, _)| (*x, *y) == (a, b) || (*x, *y) == (b, a)).map(|(_, _, l)| *l)
    }

    /// How far apart two GPUs are on PCIe: each level in turn, unknown last. The picker weighs
    /// it after the NVLinks, so it also splits GPUs an NVSwitch joins equally.
    fn distance(&self, a: u32, b: u32) -> u8 {
        match self.level(a, b) {
            Some(TopoLevel::Internal) => 1,
            Some(TopoLevel::Single) => 2,
            Some(TopoLevel::Multiple) => 3,
            Some(TopoLevel::HostBridge) => 4,
            Some(TopoLevel::Node) => 5,
            Some(TopoLevel::System) => 6,
            None => 7,
        }
    }
}

/// Every GPU of a node as the picker sees it: plain data, published by the app each sample so
/// the launch can pick again right before create.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Candidates {
    pub gpus: Vec<Candidate>,
    pub joins: Joins,
}

impl Candidates {
    pub fn pick(&self, n: u32) -> Result<Pick, Refusal> {
        pick(n, &self.gpus, &self.joins)
    }
}

/// What `free:N` picked, in pick order, and why those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub gpus: Vec<u32>,
    pub why: Why,
}

/// Why a pick is the one it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// One GPU: the coolest and least used free one.
    Best { temperature_c: Option<u32>, util_percent: Option<u32> },
    /// Every pair of them joined by NVLink, `fewest` links between the least-joined pair.
    NvLinks { fewest: u32 },
    /// Not every pair NVLinked: the farthest PCIe path between two of them.
    Pcie { farthest: TopoLevel, partly_nvlinked: bool },
    /// How they reach each other is not known: by preference.
    Preference,
}

impl Pick {
    /// `GPUs 2,3`, as the reason names them.
    pub fn list(&self) -> String {
        let ix: Vec<String> = self.gpus.iter().map(u32::to_string).collect();
        format!("GPU{} {}", if ix.len() == 1 { "" } else { "s" }, ix.join(","))
    }
}

/// A PCIe level in words, with `nvidia-smi topo -m`'s symbol.
fn level_words(l: TopoLevel) -> String {
    let words = match l {
        TopoLevel::Internal => "same board",
        TopoLevel::Single => "same PCIe switch",
        TopoLevel::Multiple => "PCIe switches without a host bridge",
        TopoLevel::HostBridge => "same PCIe host bridge",
        TopoLevel::Node => "same NUMA node",
        TopoLevel::System => "across NUMA nodes",
    };
    format!("{words} ({})", l.symbol())
}

impl fmt::Display for Pick {
    /// `GPUs 2,3: joined by 4 NVLinks`, `GPU 6: coolest and least used (41 °C, 0 %)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known =
            |v: Option<u32>, unit: &str| v.map_or_else(|| "n/a".to_string(), |v| format!("{v} {unit}"));
        write!(f, "{}: ", self.list())?;
        match self.why {
            Why::Best { temperature_c, util_percent } => write!(
                f,
                "coolest and least used ({}, {})",
                known(temperature_c, "°C"),
                known(util_percent, "%")
            ),
            Why::NvLinks { fewest } if self.gpus.len() == 2 => {
                write!(f, "joined by {fewest} NVLink{}", if fewest == 1 { "" } else { "s" })
            }
            Why::NvLinks { fewest } => write!(f, "every pair joined by NVLink ({fewest} or more)"),
            Why::Pcie { farthest, partly_nvlinked: false } => f.write_str(&level_words(farthest)),
            Why::Pcie { farthest, partly_nvlinked: true } => {
                write!(f, "no NVLink island holds {}; at worst {}", self.gpus.len(), level_words(farthest))
            }
            Why::Preference => f.write_str("coolest and least used (topology unknown)"),
        }
    }
}

/// Why `free:N` cannot be met, with what stands in the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub wanted: u32,
    pub free: Vec<u32>,
    pub held: Vec<(u32, Vec<String>)>,
    pub broken: Vec<(u32, String)>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |ix: &[u32]| ix.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
        write!(f, "free:{} cannot be met: ", self.wanted)?;
        match self.free.len() {
            0 => f.write_str("no GPU is free")?,
            1 => write!(f, "1 GPU is free (GPU {})", list(&self.free))?,
            n => write!(f, "{n} GPUs are free (GPUs {})", list(&self.free))?,
        }
        for (i, who) in &self.held {
            write!(f, "; GPU {i} is held by {}", who.join(", "))?;
        }
        for (i, why) in &self.broken {
            write!(f, "; GPU {i} is broken ({why})")?;
        }
        Ok(())
    }
}

/// N free GPUs joined best, in pick order, and why; or why not.
pub fn pick(n: u32, gpus: &[Candidate], joins: &Joins) -> Result<Pick, Refusal> {
    let mut free: Vec<&Candidate> = gpus.iter().filter(|g| g.is_free()).collect();
    // Unknown temperature or load sorts after every known one.
    free.sort_by_key(|g| (g.temperature_c.unwrap_or(u32::MAX), g.util_percent.unwrap_or(u32::MAX), g.index));
    let wanted = n as usize;
    if free.len() < wanted {
        return Err(Refusal {
            wanted: n,
            free: {
                let mut f: Vec<u32> = free.iter().map(|g| g.index).collect();
                f.sort_unstable();
                f
            },
            held: gpus
                .iter()
                .filter(|g| !g.holders.is_empty())
                .map(|g| (g.index, g.holders.clone()))
                .collect(),
            broken: gpus.iter().filter_map(|g| g.broken.clone().map(|b| (g.index, b))).collect(),
        });
    }
    let order: Vec<u32> = free.iter().map(|g| g.index).collect();
    if wanted <= 1 {
        let why = match free.first() {
            Some(g) => Why::Best { temperature_c: g.temperature_c, util_percent: g.util_percent },
            None => Why::Preference,
        };
        return Ok(Pick { gpus: order.into_iter().take(wanted).collect(), why });
    }
    // Each start's set; only a strictly better-joined one replaces the earlier (better) start's.
    let mut best: Option<(SetScore, Vec<u32>)> = None;
    for &start in &order {
        let set = grow(start, wanted, &order, joins);
        let score = score(&set, joins);
        if best.as_ref().is_none_or(|(b, _)| score < *b) {
            best = Some((score, set));
        }
    }
    let set = best.map(|(_, s)| s).unwrap_or_default();
    let why = why(&set, joins);
    Ok(Pick { gpus: set, why })
}

/// `free:N` once more, right before create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Again {
    /// Every GPU of the earlier pick is still free: it stands (the user saw it; a GPU that
    /// cooled down since is no reason to move).
    Kept,
    /// Some GPU of the earlier pick was taken or broke meanwhile: a new pick, and a line that
    /// says what changed.
    Moved { pick: Pick, text: String },
}

/// Picks `free:n` again from `now`, right before create: `before` (the pick the form showed)
/// stands while all of it is still free; else a new pick, or why none can be made any more.
pub fn again(n: u32, before: &[u32], now: &Candidates) -> Result<Again, Refusal> {
    let lost: Vec<String> = before
        .iter()
        .filter_map(|&i| match now.gpus.iter().find(|g| g.index == i) {
            None => Some(format!("GPU {i} is gone")),
            Some(g) if g.broken.is_some() => {
                Some(format!("GPU {i} broke meanwhile ({})", g.broken.clone().unwrap_or_default()))
            }
            Some(g) if !g.holders.is_empty() => {
                Some(format!("GPU {i} was taken meanwhile (held by {})", g.holders.join(", ")))
            }
            Some(_) => None,
        })
        .collect();
    if lost.is_empty() && before.len() == n as usize {
        return Ok(Again::Kept);
    }
    let pick = now.pick(n)?;
    let text = match lost.is_empty() {
        // No earlier pick to speak of (none was made on submit).
        true => format!("free:{n} now picks {pick}"),
        false => format!("free:{n} now picks {pick}, as {}", lost.join("; ")),
    };
    Ok(Again::Moved { pick, text })
}

/// From `start`, free GPUs (in preference `order`) added one at a time: most NVLinks to those
/// chosen, then the nearest farthest PCIe path to them, then preference.
fn grow(start: u32, wanted: usize, order: &[u32], joins: &Joins) -> Vec<u32> {
    let mut set = vec![start];
    while set.len() < wanted {
        let next = order
            .iter()
            .enumerate()
            .filter(|(_, i)| !set.contains(i))
            .min_by_key(|&(rank, &i)| {
                let links: u32 = set.iter().map(|&c| joins.nvlinks(i, c)).sum();
                let far = set.iter().map(|&c| joins.distance(i, c)).max().unwrap_or(0);
                (Reverse(links), far, rank)
            })
            .map(|(_, &i)| i);
        match next {
            Some(i) => set.push(i),
            None => break,
        }
    }
    set
}

/// A set's join, smaller is better: every pair NVLinked (the fewest links between a pair, more
/// first), then the farthest PCIe path between two GPUs no NVLink joins. PCIe levels between
/// NVLinked GPUs only order the growing, never move the pick off the better start.
type SetScore = (Reverse<u32>, u8);

fn pairs(set: &[u32]) -> impl Iterator<Item = (u32, u32)> + '_ {
    set.iter().enumerate().flat_map(move |(k, &a)| set[k + 1..].iter().map(move |&b| (a, b)))
}

fn score(set: &[u32], joins: &Joins) -> SetScore {
    let fewest = pairs(set).map(|(a, b)| joins.nvlinks(a, b)).min().unwrap_or(0);
    let far = pairs(set).filter(|&(a, b)| joins.nvlinks(a, b) == 0).map(|(a, b)| joins.distance(a, b)).max();
    (Reverse(fewest), far.unwrap_or(0))
}

fn why(set: &[u32], joins: &Joins) -> Why {
    let fewest = pairs(set).map(|(a, b)| joins.nvlinks(a, b)).min().unwrap_or(0);
    if fewest > 0 {
        return Why::NvLinks { fewest };
    }
    let mut farthest = None;
    let mut partly_nvlinked = false;
    for (a, b) in pairs(set) {
        if joins.nvlinks(a, b) > 0 {
            partly_nvlinked = true;
            continue;
        }
        match joins.level(a, b) {
            Some(l) => farthest = farthest.max(Some(l)),
            None => return Why::Preference,
        }
    }
    farthest.map_or(Why::Preference, |farthest| Why::Pcie { farthest, partly_nvlinked })
}

/// Why `g` is unfit for new work, in words: the state model's faults (`gpu::state`), the same
/// ones the panel, `doctor`, `snapshot` and `export` name. None when it is not broken.
pub fn broken_reason(g: &GpuSample) -> Option<String> {
    let a = super::state::assess(g, []);
    (a.state == super::state::State::Broken).then(|| a.faults().join(", "))
}

/// One sampled GPU as a candidate; `container_name` names a process's container by its ID.
pub fn from_sample(g: &GpuSample, container_name: &dyn Fn(&str) -> Option<String>) -> Candidate {
    let mut holders: Vec<String> = Vec::new();
    // Only processes that hold memory keep a GPU from being free (as `gpu::state` counts them).
    for p in g.processes.iter().filter(|p| p.memory_used.is_none_or(|m| m > 0)) {
        let who = match &p.container_id {
            Some(id) => container_name(id.as_str()).unwrap_or_else(|| format!("container {}", id.short())),
            None => format!("{} pid {}", host_owner(p), p.pid),
        };
        if !holders.contains(&who) {
            holders.push(who);
        }
    }
    if holders.is_empty() && super::state::memory_held(g) {
        holders.push("memory held by processes NVML does not list".into());
    }
    Candidate {
        index: g.index,
        broken: broken_reason(g),
        holders,
        temperature_c: g.temperature_c,
        util_percent: g.util_gpu,
    }
}

#[cfg(test)]
#[path = "pick_tests.rs"]
mod tests;
