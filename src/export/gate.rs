//! What keeps one local user from starving the exporter: at most `MAX_CONNECTIONS` scrape
//! connections at once (the oldest idle one makes room for a newcomer, and one that never sent
//! a request goes before one that did, which is how Prometheus keeps its connection), a write
//! timeout (a client that never reads is cut), the file limit raised to its hard limit, and
//! accept errors logged at most once a minute. The file descriptors the engine and NVML need
//! are never the scrapers' to take.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

/// Prometheus needs one connection per scraping server; a few dozen is plenty.
pub const MAX_CONNECTIONS: usize = 32;
/// A client that takes longer than this to take a bit of its answer is cut.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Accept errors (out of file descriptors) are logged at most this often.
pub const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Slot {
    id: u64,
    opened: Instant,
    /// A request is being answered: never closed to make room.
    busy: bool,
    /// It has sent a request before: Prometheus' keep-alive connection, likely.
    served: bool,
    close: Arc<Notify>,
}

/// The open scrape connections.
#[derive(Debug, Default)]
pub struct Gate {
    slots: Mutex<Vec<Slot>>,
    next: Mutex<u64>,
}

/// One admitted connection; its slot is freed when this drops.
#[derive(Debug)]
pub struct Ticket {
    gate: Arc<Gate>,
    id: u64,
    pub close: Arc<Notify>,
}

impl Gate {
    /// Room for one more connection, if need be by closing the oldest idle one (one that never
    /// sent a request first); None when every slot is answering a request.
    pub fn admit(self: &Arc<Self>, max: usize) -> Option<Ticket> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= max {
            let victim = slots
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.busy)
                .min_by_key(|(_, s)| (s.served, s.opened, s.id))
                .map(|(i, _)| i)?;
            let gone = slots.swap_remove(victim);
            // notify_one keeps the wake-up for a task that is not waiting yet.
            gone.close.notify_one();
        }
        let id = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            *next += 1;
            *next
        };
        let close = Arc::new(Notify::new());
        slots.push(Slot {
            id,
            opened: Instant::now(),
            busy: false,
            served: false,
            close: Arc::clone(&close),
        });
        Some(Ticket { gate: Arc::clone(self), id, close })
    }

    pub fn open(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Ticket {
    /// A request is being answered (true) or has been (false).
    pub fn busy(&self, busy: bool) {
        let mut slots = self.gate.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slots.iter_mut().find(|s| s.id == self.id) {
            s.busy = busy;
            s.served = true;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut slots = self.gate.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.retain(|s| s.id != self.id);
    }
}

/// A connection whose writes fail once one has waited `WRITE_TIMEOUT` without progress.
pub struct WriteTimeout<T> {
    inner: T,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteTimeout<T> {
    pub fn new(inner: T, limit: Duration) -> WriteTimeout<T> {
        WriteTimeout { inner, limit, stalled: None }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> WriteTimeout<T> {
    /// Pending output: past the limit without progress, an error.
    fn waited<R>(&mut self, cx: &mut Context<'_>, r: Poll<std::io::Result<R>>) -> Poll<std::io::Result<R>> {
        match r {
            Poll::Pending => {
                let limit = self.limit;
                let sleep = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client took nothing for too long",
                    )));
                }
                Poll::Pending
            }
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.waited(cx, r)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.waited(cx, r)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Lets one message through per period; counts the rest.
#[derive(Debug)]
pub struct Throttle {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    pub fn new(every: Duration) -> Throttle {
        Throttle { every, last: None, suppressed: 0 }
    }

    /// Some(how many were held back since the last one) when this one may be logged.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(t) if now.duration_since(t) < self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// Raises the soft file limit to the hard one, so the limit the service manager allows is
/// what counts; returns the soft limit now in force.
pub fn raise_file_limit() -> Option<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid resource and a pointer to a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    Some(lim.rlim_cur)
}

/// Scrape connections allowed at once under a file limit of `nofile`: never more than
/// `MAX_CONNECTIONS`, and never so many that the engine, NVML, the log and the runtime are left
/// without descriptors.
pub fn connections_for(nofile: Option<u64>) -> usize {
    const RESERVED: u64 = 128;
    match nofile {
        Some(n) => (n.saturating_sub(RESERVED) / 2).clamp(1, MAX_CONNECTIONS as u64) as usize,
        None => MAX_CONNECTIONS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_gate_closes_the_oldest_idle_stranger_first() {
        let gate = Arc::new(Gate::default());
        let prom = gate.admit(3).unwrap_or_else(|| panic!("room"));
        prom.busy(true);
        prom.busy(false);
        let a = gate.admit(3).unwrap_or_else(|| panic!("room"));
        let b = gate.admit(3).unwrap_or_else(|| panic!("room"));
        b.busy(true);
        // Full: `a` never sent a request and is idle, so it goes; Prometheus' stays.
        let c = gate.admit(3).unwrap_or_else(|| panic!("room"));
        assert_eq!(gate.open(), 3);
        let woke = a.close.notified();
        tokio_test_ready(woke);
        c.busy(true);
        // Only Prometheus' idle connection is left to close.
        let d = gate.admit(3).unwrap_or_else(|| panic!("room"));
        d.busy(true);
        // Everyone is answering a request: the newcomer is refused.
        assert!(gate.admit(3).is_none());
        drop(b);
        assert!(gate.admit(3).is_some());
    }

    /// A stored `notify_one` completes the next `notified()` at once.
    fn tokio_test_ready(f: tokio::sync::futures::Notified<'_>) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let rt = rt.unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            assert!(tokio::time::timeout(Duration::from_secs(5), f).await.is_ok(), "not told to close");
        });
    }

    #[test]
    fn accept_errors_are_logged_once_a_minute() {
        let mut t = Throttle::new(ACCEPT_LOG_EVERY);
        let start = Instant::now();
        assert_eq!(t.allow(start), Some(0));
        for s in 1..60 {
            assert_eq!(t.allow(start + Duration::from_secs(s)), None);
        }
        assert_eq!(t.allow(start + Duration::from_secs(60)), Some(59));
    }

    #[test]
    fn connections_leave_room_under_any_file_limit() {
        assert_eq!(connections_for(Some(1024)), MAX_CONNECTIONS);
        assert_eq!(connections_for(Some(160)), 16);
        assert_eq!(connections_for(Some(64)), 1);
        assert_eq!(connections_for(None), MAX_CONNECTIONS);
    }

    #[tokio::test]
    async fn a_client_that_never_reads_is_cut() {
        let (client, server) = tokio::io::duplex(64);
        let mut w = WriteTimeout::new(server, Duration::from_millis(50));
        let r = tokio::io::AsyncWriteExt::write_all(&mut w, &[0u8; 4096]).await;
        assert_eq!(r.map_err(|e| e.kind()), Err(std::io::ErrorKind::TimedOut));
        drop(client);
    }
}
