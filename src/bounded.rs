//! One limit for every answer read from a peer: an engine (`docker::transport`) or Prometheus
//! (`fleet::client`). A hostile or broken peer that keeps a body flowing, or sends one message
//! without end, is cut with an error that names the request, instead of growing memory until
//! the process dies; a request timeout alone never stops a body that keeps arriving.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;

/// An engine answer read whole (listings, inspects, `/system/df`, version, info). A real node
/// with thousands of containers answers `/containers/json` in a few MiB; `/system/df` with
/// every image and volume stays under tens of MiB.
pub const ENGINE_MAX_BODY: usize = 64 << 20;
/// One message of an engine stream: an event, a stats sample, a pull progress line, a log frame
/// (the engine splits log lines at 16 KiB).
pub const ENGINE_MAX_MESSAGE: usize = 4 << 20;
/// A whole engine answer, from request to last byte.
pub const ENGINE_BODY_DEADLINE: Duration = Duration::from_secs(60);
/// A Prometheus answer: a fleet query answers in kilobytes.
pub const PROM_MAX_BODY: usize = 32 << 20;

/// What ended a read: the text names the request, so the person knows which answer was bad.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Overrun {
    #[error("the answer to {what} passed {} MiB: refused", .limit >> 20)]
    TooBig { what: String, limit: usize },
    #[error("one message of {what} passed {} MiB: refused", .limit >> 20)]
    MessageTooBig { what: String, limit: usize },
    #[error("the answer to {what} did not end within {secs} s")]
    Deadline { what: String, secs: u64 },
}

impl Overrun {
    /// The overrun that ended an I/O error, if one did: hyper and bollard wrap it.
    pub fn find<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a Overrun> {
        let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = cur {
            if let Some(o) = e.downcast_ref::<Overrun>() {
                return Some(o);
            }
            // bollard's I/O error is transparent: its source skips the io::Error it holds.
            let io = match e.downcast_ref::<bollard::errors::Error>() {
                Some(bollard::errors::Error::IOError { err }) => Some(err),
                _ => e.downcast_ref::<std::io::Error>(),
            };
            if let Some(o) = io.and_then(|io| io.get_ref()).and_then(|o| o.downcast_ref::<Overrun>()) {
                return Some(o);
            }
            cur = e.source();
        }
        None
    }

    /// Remembers an overrun for `take_recent`: bollard turns a stream's I/O error into text,
    /// which loses the overrun (and which request it was) on the way.
    pub fn record(&self) {
        *RECENT.lock().unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), self.clone()));
    }

    /// The overrun recorded in the last few seconds, once: for an I/O error that lost its cause.
    pub fn take_recent() -> Option<Overrun> {
        let mut recent = RECENT.lock().unwrap_or_else(|p| p.into_inner());
        match recent.take() {
            Some((at, o)) if at.elapsed() < Duration::from_secs(5) => Some(o),
            _ => None,
        }
    }

    pub fn into_io(self) -> std::io::Error {
        let kind = match self {
            Overrun::Deadline { .. } => std::io::ErrorKind::TimedOut,
            _ => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, self)
    }
}

static RECENT: std::sync::Mutex<Option<(std::time::Instant, Overrun)>> = std::sync::Mutex::new(None);

/// Counts the bytes of one answer against its limit.
#[derive(Debug, Clone)]
pub struct Meter {
    what: String,
    limit: usize,
    seen: usize,
}

impl Meter {
    pub fn new(what: impl Into<String>, limit: usize) -> Meter {
        Meter { what: what.into(), limit, seen: 0 }
    }

    pub fn what(&self) -> &str {
        &self.what
    }

    /// `n` more bytes arrived; past the limit is an error.
    pub fn take(&mut self, n: usize) -> Result<(), Overrun> {
        self.seen = self.seen.saturating_add(n);
        if self.seen > self.limit {
            Err(Overrun::TooBig { what: self.what.clone(), limit: self.limit })
        } else {
            Ok(())
        }
    }
}

/// Why a whole body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E> {
    #[error(transparent)]
    Overrun(#[from] Overrun),
    #[error("{0}")]
    Body(E),
}

/// Reads `body` whole, at most `limit` bytes and within `deadline`.
pub async fn read_whole<B>(
    body: B,
    what: &str,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, ReadError<B::Error>>
where
    B: hyper::body::Body + Unpin,
    B::Data: bytes::Buf,
{
    let mut meter = Meter::new(what, limit);
    let mut out = bytes::BytesMut::new();
    let read = async {
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(ReadError::Body)?;
            if let Ok(mut data) = frame.into_data() {
                use bytes::Buf as _;
                meter.take(data.remaining())?;
                while data.has_remaining() {
                    let n = data.chunk().len();
                    out.extend_from_slice(data.chunk());
                    data.advance(n);
                }
            }
        }
        Ok::<_, ReadError<B::Error>>(())
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(r) => r.map(|()| out.freeze()),
        Err(_) => Err(Overrun::Deadline { what: what.to_string(), secs: deadline.as_secs() }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    #[tokio::test]
    async fn whole_bodies_are_capped_and_named() {
        let ok =
            read_whole(Full::new(Bytes::from(vec![b'x'; 10])), "GET /x", 10, Duration::from_secs(5)).await;
        assert_eq!(ok.map(|b| b.len()).ok(), Some(10));
        let big =
            read_whole(Full::new(Bytes::from(vec![b'x'; 11])), "GET /x", 10, Duration::from_secs(5)).await;
        assert!(
            matches!(big, Err(ReadError::Overrun(Overrun::TooBig { ref what, limit: 10 })) if what == "GET /x"),
            "{big:?}"
        );
    }

    #[tokio::test]
    async fn a_body_that_never_ends_meets_its_deadline() {
        // One byte, then nothing, forever: the connection stays open and silent.
        let first = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(
            hyper::body::Frame::data(Bytes::from_static(b"x")),
        )]);
        let endless = Box::pin(futures_util::StreamExt::chain(first, futures_util::stream::pending()));
        let r =
            read_whole(StreamBody::new(endless), "POST /api/v1/query", 1 << 20, Duration::from_millis(50))
                .await;
        assert!(matches!(r, Err(ReadError::Overrun(Overrun::Deadline { .. }))), "{r:?}");
    }

    #[test]
    fn an_overrun_is_found_under_io_and_client_errors() {
        let io = Overrun::TooBig { what: "GET /containers/json".into(), limit: 1 << 20 }.into_io();
        let wrapped = bollard::errors::Error::IOError { err: io };
        let found = Overrun::find(&wrapped);
        assert!(matches!(found, Some(Overrun::TooBig { what, .. }) if what == "GET /containers/json"));
        assert_eq!(Overrun::find(&std::io::Error::other("x")), None);
    }
}
