//! The NVML sampler thread: opens the library, sends a snapshot every refresh, and when NVML is
//! missing or breaks, says why and tries again later.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc::Sender;

use super::model::{GpuSnapshot, XidError};
use super::nvml::{NvmlBackend, describe};
use crate::clock::unix_now;

/// A host without a driver rarely grows one; a slow retry costs nothing and catches a driver
/// that was being (re)loaded.
pub const RETRY: Duration = Duration::from_secs(10);

/// What the sampler publishes; any front end that can be made from these can run it.
#[derive(Debug, Clone)]
pub enum GpuEvent {
    /// No NVML (no driver, no library, init failed): the reason, and when it is tried again.
    Unavailable {
        reason: String,
        retry_in: Duration,
    },
    Snapshot(GpuSnapshot),
    /// The driver reported an XID error (from the event watcher thread).
    Xid(XidError),
    /// XIDs from before the watch, from this boot's kernel log, oldest first: they mark GPUs
    /// broken as a live one does, but are news to no one.
    PastXids(Vec<XidError>),
}

pub struct GpuSampler<M> {
    pub lib: Option<PathBuf>,
    pub refresh: Duration,
    pub tx: Sender<M>,
    /// `gpudock export`: sample when its scrapes are due rather than every `refresh`.
    pub beat: Option<std::sync::Arc<super::beat::Beat>>,
}

impl<M: From<GpuEvent> + Send + 'static> GpuSampler<M> {
    pub fn spawn(self) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new().name("nvml-sampler".into()).spawn(move || self.run())
    }

    fn send(&self, event: GpuEvent) -> bool {
        self.tx.blocking_send(M::from(event)).is_ok()
    }

    fn run(self) {
        // A fault to inject in tests: a panic on this thread must end the program cleanly.
        if std::env::var_os("GPUDOCK_FAULT").is_some_and(|f| f == "panic-in-sampler") {
            panic!("GPUDOCK_FAULT=panic-in-sampler: injected panic in the NVML sampler");
        }
        loop {
            let mut backend = match NvmlBackend::open(self.lib.as_deref()) {
                Ok(b) => b,
                Err(e) => {
                    tracing::info!(error = %e, "NVML not available");
                    if !self.send(GpuEvent::Unavailable {
                        reason: format!("NVML not available: {e}"),
                        retry_in: RETRY,
                    }) {
                        return;
                    }
                    std::thread::sleep(RETRY);
                    continue;
                }
            };
            tracing::info!(lib = %backend.lib, "NVML loaded");
            backend.interval = self.refresh;
            loop {
                match backend.sample(unix_now()) {
                    Ok(snapshot) => {
                        if !self.send(GpuEvent::Snapshot(snapshot)) {
                            return;
                        }
                    }
                    Err(e) => {
                        let reason = format!("NVML error: {}", describe(&e));
                        tracing::warn!(%reason, "GPU sampling failed; reopening");
                        if !self.send(GpuEvent::Unavailable { reason, retry_in: RETRY }) {
                            return;
                        }
                        std::thread::sleep(RETRY);
                        break;
                    }
                }
                match &self.beat {
                    Some(beat) => std::thread::sleep(beat.wait()),
                    // Sleep to the shared beat rather than for a full period: no drift, and the
                    // Docker sample lands at the same moment.
                    None => std::thread::sleep(crate::clock::until_next_tick(self.refresh)),
                }
            }
        }
    }
}
