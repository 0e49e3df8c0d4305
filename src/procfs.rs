//! What `/proc` says about a host process: its cgroup lines, the container it lives in, its
//! command and owner. The one parser of `/proc/<pid>/cgroup`, shared by the container stats
//! (which cgroup files to read) and the GPU sampler (which container a GPU process is in).
//!
//! The container ID sits somewhere in `/proc/<pid>/cgroup`. The shape of the path depends on the cgroup version, the cgroup driver and the runtime
//! (docker, containerd/Kubernetes, CRI-O, podman), and inside a private cgroup namespace it is
//! relative (`/../<id>`). So the ID is searched for in every path component, not at a fixed place.

use std::path::Path;

/// One line of `/proc/<pid>/cgroup`: `hierarchy-id:controllers:path`. cgroup v2's unified
/// hierarchy has no controllers (`0::/path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupEntry<'a> {
    pub controllers: &'a str,
    pub path: &'a str,
}

pub fn cgroup_entries(text: &str) -> impl Iterator<Item = CgroupEntry<'_>> {
    text.lines().filter_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        Some(CgroupEntry { controllers, path })
    })
}

/// The text of `/proc/<pid>/cgroup` under `proc_root`.
pub fn read_cgroup(proc_root: &Path, pid: u32) -> std::io::Result<String> {
    std::fs::read_to_string(proc_root.join(pid.to_string()).join("cgroup"))
}

/// The first 64-hex container ID in a cgroup file's text.
pub fn container_id_from_cgroup(text: &str) -> Option<String> {
    cgroup_entries(text).find_map(|e| e.path.split('/').find_map(id_in_component))
}

fn id_in_component(comp: &str) -> Option<String> {
    let core = comp.strip_suffix(".scope").unwrap_or(comp);
    let core = ["docker-", "cri-containerd-", "crio-", "libpod-"]
        .iter()
        .find_map(|p| core.strip_prefix(p))
        .unwrap_or(core);
    (core.len() == 64 && core.bytes().all(|b| b.is_ascii_hexdigit())).then(|| core.to_ascii_lowercase())
}

/// Reads `/proc/<pid>/cgroup` under `proc_root`; `Ok(None)` for a process outside any container.
pub fn container_of_pid(proc_root: &Path, pid: u32) -> std::io::Result<Option<String>> {
    Ok(container_id_from_cgroup(&read_cgroup(proc_root, pid)?))
}

/// When the process started, in clock ticks since boot (field 22 of `/proc/<pid>/stat`): a PID
/// with another start time is another process. None when the process is gone.
pub fn start_time(proc_root: &Path, pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Command name and owner of a host process, for GPU users outside containers.
pub fn process_identity(proc_root: &Path, pid: u32) -> (Option<String>, Option<String>) {
    let dir = proc_root.join(pid.to_string());
    let comm = std::fs::read_to_string(dir.join("comm")).ok().map(|s| s.trim().to_string());
    let user = std::fs::read_to_string(dir.join("status")).ok().and_then(|s| {
        let uid: u32 =
            s.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.parse().ok()?;
        Some(user_name(uid).unwrap_or_else(|| uid.to_string()))
    });
    (comm, user)
}

/// The account name of `uid`, from /etc/passwd.
pub fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "02ced20798aeb1d655daa16bd706f5b759de05aa9852684571d553c1e1dfcf96";

    #[test]
    fn every_known_cgroup_form() {
        let forms = [
            format!("4:memory:/docker/{ID}"),
            format!("8:memory:/system.slice/docker-{ID}.scope"),
            format!("0::/system.slice/docker-{ID}.scope"),
            format!("0::/docker/{ID}"),
            format!(
                "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b_3c4d.slice/cri-containerd-{ID}.scope"
            ),
            format!("0::/kubepods/burstable/pod1a2b-3c4d/{ID}"),
            format!("0::/kubepods.slice/kubepods-pod1.slice/crio-{ID}.scope"),
            format!("0::/machine.slice/libpod-{ID}.scope"),
            format!("0::/../{ID}/sub"),
            format!("12:cpu,cpuacct:/docker/{}", ID.to_uppercase()),
        ];
        for form in &forms {
            assert_eq!(container_id_from_cgroup(form).as_deref(), Some(ID), "{form}");
        }
    }

    #[test]
    fn host_processes_have_no_container() {
        for text in [
            "0::/user.slice/user-1000.slice/session-3.scope",
            "4:memory:/\n0::/init.scope",
            "0::/system.slice/docker.service",
            "",
        ] {
            assert_eq!(container_id_from_cgroup(text), None, "{text}");
        }
        // 63 hex characters is not an ID.
        assert_eq!(container_id_from_cgroup(&format!("0::/docker/{}", &ID[1..])), None);
    }

    #[test]
    fn reads_own_process() {
        let (comm, user) = process_identity(Path::new("/proc"), std::process::id());
        assert!(comm.is_some());
        assert!(user.is_some());
    }
}
