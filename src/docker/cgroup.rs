//! CPU and memory of a container read straight from its cgroup files.
//!
//! Asking the engine for stats makes dockerd and containerd do the work (and streaming them for
//! every container keeps both busy); on a local engine the same numbers are a few small file
//! reads away. The container's cgroup is found through `/proc/<pid>/cgroup`, so the cgroup
//! driver (cgroupfs or systemd) and version (v1 or v2) need no guessing.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::procfs;

/// Where a container's counters live, resolved once per container start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupPaths {
    V1 { memory: PathBuf, cpuacct: PathBuf },
    V2 { dir: PathBuf },
}

/// One reading of the raw counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupSample {
    pub cpu_usage_ns: u64,
    /// Memory in use minus `inactive_file`, as `docker stats` shows it.
    pub mem_used: u64,
    /// None when the cgroup has no limit.
    pub mem_limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct CgroupReader {
    proc_root: PathBuf,
    sys_root: PathBuf,
}

impl Default for CgroupReader {
    fn default() -> Self {
        CgroupReader::new("/proc", "/sys/fs/cgroup")
    }
}

/// v1 reports "no limit" as a page-rounded i64::MAX.
const V1_UNLIMITED: u64 = 0x7FFF_FFFF_FFFF_F000;

impl CgroupReader {
    pub fn new(proc_root: impl Into<PathBuf>, sys_root: impl Into<PathBuf>) -> CgroupReader {
        CgroupReader { proc_root: proc_root.into(), sys_root: sys_root.into() }
    }

    /// The counter files of container `id`, whose init process is `pid`. The cgroup must name
    /// that container: a PID can be reused by another process between the listing and this
    /// call, and a socket forwarded from another host names PIDs that mean nothing here.
    pub fn resolve(&self, pid: u32, id: &str) -> io::Result<CgroupPaths> {
        let text = procfs::read_cgroup(&self.proc_root, pid)?;
        if procfs::container_id_from_cgroup(&text).as_deref() != Some(id) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("process {pid} is not in container {}", super::short_id(id)),
            ));
        }
        let mut memory = None;
        let mut cpuacct = None;
        let mut unified = None;
        for entry in procfs::cgroup_entries(&text) {
            let (controllers, rel) = (entry.controllers, entry.path.trim_start_matches('/'));
            if controllers.is_empty() {
                unified = Some(self.sys_root.join(rel));
                continue;
            }
            let list: Vec<&str> = controllers.split(',').collect();
            if list.contains(&"memory") {
                memory = Some(self.controller_dir(controllers, "memory", rel));
            }
            if list.contains(&"cpuacct") {
                cpuacct = Some(self.controller_dir(controllers, "cpuacct", rel));
            }
        }
        // A hybrid v1 host also has a "0::" line for the (empty) unified hierarchy: the
        // v1 controllers win whenever they are present.
        match (memory, cpuacct, unified) {
            (Some(memory), Some(cpuacct), _) => Ok(CgroupPaths::V1 { memory, cpuacct }),
            (_, _, Some(dir)) => Ok(CgroupPaths::V2 { dir }),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "no memory/cpu cgroup for this process")),
        }
    }

    /// v1 mounts co-mounted controllers as "cpu,cpuacct" (usually with symlinks per controller);
    /// try the joint name first, then the single one.
    fn controller_dir(&self, controllers: &str, single: &str, rel: &str) -> PathBuf {
        let joint = self.sys_root.join(controllers).join(rel);
        if joint.exists() { joint } else { self.sys_root.join(single).join(rel) }
    }

    /// Opens a container's counter files. They stay open for the life of the container:
    /// opening and closing them every second was half of gpudock's CPU time.
    pub fn open(&self, paths: &CgroupPaths) -> io::Result<CgroupFiles> {
        let open = |dir: &Path, name: &str| File::open(dir.join(name));
        Ok(match paths {
            CgroupPaths::V1 { memory, cpuacct } => CgroupFiles {
                v2: false,
                cpu: open(cpuacct, "cpuacct.usage")?,
                usage: open(memory, "memory.usage_in_bytes")?,
                stat: open(memory, "memory.stat")?,
                limit: open(memory, "memory.limit_in_bytes")?,
                slow: None,
                last: None,
                phase: 0,
            },
            CgroupPaths::V2 { dir } => CgroupFiles {
                v2: true,
                cpu: open(dir, "cpu.stat")?,
                usage: open(dir, "memory.current")?,
                stat: open(dir, "memory.stat")?,
                limit: open(dir, "memory.max")?,
                slow: None,
                last: None,
                phase: 0,
            },
        })
    }

    /// One reading, opening the files for it.
    pub fn read(&self, paths: &CgroupPaths) -> io::Result<CgroupSample> {
        self.open(paths)?.read(&mut String::new())
    }
}

/// `memory.stat` and the limit are read again after this many readings even when the usage
/// stood still: pages age from active to inactive without the usage moving.
pub const SLOW_EVERY: u32 = 10;
/// A usage that moved more than this since `memory.stat` was read makes it read again.
pub const SLOW_MOVED: u64 = 256 << 10;

/// A container's open counter files.
#[derive(Debug)]
pub struct CgroupFiles {
    v2: bool,
    cpu: File,
    usage: File,
    stat: File,
    limit: File,
    /// The last `memory.stat` and limit, and the usage when they were read.
    slow: Option<Slow>,
    /// The last reading's CPU counter and memory usage.
    last: Option<(u64, u64)>,
    /// Readings the first slow files count as old already: containers started together would
    /// otherwise all read theirs on the same tick, a spike every `SLOW_EVERY` ticks.
    phase: u32,
}

#[derive(Debug, Clone, Copy)]
struct Slow {
    usage: u64,
    inactive: u64,
    limit: Option<u64>,
    age: u32,
}

impl CgroupFiles {
    /// Spreads the slow reads: the first slow files count as `phase` readings old (taken
    /// modulo `SLOW_EVERY`).
    pub fn with_phase(self, phase: usize) -> CgroupFiles {
        CgroupFiles { phase: (phase % SLOW_EVERY as usize) as u32, ..self }
    }

    /// Reads the counters with pread at offset 0, which makes the kernel render each file anew.
    /// The kernel renders `memory.stat` (some 40 lines) for one figure, `inactive_file`: it
    /// is read again only when the usage moved or after `SLOW_EVERY` readings. A container
    /// whose CPU counter stood still since the last reading ran nothing, so its memory grew
    /// by nothing: its usage is read again only with the slow files (a shrink by the kernel's
    /// reclaim shows up to `SLOW_EVERY` readings late). An idle container costs one small
    /// read a tick. `buf` is scratch space, shared by every container's reading.
    pub fn read(&mut self, buf: &mut String) -> io::Result<CgroupSample> {
        let cpu_usage_ns = cpu_counter(&self.cpu, self.v2, buf)?;
        let fresh = self.slow.is_some_and(|s| s.age + 1 < SLOW_EVERY);
        let usage = match self.last {
            Some((cpu, usage)) if cpu == cpu_usage_ns && fresh => usage,
            _ => parse_u64(pread(&self.usage, buf)?)?,
        };
        let slow = match self.slow {
            Some(s) if fresh && s.usage.abs_diff(usage) <= SLOW_MOVED => Slow { age: s.age + 1, ..s },
            _ => {
                let first = self.slow.is_none();
                let slow = self.read_slow(usage, buf)?;
                if first { Slow { age: self.phase, ..slow } } else { slow }
            }
        };
        self.slow = Some(slow);
        self.last = Some((cpu_usage_ns, usage));
        Ok(CgroupSample {
            cpu_usage_ns,
            mem_used: usage.saturating_sub(slow.inactive),
            mem_limit: slow.limit,
        })
    }

    /// The last reading again, for a container that ran nothing since (its parent cgroup's
    /// CPU counter stood still) while its slow files are fresh; None: read it.
    pub fn unchanged(&mut self) -> Option<CgroupSample> {
        let (slow, (cpu_usage_ns, usage)) = (self.slow?, self.last?);
        if slow.age + 1 >= SLOW_EVERY {
            return None;
        }
        self.slow = Some(Slow { age: slow.age + 1, ..slow });
        Some(CgroupSample {
            cpu_usage_ns,
            mem_used: usage.saturating_sub(slow.inactive),
            mem_limit: slow.limit,
        })
    }

    fn read_slow(&self, usage: u64, buf: &mut String) -> io::Result<Slow> {
        let key = if self.v2 { "inactive_file" } else { "total_inactive_file" };
        let inactive = stat_field(pread(&self.stat, buf)?, key).unwrap_or(0);
        let limit = if self.v2 {
            pread(&self.limit, buf)?.trim().parse().ok()
        } else {
            Some(parse_u64(pread(&self.limit, buf)?)?).filter(|l| *l < V1_UNLIMITED)
        };
        Ok(Slow { usage, inactive, limit, age: 0 })
    }
}

fn pread<'a>(file: &File, buf: &'a mut String) -> io::Result<&'a str> {
    let mut bytes = std::mem::take(buf).into_bytes();
    bytes.clear();
    bytes.resize(bytes.capacity().max(4096), 0);
    let mut len = 0;
    loop {
        let n = file.read_at(&mut bytes[len..], len as u64)?;
        len += n;
        // A cgroup file is rendered whole at offset 0 and handed out as far as the buffer
        // goes: a read that leaves room is the whole file. Reading on to the 0 of its end
        // doubled the system calls of every container's every tick.
        if n == 0 || len < bytes.len() {
            break;
        }
        bytes.resize(bytes.len() * 2, 0);
    }
    bytes.truncate(len);
    *buf = String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(buf.as_str())
}

/// A CPU counter in ns: v1's `cpuacct.usage`, or v2's `cpu.stat` (`usage_usec`).
pub fn cpu_counter(file: &File, v2: bool, buf: &mut String) -> io::Result<u64> {
    if v2 {
        let usec = stat_field(pread(file, buf)?, "usage_usec")
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "cpu.stat has no usage_usec"))?;
        Ok(usec.saturating_mul(1000))
    } else {
        parse_u64(pread(file, buf)?)
    }
}

impl CgroupPaths {
    /// The CPU counter of the cgroup above the container's (`docker/` with cgroupfs,
    /// `system.slice` with systemd) and whether it is v2's `cpu.stat`: it counts every
    /// container below it, so while it stands still none of them ran.
    pub fn parent_cpu(&self) -> Option<(PathBuf, bool)> {
        match self {
            CgroupPaths::V1 { cpuacct, .. } => Some((cpuacct.parent()?.join("cpuacct.usage"), false)),
            CgroupPaths::V2 { dir } => Some((dir.parent()?.join("cpu.stat"), true)),
        }
    }
}

fn parse_u64(text: &str) -> io::Result<u64> {
    text.trim().parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{text:?}: {e}")))
}

fn stat_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// Total memory of the host, used as the limit of unlimited containers (as `docker stats` does).
pub fn host_mem_total(proc_root: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(proc_root.join("meminfo")).ok()?;
    let kb = text.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok().map(|k| k * 1024)
}

/// CPU percent of one core between two readings `wall_ns` apart.
pub fn cpu_percent(prev_ns: u64, now_ns: u64, wall_ns: u64) -> Option<f64> {
    if wall_ns == 0 || now_ns < prev_ns {
        return None;
    }
    Some((now_ns - prev_ns) as f64 * 100.0 / wall_ns as f64)
}

#[cfg(test)]
#[path = "cgroup_tests.rs"]
mod tests;
