//! The fleet view's state: one row per node from the collector's snapshots, sort, filter, the
//! node opened with Enter. Its keys (`keys.rs`) go through the same keymap as the dashboard's,
//! from the fleet's own key lists: `[keys]` remaps them too.

pub mod keys;

use std::time::Duration;

use crossterm::event::KeyEvent;

use crate::fleet::{FleetEvent, FleetSnapshot, NodeDetail, NodeSummary};

/// What the fleet view is sorted by; `o` cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FleetSort {
    #[default]
    FreeGpus,
    Name,
    Utilization,
    Memory,
    Power,
}

impl FleetSort {
    pub fn next(self) -> FleetSort {
        match self {
            FleetSort::FreeGpus => FleetSort::Name,
            FleetSort::Name => FleetSort::Utilization,
            FleetSort::Utilization => FleetSort::Memory,
            FleetSort::Memory => FleetSort::Power,
            FleetSort::Power => FleetSort::FreeGpus,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            FleetSort::FreeGpus => "free GPUs",
            FleetSort::Name => "name",
            FleetSort::Utilization => "utilization",
            FleetSort::Memory => "memory",
            FleetSort::Power => "power",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FleetMsg {
    Key(KeyEvent),
    Event(FleetEvent),
    Resize(u16, u16),
    /// A line for the user from the run loop (why a node's dashboard cannot open, how it ended).
    Notice(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum FleetCommand {
    Quit,
    /// The node whose detail queries the collector should run (None: no node open).
    Focus(Option<String>),
    /// Whether the collector should ask for every owner (the Users view is open).
    Users(bool),
    /// Hand the terminal to the full dashboard on this node's engine until it quits.
    Dashboard(String),
}

#[derive(Debug, Clone, Default)]
pub struct FleetState {
    pub url: String,
    pub nodes: Vec<NodeSummary>,
    /// Prometheus' time of the last snapshot.
    pub at: f64,
    pub queries: usize,
    pub bytes: usize,
    /// Prometheus could not be asked: why, and when the collector tries again.
    pub down: Option<(String, Duration)>,
    /// Unix seconds of the first failed refresh of this outage, and of the latest.
    pub down_since: Option<(f64, f64)>,
    pub sort: FleetSort,
    pub filter: String,
    pub filtering: bool,
    pub selected: usize,
    /// The node under the cursor: the list re-sorts at every refresh, and the cursor stays on
    /// the node, not on the position (Enter must open what the user saw highlighted).
    selected_host: Option<String>,
    pub open: Option<String>,
    pub detail: Option<NodeDetail>,
    /// The Users view (`U`) is open; its rows, once the collector has asked.
    pub users_open: bool,
    pub users: Option<Vec<crate::fleet::OwnerRow>>,
    pub help: bool,
    /// A one-line answer to the last key (why a node's dashboard cannot open, how it ended).
    pub notice: Option<String>,
    /// A node whose newest sample is older than this is stale even if Prometheus has no
    /// staleness marker for it yet.
    pub stale_after: Duration,
    pub size: (u16, u16),
    pub theme: crate::config::Theme,
    pub keymap: crate::config::Keymap,
    dirty: bool,
}

impl FleetState {
    pub fn new(url: &str) -> FleetState {
        FleetState {
            url: url.into(),
            stale_after: Duration::from_secs(120),
            keymap: crate::config::Config::default().keymap,
            dirty: true,
            ..Default::default()
        }
    }

    /// Whether a frame is due; clears the flag.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Stale: its exporter stopped answering, or Prometheus itself did (then nothing shown is
    /// current, whatever it said last).
    pub fn stale(&self, n: &NodeSummary) -> bool {
        self.down_since.is_some() || n.stale(self.at, self.stale_after)
    }

    /// Seconds since `n`'s newest sample, now (the latest failed refresh while Prometheus is down).
    pub fn age(&self, n: &NodeSummary) -> Option<f64> {
        n.age(self.down_since.map_or(self.at, |(_, last)| last.max(self.at)))
    }

    /// The rows shown: filtered by name or container, sorted, stale ones last.
    pub fn visible(&self) -> Vec<&NodeSummary> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&NodeSummary> = self
            .nodes
            .iter()
            .filter(|n| {
                needle.is_empty()
                    || n.hostname.to_lowercase().contains(&needle)
                    || n.top.iter().any(|(c, _)| c.to_lowercase().contains(&needle))
            })
            .collect();
        let share = |n: &NodeSummary| if n.mem_total > 0.0 { n.mem_used / n.mem_total } else { 0.0 };
        rows.sort_by(|a, b| {
            let by = match self.sort {
                FleetSort::FreeGpus => b.free().cmp(&a.free()),
                FleetSort::Name => std::cmp::Ordering::Equal,
                FleetSort::Utilization => {
                    b.util_now().unwrap_or(-1.0).total_cmp(&a.util_now().unwrap_or(-1.0))
                }
                FleetSort::Memory => share(b).total_cmp(&share(a)),
                FleetSort::Power => b.power.total_cmp(&a.power),
            };
            self.stale(a).cmp(&self.stale(b)).then(by).then_with(|| a.hostname.cmp(&b.hostname))
        });
        rows
    }

    pub fn selected_node(&self) -> Option<&NodeSummary> {
        self.visible().get(self.selected).copied()
    }

    pub fn update(&mut self, msg: FleetMsg) -> Vec<FleetCommand> {
        match msg {
            FleetMsg::Event(e) => {
                self.event(e);
                Vec::new()
            }
            FleetMsg::Resize(w, h) => {
                self.size = (w, h);
                self.dirty = true;
                Vec::new()
            }
            FleetMsg::Notice(text) => {
                self.notice = Some(text);
                self.dirty = true;
                Vec::new()
            }
            FleetMsg::Key(k) => {
                let out = self.key(k);
                self.dirty = true;
                out
            }
        }
    }

    fn event(&mut self, e: FleetEvent) {
        match e {
            FleetEvent::Snapshot(s) => self.snapshot(*s),
            FleetEvent::Down { reason, retry_in, at } => {
                let since = self.down_since.map_or(at, |(since, _)| since);
                let (down, down_since) = (Some((reason, retry_in)), Some((since, at)));
                // A later failure moves every row's age on: a frame; the same one again does not.
                if self.down != down || self.down_since != down_since {
                    self.down = down;
                    self.down_since = down_since;
                    self.dirty = true;
                }
            }
        }
    }

    fn snapshot(&mut self, s: FleetSnapshot) {
        let FleetSnapshot { at, mut nodes, detail, users, queries, bytes } = s;
        // A stale node keeps the figures it last had, and the last time it was seen. By name
        // through a map: a scan per stale node was quadratic (60,000 stale nodes: seconds).
        let before: std::collections::HashMap<&str, &NodeSummary> =
            self.nodes.iter().map(|o| (o.hostname.as_str(), o)).collect();
        for n in nodes.iter_mut().filter(|n| !n.fresh) {
            if let Some(&old) = before.get(n.hostname.as_str()) {
                let (seen, history) = (n.last_seen.or(old.last_seen), std::mem::take(&mut n.util_history));
                *n = NodeSummary { fresh: false, last_seen: seen, util_history: history, ..old.clone() };
            }
        }
        let changed = self.nodes != nodes || self.down.is_some() || detail.is_some() || self.at != at;
        self.nodes = nodes;
        self.at = at;
        self.queries = queries;
        self.bytes = bytes;
        self.down = None;
        self.down_since = None;
        if let Some(d) = detail
            && self.open.as_deref() == Some(d.hostname.as_str())
        {
            self.detail = Some(d);
        }
        if self.users_open && users.is_some() {
            self.dirty |= self.users != users;
            self.users = users;
        }
        self.follow();
        self.dirty |= changed;
    }

    /// Puts the cursor back on the remembered node after the rows moved.
    pub(super) fn follow(&mut self) {
        let rows = self.visible();
        let at = self.selected_host.as_deref().and_then(|h| rows.iter().position(|n| n.hostname == h));
        self.selected = at.unwrap_or(self.selected).min(rows.len().saturating_sub(1));
        self.remember();
    }

    /// Remembers the node under the cursor after the cursor moved.
    pub(super) fn remember(&mut self) {
        self.selected_host = self.selected_node().map(|n| n.hostname.clone());
    }
}

#[cfg(test)]
mod tests;
