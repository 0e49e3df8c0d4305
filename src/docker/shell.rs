//! An interactive shell in a running container, through the engine's exec API with a TTY:
//! the terminal's bytes go to the shell and the shell's to the terminal until it exits. The
//! caller hands the terminal over (raw mode, main screen) before and takes it back after.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bollard::Docker;
use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{ContainerId, EngineError};

/// The default: bash where the image has it, else sh (busybox, alpine).
pub fn default_command() -> Vec<String> {
    ["/bin/sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// How a shell session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellEnd {
    /// The shell exited, with its code when the engine knows it.
    Exited(Option<i64>),
    /// Ctrl-P Ctrl-Q: the engine let go of the session; the shell runs on in the container.
    Detached,
    /// The terminal went away (SIGHUP, SIGTERM, end of input, a failed write): the shell was
    /// told to end, and gpudock must exit too; nobody is left to see it.
    TerminalGone,
}

impl ShellEnd {
    /// The status line for a shell in container `name`.
    pub fn sentence(&self, name: &str) -> String {
        match self {
            ShellEnd::Exited(Some(code)) => format!("the shell in {name} exited with code {code}"),
            ShellEnd::Exited(None) | ShellEnd::TerminalGone => format!("the shell in {name} ended"),
            ShellEnd::Detached => format!("detached from the shell in {name}; it runs on"),
        }
    }
}

/// The engine's default detach keys (Ctrl-P Ctrl-Q); gpudock sets no others.
const DETACH_KEYS: [u8; 2] = [0x10, 0x11];

/// What a hung-up terminal would do to a shell: Ctrl-C for whatever runs in the foreground,
/// then end-of-input at the prompt. The exec API has no hang-up of its own.
const HANG_UP: &[u8] = b"\x03\x04";

/// Runs `cmd` with a TTY in container `id`, wired to this process's terminal, until it exits,
/// detaches, or the terminal goes away.
pub async fn run(docker: &Docker, id: &ContainerId, cmd: Vec<String>) -> Result<ShellEnd, EngineError> {
    let term =
        std::env::var("TERM").ok().filter(|t| !t.is_empty()).unwrap_or_else(|| "xterm-256color".into());
    let config = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(true),
        env: Some(vec![format!("TERM={term}")]),
        cmd: Some(cmd),
        ..Default::default()
    };
    let exec = docker.create_exec(id.as_str(), config).await?.id;
    let opts = StartExecOptions { detach: false, tty: true, output_capacity: None };
    let StartExecResults::Attached { mut output, mut input } = docker.start_exec(&exec, Some(opts)).await?
    else {
        return Err(EngineError::Other("the engine detached the shell".into()));
    };
    resize(docker, &exec).await;
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind| signal(kind).map_err(|e| EngineError::Other(e.to_string()));
    let mut winch = listen(SignalKind::window_change())?;
    // The dashboard's own handlers are not polled while the shell has the terminal.
    let mut hangup = listen(SignalKind::hangup())?;
    let mut terminate = listen(SignalKind::terminate())?;
    let (tx, mut keys) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = read_terminal(tx, stop.clone());
    let mut stdout = std::io::stdout();
    let mut gone = false;
    let mut keys_open = true;
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
    // The last two bytes typed: the engine's detach keys end the stream, and the engine then
    // reports the shell as exited with 126 although it runs on.
    let mut typed_tail = [0u8; 2];
    loop {
        tokio::select! {
            out = output.next() => match out {
                Some(Ok(chunk)) => {
                    if let Err(e) = stdout.write_all(&chunk.into_bytes()).and_then(|()| stdout.flush()) {
                        tracing::info!(error = %e, "the terminal is gone; ending the shell");
                        gone = true;
                        break;
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "shell output ended");
                    break;
                }
                None => break,
            },
            bytes = keys.recv(), if keys_open => match bytes {
                Some(bytes) => {
                    for b in &bytes {
                        typed_tail = [typed_tail[1], *b];
                    }
                    if input.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                // End of input on a terminal is its hang-up; on a pipe or /dev/null it is
                // only the end of what there was to type.
                None if on_terminal => {
                    tracing::info!("the terminal's input ended; ending the shell");
                    gone = true;
                    break;
                }
                None => keys_open = false,
            },
            _ = hangup.recv() => {
                tracing::info!("SIGHUP; ending the shell");
                gone = true;
                break;
            }
            _ = terminate.recv() => {
                tracing::info!("SIGTERM; ending the shell");
                gone = true;
                break;
            }
            _ = winch.recv() => resize(docker, &exec).await,
        }
    }
    stop.store(true, Ordering::SeqCst);
    if gone {
        let _ = input.write_all(HANG_UP).await;
        let _ = input.shutdown().await;
        // Until the shell has read its end (its output closes), within reason: past this the
        // process leaves anyway.
        let drained = async { while output.next().await.is_some() {} };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), drained).await;
    }
    // A reader blocked on a full channel (a paste the shell never read) wakes up when the
    // receiver is gone; otherwise the join would wait for ever.
    drop(keys);
    let _ = reader.join();
    if gone {
        return Ok(ShellEnd::TerminalGone);
    }
    if typed_tail == DETACH_KEYS {
        return Ok(ShellEnd::Detached);
    }
    // The shell is over either way; a failed inspect only costs the exit code in the status line.
    match docker.inspect_exec(&exec).await {
        // Ctrl-P Ctrl-Q ends the stream while the shell still runs.
        Ok(inspect) if inspect.running == Some(true) => Ok(ShellEnd::Detached),
        Ok(inspect) => Ok(ShellEnd::Exited(inspect.exit_code)),
        Err(e) => {
            tracing::debug!(error = %e, "cannot read the shell's exit code");
            Ok(ShellEnd::Exited(None))
        }
    }
}

async fn resize(docker: &Docker, exec: &str) {
    if let Ok((width, height)) = crossterm::terminal::size()
        && let Err(e) = docker.resize_exec(exec, ResizeExecOptions { height, width }).await
    {
        tracing::debug!(error = %e, "cannot resize the shell's TTY");
    }
}

/// Reads the terminal on a thread of its own until `stop`: it looks every 50 ms, so no read is
/// left waiting to steal the first key typed back in the dashboard.
fn read_terminal(
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let fd = stdin.as_raw_fd();
        // Larger than std's stdin buffer, so reads bypass it: bytes left in that buffer would be
        // invisible to poll and wait for the next key.
        let mut buf = vec![0u8; 16 * 1024];
        while !stop.load(Ordering::SeqCst) {
            let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
            // SAFETY: one pollfd we own, for the length we pass.
            let ready = unsafe { libc::poll(&mut pfd, 1, 50) };
            if ready <= 0 {
                continue;
            }
            if pfd.revents & libc::POLLIN == 0 {
                // The terminal hung up: nothing more will come, and polling again would spin.
                if pfd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
                    break;
                }
                continue;
            }
            match stdin.lock().read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    })
}
