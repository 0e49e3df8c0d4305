//! Per-container CPU and memory sampling: cgroup files for a local engine, one-shot stats calls
//! otherwise (or for a container whose cgroup cannot be read, e.g. gpudock in a container
//! without `--pid=host`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use futures_util::{StreamExt, stream};

use super::cgroup::{self, CgroupFiles, CgroupPaths, CgroupReader, CgroupSample};
use super::model::{Container, ContainerId, ContainerStats};

/// Remembers the previous CPU reading of each container, because a CPU percentage needs two.
pub struct StatsSampler {
    /// Lent to a blocking task for each sample: finding and reading cgroup files blocks.
    files: Option<FileCache>,
    local: bool,
    host_mem: Option<u64>,
    prev_cpu: HashMap<ContainerId, (Instant, u64)>,
    /// Stats requests in flight at once.
    in_flight: usize,
}

/// Stats requests in flight at once to an engine that is cheap to reach.
pub const STATS_IN_FLIGHT: usize = 8;

/// Where each container's counters are read from, with the PID they were resolved for.
struct FileCache {
    reader: CgroupReader,
    files: HashMap<ContainerId, (u32, Source)>,
    /// The CPU counters of the cgroups above the containers', and the parent of each open
    /// container: one read a tick tells whether any container below ran at all.
    parents: HashMap<PathBuf, Parent>,
    parent_of: HashMap<ContainerId, PathBuf>,
    /// How many containers may keep their four files open, from the open-files limit.
    open_budget: usize,
    /// Scratch space for every file read.
    buf: String,
    /// Containers whose files were opened so far: each one's slow reads fall on its own tick.
    opened: usize,
}

impl StatsSampler {
    pub fn new(local: bool) -> StatsSampler {
        StatsSampler {
            files: Some(FileCache::new()),
            local,
            host_mem: cgroup::host_mem_total(std::path::Path::new("/proc")),
            prev_cpu: HashMap::new(),
            in_flight: STATS_IN_FLIGHT,
        }
    }

    /// Reads cgroup files for a local engine; few requests at once to an engine over ssh.
    pub fn for_host(host: &super::DockerHost) -> StatsSampler {
        StatsSampler { in_flight: host.in_flight(STATS_IN_FLIGHT), ..StatsSampler::new(host.is_local()) }
    }

    /// One sample of every running container.
    pub async fn sample(
        &mut self,
        docker: &bollard::Docker,
        containers: &[Container],
    ) -> HashMap<ContainerId, ContainerStats> {
        let running: Vec<(ContainerId, Option<u32>)> =
            containers.iter().filter(|c| c.state.is_running()).map(|c| (c.id.clone(), c.pid)).collect();
        {
            // A set, not a scan of the list: this runs every tick for every container.
            let live: HashSet<&str> = running.iter().map(|(id, _)| id.as_str()).collect();
            self.prev_cpu.retain(|id, _| live.contains(id.as_str()));
        }

        let mut readings: Vec<(ContainerId, CgroupSample)> = Vec::with_capacity(running.len());
        let mut via_api: Vec<ContainerId> = Vec::new();
        if self.local {
            let mut cache = self.files.take().unwrap_or_else(FileCache::new);
            // cgroup files are rendered by the kernel and never wait on a disk: a few dozen
            // small reads take less than a hand-off to the blocking pool and back, which woke
            // two threads every tick. Many containers' reads go there all the same.
            let done = if running.len() <= INLINE_READS {
                let results = cache.read_all(&running);
                Ok((cache, running, results))
            } else {
                tokio::task::spawn_blocking(move || {
                    let results = cache.read_all(&running);
                    (cache, running, results)
                })
                .await
            };
            match done {
                Ok((cache, running, results)) => {
                    self.files = Some(cache);
                    for ((id, _), res) in running.into_iter().zip(results) {
                        match res {
                            Ok(s) => readings.push((id, s)),
                            Err(e) => {
                                tracing::debug!(container = %id, error = %e, "cgroup read failed; using the stats API");
                                via_api.push(id);
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cgroup reader task failed; asking the engine this time");
                    via_api =
                        containers.iter().filter(|c| c.state.is_running()).map(|c| c.id.clone()).collect();
                }
            }
        } else {
            via_api = running.into_iter().map(|(id, _)| id).collect();
        }

        let api: Vec<(ContainerId, Option<CgroupSample>)> = stream::iter(via_api)
            .map(|id| async move {
                let s = one_shot(docker, &id).await;
                (id, s)
            })
            .buffer_unordered(self.in_flight)
            .collect()
            .await;
        readings.extend(api.into_iter().filter_map(|(id, s)| s.map(|s| (id, s))));

        let now = Instant::now();
        let mut out = HashMap::with_capacity(readings.len());
        for (id, s) in readings {
            let cpu_percent = match self.prev_cpu.get_mut(&id) {
                Some(prev) => {
                    let wall = now.duration_since(prev.0).as_nanos() as u64;
                    let p = cgroup::cpu_percent(prev.1, s.cpu_usage_ns, wall);
                    *prev = (now, s.cpu_usage_ns);
                    p
                }
                None => {
                    self.prev_cpu.insert(id.clone(), (now, s.cpu_usage_ns));
                    None
                }
            };
            let mem_limit = s.mem_limit.filter(|l| self.host_mem.is_none_or(|h| *l < h)).or(self.host_mem);
            out.insert(id, ContainerStats { cpu_percent, mem_used: Some(s.mem_used), mem_limit });
        }
        out
    }
}

impl FileCache {
    fn new() -> FileCache {
        FileCache {
            reader: CgroupReader::default(),
            files: HashMap::new(),
            open_budget: open_files_budget(),
            buf: String::new(),
            parents: HashMap::new(),
            parent_of: HashMap::new(),
            opened: 0,
        }
    }

    /// Reads every parent counter; a parent whose counter stood still since the last tick is
    /// `still`: no container below it ran, so their last readings stand (500 idle containers
    /// cost one read a tick instead of 500).
    fn read_parents(&mut self) {
        for p in self.parents.values_mut() {
            let now = cgroup::cpu_counter(&p.file, p.v2, &mut self.buf).ok();
            p.still = now.is_some() && now == p.last;
            p.last = now;
        }
    }

    /// Remembers the parent counter of a container whose files were just opened.
    fn add_parent(&mut self, id: &ContainerId, paths: &CgroupPaths) {
        let Some((path, v2)) = paths.parent_cpu() else { return };
        if !self.parents.contains_key(&path) {
            match std::fs::File::open(&path) {
                Ok(file) => {
                    self.parents.insert(path.clone(), Parent { file, v2, last: None, still: false });
                }
                Err(e) => {
                    tracing::debug!(path = %path.display(), error = %e, "no parent CPU counter");
                    return;
                }
            }
        }
        self.parent_of.insert(id.clone(), path);
    }

    /// Reads every running container's counters, in the order given, finding (and opening) the
    /// files of containers seen for the first time or restarted since. Blocks: run it off the
    /// async workers.
    fn read_all(&mut self, running: &[(ContainerId, Option<u32>)]) -> Vec<Result<CgroupSample, String>> {
        self.read_parents();
        let mut open = self.files.values().filter(|(_, s)| matches!(s, Source::Open(_))).count();
        let mut out = Vec::with_capacity(running.len());
        for (id, pid) in running {
            let Some(pid) = *pid else {
                out.push(Err("no PID".to_string()));
                continue;
            };
            // Looked up before inserting: an entry() would copy the ID every tick.
            if !self.files.contains_key(id) {
                self.files.insert(id.clone(), (0, Source::None));
            }
            let Some(entry) = self.files.get_mut(id) else {
                out.push(Err("no cgroup found".to_string()));
                continue;
            };
            let mut opened = None;
            // A restart changes the PID and the cgroup.
            if entry.0 != pid || matches!(entry.1, Source::None) {
                if matches!(entry.1, Source::Open(_)) {
                    open -= 1;
                }
                self.parent_of.remove(id);
                let source = match self.reader.resolve(pid, id) {
                    // Past the budget, files are opened for each reading instead of kept open.
                    Ok(p) if open >= self.open_budget => Source::Paths(p),
                    Ok(p) => match self.reader.open(&p) {
                        Ok(f) => {
                            open += 1;
                            opened = Some(p);
                            self.opened += 1;
                            Source::Open(Box::new(f.with_phase(self.opened)))
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
            let still = || self.parent_of.get(id).and_then(|p| self.parents.get(p)).is_some_and(|p| p.still);
            let res = match &mut entry.1 {
                // Asked only while the parent stood still: asking ages the slow files.
                Source::Open(f) => match if still() { f.unchanged() } else { None } {
                    Some(s) => Ok(s),
                    None => f.read(&mut self.buf).map_err(|e| e.to_string()),
                },
                Source::Paths(p) => self.reader.read(p).map_err(|e| e.to_string()),
                Source::None => Err("no cgroup found".to_string()),
            };
            if res.is_err() {
                // Reopen next time: the cgroup may have been recreated.
                if matches!(entry.1, Source::Open(_)) {
                    open -= 1;
                }
                entry.1 = Source::None;
            }
            out.push(res);
            if let Some(p) = opened {
                self.add_parent(id, &p);
            }
        }
        // Every container read is in the cache now: more entries means some are gone.
        let kept = running.iter().filter(|(_, pid)| pid.is_some()).count();
        if self.files.len() > kept {
            let live: HashSet<&str> =
                running.iter().filter(|(_, pid)| pid.is_some()).map(|(id, _)| id.as_str()).collect();
            self.files.retain(|id, _| live.contains(id.as_str()));
            self.parent_of.retain(|id, _| live.contains(id.as_str()));
            let used: HashSet<&PathBuf> = self.parent_of.values().collect();
            self.parents.retain(|p, _| used.contains(p));
        }
        out
    }
}

/// The CPU counter of a cgroup above some containers', as of the last tick.
struct Parent {
    file: std::fs::File,
    v2: bool,
    last: Option<u64>,
    /// It stood still between the last two ticks.
    still: bool,
}

#[derive(Debug)]
enum Source {
    Open(Box<CgroupFiles>),
    Paths(CgroupPaths),
    None,
}

/// Running containers whose counters are read on the async worker itself (about 2 µs each).
const INLINE_READS: usize = 64;

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
    let mut stream = docker.stats(id, Some(opts));
    let resp = match stream.next().await? {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(container = id, error = %e, "one-shot stats failed");
            return None;
        }
    };
    // Read the answer to its end: a connection dropped mid-answer is closed, and over ssh every
    // new connection is a new ssh process.
    let rest = async { while stream.next().await.is_some() {} };
    let drained = tokio::time::timeout(std::time::Duration::from_secs(1), rest).await.is_ok();
    tracing::debug!(container = id, drained, "one-shot stats read");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &std::path::Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(root)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(p, text).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn while_the_parent_cgroups_cpu_counter_stands_still_no_container_is_read() {
        let root = std::env::temp_dir().join(format!("gpudock-stats-parent-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let id = "d".repeat(64);
        let dir = format!("sys/system.slice/docker-{id}.scope");
        write(&root, "proc/21/cgroup", &format!("0::/system.slice/docker-{id}.scope\n"));
        write(&root, "sys/system.slice/cpu.stat", "usage_usec 100\n");
        write(&root, &format!("{dir}/cpu.stat"), "usage_usec 7\n");
        write(&root, &format!("{dir}/memory.current"), "5000000\n");
        write(&root, &format!("{dir}/memory.stat"), "inactive_file 0\n");
        write(&root, &format!("{dir}/memory.max"), "max\n");
        let mut cache =
            FileCache { reader: CgroupReader::new(root.join("proc"), root.join("sys")), ..FileCache::new() };
        let running = vec![(ContainerId::from(id.clone()), Some(21))];
        let mut used = || match cache.read_all(&running).pop() {
            Some(Ok(s)) => (s.cpu_usage_ns, s.mem_used),
            other => panic!("{other:?}"),
        };
        assert_eq!(used(), (7_000, 5_000_000));
        assert_eq!(used(), (7_000, 5_000_000), "the parent's first reading");
        // The container's files change while the parent's counter stands still (a fake tree
        // can do what a kernel cannot): the last reading stands, nothing below is read.
        write(&root, &format!("{dir}/cpu.stat"), "usage_usec 9\n");
        write(&root, &format!("{dir}/memory.current"), "6000000\n");
        assert_eq!(used(), (7_000, 5_000_000));
        // The parent moved: some container ran, so each is read again.
        write(&root, "sys/system.slice/cpu.stat", "usage_usec 102\n");
        assert_eq!(used(), (9_000, 6_000_000));
        let _ = std::fs::remove_dir_all(&root);
    }
}
