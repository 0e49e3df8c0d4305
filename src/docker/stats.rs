//! Per-container CPU and memory sampling: cgroup files for a local engine, one-shot stats calls
//! otherwise (or for a container whose cgroup cannot be read, e.g. gpudock in a container
//! without `--pid=host`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use futures_util::{StreamExt, stream};

use super::cgroup::{self, CgroupFiles, CgroupPaths, CgroupReader, CgroupSample};
use super::model::{Container, ContainerStats};

/// Remembers the previous CPU reading of each container, because a CPU percentage needs two.
pub struct StatsSampler {
    reader: CgroupReader,
    local: bool,
    host_mem: Option<u64>,
    /// Where each container's counters are read from, with the PID that was resolved for.
    files: HashMap<String, (u32, Source)>,
    /// How many containers may keep their four files open, from the open-files limit.
    open_budget: usize,
    prev_cpu: HashMap<String, (Instant, u64)>,
}

impl StatsSampler {
    pub fn new(local: bool) -> StatsSampler {
        StatsSampler {
            reader: CgroupReader::default(),
            local,
            host_mem: cgroup::host_mem_total(std::path::Path::new("/proc")),
            files: HashMap::new(),
            open_budget: open_files_budget(),
            prev_cpu: HashMap::new(),
        }
    }

    /// One sample of every running container.
    pub async fn sample(
        &mut self,
        docker: &bollard::Docker,
        containers: &[Container],
    ) -> HashMap<String, ContainerStats> {
        let running: Vec<(String, Option<u32>)> =
            containers.iter().filter(|c| c.state.is_running()).map(|c| (c.id.clone(), c.pid)).collect();
        // A set, not a scan of the list: this runs every tick for every container.
        let live: HashSet<&str> = running.iter().map(|(id, _)| id.as_str()).collect();
        self.files.retain(|id, _| live.contains(id.as_str()));
        self.prev_cpu.retain(|id, _| live.contains(id.as_str()));

        let mut readings: HashMap<String, CgroupSample> = HashMap::new();
        let mut via_api: Vec<String> = Vec::new();
        if self.local {
            let jobs = self.cgroup_jobs(&running);
            let reader = self.reader.clone();
            let ids: Vec<String> = jobs.iter().map(|j| j.0.clone()).collect();
            // File reads are quick but blocking; keep them off the async workers.
            let done = tokio::task::spawn_blocking(move || {
                jobs.into_iter()
                    .map(|(id, source)| {
                        let res = match &source {
                            Source::Open(f) => f.read().map_err(|e| e.to_string()),
                            Source::Paths(p) => reader.read(p).map_err(|e| e.to_string()),
                            Source::None => Err("no cgroup found".to_string()),
                        };
                        (id, res)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cgroup reader task failed; asking the engine this time");
                ids.into_iter().map(|id| (id, Err("cgroup reader task failed".to_string()))).collect()
            });
            for (id, res) in done {
                match res {
                    Ok(s) => {
                        readings.insert(id, s);
                    }
                    Err(e) => {
                        tracing::debug!(container = %id, error = %e, "cgroup read failed; using the stats API");
                        // Reopen next time (the cgroup may have been recreated); ask the engine now.
                        self.files.remove(&id);
                        via_api.push(id);
                    }
                }
            }
        } else {
            via_api = running.iter().map(|(id, _)| id.clone()).collect();
        }

        let api: Vec<(String, Option<CgroupSample>)> = stream::iter(via_api)
            .map(|id| async move {
                let s = one_shot(docker, &id).await;
                (id, s)
            })
            .buffer_unordered(8)
            .collect()
            .await;
        readings.extend(api.into_iter().filter_map(|(id, s)| s.map(|s| (id, s))));

        let now = Instant::now();
        let mut out = HashMap::with_capacity(readings.len());
        for (id, s) in readings {
            let cpu_percent = self.prev_cpu.get(&id).and_then(|(t, prev)| {
                cgroup::cpu_percent(*prev, s.cpu_usage_ns, now.duration_since(*t).as_nanos() as u64)
            });
            self.prev_cpu.insert(id.clone(), (now, s.cpu_usage_ns));
            let mem_limit = s.mem_limit.filter(|l| self.host_mem.is_none_or(|h| *l < h)).or(self.host_mem);
            out.insert(id, ContainerStats { cpu_percent, mem_used: Some(s.mem_used), mem_limit });
        }
        out
    }

    /// The counter files of each running container, opened once per PID (a restart changes
    /// the PID and the cgroup).
    fn cgroup_jobs(&mut self, running: &[(String, Option<u32>)]) -> Vec<(String, Source)> {
        let mut open = self.files.values().filter(|(_, s)| matches!(s, Source::Open(_))).count();
        let mut jobs = Vec::with_capacity(running.len());
        for (id, pid) in running {
            let Some(pid) = *pid else {
                jobs.push((id.clone(), Source::None));
                continue;
            };
            let entry = self.files.entry(id.clone()).or_insert((0, Source::None));
            if entry.0 != pid || matches!(entry.1, Source::None) {
                if matches!(entry.1, Source::Open(_)) {
                    open -= 1;
                }
                let source = match self.reader.resolve(pid) {
                    // Past the budget, files are opened for each reading instead of kept open.
                    Ok(p) if open >= self.open_budget => Source::Paths(p),
                    Ok(p) => match self.reader.open(&p) {
                        Ok(f) => {
                            open += 1;
                            Source::Open(Arc::new(f))
                        }
                        Err(_) => Source::Paths(p),
                    },
                    Err(e) => {
                        tracing::debug!(container = %id, pid, error = %e, "no cgroup for the container; using the stats API");
                        Source::None
                    }
                };
                *entry = (pid, source);
            }
            jobs.push((id.clone(), entry.1.clone()));
        }
        jobs
    }
}

#[derive(Debug, Clone)]
enum Source {
    Open(Arc<CgroupFiles>),
    Paths(CgroupPaths),
    None,
}

/// Containers whose counter files may stay open: four files each, leaving room for the rest
/// of the program under the soft open-files limit.
fn open_files_budget() -> usize {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own.
    let soft =
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 { lim.rlim_cur } else { 1024 };
    (usize::try_from(soft).unwrap_or(1024).saturating_sub(256) / 4).min(4096)
}

async fn one_shot(docker: &bollard::Docker, id: &str) -> Option<CgroupSample> {
    let opts = bollard::query_parameters::StatsOptions { stream: false, one_shot: true };
    let resp = match docker.stats(id, Some(opts)).next().await? {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(container = id, error = %e, "one-shot stats failed");
            return None;
        }
    };
    let cpu = resp.cpu_stats.as_ref()?.cpu_usage.as_ref()?.total_usage?;
    let mem = resp.memory_stats.as_ref()?;
    let inactive = mem
        .stats
        .as_ref()
        .and_then(|s| s.get("total_inactive_file").or_else(|| s.get("inactive_file")).copied())
        .unwrap_or(0);
    Some(CgroupSample {
        cpu_usage_ns: cpu,
        mem_used: mem.usage?.saturating_sub(inactive),
        mem_limit: mem.limit,
    })
}
