//! Signals reach the process the user chose and no other: the executor's function against real
//! child processes.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use gpudock::procfs;
use gpudock::signal::{Signal, SignalError, send};

/// A `sleep 30` that is killed and reaped whatever the test does.
struct Sleeper(Child);

impl Sleeper {
    fn start() -> Sleeper {
        Sleeper(Command::new("sleep").arg("30").spawn().unwrap_or_else(|e| panic!("{e}")))
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn start_time(&self) -> u64 {
        procfs::start_time(Path::new("/proc"), self.pid()).unwrap_or_else(|| panic!("no /proc entry"))
    }

    /// How it ended, waiting at most five seconds; None while it still runs.
    fn ended(&mut self) -> Option<std::process::ExitStatus> {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            match self.0.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
                Ok(None) => return None,
                Err(e) => panic!("{e}"),
            }
        }
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigterm_reaches_the_process_that_started_then() {
    let mut child = Sleeper::start();
    let sent = send(Path::new("/proc"), child.pid(), child.start_time(), Signal::Term);
    let sent = sent.unwrap_or_else(|e| panic!("{e}"));
    assert!(sent.command.as_deref().is_some_and(|c| c.contains("sleep")), "{sent:?}");
    let status = child.ended().unwrap_or_else(|| panic!("the child outlived SIGTERM"));
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
}

#[test]
fn sigint_and_sigkill_are_the_signals_named() {
    for (signal, number) in [(Signal::Int, libc::SIGINT), (Signal::Kill, libc::SIGKILL)] {
        let mut child = Sleeper::start();
        send(Path::new("/proc"), child.pid(), child.start_time(), signal).unwrap_or_else(|e| panic!("{e}"));
        let status = child.ended().unwrap_or_else(|| panic!("the child outlived {signal}"));
        assert_eq!(status.signal(), Some(number), "{signal}: {status:?}");
    }
}

#[test]
fn another_start_time_means_another_process_and_nothing_is_sent() {
    let mut child = Sleeper::start();
    let pid = child.pid();
    let wrong = child.start_time() + 1;
    let err = send(Path::new("/proc"), pid, wrong, Signal::Kill).err();
    assert_eq!(err, Some(SignalError::Ended { pid }));
    assert_eq!(
        err.map(|e| e.to_string()).unwrap_or_default(),
        format!("PID {pid} ended (or is now another process); nothing was sent")
    );
    assert_eq!(child.0.try_wait().ok().flatten(), None, "the child was signalled");
    // Still there a moment later: nothing was sent at all.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(child.0.try_wait().ok().flatten(), None);
}

#[test]
fn an_ended_process_is_said_to_have_ended() {
    let mut child = Sleeper::start();
    let (pid, started) = (child.pid(), child.start_time());
    let _ = child.0.kill();
    let _ = child.0.wait();
    assert_eq!(send(Path::new("/proc"), pid, started, Signal::Term).err(), Some(SignalError::Ended { pid }));
}

#[test]
fn another_users_process_is_permission_denied() {
    // SAFETY: geteuid only reads this process's credentials.
    if unsafe { libc::geteuid() } != 0 {
        // PID 1 belongs to root.
        let started = procfs::start_time(Path::new("/proc"), 1).unwrap_or_else(|| panic!("no PID 1"));
        let err = send(Path::new("/proc"), 1, started, Signal::Term).err();
        assert_eq!(err, Some(SignalError::PermissionDenied { pid: 1 }));
        return;
    }
    // As root, a child that became `nobody` tries to signal root's sleep.
    let mut child = Sleeper::start();
    let (pid, started) = (child.pid(), child.start_time());
    // SAFETY: the forked child only drops its credentials, calls `send` (file reads and two
    // syscalls) and leaves with _exit, never returning into the test harness.
    let forked = unsafe { libc::fork() };
    assert!(forked >= 0, "fork failed");
    if forked == 0 {
        let code = unsafe {
            if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                3
            } else {
                match send(Path::new("/proc"), pid, started, Signal::Kill) {
                    Err(SignalError::PermissionDenied { .. }) => 0,
                    Ok(_) => 1,
                    Err(_) => 2,
                }
            }
        };
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    let waited = unsafe { libc::waitpid(forked, &mut status, 0) };
    assert_eq!(waited, forked);
    assert!(libc::WIFEXITED(status), "{status}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "0 = permission denied, 1 = sent, 2 = other error, 3 = setuid failed"
    );
    assert_eq!(child.0.try_wait().ok().flatten(), None, "root's process was signalled");
}

/// Init, gpudock itself and kernel threads are never signalled, whatever the view asked. The
/// start times given are wrong on purpose: without the refusal the answer would be "ended",
/// and nothing is ever sent either way.
#[test]
fn init_itself_and_kernel_threads_are_refused() {
    let refused = |r: Result<_, SignalError>| matches!(r, Err(SignalError::Refused { .. }));
    assert!(refused(send(Path::new("/proc"), 1, u64::MAX, Signal::Term)));
    assert!(refused(send(Path::new("/proc"), std::process::id(), u64::MAX, Signal::Kill)));
    // A kernel thread, as /proc shows one: PF_KTHREAD (0x200000) in the flags, field 9.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pid = 4_194_000u32;
    std::fs::create_dir_all(dir.path().join(pid.to_string())).unwrap_or_else(|e| panic!("{e}"));
    let stat = format!("{pid} (kworker/0:1) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0");
    std::fs::write(dir.path().join(pid.to_string()).join("stat"), stat).unwrap_or_else(|e| panic!("{e}"));
    let r = send(dir.path(), pid, 24, Signal::Kill);
    assert!(matches!(r, Err(SignalError::Refused { what: "a kernel thread", .. })), "{r:?}");
    assert!(
        procfs::is_kernel_thread(Path::new("/proc"), 2) || !Path::new("/proc/2/stat").exists() || {
            // Inside a PID namespace PID 2 is an ordinary process.
            std::fs::read_to_string("/proc/2/stat").is_ok_and(|s| !s.contains("(kthreadd)"))
        }
    );
    assert!(!procfs::is_kernel_thread(Path::new("/proc"), std::process::id()));
}
