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

/// Runs `cmd` with a TTY in container `id`, wired to this process's terminal, until it exits;
/// returns its exit code.
pub async fn run(docker: &Docker, id: &ContainerId, cmd: Vec<String>) -> Result<Option<i64>, EngineError> {
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
    let mut winch = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        .map_err(|e| EngineError::Other(e.to_string()))?;
    let (tx, mut keys) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = read_terminal(tx, stop.clone());
    let mut stdout = std::io::stdout();
    loop {
        tokio::select! {
            out = output.next() => match out {
                Some(Ok(chunk)) => {
                    let _ = stdout.write_all(&chunk.into_bytes());
                    let _ = stdout.flush();
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "shell output ended");
                    break;
                }
                None => break,
            },
            Some(bytes) = keys.recv() => {
                if input.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            _ = winch.recv() => resize(docker, &exec).await,
        }
    }
    stop.store(true, Ordering::SeqCst);
    // A reader blocked on a full channel (a paste the shell never read) wakes up when the
    // receiver is gone; otherwise the join would wait for ever.
    drop(keys);
    let _ = reader.join();
    // The shell is over either way; a failed inspect only costs the exit code in the status line.
    match docker.inspect_exec(&exec).await {
        Ok(inspect) => Ok(inspect.exit_code),
        Err(e) => {
            tracing::debug!(error = %e, "cannot read the shell's exit code");
            Ok(None)
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
