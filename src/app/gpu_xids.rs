//! The XIDs a GPU state keeps: the newest `XIDS_KEPT` for the detail view, and every fatal one
//! for as long as the session lasts, so a flood of harmless XIDs never makes a GPU that needs
//! a reset read healthy.

use super::GpuState;
use crate::gpu::{GpuSample, XidError};

/// Whether XID `x` was reported for `g`: by UUID where the driver gave one.
pub fn xid_on(x: &XidError, g: &GpuSample) -> bool {
    if x.gpu_uuid.is_empty() { x.gpu_index == g.index } else { x.gpu_uuid == g.uuid }
}

/// XID errors kept for the GPU detail view.
pub const XIDS_KEPT: usize = 64;

impl GpuState {
    pub fn xid(&mut self, x: XidError) {
        if self.xids.len() == XIDS_KEPT
            && let Some(old) = self.xids.pop_front()
        {
            self.keep_if_fatal(old);
        }
        self.xids.push_back(x);
        self.assess();
    }

    fn keep_if_fatal(&mut self, x: XidError) {
        let same = |k: &XidError| k.xid == x.xid && k.gpu_uuid == x.gpu_uuid && k.gpu_index == x.gpu_index;
        if crate::gpu::xid_catalog::breaks_gpu(x.xid) && !self.fatal_evicted.iter().any(same) {
            self.fatal_evicted.push(x);
        }
    }

    /// XIDs from before the run (oldest first), kept before the live ones; the newest of them
    /// where they do not all fit.
    pub fn past_xids(&mut self, past: &[XidError]) {
        let room = XIDS_KEPT.saturating_sub(self.xids.len());
        let (older, kept) = past.split_at(past.len().saturating_sub(room));
        for x in kept.iter().rev() {
            self.xids.push_front(x.clone());
        }
        for x in older {
            self.keep_if_fatal(x.clone());
        }
        self.assess();
    }
}
