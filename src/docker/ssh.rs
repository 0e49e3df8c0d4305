//! Engines over ssh, the way the docker CLI reaches them: `ssh [-p PORT] [user@]host docker
//! system dial-stdio`, one ssh process per HTTP connection, and at most `SSH_CONNECTIONS` of
//! them per client. bollard's own ssh client starts a new ssh master whenever a request finds
//! no idle connection at that instant (measured: 12 masters for one snapshot of 10 containers,
//! with 2 requests in flight), and keeps them after we exit.

use std::sync::{Arc, Mutex};

use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

/// Connections (ssh processes) per client at once: the event stream keeps one, requests share
/// the others.
pub const SSH_CONNECTIONS: usize = 3;

trait BodyOf {
    type Body;
}
impl<B> BodyOf for hyper::Request<B> {
    type Body = B;
}
type Body = <bollard::BollardRequest as BodyOf>::Body;
type Error = bollard::errors::Error;

struct Pool {
    /// `[user@]host`, handed to ssh after `--` so it can never be read as an option.
    dest: String,
    port: Option<u16>,
    idle: Mutex<Vec<SendRequest<Body>>>,
    /// One permit per connection in use; a connection goes back to `idle` before its permit.
    slots: Arc<Semaphore>,
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
    let pool = Arc::new(Pool {
        dest,
        port,
        idle: Mutex::new(Vec::new()),
        slots: Arc::new(Semaphore::new(SSH_CONNECTIONS)),
    });
    bollard::Docker::connect_with_custom_transport(
        move |req| Arc::clone(&pool).send(req),
        Some("http://docker"),
        timeout,
        bollard::API_DEFAULT_VERSION,
    )
}

fn io(message: String) -> Error {
    Error::IOError { err: std::io::Error::other(message) }
}

impl Pool {
    async fn send(
        self: Arc<Self>,
        req: bollard::BollardRequest,
    ) -> Result<hyper::Response<hyper::body::Incoming>, Error> {
        let permit = Arc::clone(&self.slots).acquire_owned().await.map_err(|e| io(e.to_string()))?;
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.retain(|s| !s.is_closed());
            idle.pop()
        };
        tracing::debug!(dest = %self.dest, uri = %req.uri(), reuse = idle.is_some(), "ssh request");
        let (mut sender, stderr) = match idle {
            Some(s) => (s, None),
            None => {
                let (s, e) = self.open().await?;
                (s, Some(e))
            }
        };
        // Over a raw connection the request goes in origin form, with the Host header HTTP/1.1
        // requires (the engine answers 400 without it).
        let (mut parts, body) = req.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = path.parse().map_err(|e: hyper::http::uri::InvalidUri| io(e.to_string()))?;
        parts.headers.entry(HOST).or_insert(HeaderValue::from_static("docker"));
        let sent = match sender.ready().await {
            Ok(()) => sender.send_request(hyper::Request::from_parts(parts, body)).await,
            Err(e) => Err(e),
        };
        let res = match sent {
            Ok(res) => res,
            Err(e) => {
                let said = match stderr {
                    Some(s) => s.lock().unwrap_or_else(|p| p.into_inner()).trim().to_string(),
                    None => String::new(),
                };
                let why = if said.is_empty() { e.to_string() } else { format!("{e}: {said}") };
                return Err(io(format!("ssh {}: {why}", self.dest)));
            }
        };
        // Back to the pool once the response is read (a stream keeps its connection).
        let pool = Arc::clone(&self);
        tokio::spawn(async move {
            if sender.ready().await.is_ok() {
                pool.idle.lock().unwrap_or_else(|p| p.into_inner()).push(sender);
            }
            tracing::debug!(dest = %pool.dest, "ssh connection free");
            drop(permit);
        });
        Ok(res)
    }

    /// A new ssh process and an HTTP/1 connection over its stdin and stdout. The process ends
    /// with the connection (and with us: its stdin closes).
    async fn open(&self) -> Result<(SendRequest<Body>, Arc<Mutex<String>>), Error> {
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
        let (sender, conn) = http1::handshake(TokioIo::new(tokio::io::join(stdout, stdin)))
            .await
            .map_err(|e| io(format!("ssh {}: {e}", self.dest)))?;
        tokio::spawn(async move {
            let _ = conn.await;
            drop(child);
        });
        Ok((sender, said))
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
