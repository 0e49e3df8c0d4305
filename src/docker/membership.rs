//! Whether a host process really is in a container. A cgroup path that merely contains a
//! container's ID proves nothing: a user can name a cgroup after another user's container (on
//! cgroup v2 with systemd, `systemd-run --user --scope --unit=docker-<id>` needs no privilege),
//! and the process view would then offer to kill that process "in container X". A process is
//! in the container when its cgroups are exactly those of the container's init process, or
//! when it is in the container's own PID namespace (processes in sub-cgroups the container made).
//!
//! The init processes come from the local engine's listing (`Lister::refresh` publishes them);
//! the GPU sampler, on its own thread, asks here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

use crate::procfs;

/// Container ID → its init process's host PID, for the running containers of the local engine;
/// None until the first listing.
static INITS: RwLock<Option<HashMap<String, u32>>> = RwLock::new(None);

/// The running containers' init processes, as the latest listing of the local engine says.
pub fn publish(inits: HashMap<String, u32>) {
    *INITS.write().unwrap_or_else(|p| p.into_inner()) = Some(inits);
}

/// What the check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Member,
    /// A host process whose cgroup only names the container.
    NotMember,
    /// The latest listing has no such running container (it may have started since): not a
    /// member for now; ask again after the next listing.
    NotListed,
    /// No listing yet to check against: ask again later.
    Unknown,
}

/// Is `pid` in container `id`? `proc_root` is `/proc` outside tests.
pub fn check(proc_root: &Path, pid: u32, id: &str) -> Verdict {
    let init = {
        let inits = INITS.read().unwrap_or_else(|p| p.into_inner());
        match inits.as_ref() {
            None => return Verdict::Unknown,
            Some(m) => m.get(id).copied(),
        }
    };
    let Some(init) = init else { return Verdict::NotListed };
    check_against(proc_root, pid, init)
}

/// Is `pid` in the container whose init process is `init`?
pub fn check_against(proc_root: &Path, pid: u32, init: u32) -> Verdict {
    if pid == init {
        return Verdict::Member;
    }
    let (Ok(mine), Ok(theirs)) = (procfs::read_cgroup(proc_root, pid), procfs::read_cgroup(proc_root, init))
    else {
        return Verdict::NotMember;
    };
    if mine == theirs {
        return Verdict::Member;
    }
    let ns = |p: &str| std::fs::read_link(proc_root.join(p).join("ns/pid")).ok();
    match (ns(&pid.to_string()), ns(&init.to_string()), ns("1")) {
        // A container that shares the host's PID namespace (`--pid=host`) proves nothing by it.
        (Some(a), Some(b), host) if a == b && host.as_ref() != Some(&b) => Verdict::Member,
        _ => Verdict::NotMember,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "02ced20798aeb1d655daa16bd706f5b759de05aa9852684571d553c1e1dfcf96";

    fn pid(root: &Path, pid: u32, cgroup: &str, ns: &str) {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(dir.join("ns")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("cgroup"), cgroup).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(ns, dir.join("ns/pid")).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_cgroup_named_after_a_container_is_not_that_container() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path();
        let own = format!("0::/system.slice/docker-{ID}.scope\n");
        pid(root, 1, "0::/init.scope\n", "pid:[4026531836]");
        pid(root, 100, &own, "pid:[4026532001]");
        // docker exec: same cgroup, same namespace.
        pid(root, 101, &own, "pid:[4026532001]");
        // Moved by the container into a sub-cgroup of its own: its namespace says it is inside.
        pid(root, 102, &format!("0::/system.slice/docker-{ID}.scope/sub\n"), "pid:[4026532001]");
        // `systemd-run --user --scope --unit=docker-<id>`: the ID, in a user's slice.
        let forged =
            format!("0::/user.slice/user-1000.slice/user@1000.service/app.slice/docker-{ID}.scope\n");
        pid(root, 200, &forged, "pid:[4026531836]");
        assert_eq!(procfs::container_id_from_cgroup(&forged).as_deref(), Some(ID), "the ID alone matches");
        assert_eq!(check_against(root, 100, 100), Verdict::Member);
        assert_eq!(check_against(root, 101, 100), Verdict::Member);
        assert_eq!(check_against(root, 102, 100), Verdict::Member);
        assert_eq!(check_against(root, 200, 100), Verdict::NotMember);
        // A container in the host's PID namespace: only the cgroup can tell.
        pid(root, 300, &own, "pid:[4026531836]");
        pid(root, 301, "0::/system.slice/other.scope\n", "pid:[4026531836]");
        assert_eq!(check_against(root, 301, 300), Verdict::NotMember);
        // Gone processes are nobody's.
        assert_eq!(check_against(root, 999, 100), Verdict::NotMember);
    }
}
