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
    read_stat(proc_root, pid).ok().map(|s| s.start_time)
}

/// The figures of `/proc/<pid>/stat` gpudock uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// utime + stime: CPU time in clock ticks, user and kernel.
    pub cpu_ticks: u64,
    /// Clock ticks since boot when the process started.
    pub start_time: u64,
    /// Resident pages (field 24, the same count as `VmRSS` in `status`); 0 for a process
    /// without memory of its own (a kernel thread, a zombie).
    pub rss_pages: u64,
}

impl ProcStat {
    /// Resident memory in bytes; None for a process without memory of its own.
    pub fn rss_bytes(&self, page_size: u64) -> Option<u64> {
        (self.rss_pages > 0).then(|| self.rss_pages.saturating_mul(page_size))
    }
}

/// A small `/proc` file in one `read`: `read_to_string` learns nothing from the size /proc
/// reports (0), so it reads in growing steps (32, 32, 64, … bytes) and once more for the end,
/// five system calls for a 300-byte `stat`. One read of a buffer larger than the file returns
/// all of it (a /proc file is rendered whole at its first read); a full buffer reads on.
pub fn read_small(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buf = [0u8; 1024];
    let n = file.read(&mut buf)?;
    let mut bytes = buf[..n].to_vec();
    if n == buf.len() {
        file.take(1 << 20).read_to_end(&mut bytes)?;
    }
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Reads `/proc/<pid>/stat` under `proc_root`.
pub fn read_stat(proc_root: &Path, pid: u32) -> std::io::Result<ProcStat> {
    let text = read_small(&stat_path(proc_root, pid))?;
    parse_stat(&text).ok_or_else(|| unreadable_stat(pid))
}

pub fn stat_path(proc_root: &Path, pid: u32) -> std::path::PathBuf {
    proc_root.join(pid.to_string()).join("stat")
}

fn unreadable_stat(pid: u32) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("unreadable /proc/{pid}/stat"))
}

/// Reads an open `/proc/<pid>/stat` again: a read at offset 0 makes the kernel render it anew,
/// and the open file stays with the process it was opened for. Once that process has ended
/// every read fails (ESRCH), even when the kernel has given its PID to another process, so a
/// kept file never reads a stranger. `buf` is scratch space.
pub fn reread_stat(file: &std::fs::File, pid: u32, buf: &mut Vec<u8>) -> std::io::Result<ProcStat> {
    use std::os::unix::fs::FileExt;
    buf.clear();
    buf.resize(1024, 0);
    let n = file.read_at(buf, 0)?;
    // A stat line is some 300 bytes; a full buffer is not a line gpudock can trust.
    let text =
        std::str::from_utf8(&buf[..n]).ok().filter(|_| n < buf.len()).ok_or_else(|| unreadable_stat(pid))?;
    parse_stat(text).ok_or_else(|| unreadable_stat(pid))
}

pub fn parse_stat(text: &str) -> Option<ProcStat> {
    // The command name (field 2) is in parentheses and may hold spaces and parentheses itself:
    // only what follows the last ')' splits at whitespace. Index 0 there is field 3 (state).
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(ProcStat {
        cpu_ticks: num(11)?.saturating_add(num(12)?),
        start_time: num(19)?,
        rss_pages: num(21).unwrap_or(0),
    })
}

/// Whether `pid` is a kernel thread (PF_KTHREAD in the flags of `/proc/<pid>/stat`): no
/// signal of ours means anything to one. kthreadd (PID 2) and its children carry the flag.
pub fn is_kernel_thread(proc_root: &Path, pid: u32) -> bool {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let Ok(text) = read_small(&proc_root.join(pid.to_string()).join("stat")) else {
        return false;
    };
    // Field 9 (flags) is index 6 after the command's closing parenthesis.
    let flags = text.rfind(')').and_then(|i| text[i + 1..].split_whitespace().nth(6)?.parse::<u64>().ok());
    flags.is_some_and(|f| f & PF_KTHREAD != 0)
}

/// Bytes of a command line read at most: a line longer than a screen row many times over says
/// nothing more, and a process may carry megabytes of arguments.
pub const CMDLINE_MAX: u64 = 4096;

/// The command line of a process, arguments joined by spaces and cut at `CMDLINE_MAX` bytes;
/// `Ok(None)` when it is empty (a kernel thread, a zombie).
pub fn cmdline(proc_root: &Path, pid: u32) -> std::io::Result<Option<String>> {
    use std::io::Read;
    let file = std::fs::File::open(proc_root.join(pid.to_string()).join("cmdline"))?;
    let mut raw = Vec::new();
    file.take(CMDLINE_MAX).read_to_end(&mut raw)?;
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Ok((!args.is_empty()).then(|| args.join(" ")))
}

/// Seconds since boot (first figure of `/proc/uptime`).
pub fn uptime_secs(proc_root: &Path) -> std::io::Result<f64> {
    let text = read_small(&proc_root.join("uptime"))?;
    text.split_whitespace().next().and_then(|v| v.parse().ok()).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("unreadable uptime: {text:?}"))
    })
}

/// Clock ticks per second, the unit of the times in `/proc/<pid>/stat`.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    // -1 means unknown; 100 is what Linux has used on every architecture for decades.
    u64::try_from(hz).ok().filter(|h| *h > 0).unwrap_or(100)
}

/// Bytes per memory page, the unit of the resident set in `/proc/<pid>/stat`.
pub fn page_size() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
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

    fn fake_pid(root: &Path, pid: u32, files: &[(&str, &[u8])]) {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        for (name, body) in files {
            std::fs::write(dir.join(name), body).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn stat_fields_count_from_after_the_last_parenthesis() {
        // utime 250, stime 50, start time 98765, 512 resident pages; the name holds ") S 1 2 ("
        // to mislead a parser.
        let text = "42 (evil) S 1 2 (x) R 1 1 1 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 98765 9000 512";
        let stat = ProcStat { cpu_ticks: 300, start_time: 98765, rss_pages: 512 };
        assert_eq!(parse_stat(text), Some(stat));
        assert_eq!(stat.rss_bytes(4096), Some(2 << 20));
        // A kernel thread or a zombie has no resident set.
        let kthread = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 3 0 0 20 0 1 0 2 0 0";
        assert_eq!(parse_stat(kthread).and_then(|s| s.rss_bytes(4096)), None);
        assert_eq!(parse_stat("42 (cut) S 1"), None);
        assert_eq!(parse_stat(""), None);
    }

    #[test]
    fn small_files_are_read_whole_at_any_size() {
        let root = std::env::temp_dir().join(format!("gpudock-procfs-small-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{e}"));
        for len in [0, 1, 1023, 1024, 1025, 5000] {
            let text = "x".repeat(len);
            std::fs::write(root.join("f"), &text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(read_small(&root.join("f")).ok().as_deref(), Some(text.as_str()), "{len} bytes");
        }
        assert!(read_small(&root.join("missing")).is_err());
        let _ = std::fs::remove_dir_all(&root);
        let me = read_small(Path::new("/proc/self/stat")).unwrap_or_default();
        assert!(me.ends_with('\n') && parse_stat(&me).is_some(), "{me}");
    }

    #[test]
    fn cmdline_and_uptime_from_a_fake_tree() {
        let root = std::env::temp_dir().join(format!("gpudock-procfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        fake_pid(&root, 7, &[("cmdline", b"python\0train.py\0--lr\0fast\0")]);
        fake_pid(&root, 8, &[("cmdline", b"")]);
        std::fs::write(root.join("uptime"), "12345.67 9999.00\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cmdline(&root, 7).ok(), Some(Some("python train.py --lr fast".to_string())));
        assert_eq!(cmdline(&root, 8).ok(), Some(None));
        assert!(cmdline(&root, 9).is_err(), "a missing process is an error, not None");
        assert_eq!(uptime_secs(&root).ok(), Some(12345.67));
        // A huge command line is cut, not read whole.
        let long = format!("x\0{}", "a".repeat(100_000));
        fake_pid(&root, 10, &[("cmdline", long.as_bytes())]);
        let cut = cmdline(&root, 10).ok().flatten().unwrap_or_default();
        assert_eq!(cut.len(), CMDLINE_MAX as usize);
        assert!(cut.starts_with("x aaa"), "{}", &cut[..10]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn reads_own_process() {
        let (comm, user) = process_identity(Path::new("/proc"), std::process::id());
        assert!(comm.is_some());
        assert!(user.is_some());
        let me = std::process::id();
        let stat = read_stat(Path::new("/proc"), me).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Some(stat.start_time), start_time(Path::new("/proc"), me));
        // The resident set from `stat` is the kernel's VmRSS, in pages.
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let vm_rss_kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:")?.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        let from_stat = stat.rss_bytes(page_size()).unwrap_or(0) / 1024;
        assert!(
            from_stat > 0 && from_stat.abs_diff(vm_rss_kib) < vm_rss_kib / 2,
            "{from_stat} vs {vm_rss_kib} KiB"
        );
        assert!(cmdline(Path::new("/proc"), me).ok().flatten().is_some());
        assert!(clock_ticks() > 0);
    }
}
