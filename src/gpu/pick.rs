//! `--gpus free:N`: which N GPUs to give a new container. Free means healthy with no process
//! holding memory on it; among the free, the coolest and least used come first, then by index,
//! and N GPUs of one NVLink island are kept together where the topology is known.
//!
//! The input is a small struct of its own (`Candidate`), so the caller can fill it from any
//! reading of the GPUs; `from_sample` fills it from one NVML sample.

use std::fmt;

use super::model::{GpuSample, host_owner};

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
    /// The NVLink island it belongs to, where known.
    pub island: Option<u32>,
}

impl Candidate {
    pub fn is_free(&self) -> bool {
        self.broken.is_none() && self.holders.is_empty()
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

/// N free GPUs' indices, in pick order, or why not.
pub fn pick(n: u32, gpus: &[Candidate]) -> Result<Vec<u32>, Refusal> {
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
    // One island that can take all N, the island of the best GPU first.
    let island = free
        .iter()
        .filter_map(|g| g.island)
        .find(|i| free.iter().filter(|g| g.island == Some(*i)).count() >= wanted);
    let chosen = match island {
        Some(i) => free.iter().filter(|g| g.island == Some(i)).take(wanted).map(|g| g.index).collect(),
        None => free.iter().take(wanted).map(|g| g.index).collect(),
    };
    Ok(chosen)
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
        island: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu(index: u32, temp: u32, util: u32) -> Candidate {
        Candidate { index, temperature_c: Some(temp), util_percent: Some(util), ..Default::default() }
    }

    #[test]
    fn coolest_and_least_used_free_gpus_first_and_never_a_broken_or_held_one() {
        let gpus = vec![
            Candidate { holders: vec!["alice-train".into()], ..gpu(0, 30, 0) },
            Candidate { broken: Some("uncorrected ECC errors since the last reset".into()), ..gpu(1, 25, 0) },
            gpu(2, 60, 5),
            gpu(3, 40, 0),
            gpu(4, 40, 0),
        ];
        assert_eq!(pick(1, &gpus), Ok(vec![3]));
        assert_eq!(pick(3, &gpus), Ok(vec![3, 4, 2]));
        let no = pick(4, &gpus).err().unwrap_or_else(|| panic!("4 of 3 free"));
        assert_eq!(no.free, [2, 3, 4]);
        let text = no.to_string();
        assert!(
            text.contains("3 GPUs are free (GPUs 2, 3, 4)")
                && text.contains("GPU 0 is held by alice-train")
                && text.contains("GPU 1 is broken (uncorrected ECC"),
            "{text}"
        );
    }

    #[test]
    fn one_nvlink_island_is_kept_together_when_known() {
        let gpus: Vec<Candidate> =
            (0..4).map(|i| Candidate { island: Some(i / 2), ..gpu(i, 50 - i, 0) }).collect();
        // GPU 3 is the coolest: its island (2, 3) can take two.
        assert_eq!(pick(2, &gpus), Ok(vec![3, 2]));
        assert_eq!(pick(3, &gpus), Ok(vec![3, 2, 1]), "no island holds three: by preference");
    }
}
