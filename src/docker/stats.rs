//! Per-container CPU and memory sampling: cgroup files for a local engine, one-shot stats calls
//! otherwise (or for a container whose cgroup cannot be read, e.g. gpudock in a container
//! without `--pid=host`).

use std::collections::HashMap;
use std::time::Instant;

use futures_util::{StreamExt, stream};

use super::cgroup::{self, CgroupPaths, CgroupReader, CgroupSample};
use super::model::{Container, ContainerStats};

/// Remembers the previous CPU reading of each container, because a CPU percentage needs two.
pub struct StatsSampler {
    reader: CgroupReader,
    local: bool,
    host_mem: Option<u64>,
    paths: HashMap<String, (u32, Option<CgroupPaths>)>,
    prev_cpu: HashMap<String, (Instant, u64)>,
}

impl StatsSampler {
    pub fn new(local: bool) -> StatsSampler {
        StatsSampler {
            reader: CgroupReader::default(),
            local,
            host_mem: cgroup::host_mem_total(std::path::Path::new("/proc")),
            paths: HashMap::new(),
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
        self.paths.retain(|id, _| running.iter().any(|(r, _)| r == id));
        self.prev_cpu.retain(|id, _| running.iter().any(|(r, _)| r == id));

        let mut readings: HashMap<String, CgroupSample> = HashMap::new();
        let mut via_api: Vec<String> = Vec::new();
        if self.local {
            let jobs = self.cgroup_jobs(&running);
            let reader = self.reader.clone();
            // File reads are quick but blocking; keep them off the async workers.
            let done = tokio::task::spawn_blocking(move || {
                jobs.into_iter()
                    .map(|(id, paths)| {
                        let res = paths.as_ref().ok_or(()).and_then(|p| reader.read(p).map_err(|_| ()));
                        (id, res)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            for (id, res) in done {
                match res {
                    Ok(s) => {
                        readings.insert(id, s);
                    }
                    Err(()) => via_api.push(id),
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

    /// The cgroup of each running container, resolved once per PID (a restart changes the PID).
    fn cgroup_jobs(&mut self, running: &[(String, Option<u32>)]) -> Vec<(String, Option<CgroupPaths>)> {
        running
            .iter()
            .map(|(id, pid)| {
                let Some(pid) = *pid else { return (id.clone(), None) };
                let entry = self.paths.entry(id.clone()).or_insert((0, None));
                if entry.0 != pid || entry.1.is_none() {
                    *entry = (pid, self.reader.resolve(pid).ok());
                }
                (id.clone(), entry.1.clone())
            })
            .collect()
    }
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
