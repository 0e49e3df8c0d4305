//! Engine events → state: connection status, the container list, stats, the data root's disk.

use super::{AppState, EngineStatus, GpuStatus, Mode, disk, history};
use crate::docker::EngineEvent;

impl AppState {
    pub(super) fn on_engine(&mut self, msg: EngineEvent) {
        match msg {
            EngineEvent::Connecting { host } => {
                // While reconnecting, keep showing why the last attempt failed.
                if !matches!(self.engine, EngineStatus::Down { .. }) {
                    self.set_engine(EngineStatus::Connecting { host });
                }
            }
            EngineEvent::Connected(info) => self.set_engine(EngineStatus::Up(*info)),
            EngineEvent::Down { host, reason, retry_in, attempt } => {
                self.set_engine(EngineStatus::Down { host, reason, retry_in, attempt });
                // Figures from a dead engine would be stale; the list comes back on reconnect.
                self.stats.clear();
                self.with_table(|t, m| t.set_containers(Vec::new(), m));
            }
            EngineEvent::Containers(list) => {
                self.listed = true;
                self.history.prune(&list);
                self.users_clock.containers(&list);
                // The engine says it exited (or is gone): no longer stopping.
                self.stopping.retain(|id| list.iter().any(|c| &c.id == id && c.state.is_running()));
                self.with_table(|t, m| t.set_containers(list, m));
                self.dirty = true;
            }
            EngineEvent::RootFs { dir, fs } => {
                let warning = disk::fs_warning(&dir, &fs, self.disk_floor);
                if warning != self.disk_warning {
                    self.disk_warning = warning;
                    self.dirty = true;
                }
            }
            EngineEvent::Stats { at, stats } => {
                let minute_changed = at / 60 != self.now / 60;
                self.now = at;
                self.expire_status();
                // Memory moves by a few pages every second: redraw only when a figure on screen
                // changes, not for every byte. The first change found settles it.
                let visible = stats.len() != self.stats.len()
                    || stats.iter().any(|(id, new)| {
                        self.stats.get(id).is_none_or(|old| !crate::fmt::same_on_screen(old, new))
                    });
                self.stats = stats;
                // Only a sort by CPU or memory can move rows when the figures change.
                if self.table.sort.uses_stats() {
                    self.with_table(|t, m| t.rebuild(m));
                }
                self.dirty |= visible || minute_changed;
                self.record(history::Source::Engine);
            }
        }
    }

    /// Adds the figures `source` just brought to every container's history.
    pub(super) fn record(&mut self, source: history::Source) {
        let gpu = (self.gpu.status == GpuStatus::Up).then_some(&self.gpu.usage);
        self.history.record(source, self.table.all(), &self.stats, gpu);
        // Its charts scroll every beat, also when no figure changed.
        self.dirty |= matches!(self.mode, Mode::Detail(_));
    }

    fn set_engine(&mut self, status: EngineStatus) {
        if self.engine != status {
            self.engine = status;
            self.dirty = true;
        }
    }
}
