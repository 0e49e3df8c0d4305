//! The connections to an engine, for every kind of host: our own HTTP/1 connections (unix
//! socket, tcp, TLS with only the given CA, ssh), handed to bollard as a custom transport. Owning
//! them is what lets every answer be bounded: each connection's reads pass through a guard that
//! holds the current request's limits (`bounded`): a whole body is capped in size and time, a
//! stream's messages in size (`framing`).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

use super::framing::{Messages, Scanner};
use crate::bounded::{self, Meter, Overrun};

trait BodyOf {
    type Body;
}
impl<B> BodyOf for hyper::Request<B> {
    type Body = B;
}
type Body = <bollard::BollardRequest as BodyOf>::Body;
pub(crate) type Error = bollard::errors::Error;
type Response = hyper::Response<hyper::body::Incoming>;

/// An I/O stream to the engine: a socket, a TLS session, an ssh process's pipes.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

pub(crate) type BoxIo = Box<dyn Io>;
type DialFuture = Pin<Box<dyn Future<Output = Result<BoxIo, Error>> + Send>>;

/// Opens one new connection to the engine.
pub(crate) trait Dial: Send + Sync + 'static {
    fn dial(&self) -> DialFuture;
    /// For messages and the log: the engine, without credentials.
    fn name(&self) -> &str;
}

/// What the current request's answer may be.
#[derive(Debug)]
enum Policy {
    /// Between requests: a pooled connection waits.
    Idle,
    Whole {
        meter: Meter,
        deadline: Instant,
    },
    Stream(Scanner),
}

/// How a request's answer is read, from its method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Whole,
    Stream(Messages),
    /// Long-lived, read as it comes (a tar export); no message boundaries to check.
    Open,
}

/// Streams and long waits by path; everything else is read whole.
pub fn classify(path: &str, query: &str) -> Answer {
    // `/v1.47/containers/json` → `/containers/json`
    let path = match path.strip_prefix("/v").and_then(|p| p.split_once('/')) {
        Some((ver, rest)) if ver.chars().all(|c| c.is_ascii_digit() || c == '.') => rest,
        _ => path.trim_start_matches('/'),
    };
    let seg: Vec<&str> = path.split('/').collect();
    let streamed = !query.split('&').any(|kv| kv == "stream=false" || kv == "stream=0");
    match seg.as_slice() {
        ["events"] | ["images", "create"] | ["build"] | ["images", "load"] => Answer::Stream(Messages::Lines),
        ["images", .., "push"] | ["containers", _, "wait"] => Answer::Stream(Messages::Lines),
        ["containers", _, "stats"] if streamed => Answer::Stream(Messages::Lines),
        ["containers", _, "logs"] => Answer::Stream(Messages::Frames { raw_lines: true }),
        ["containers", _, "attach"] | ["exec", _, "start"] => {
            Answer::Stream(Messages::Frames { raw_lines: false })
        }
        ["containers", _, "export"] | ["images", "get"] | ["images", _, "get"] => Answer::Open,
        _ => Answer::Whole,
    }
}

/// A connection's reads, checked against the current request's policy.
struct Guarded {
    inner: BoxIo,
    policy: Arc<Mutex<Policy>>,
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let policy = Arc::clone(&this.policy);
        let mut policy = policy.lock().unwrap_or_else(|p| p.into_inner());
        if let Policy::Whole { meter, deadline } = &*policy {
            let deadline = *deadline;
            if this.timer.as_ref().is_none_or(|(at, _)| *at != deadline) {
                this.timer = Some((deadline, Box::pin(tokio::time::sleep_until(deadline))));
            }
            if let Some((_, sleep)) = this.timer.as_mut()
                && sleep.as_mut().poll(cx).is_ready()
            {
                let secs = bounded::ENGINE_BODY_DEADLINE.as_secs();
                let o = Overrun::Deadline { what: meter.what().to_string(), secs };
                tracing::warn!(error = %o, "engine answer cut");
                o.record();
                return Poll::Ready(Err(o.into_io()));
            }
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let new = &buf.filled()[before..];
        let checked = match &mut *policy {
            Policy::Idle => Ok(()),
            Policy::Whole { meter, .. } => meter.take(new.len()),
            Policy::Stream(scan) => scan.feed(new),
        };
        Poll::Ready(checked.map_err(|o| {
            tracing::warn!(error = %o, "engine answer refused");
            o.record();
            o.into_io()
        }))
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct Conn {
    sender: SendRequest<Body>,
    policy: Arc<Mutex<Policy>>,
}

/// Our connections to one engine: idle ones are reused; `slots` caps how many exist at once
/// where each costs a process on both machines (ssh).
pub(crate) struct Pool {
    dial: Box<dyn Dial>,
    idle: Mutex<Vec<Conn>>,
    slots: Option<Arc<Semaphore>>,
}

pub(crate) fn io_error(message: String) -> Error {
    Error::IOError { err: std::io::Error::other(message) }
}

/// A bollard client whose every request goes through `dial`'s connections.
pub(crate) fn client(
    dial: impl Dial,
    max_connections: Option<usize>,
    timeout: u64,
) -> Result<bollard::Docker, Error> {
    let pool = Arc::new(Pool {
        dial: Box::new(dial),
        idle: Mutex::new(Vec::new()),
        slots: max_connections.map(|n| Arc::new(Semaphore::new(n))),
    });
    bollard::Docker::connect_with_custom_transport(
        move |req| Arc::clone(&pool).send(req),
        Some("http://docker"),
        timeout,
        bollard::API_DEFAULT_VERSION,
    )
}

impl Pool {
    async fn send(self: Arc<Self>, req: bollard::BollardRequest) -> Result<Response, Error> {
        let permit = match &self.slots {
            Some(s) => Some(Arc::clone(s).acquire_owned().await.map_err(|e| io_error(e.to_string()))?),
            None => None,
        };
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.retain(|c| !c.sender.is_closed());
            idle.pop()
        };
        tracing::debug!(engine = %self.dial.name(), uri = %req.uri(), reuse = idle.is_some(), "engine request");
        let mut conn = match idle {
            Some(c) => c,
            None => self.open().await?,
        };
        // Over a raw connection the request goes in origin form, with the Host header HTTP/1.1
        // requires (the engine answers 400 without it).
        let (mut parts, body) = req.into_parts();
        let path = parts.uri.path().to_string();
        let query = parts.uri.query().unwrap_or("").to_string();
        let what = format!("{} {}", parts.method, strip_version(&path));
        *conn.policy.lock().unwrap_or_else(|p| p.into_inner()) = match classify(&path, &query) {
            Answer::Whole => Policy::Whole {
                meter: Meter::new(what, bounded::ENGINE_MAX_BODY),
                deadline: Instant::now() + bounded::ENGINE_BODY_DEADLINE,
            },
            Answer::Stream(kind) => Policy::Stream(Scanner::new(what, kind, bounded::ENGINE_MAX_MESSAGE)),
            Answer::Open => Policy::Idle,
        };
        let origin = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = origin.parse().map_err(|e: hyper::http::uri::InvalidUri| io_error(e.to_string()))?;
        parts.headers.entry(HOST).or_insert(HeaderValue::from_static("docker"));
        let sent = match conn.sender.ready().await {
            Ok(()) => conn.sender.send_request(hyper::Request::from_parts(parts, body)).await,
            Err(e) => Err(e),
        };
        let res = sent.map_err(|err| Error::HyperResponseError { err })?;
        // Back to the pool once the response is read (a stream keeps its connection).
        let pool = Arc::clone(&self);
        tokio::spawn(async move {
            if conn.sender.ready().await.is_ok() {
                *conn.policy.lock().unwrap_or_else(|p| p.into_inner()) = Policy::Idle;
                pool.idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
            }
            drop(permit);
        });
        Ok(res)
    }

    async fn open(&self) -> Result<Conn, Error> {
        let io = self.dial.dial().await?;
        let policy = Arc::new(Mutex::new(Policy::Idle));
        let guarded = Guarded { inner: io, policy: Arc::clone(&policy), timer: None };
        let (sender, conn) = http1::handshake(TokioIo::new(guarded))
            .await
            .map_err(|e| io_error(format!("{}: {e}", self.dial.name())))?;
        // `with_upgrades`: `exec` and `attach` take the connection over.
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        Ok(Conn { sender, policy })
    }
}

fn strip_version(path: &str) -> &str {
    match path.strip_prefix("/v").and_then(|p| p.find('/').map(|i| &p[i..])) {
        Some(rest) if path[2..].starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => path,
    }
}

/// A unix socket.
pub(crate) struct UnixDial(pub String);

impl Dial for UnixDial {
    fn dial(&self) -> DialFuture {
        let path = self.0.clone();
        Box::pin(async move {
            let s = tokio::net::UnixStream::connect(&path).await.map_err(|err| Error::IOError { err })?;
            Ok(Box::new(s) as BoxIo)
        })
    }
    fn name(&self) -> &str {
        &self.0
    }
}

/// A tcp connection, in the clear or wrapped in TLS.
pub(crate) struct TcpDial {
    /// `host:port`
    pub addr: String,
    pub shown: String,
    pub tls: Option<(Arc<rustls::ClientConfig>, rustls::pki_types::ServerName<'static>)>,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Dial for TcpDial {
    fn dial(&self) -> DialFuture {
        let addr = self.addr.clone();
        let tls = self.tls.clone();
        Box::pin(async move {
            let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&addr)).await
            {
                Ok(r) => r.map_err(|err| Error::IOError { err })?,
                Err(_) => return Err(Error::RequestTimeoutError),
            };
            let _ = tcp.set_nodelay(true);
            match tls {
                None => Ok(Box::new(tcp) as BoxIo),
                Some((config, name)) => {
                    let s = tokio_rustls::TlsConnector::from(config)
                        .connect(name, tcp)
                        .await
                        .map_err(|err| Error::IOError { err })?;
                    Ok(Box::new(s) as BoxIo)
                }
            }
        })
    }
    fn name(&self) -> &str {
        &self.shown
    }
}

/// `tcp://host:port` or `http://host:port[/]` → `host:port` (2375 when left out, as the docker
/// CLI).
pub fn tcp_addr(url: &str) -> Result<String, String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if authority.is_empty() {
        return Err(format!("{}: no host", super::host::redact(url)));
    }
    let has_port = match authority.strip_prefix('[') {
        Some(v6) => v6.contains("]:"),
        None => authority.contains(':'),
    };
    Ok(if has_port { authority.to_string() } else { format!("{authority}:2375") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classified_by_path() {
        assert_eq!(classify("/v1.47/containers/json", "all=1"), Answer::Whole);
        assert_eq!(classify("/v1.47/system/df", ""), Answer::Whole);
        assert_eq!(classify("/version", ""), Answer::Whole);
        assert_eq!(classify("/v1.47/events", ""), Answer::Stream(Messages::Lines));
        assert_eq!(classify("/v1.47/containers/abc/stats", "stream=false&one-shot=true"), Answer::Whole);
        assert_eq!(classify("/v1.47/containers/abc/stats", "stream=true"), Answer::Stream(Messages::Lines));
        assert_eq!(
            classify("/v1.47/containers/abc/logs", "follow=true"),
            Answer::Stream(Messages::Frames { raw_lines: true })
        );
        assert_eq!(
            classify("/v1.47/exec/abc/start", ""),
            Answer::Stream(Messages::Frames { raw_lines: false })
        );
        assert_eq!(classify("/v1.47/containers/abc/json", ""), Answer::Whole);
        assert_eq!(strip_version("/v1.47/containers/json"), "/containers/json");
        assert_eq!(strip_version("/volumes"), "/volumes");
    }

    #[test]
    fn tcp_addresses() {
        assert_eq!(tcp_addr("tcp://10.0.0.5:2376"), Ok("10.0.0.5:2376".into()));
        assert_eq!(tcp_addr("http://node/"), Ok("node:2375".into()));
        assert_eq!(tcp_addr("tcp://[::1]:2376"), Ok("[::1]:2376".into()));
        assert_eq!(tcp_addr("tcp://[::1]"), Ok("[::1]:2375".into()));
        assert!(tcp_addr("tcp://").is_err());
    }
}
