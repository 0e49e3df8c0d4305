//! Engines over ssh, the way the docker CLI reaches them: `ssh [-p PORT] [user@]host docker
//! system dial-stdio`, one ssh process per HTTP connection, and at most `SSH_CONNECTIONS` of
//! them per client. bollard's own ssh client starts a new ssh master whenever a request finds
//! no idle connection at that instant (measured: 12 masters for one snapshot of 10 containers,
//! with 2 requests in flight), and keeps them after we exit.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;

use super::transport::{self, BoxIo, Dial, Error, io_error as io};

/// Connections (ssh processes) per client at once: the event stream keeps one, requests share
/// the others.
pub const SSH_CONNECTIONS: usize = 3;

struct SshDial {
    /// `[user@]host`, handed to ssh after `--` so it can never be read as an option.
    dest: String,
    port: Option<u16>,
}

/// `ssh://[user@]host[:port]` → (`[user@]host`, port).
pub fn destination(url: &str) -> Option<(String, Option<u16>)> {
    let authority = url.strip_prefix("ssh://")?.split('/').next()?;
    let (user, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = match host.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && (!h.contains(':') || h.ends_with(']')) => {
            (h, Some(p.parse().ok()?))
        }
        _ => (host, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.starts_with('-') || user.is_some_and(|u| u.is_empty() || u.starts_with('-')) {
        return None;
    }
    Some((user.map_or_else(|| host.to_string(), |u| format!("{u}@{host}")), port))
}

pub fn connect(url: &str, timeout: u64) -> Result<bollard::Docker, Error> {
    let Some((dest, port)) = destination(url) else {
        return Err(io(format!("{url}: not an ssh://[user@]host[:port] URL")));
    };
    transport::client(SshDial { dest, port }, Some(SSH_CONNECTIONS), timeout)
}

impl Dial for SshDial {
    fn name(&self) -> &str {
        &self.dest
    }

    /// A new ssh process; the HTTP connection runs over its stdin and stdout. The process ends
    /// with the connection (and with us: its stdin closes). What ssh says on stderr explains a
    /// connection that fails.
    fn dial(&self) -> Pin<Box<dyn Future<Output = Result<BoxIo, Error>> + Send>> {
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.args(["-o", "BatchMode=yes"]);
        if let Some(p) = self.port {
            cmd.arg("-p").arg(p.to_string());
        }
        cmd.arg("--").arg(&self.dest).args(["docker", "system", "dial-stdio"]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        tracing::debug!(dest = %self.dest, port = ?self.port, "starting ssh");
        let dest = self.dest.clone();
        Box::pin(async move {
            let mut child = cmd.spawn().map_err(|e| io(format!("cannot run ssh: {e}")))?;
            let (Some(stdout), Some(stdin), Some(mut err)) =
                (child.stdout.take(), child.stdin.take(), child.stderr.take())
            else {
                return Err(io("ssh: no pipes".into()));
            };
            let said = Arc::new(Mutex::new(String::new()));
            let keep = Arc::clone(&said);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut s = keep.lock().unwrap_or_else(|p| p.into_inner());
                    if s.len() < 4096 {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
            Ok(Box::new(SshIo { io: tokio::io::join(stdout, stdin), child, said, dest }) as BoxIo)
        })
    }
}

/// The ssh process's pipes; the process is killed when the connection drops. A read that
/// fails carries what ssh said on stderr.
struct SshIo {
    io: tokio::io::Join<tokio::process::ChildStdout, tokio::process::ChildStdin>,
    #[allow(dead_code)]
    child: tokio::process::Child,
    said: Arc<Mutex<String>>,
    dest: String,
}

impl SshIo {
    fn explain(&self, e: std::io::Error) -> std::io::Error {
        let said = self.said.lock().unwrap_or_else(|p| p.into_inner()).trim().to_string();
        if said.is_empty() {
            e
        } else {
            std::io::Error::new(e.kind(), format!("ssh {}: {e}: {said}", self.dest))
        }
    }
}

impl tokio::io::AsyncRead for SshIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            std::task::Poll::Ready(Err(e)) => std::task::Poll::Ready(Err(self.explain(e))),
            std::task::Poll::Ready(Ok(())) if buf.filled().len() == before => {
                // The end of ssh's stdout before an answer: ssh failed; say why.
                let said = self.said.lock().unwrap_or_else(|p| p.into_inner()).trim().to_string();
                if said.is_empty() {
                    std::task::Poll::Ready(Ok(()))
                } else {
                    std::task::Poll::Ready(Err(std::io::Error::other(format!("ssh {}: {said}", self.dest))))
                }
            }
            other => other,
        }
    }
}

impl tokio::io::AsyncWrite for SshIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_with_user_port_and_brackets() {
        let d = |u: &str| destination(u);
        assert_eq!(d("ssh://gpu-07"), Some(("gpu-07".into(), None)));
        assert_eq!(d("ssh://me@gpu-07:2222"), Some(("me@gpu-07".into(), Some(2222))));
        assert_eq!(d("ssh://me@[fe80::1]:22"), Some(("me@fe80::1".into(), Some(22))));
        assert_eq!(d("ssh://[fe80::1]"), Some(("fe80::1".into(), None)));
        assert_eq!(d("ssh://me@gpu-07:x"), None);
        assert_eq!(d("ssh://-oProxyCommand=x"), None, "never an ssh option");
        assert_eq!(d("ssh://-l@gpu"), None);
        assert_eq!(d("tcp://gpu:1"), None);
    }
}
