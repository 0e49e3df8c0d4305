//! Alerts: GPU conditions worth interrupting for (hot, memory nearly full, XID, uncorrected ECC,
//! GPU memory held idle). Each is raised once when its condition starts, stays in the header
//! until the user marks alerts seen, and is kept (bounded) for the session. When its condition
//! ends (the GPU cooled, the holder got busy again) the alert is marked resolved with when: it
//! never goes on stating the condition in the present tense. An XID is an event: it has a time,
//! not an end.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use crate::config::Alerts;
use crate::gpu::idle::{IdleTracker, ProcessKey, key};
use crate::gpu::{GpuSnapshot, XidError};

/// Alerts kept: enough for a bad night, bounded for a dashboard left open for weeks.
pub const KEPT: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub text: String,
    /// Unix seconds.
    pub at: i64,
    pub gpu: Option<u32>,
    pub seen: bool,
    /// The container (or host process) it is about, when there is one.
    pub who: Option<String>,
    /// Unix seconds when its condition ended; None while it lasts (or for an event).
    pub ended: Option<i64>,
    /// What raised it: a condition that lasts, or None for an event (an XID).
    condition: Option<Condition>,
}

impl Alert {
    /// Its condition still holds.
    pub fn active(&self) -> bool {
        self.condition.is_some() && self.ended.is_none()
    }

    /// A fault rather than a warning: an XID or uncorrected ECC errors.
    pub fn severe(&self) -> bool {
        matches!(self.condition, None | Some(Condition::Ecc(_)))
    }

    /// The text, with when it ended once it has: never the present tense for what is over.
    pub fn describe(&self, now: i64) -> String {
        match self.ended {
            Some(t) => format!("{} (ended {} ago)", self.text, crate::fmt::age(now.saturating_sub(t))),
            None => self.text.clone(),
        }
    }
}

/// A condition that raises one alert while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Condition {
    Hot(u32),
    MemoryFull(u32),
    Ecc(u32),
    Idle(ProcessKey),
}

#[derive(Debug, Clone, Default)]
pub struct AlertState {
    /// Newest last.
    pub list: VecDeque<Alert>,
    active: HashSet<Condition>,
}

impl AlertState {
    pub fn unseen(&self) -> impl DoubleEndedIterator<Item = &Alert> {
        self.list.iter().filter(|a| !a.seen)
    }

    pub fn unseen_count(&self) -> usize {
        self.unseen().count()
    }

    /// Every alert of the session: those whose condition still holds first, then the rest,
    /// newest first.
    pub fn session(&self) -> Vec<&Alert> {
        let mut out: Vec<&Alert> = self.list.iter().collect();
        out.sort_by_key(|a| (!a.active(), std::cmp::Reverse(a.at)));
        out
    }

    /// Marks every alert seen; returns whether any was unseen.
    pub fn ack(&mut self) -> bool {
        let any = self.list.iter().any(|a| !a.seen);
        for a in &mut self.list {
            a.seen = true;
        }
        any
    }

    fn raise(
        &mut self,
        text: String,
        gpu: Option<u32>,
        at: i64,
        condition: Option<Condition>,
        who: Option<String>,
    ) {
        if self.list.len() == KEPT {
            // The oldest that is over goes first: an alert still true stays.
            let gone = self.list.iter().position(|a| !a.active()).unwrap_or(0);
            self.list.remove(gone);
        }
        self.list.push_back(Alert { text, at, gpu, seen: false, who, ended: None, condition });
    }

    /// Checks a snapshot against the thresholds; returns how many alerts were raised.
    /// `holder` names the container (or user) of an idle-held process.
    pub fn evaluate(
        &mut self,
        cfg: &Alerts,
        snap: &GpuSnapshot,
        idle: &IdleTracker,
        idle_after: Duration,
        holder: impl Fn(&crate::gpu::GpuProcess) -> String,
    ) -> usize {
        let mut now_true = HashSet::new();
        let mut raised = Vec::new();
        for g in &snap.gpus {
            let i = g.index;
            if cfg.temperature_c > 0
                && let Some(t) = g.temperature_c.filter(|t| *t >= cfg.temperature_c)
            {
                now_true.insert(Condition::Hot(i));
                raised.push((Condition::Hot(i), format!("GPU {i} at {t}°C"), i, None));
            }
            if cfg.memory_percent > 0.0
                && let Some(p) = g.memory_percent().filter(|p| *p >= cfg.memory_percent)
            {
                now_true.insert(Condition::MemoryFull(i));
                raised.push((Condition::MemoryFull(i), format!("GPU {i} memory {p:.0}% full"), i, None));
            }
            if cfg.ecc_uncorrected
                && let Some(n) = g.health.ecc_volatile.uncorrected.filter(|n| *n > 0)
            {
                now_true.insert(Condition::Ecc(i));
                raised.push((Condition::Ecc(i), format!("GPU {i}: {n} uncorrected ECC errors"), i, None));
            }
            if cfg.idle_held {
                for p in &g.processes {
                    let Some(secs) = idle.idle_seconds(i, p, snap.at).filter(|s| *s >= idle_after.as_secs())
                    else {
                        continue;
                    };
                    let c = Condition::Idle(key(i, p));
                    now_true.insert(c);
                    let mem = p.memory_used.map(crate::fmt::bytes).unwrap_or_default();
                    let who = holder(p);
                    raised.push((
                        c,
                        format!(
                            "{who} holds {mem} on GPU {i} idle for {}",
                            super::gpu::idle_age(secs, idle.lower_bound(i, p))
                        ),
                        i,
                        Some(who),
                    ));
                }
            }
        }
        let mut raised_now = 0;
        for (c, text, gpu, who) in raised {
            if !self.active.contains(&c) {
                self.raise(text, Some(gpu), snap.at, Some(c), who);
                raised_now += 1;
            }
        }
        // Conditions that ended: their alerts say so, with when.
        for a in self.list.iter_mut().filter(|a| a.ended.is_none()) {
            if a.condition.is_some_and(|c| !now_true.contains(&c)) {
                a.ended = Some(snap.at);
            }
        }
        self.active = now_true;
        raised_now
    }

    /// A new XID error: always an alert (when XID alerts are on).
    pub fn xid(&mut self, cfg: &Alerts, x: &XidError) -> bool {
        if !cfg.xid {
            return false;
        }
        self.raise(
            format!("GPU {} XID {}{}", x.gpu_index, x.xid, xid_meaning(x.xid)),
            Some(x.gpu_index),
            x.at,
            None,
            None,
        );
        true
    }

    /// An XID from before the run (the kernel log): an alert with its own time, marked as
    /// read from the log.
    pub fn past_xid(&mut self, cfg: &Alerts, x: &XidError) {
        if cfg.xid {
            let text = format!("GPU {} XID {}{} · kernel log", x.gpu_index, x.xid, xid_meaning(x.xid));
            self.raise(text, Some(x.gpu_index), x.at, None, None);
        }
    }
}

/// What an XID means and what to do about it, from the catalogue (`assets/xid.toml`).
pub fn xid_meaning(xid: u64) -> String {
    crate::gpu::xid_catalog::describe(xid)
}

impl super::AppState {
    /// Checks the latest GPU snapshot against the alert rules; returns how many were raised.
    pub(super) fn evaluate_alerts(&mut self) -> usize {
        let Some(snap) = self.gpu.snapshot.as_ref() else { return 0 };
        let table = &self.table;
        let holder = |p: &crate::gpu::GpuProcess| match &p.container_id {
            Some(id) => match table.all().iter().find(|c| &c.id == id) {
                Some(c) => format!("container {}", c.name),
                None => format!("container {}", id.short()),
            },
            None => crate::gpu::model::host_owner(p),
        };
        let raised = self.alerts.evaluate(&self.alert_rules, snap, &self.gpu.idle, self.idle_after, holder);
        if raised > 0 {
            self.dirty = true;
        }
        raised
    }

    /// XIDs from before the run: GPUs broken and alerts raised as for live ones, without the
    /// bell (they are not news).
    pub(super) fn past_xids(&mut self, past: &[XidError]) -> Vec<crate::msg::Command> {
        for x in past {
            self.alerts.past_xid(&self.alert_rules, x);
        }
        self.gpu.past_xids(past);
        self.dirty = true;
        Vec::new()
    }

    /// The terminal bell for `raised` new alerts, when the user asked for it.
    pub(super) fn bell(&self, raised: usize) -> Vec<crate::msg::Command> {
        if raised > 0 && self.alert_rules.bell { vec![crate::msg::Command::Bell] } else { Vec::new() }
    }
}
