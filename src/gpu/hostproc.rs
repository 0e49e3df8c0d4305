//! Host figures of GPU processes: CPU, resident memory, age and command line from /proc.
//!
//! CPU % needs two readings of the same process, so the previous tick's reading is kept per PID,
//! together with the start time: a PID the kernel gave to a new process starts over instead of
//! showing the difference between two unrelated processes.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use super::model::HostProcess;
use crate::procfs;

#[derive(Debug)]
struct Seen {
    start_time: u64,
    cpu_ticks: u64,
    at: Instant,
    /// Read once per process: re-reading it every tick for every GPU process was a third of
    /// the /proc reads.
    cmdline: Option<String>,
    /// `/proc/<pid>/stat`, kept open: finding it by path every tick (the lookup of the PID's
    /// directory, open, close) cost twice its read.
    stat: Option<std::fs::File>,
}

/// Processes whose `stat` file stays open: half the files the container sampler leaves the
/// rest of the program (`docker::stats`' open-files budget keeps 256 spare).
const KEEP_OPEN: usize = 128;

pub struct HostProcs {
    proc_root: PathBuf,
    ticks_per_sec: u64,
    page_size: u64,
    last: HashMap<u32, Seen>,
    /// Scratch space for the reads.
    buf: Vec<u8>,
}

impl HostProcs {
    pub fn new(proc_root: PathBuf) -> HostProcs {
        HostProcs {
            proc_root,
            ticks_per_sec: procfs::clock_ticks(),
            page_size: procfs::page_size(),
            last: HashMap::new(),
            buf: Vec::new(),
        }
    }

    /// For a fake /proc tree written with a known tick rate.
    pub fn with_ticks_per_sec(mut self, hz: u64) -> HostProcs {
        self.ticks_per_sec = hz.max(1);
        self
    }

    /// The host figures of each of `pids` (one tick's GPU processes) at `now`. A PID /proc does
    /// not show (another PID namespace, or it ended) has no entry. PIDs not in `pids` are
    /// forgotten.
    pub fn sample(&mut self, pids: &HashSet<u32>, now: Instant) -> HashMap<u32, HostProcess> {
        self.last.retain(|pid, _| pids.contains(pid));
        let uptime = match procfs::uptime_secs(&self.proc_root) {
            Ok(u) => Some(u),
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the uptime: process ages unknown");
                None
            }
        };
        let mut out = HashMap::with_capacity(pids.len());
        for &pid in pids {
            match self.read(pid, now, uptime) {
                Ok(p) => {
                    out.insert(pid, p);
                }
                Err(e) => {
                    // NVML reports host PIDs; in a container without --pid=host they are not here.
                    tracing::debug!(pid, error = %e, "no host figures for the GPU process");
                    self.last.remove(&pid);
                }
            }
        }
        out
    }

    fn read(&mut self, pid: u32, now: Instant, uptime: Option<f64>) -> std::io::Result<HostProcess> {
        let mut kept = self.last.remove(&pid);
        // A kept file fails once its process has ended: then the path finds the PID's new
        // owner, if any.
        let reread = kept.as_mut().and_then(|s| s.stat.take()).and_then(|f| {
            let stat = procfs::reread_stat(&f, pid, &mut self.buf).ok()?;
            Some((stat, Some(f)))
        });
        let (stat, file) = match reread {
            Some(r) => r,
            None => self.open_stat(pid)?,
        };
        let hz = self.ticks_per_sec as f64;
        let same = kept.filter(|s| s.start_time == stat.start_time);
        let cpu_percent = same.as_ref().and_then(|s| {
            let wall = now.checked_duration_since(s.at)?.as_secs_f64();
            let ticks = stat.cpu_ticks.checked_sub(s.cpu_ticks)?;
            (wall > 0.0).then(|| ticks as f64 / hz / wall * 100.0)
        });
        let cmdline = match same {
            Some(s) => s.cmdline,
            None => self.optional(pid, "cmdline", procfs::cmdline(&self.proc_root, pid)),
        };
        let seen = Seen {
            start_time: stat.start_time,
            cpu_ticks: stat.cpu_ticks,
            at: now,
            cmdline: cmdline.clone(),
            stat: file,
        };
        self.last.insert(pid, seen);
        let elapsed_secs = uptime.map(|u| (u - stat.start_time as f64 / hz).max(0.0) as u64);
        // From the same `stat` read: `status` (VmRSS) costs the kernel some forty formatted
        // lines per process per tick.
        let rss_bytes = stat.rss_bytes(self.page_size);
        Ok(HostProcess { start_time: stat.start_time, elapsed_secs, cpu_percent, rss_bytes, cmdline })
    }

    /// Opens and reads `/proc/<pid>/stat`, keeping the file while few are kept.
    fn open_stat(&mut self, pid: u32) -> std::io::Result<(procfs::ProcStat, Option<std::fs::File>)> {
        let file = std::fs::File::open(procfs::stat_path(&self.proc_root, pid))?;
        let stat = procfs::reread_stat(&file, pid, &mut self.buf)?;
        // Counts the processes known, kept file or not: cheap, and near enough.
        Ok((stat, (self.last.len() < KEEP_OPEN).then_some(file)))
    }

    /// A figure /proc refuses (hidepid, a process ending between two reads) is unknown, and the
    /// log says why.
    fn optional<T>(&self, pid: u32, what: &str, r: std::io::Result<Option<T>>) -> Option<T> {
        r.unwrap_or_else(|e| {
            tracing::debug!(pid, what, error = %e, "cannot read from /proc");
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;

    struct FakeProc(PathBuf);

    impl FakeProc {
        fn new(name: &str) -> FakeProc {
            let root = std::env::temp_dir().join(format!("gpudock-hostproc-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{e}"));
            FakeProc(root)
        }

        fn uptime(&self, secs: f64) {
            std::fs::write(self.0.join("uptime"), format!("{secs:.2} 0.00\n"))
                .unwrap_or_else(|e| panic!("{e}"));
        }

        /// A process `pid` that started at tick `start` and used `cpu` ticks (utime + stime).
        fn process(&self, pid: u32, start: u64, cpu: u64, rss_kib: u64, cmdline: &[u8]) {
            let dir = self.0.join(pid.to_string());
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            let (utime, stime) = (cpu - cpu / 4, cpu / 4);
            let pages = rss_kib * 1024 / procfs::page_size();
            let stat = format!(
                "{pid} (py (w) 1) S 1 1 1 0 -1 0 0 0 0 0 {utime} {stime} 0 0 20 0 1 0 {start} 0 {pages}"
            );
            for (name, body) in [("stat", stat.as_bytes()), ("cmdline", cmdline)] {
                std::fs::write(dir.join(name), body).unwrap_or_else(|e| panic!("{e}"));
            }
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for FakeProc {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn pids(list: &[u32]) -> HashSet<u32> {
        list.iter().copied().collect()
    }

    #[test]
    fn cpu_percent_from_two_ticks_and_the_other_figures() {
        let fake = FakeProc::new("cpu");
        fake.uptime(1000.0);
        // Started 900 s after boot at 100 ticks/s; 2 s of CPU so far.
        fake.process(42, 90_000, 200, 5120, b"python\0train.py\0--epochs\x003\0");
        let mut procs = HostProcs::new(fake.path().to_path_buf()).with_ticks_per_sec(100);
        let t0 = Instant::now();
        let first = procs.sample(&pids(&[42]), t0);
        let p = &first[&42];
        assert_eq!(p.cpu_percent, None, "one reading cannot give a rate");
        assert_eq!(p.start_time, 90_000);
        assert_eq!(p.elapsed_secs, Some(100));
        assert_eq!(p.rss_bytes, Some(5120 * 1024));
        assert_eq!(p.cmdline.as_deref(), Some("python train.py --epochs 3"));
        // Two seconds later it used 3 more CPU seconds: 150% (one and a half cores).
        fake.process(42, 90_000, 500, 6144, b"python\0train.py\0");
        fake.uptime(1002.0);
        let second = procs.sample(&pids(&[42]), t0 + Duration::from_secs(2));
        let p = &second[&42];
        assert!(p.cpu_percent.is_some_and(|c| (c - 150.0).abs() < 1e-6), "{:?}", p.cpu_percent);
        assert_eq!(p.elapsed_secs, Some(102));
        assert_eq!(p.rss_bytes, Some(6144 * 1024));
    }

    #[test]
    fn a_reused_pid_starts_over_and_gone_pids_are_forgotten() {
        let fake = FakeProc::new("reuse");
        fake.uptime(500.0);
        fake.process(42, 1000, 100, 1, b"a\0");
        fake.process(43, 1000, 100, 1, b"b\0");
        let mut procs = HostProcs::new(fake.path().to_path_buf()).with_ticks_per_sec(100);
        let t0 = Instant::now();
        procs.sample(&pids(&[42, 43]), t0);
        // PID 42 now belongs to a new process that has used less CPU than the old one did.
        fake.process(42, 2000, 10, 1, b"c\0");
        let next = procs.sample(&pids(&[42, 43]), t0 + Duration::from_secs(1));
        assert_eq!(next[&42].cpu_percent, None);
        assert_eq!(next[&42].start_time, 2000);
        assert_eq!(next[&42].cmdline.as_deref(), Some("c"), "a new process: its command line is read");
        // The command line is read once per process.
        fake.process(43, 1000, 100, 1, b"rewritten\0");
        assert_eq!(
            procs.sample(&pids(&[42, 43]), t0 + Duration::from_millis(1500))[&43].cmdline.as_deref(),
            Some("b")
        );
        assert_eq!(next[&43].cpu_percent, Some(0.0));
        // 43 drops out of NVML's list: its reading goes, so its return is a first sight again.
        procs.sample(&pids(&[42]), t0 + Duration::from_secs(2));
        let back = procs.sample(&pids(&[42, 43]), t0 + Duration::from_secs(3));
        assert_eq!(back[&43].cpu_percent, None);
        assert!(back[&42].cpu_percent.is_some());
    }

    #[test]
    fn without_an_uptime_the_age_is_unknown_not_zero() {
        let fake = FakeProc::new("no-uptime");
        fake.process(42, 1000, 100, 1, b"a\0");
        let mut procs = HostProcs::new(fake.path().to_path_buf()).with_ticks_per_sec(100);
        let got = procs.sample(&pids(&[42]), Instant::now());
        assert_eq!(got[&42].elapsed_secs, None);
        assert_eq!(got[&42].start_time, 1000, "the other figures are still read");
    }

    #[test]
    fn a_pid_proc_does_not_show_has_no_host_figures() {
        let fake = FakeProc::new("gone");
        fake.uptime(10.0);
        let mut procs = HostProcs::new(fake.path().to_path_buf());
        assert!(procs.sample(&pids(&[4242]), Instant::now()).is_empty());
        // The real /proc: this test process itself.
        let me = std::process::id();
        let mut real = HostProcs::new(PathBuf::from("/proc"));
        let got = real.sample(&pids(&[me]), Instant::now());
        assert!(got[&me].rss_bytes.is_some_and(|b| b > 0) && got[&me].cmdline.is_some());
    }
    #[test]
    fn a_kept_stat_file_follows_its_process_and_fails_once_it_has_ended() {
        let mut child =
            std::process::Command::new("sleep").arg("30").spawn().unwrap_or_else(|e| panic!("{e}"));
        let pid = child.id();
        let mut procs = HostProcs::new(PathBuf::from("/proc"));
        let first = procs.sample(&pids(&[pid]), Instant::now());
        assert!(first.contains_key(&pid));
        assert!(procs.last[&pid].stat.is_some(), "the stat file is kept");
        let second = procs.sample(&pids(&[pid]), Instant::now());
        assert_eq!(second[&pid].start_time, first[&pid].start_time, "read again through the kept file");
        let file =
            std::fs::File::open(procfs::stat_path(Path::new("/proc"), pid)).unwrap_or_else(|e| panic!("{e}"));
        let _ = child.kill();
        let _ = child.wait();
        let err = procfs::reread_stat(&file, pid, &mut Vec::new()).err().map(|e| e.raw_os_error());
        assert_eq!(err, Some(Some(libc::ESRCH)), "an ended process's kept file reads nothing");
        let gone = procs.sample(&pids(&[pid]), Instant::now());
        assert!(gone.is_empty(), "the ended process has no figures: {gone:?}");
        assert!(!procs.last.contains_key(&pid));
    }
}
