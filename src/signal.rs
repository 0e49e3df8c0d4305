//! Signals to host processes (GPU processes the user chose), never to the wrong one: between the
//! question and the yes a PID can end and the kernel can hand it to another process, so the
//! process's start time is checked first, through a pidfd where the kernel has them so that
//! nothing can take the PID between the check and the signal.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

use crate::procfs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
    Int,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Term => "SIGTERM",
            Signal::Kill => "SIGKILL",
            Signal::Int => "SIGINT",
        }
    }

    fn number(self) -> libc::c_int {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
            Signal::Int => libc::SIGINT,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalError {
    #[error("PID {pid} ended (or is now another process); nothing was sent")]
    Ended { pid: u32 },
    #[error(
        "permission denied: PID {pid} belongs to another user (signalling other users' processes needs root)"
    )]
    PermissionDenied { pid: u32 },
    /// PID 1, gpudock itself, a kernel thread: never signalled, whatever was asked.
    #[error("PID {pid} is {what}: gpudock never signals it")]
    Refused { pid: u32, what: &'static str },
    #[error("{signal} to PID {pid} failed: {message}")]
    Failed { pid: u32, signal: Signal, message: String },
}

/// A signal that went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The process's name as /proc gave it just before the signal.
    pub command: Option<String>,
}

/// Sends `signal` to `pid` if it is still the process that started at `start_time` (clock ticks
/// since boot, as /proc under `proc_root` says). Blocking: it reads /proc.
pub fn send(proc_root: &Path, pid: u32, start_time: u64, signal: Signal) -> Result<Sent, SignalError> {
    let failed = |e: std::io::Error| SignalError::Failed { pid, signal, message: e.to_string() };
    // 0 and negative PIDs mean process groups to kill(2): never a GPU process.
    let raw = libc::pid_t::try_from(pid).ok().filter(|p| *p > 0).ok_or(SignalError::Ended { pid })?;
    if let Some(what) = untouchable(proc_root, pid) {
        return Err(SignalError::Refused { pid, what });
    }
    // Opened before the check: if the PID is reused after it, the pidfd still means the old
    // (then dead) process and the signal fails with ESRCH instead of reaching the new one.
    let pidfd = match pidfd_open(raw) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Err(SignalError::Ended { pid }),
        Err(e) => return Err(failed(e)),
    };
    if procfs::start_time(proc_root, pid) != Some(start_time) {
        return Err(SignalError::Ended { pid });
    }
    let (command, _) = procfs::process_identity(proc_root, pid);
    let rc = match &pidfd {
        // SAFETY: a valid pidfd, a valid signal number, no siginfo.
        Some(fd) => unsafe {
            use std::os::fd::AsRawFd;
            libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), signal.number(), 0usize, 0u32)
        },
        // SAFETY: kill with a positive PID and a valid signal number.
        None => libc::c_long::from(unsafe { libc::kill(raw, signal.number()) }),
    };
    if rc == 0 {
        return Ok(Sent { command });
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EPERM) => Err(SignalError::PermissionDenied { pid }),
        Some(libc::ESRCH) => Err(SignalError::Ended { pid }),
        _ => Err(failed(e)),
    }
}

/// Processes no signal of ours may reach: init (its end is the machine's), ourselves (a
/// SIGKILL from our own view ends the view), kernel threads.
fn untouchable(proc_root: &Path, pid: u32) -> Option<&'static str> {
    if pid == 1 {
        Some("init")
    } else if pid == std::process::id() {
        Some("gpudock itself")
    } else if procfs::is_kernel_thread(proc_root, pid) {
        Some("a kernel thread")
    } else {
        None
    }
}

/// A pidfd for `pid`, or None where the kernel (before 5.3) or a seccomp filter refuses them:
/// then the start-time check and kill(2) are as close together as they can be.
fn pidfd_open(pid: libc::pid_t) -> std::io::Result<Option<OwnedFd>> {
    // SAFETY: pidfd_open takes a PID and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0u32) };
    if fd >= 0 {
        let fd = libc::c_int::try_from(fd).map_err(std::io::Error::other)?;
        // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOSYS | libc::EPERM) => Ok(None),
        _ => Err(e),
    }
}
