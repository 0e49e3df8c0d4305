//! XID errors: the driver announces them through an NVML event set. Waiting on the set blocks,
//! so it has its own thread (and its own NVML handle: init is reference-counted), and the
//! sampler never waits on it.

use std::path::PathBuf;

use nvml_wrapper::Nvml;
use nvml_wrapper::bitmasks::event::EventTypes;
use nvml_wrapper::enums::event::XidError as NvmlXid;
use nvml_wrapper::error::NvmlError;
use tokio::sync::mpsc::Sender;

use super::kernel_xid::{self, KernelLog, Readers};
use super::model::XidError;
use super::nvml::{describe, open_library, release};
use super::sampler::{GpuEvent, RETRY};
use crate::clock::unix_now;

/// How long one wait lasts: bounds how late the thread notices that its receiver is gone (the
/// program ending; nothing joins the thread). Each timeout is a wake-up of an idle dashboard,
/// so it is long: an event ends the wait at once whatever its length.
const WAIT_MS: u32 = 2000;

pub struct XidWatcher<M> {
    pub lib: Option<PathBuf>,
    pub tx: Sender<M>,
    /// Reads this boot's kernel log once, when the watch starts, for the XIDs from before it
    /// (NVML's events only tell of what happens while someone waits): a GPU that fell off the
    /// bus an hour ago is broken from the first frame. None: only what happens from now on.
    pub kernel_log: Option<Readers>,
}

/// Why the watcher stopped for good.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The receiver is gone: the program is ending.
    Closed,
    /// No GPU takes XID events (or the library lacks the event calls): nothing to wait for.
    Unsupported(String),
}

impl<M: From<GpuEvent> + Send + 'static> XidWatcher<M> {
    /// Starts the watcher's thread; call it from within the runtime, whose handle reads the
    /// kernel log.
    pub fn spawn(self) -> std::io::Result<std::thread::JoinHandle<()>> {
        let rt = tokio::runtime::Handle::try_current().ok();
        std::thread::Builder::new().name("nvml-xid".into()).spawn(move || self.run(rt))
    }

    fn run(self, rt: Option<tokio::runtime::Handle>) {
        // Once per run, at the first watch: the log holds the whole boot.
        if self.kernel_log.is_some() && rt.is_none() {
            tracing::warn!("XID watcher started outside the runtime: XIDs from before this run are not read");
        }
        let mut past = self.kernel_log.clone().zip(rt);
        loop {
            match open_library(self.lib.as_deref()) {
                Ok((nvml, _)) => {
                    let end = self.watch(&nvml, &mut past);
                    release(nvml);
                    match end {
                        Ok(End::Closed) => return,
                        Ok(End::Unsupported(why)) => {
                            tracing::info!(%why, "XID events not watched");
                            return;
                        }
                        Err(e) => tracing::debug!(error = %describe(&e), "XID watch failed; reopening"),
                    }
                }
                // The sampler reports a missing driver; this thread just tries again later.
                Err(e) => tracing::debug!(error = %e, "XID watcher cannot open NVML"),
            }
            if self.tx.is_closed() {
                return;
            }
            std::thread::sleep(RETRY);
        }
    }

    /// Sends the kernel log's XIDs from before `since`, once per run; false when the
    /// receiver is gone.
    fn seed(&self, nvml: &Nvml, past: &mut Option<(Readers, tokio::runtime::Handle)>, since: i64) -> bool {
        let Some((readers, rt)) = past.take() else { return true };
        let xids = past_xids(nvml, rt.block_on(kernel_xid::read_from(&readers)), since);
        xids.is_empty() || self.tx.blocking_send(M::from(GpuEvent::PastXids(xids))).is_ok()
    }

    fn watch(
        &self,
        nvml: &Nvml,
        past: &mut Option<(Readers, tokio::runtime::Handle)>,
    ) -> Result<End, NvmlError> {
        // Before registering: a line stamped up to this second may predate the watch (counted
        // twice at worst, never lost).
        let since = unix_now();
        for sym in [
            nvml.lib().nvmlEventSetCreate.is_ok(),
            nvml.lib().nvmlEventSetFree.is_ok(),
            nvml.lib().nvmlEventSetWait_v2.is_ok(),
            nvml.lib().nvmlDeviceRegisterEvents.is_ok(),
        ] {
            // The wrapper's EventSet frees itself through a symbol it expects to exist.
            if !sym {
                if !self.seed(nvml, past, since) {
                    return Ok(End::Closed);
                }
                return Ok(End::Unsupported("the NVML library lacks the event calls".into()));
            }
        }
        let mut set = Some(nvml.create_event_set()?);
        let mut watched = 0;
        for index in 0..nvml.device_count()? {
            // A GPU gone from the bus cannot be watched; the others still can.
            let Ok(dev) = nvml.device_by_index(index) else { continue };
            let supported = dev.supported_event_types().map(|t| t.contains(EventTypes::CRITICAL_XID_ERROR));
            if !matches!(supported, Ok(true)) {
                continue;
            }
            let Some(s) = set.take() else { break };
            match dev.register_events(EventTypes::CRITICAL_XID_ERROR, s) {
                Ok(s) => {
                    set = Some(s);
                    watched += 1;
                }
                Err(e) => {
                    tracing::debug!(index, error = %e.error, "cannot register XID events");
                    // A failed registration frees the set: start a new one for the others.
                    set = Some(nvml.create_event_set()?);
                }
            }
        }
        // From here on the events tell; the log tells what came before.
        if !self.seed(nvml, past, since) {
            return Ok(End::Closed);
        }
        let set = match set {
            Some(s) if watched > 0 => s,
            _ => return Ok(End::Unsupported("no GPU reports XID events".into())),
        };
        tracing::info!(gpus = watched, "watching XID events");
        loop {
            if self.tx.is_closed() {
                return Ok(End::Closed);
            }
            match set.wait(WAIT_MS) {
                Ok(data) => {
                    let xid = match data.event_data {
                        Some(NvmlXid::Value(v)) => v,
                        Some(NvmlXid::Unknown) | None => continue,
                    };
                    let event = XidError {
                        gpu_index: data.device.index().unwrap_or(u32::MAX),
                        gpu_uuid: data.device.uuid().unwrap_or_default(),
                        xid,
                        at: unix_now(),
                    };
                    tracing::warn!(gpu = event.gpu_index, xid, "XID error");
                    if self.tx.blocking_send(M::from(GpuEvent::Xid(event))).is_err() {
                        return Ok(End::Closed);
                    }
                }
                Err(NvmlError::Timeout) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The kernel log's XIDs from before `since` on the GPUs NVML shows, matched by bus ID; an XID
/// on a bus NVML no longer shows (a GPU gone from the bus) has no GPU to mark, as in
/// `snapshot`. An unreadable log is logged, not taken for "no XIDs".
fn past_xids(nvml: &Nvml, log: KernelLog, since: i64) -> Vec<XidError> {
    let xids = match log {
        KernelLog::Read { xids, .. } => xids,
        KernelLog::Unreadable(why) => {
            let why: Vec<String> = why.iter().map(ToString::to_string).collect();
            tracing::info!(why = %why.join("; "), "XIDs from before this run unknown: the kernel log is unreadable");
            return Vec::new();
        }
    };
    let gpus: Vec<(u32, String, String)> = (0..nvml.device_count().unwrap_or(0))
        .filter_map(|i| {
            let dev = nvml.device_by_index(i).ok()?;
            Some((i, dev.pci_info().ok()?.bus_id, dev.uuid().unwrap_or_default()))
        })
        .collect();
    let out: Vec<XidError> = xids
        .iter()
        // Later lines are the watch's own events.
        .filter(|x| x.unix_time().is_none_or(|t| t <= since))
        .filter_map(|x| {
            let index = kernel_xid::gpu_at(&x.bus, gpus.iter().map(|(i, b, _)| (*i, b.as_str())))?;
            let uuid = gpus.iter().find(|g| g.0 == index).map(|g| g.2.clone()).unwrap_or_default();
            // A line without a time happened before the run, when exactly is unknown.
            Some(XidError {
                gpu_index: index,
                gpu_uuid: uuid,
                xid: x.code,
                at: x.unix_time().unwrap_or(since),
            })
        })
        .collect();
    tracing::info!(lines = xids.len(), matched = out.len(), "XIDs from before this run, from the kernel log");
    out
}
