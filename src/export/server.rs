//! The HTTP side: `GET /metrics` (and HEAD) answers the exposition of the current state; every
//! other path is 404, every other method on `/metrics` 405. HTTP/1 only, on the program's own
//! tokio runtime.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::gate::{self, Gate, Throttle, WriteTimeout};
use super::metrics;
use super::state::State;

/// A client that has not sent its request headers by then is dropped.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves until the task is dropped, at most `max_connections` at once (`gate`).
pub async fn serve(listener: TcpListener, state: Arc<Mutex<Arc<State>>>, max_connections: usize) {
    let gate = Arc::new(Gate::default());
    let mut accept_errors = Throttle::new(gate::ACCEPT_LOG_EVERY);
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of file descriptors, most likely: wait rather than spin, and say so
                // without filling the log.
                if let Some(held_back) = accept_errors.allow(tokio::time::Instant::now()) {
                    tracing::warn!(error = %e, held_back, "accept failed");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(ticket) = gate.admit(max_connections) else {
            tracing::debug!("every scrape connection is busy: one refused");
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let ticket = Arc::new(ticket);
            let t = Arc::clone(&ticket);
            let svc = service_fn(move |req: Request<Incoming>| {
                t.busy(true);
                // Busy until hyper has written the body and drops it (under the write timeout).
                let resp = respond(req.method(), req.uri().path(), &state)
                    .map(|body| Busy { body, ticket: Arc::clone(&t) });
                async move { Ok::<_, Infallible>(resp) }
            });
            let io = TokioIo::new(WriteTimeout::new(stream, gate::WRITE_TIMEOUT));
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(io, svc);
            tokio::select! {
                r = conn => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "scrape connection ended with an error");
                    }
                }
                () = ticket.close.notified() => tracing::debug!("idle scrape connection closed for a newcomer"),
            }
        });
    }
}

/// An answer's body; its connection counts as busy until the body is dropped.
struct Busy {
    body: Full<Bytes>,
    ticket: Arc<gate::Ticket>,
}

impl hyper::body::Body for Busy {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.ticket.busy(false);
    }
}

/// The answer to one request.
pub fn respond(method: &Method, path: &str, state: &Mutex<Arc<State>>) -> Response<Full<Bytes>> {
    if path != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "not found: the metrics are at /metrics\n");
    }
    if method != Method::GET && method != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut().insert(ALLOW, hyper::header::HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    // The collectors wait only for the clone of a pointer, not for the encoding.
    let state = state.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(beat) = &state.beat {
        beat.note_scrape();
    }
    let text = metrics::render(&state);
    let mut r = Response::new(Full::new(Bytes::from(text)));
    r.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static(metrics::CONTENT_TYPE));
    r
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}
