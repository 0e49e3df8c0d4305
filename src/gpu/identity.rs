//! Who a GPU process is: its container (or none), command and owner, cached per process.
//!
//! Reading /proc for every GPU process every second would be wasted work, so identities are
//! cached, but by PID *and* start time: a PID that NVML still reports after its process exited,
//! or that the kernel gave to a new process, must not keep pointing at the old container.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::model::Presence;
use crate::docker::ContainerId;
use crate::docker::membership::{self, Verdict};
use crate::procfs;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    pub container_id: Option<ContainerId>,
    pub command: Option<String>,
    pub user: Option<String>,
    pub presence: Presence,
}

pub struct Identities {
    proc_root: PathBuf,
    /// PID → (start time, identity).
    cache: HashMap<u32, (u64, Identity)>,
    /// PIDs seen in /proc that left it while NVML still lists them: these really ended.
    exited: HashSet<u32>,
    /// PIDs /proc has shown (whether or not their identity could be cached).
    seen: HashSet<u32>,
}

impl Identities {
    pub fn new(proc_root: PathBuf) -> Identities {
        Identities { proc_root, cache: HashMap::new(), exited: HashSet::new(), seen: HashSet::new() }
    }

    /// Forgets processes NVML no longer reports.
    pub fn keep(&mut self, live: &HashSet<u32>) {
        self.cache.retain(|pid, _| live.contains(pid));
        self.exited.retain(|pid| live.contains(pid));
        self.seen.retain(|pid| live.contains(pid));
    }

    /// The identity of `pid` now. A process that is gone is nobody's: no container, no owner.
    #[cfg(test)]
    pub fn get(&mut self, pid: u32) -> Identity {
        let started = procfs::start_time(&self.proc_root, pid);
        self.get_started(pid, started)
    }

    /// The identity of `pid`, whose start time was just read (None: /proc does not show it).
    /// A PID that /proc showed before has exited; one it never showed lives where this machine's
    /// /proc cannot see (another PID namespace) while NVML reports it holding memory.
    pub fn get_started(&mut self, pid: u32, started: Option<u64>) -> Identity {
        let Some(started) = started else {
            self.cache.remove(&pid);
            // Seen in /proc before (cached or not: an unconfirmed container is not cached).
            if self.seen.remove(&pid) {
                self.exited.insert(pid);
            }
            let presence = if self.exited.contains(&pid) { Presence::Exited } else { Presence::NotVisible };
            return Identity { presence, ..Identity::default() };
        };
        self.exited.remove(&pid);
        self.seen.insert(pid);
        if let Some((when, id)) = self.cache.get(&pid)
            && *when == started
        {
            return id.clone();
        }
        let (id, settled) = self.identify(pid);
        if settled {
            self.cache.insert(pid, (started, id.clone()));
        }
        id
    }

    /// The identity, and whether it is settled (membership confirmed or refused) and may be
    /// cached.
    fn identify(&self, pid: u32) -> (Identity, bool) {
        let named = match procfs::container_of_pid(&self.proc_root, pid) {
            Ok(id) => id,
            Err(e) => {
                // NVML reports host PIDs; inside a container without --pid=host they are not here.
                tracing::debug!(pid, error = %e, "cannot read the process's cgroup");
                None
            }
        };
        // The ID in a cgroup path is a claim; the container's init process confirms it.
        let (container_id, settled) = match named {
            None => (None, true),
            Some(id) => match membership::check(&self.proc_root, pid, &id) {
                Verdict::Member => (Some(ContainerId::from(id)), true),
                Verdict::NotMember => {
                    tracing::info!(pid, container = %crate::docker::short_id(&id), "a cgroup names a container the process is not in: a host process");
                    (None, true)
                }
                Verdict::NotListed => (None, false),
                // Before the first listing: the claim stands until it can be checked.
                Verdict::Unknown => (Some(ContainerId::from(id)), false),
            },
        };
        let (command, user) = procfs::process_identity(&self.proc_root, pid);
        (Identity { container_id, command, user, presence: Presence::Here }, settled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &std::path::Path, pid: u32, started: u64, cgroup: &str, comm: &str) {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let stat = format!("{pid} ({comm}) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {started} 0 0");
        std::fs::write(dir.join("stat"), stat).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("cgroup"), cgroup).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("comm"), comm).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_reused_or_vanished_pid_loses_its_old_container() {
        let root = std::env::temp_dir().join(format!("gpudock-ident-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        write(&root, 42, 100, &format!("0::/docker/{a}\n"), "train");
        let mut ids = Identities::new(root.clone());
        assert_eq!(ids.get(42).container_id.as_deref(), Some(a.as_str()));
        // The PID now belongs to a process of another container.
        write(&root, 42, 200, &format!("0::/docker/{b}\n"), "serve");
        assert_eq!(ids.get(42).container_id.as_deref(), Some(b.as_str()));
        // NVML still reports it after it exited: nobody's.
        std::fs::remove_dir_all(root.join("42")).unwrap_or_else(|e| panic!("{e}"));
        let gone = ids.get(42);
        assert_eq!(gone.container_id, None);
        assert_eq!(gone.presence, Presence::Exited);
        assert_eq!(ids.get(42).presence, Presence::Exited, "still exited at the next sample");
        // A PID /proc never showed is alive elsewhere (another PID namespace), not exited.
        assert_eq!(ids.get(4343).presence, Presence::NotVisible);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn start_time_reads_past_a_command_with_parentheses() {
        let root = std::env::temp_dir().join(format!("gpudock-stat-{}", std::process::id()));
        write(&root, 7, 12345, "", "py (worker) 1");
        assert_eq!(procfs::start_time(&root, 7), Some(12345));
        assert!(procfs::start_time(std::path::Path::new("/proc"), std::process::id()).is_some());
        let _ = std::fs::remove_dir_all(&root);
    }
}
