//! GPU use per owner: the one place that adds up who holds what, for the Users view, the
//! export's `gpudock_owner_*` series and the fleet. Containers are owned as `docker::owner`
//! decides; a process outside containers is owned by its real user.

use std::collections::{BTreeSet, HashMap};

use super::model::{GpuProcess, GpuSample};
use crate::docker::owner::{Owner, OwnerSource};
use crate::docker::{Container, ContainerId};

/// What one owner holds right now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OwnerUsage {
    /// The name, and the most certain way it was found among this owner's containers and
    /// processes (a guess only when every one of them is a guess).
    pub owner: Owner,
    pub containers_running: usize,
    pub host_processes: usize,
    /// Distinct GPUs where this owner's processes hold memory.
    pub gpus_held: BTreeSet<u32>,
    pub memory_used: u64,
    /// Mean SM % over the GPUs held where it is known (each GPU's share capped at 100);
    /// None when no GPU reports per-process utilisation.
    pub sm_percent: Option<f64>,
    /// GPU memory held by processes idle past `idle_gpu_after`.
    pub idle_memory: u64,
    /// The longest such idle run, in seconds.
    pub idle_seconds: Option<u64>,
}

/// How certain a source is, for merging one owner's many containers: lower is surer.
fn certainty(s: &OwnerSource) -> u8 {
    match s {
        OwnerSource::LaunchedBy | OwnerSource::OwnerLabel(_) => 0,
        OwnerSource::HostProcess | OwnerSource::User => 1,
        OwnerSource::HomeMount => 2,
        OwnerSource::Unknown => 3,
    }
}

/// Every owner with a running container or a GPU process, most GPU memory first (then by
/// name). `idle(gpu, process)` gives the seconds a process has been idle-held, counted only
/// past the idle threshold (None otherwise). Only running containers count.
pub fn by_owner(
    gpus: &[GpuSample],
    containers: &[Container],
    idle: impl Fn(u32, &GpuProcess) -> Option<u64>,
) -> Vec<OwnerUsage> {
    let running: HashMap<&ContainerId, &Container> =
        containers.iter().filter(|c| c.state.is_running()).map(|c| (&c.id, c)).collect();
    let mut rows: Vec<OwnerUsage> = Vec::new();
    let mut at: HashMap<Option<String>, usize> = HashMap::new();
    let mut slot = |owner: &Owner, rows: &mut Vec<OwnerUsage>| -> usize {
        let i = *at.entry(owner.name.clone()).or_insert_with(|| {
            rows.push(OwnerUsage { owner: owner.clone(), ..Default::default() });
            rows.len() - 1
        });
        if certainty(&owner.source) < certainty(&rows[i].owner.source) {
            rows[i].owner.source = owner.source.clone();
        }
        i
    };
    for c in running.values() {
        let i = slot(&c.owner, &mut rows);
        rows[i].containers_running += 1;
    }
    // Per owner and GPU: SM shares summed, to be capped and averaged below.
    let mut sm: HashMap<(usize, u32), Option<u32>> = HashMap::new();
    for g in gpus {
        for p in &g.processes {
            let i = match &p.container_id {
                Some(id) => match running.get(id) {
                    Some(c) => slot(&c.owner, &mut rows),
                    // A stale process of a container that is no longer running holds nothing.
                    None => continue,
                },
                None => {
                    let i = slot(&Owner::host_user(p.user.as_deref()), &mut rows);
                    rows[i].host_processes += 1;
                    i
                }
            };
            let r = &mut rows[i];
            let mem = p.memory_used.unwrap_or(0);
            r.memory_used += mem;
            if mem > 0 {
                r.gpus_held.insert(g.index);
                let share = sm.entry((i, g.index)).or_insert(Some(0));
                *share = match (*share, p.sm_percent) {
                    (Some(a), Some(b)) => Some(a.saturating_add(b)),
                    _ => None,
                };
                if let Some(s) = idle(g.index, p) {
                    r.idle_memory += mem;
                    r.idle_seconds = Some(r.idle_seconds.map_or(s, |m| m.max(s)));
                }
            }
        }
    }
    for (i, r) in rows.iter_mut().enumerate() {
        let known: Vec<f64> = r
            .gpus_held
            .iter()
            .filter_map(|g| sm.get(&(i, *g)).copied().flatten())
            .map(|s| s.min(100).into())
            .collect();
        r.sm_percent = (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64);
    }
    rows.sort_by(|a, b| b.memory_used.cmp(&a.memory_used).then_with(|| a.owner.name.cmp(&b.owner.name)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::ContainerState;

    fn container(id: &str, owner: Option<(&str, OwnerSource)>, state: ContainerState) -> Container {
        Container {
            id: ContainerId::from(id),
            name: id.into(),
            state,
            owner: owner.and_then(|(n, s)| Owner::new(n, s)).unwrap_or_default(),
            ..Default::default()
        }
    }

    fn proc(pid: u32, container: Option<&str>, user: Option<&str>, mem: u64, sm: Option<u32>) -> GpuProcess {
        GpuProcess {
            pid,
            memory_used: Some(mem),
            sm_percent: sm,
            container_id: container.map(ContainerId::from),
            user: user.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn owners_add_up_containers_and_host_processes() {
        let containers = vec![
            container("a1", Some(("alice", OwnerSource::LaunchedBy)), ContainerState::Running),
            container("a2", Some(("alice", OwnerSource::HomeMount)), ContainerState::Running),
            container("c1", Some(("carol", OwnerSource::HomeMount)), ContainerState::Running),
            container("x", None, ContainerState::Running),
            container("old", Some(("alice", OwnerSource::LaunchedBy)), ContainerState::Exited),
        ];
        let gpus = vec![
            GpuSample {
                index: 0,
                processes: vec![
                    proc(1, Some("a1"), None, 10, Some(70)),
                    proc(2, Some("a2"), None, 5, Some(60)),
                    proc(3, None, Some("bob"), 1, Some(0)),
                    proc(4, Some("old"), None, 99, Some(0)),
                ],
                ..Default::default()
            },
            GpuSample {
                index: 1,
                processes: vec![proc(5, Some("a1"), None, 20, Some(40))],
                ..Default::default()
            },
            GpuSample { index: 2, processes: vec![proc(6, Some("c1"), None, 7, None)], ..Default::default() },
        ];
        let idle = |gpu: u32, p: &GpuProcess| (gpu == 0 && p.pid == 3).then_some(600);
        let rows = by_owner(&gpus, &containers, idle);
        let names: Vec<_> = rows.iter().map(|r| r.owner.shown().into_owned()).collect();
        assert_eq!(names, ["alice", "carol?", "bob", "-"], "most memory first; a guess stays a guess");
        let alice = &rows[0];
        assert_eq!(
            (alice.containers_running, alice.memory_used),
            (2, 35),
            "the exited container counts nothing"
        );
        assert_eq!(alice.gpus_held.iter().copied().collect::<Vec<_>>(), [0, 1]);
        // GPU 0: 70 + 60 capped at 100; GPU 1: 40. The mean of the two.
        assert_eq!(alice.sm_percent, Some(70.0));
        assert_eq!(alice.owner.source, OwnerSource::LaunchedBy, "the surest source wins");
        assert_eq!(rows[1].sm_percent, None, "unknown utilisation is not 0");
        let bob = &rows[2];
        assert_eq!(
            (bob.host_processes, bob.containers_running, bob.idle_memory, bob.idle_seconds),
            (1, 0, 1, Some(600))
        );
        assert_eq!((rows[3].containers_running, rows[3].memory_used), (1, 0));
    }
}
