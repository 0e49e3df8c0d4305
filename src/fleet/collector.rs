//! The fleet collector: a fixed set of queries per refresh, whatever the number of nodes.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::client::{PromClient, PromError};
use super::merge;
use super::model::{FleetEvent, FleetSnapshot};
use super::prom::{self, Answer, Sample, Series};
use super::queries;

/// How long to wait before asking a Prometheus that did not answer again.
pub const RETRY: Duration = Duration::from_secs(5);

pub struct FleetCollector {
    pub client: PromClient,
    pub refresh: Duration,
    /// The node on screen (its detail queries run only while one is open).
    pub focus: watch::Receiver<Option<String>>,
    /// Whether the Users view is open (its owners query runs only then).
    pub users: watch::Receiver<bool>,
    pub tx: mpsc::Sender<FleetEvent>,
}

impl FleetCollector {
    /// Runs until the receiver is dropped.
    pub async fn run(mut self) {
        let mut history = History::default();
        loop {
            let focus = self.focus.borrow_and_update().clone();
            let users = *self.users.borrow_and_update();
            let (event, wait) = match refresh_with(&self.client, focus.as_deref(), users, &mut history).await
            {
                Ok(s) => (FleetEvent::Snapshot(Box::new(s)), self.refresh),
                Err(e) => {
                    tracing::debug!(error = %e, "prometheus query failed");
                    let at = crate::clock::unix_now() as f64;
                    (FleetEvent::Down { reason: e.to_string(), retry_in: RETRY, at }, RETRY)
                }
            };
            if self.tx.send(event).await.is_err() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = self.focus.changed() => if changed.is_err() { return },
                changed = self.users.changed() => if changed.is_err() { return },
            }
        }
    }
}

fn vector(a: Answer) -> Result<Vec<Sample>, PromError> {
    match a {
        Answer::Vector(v) => Ok(v),
        other => Err(PromError::Malformed(format!("expected a vector, got {other:?}"))),
    }
}

fn matrix(a: Answer) -> Result<Vec<Series>, PromError> {
    match a {
        Answer::Matrix(m) => Ok(m),
        other => Err(PromError::Malformed(format!("expected a matrix, got {other:?}"))),
    }
}

/// The utilization history per node, kept between refreshes: each refresh asks only for the
/// range steps it has not seen, so a refresh costs the same whatever the history's length.
#[derive(Debug, Default)]
pub struct History {
    /// The step grid's origin: the first refresh's time, so its newest step is the latest scrape.
    origin: Option<f64>,
    /// The newest step fetched.
    last: Option<f64>,
    /// Host → step time (ms) → value.
    points: BTreeMap<String, BTreeMap<i64, f64>>,
}

const STEP: f64 = queries::STEP_SECS as f64;
const WINDOW: f64 = queries::HISTORY_SECS as f64;
/// Points per sparkline.
pub const STEPS: usize = (queries::HISTORY_SECS / queries::STEP_SECS + 1) as usize;

fn ms(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

impl History {
    /// The newest step at `now`, and the first step to ask for (None: nothing new).
    pub fn wanted(&mut self, now: f64) -> (f64, Option<f64>) {
        let origin = *self.origin.get_or_insert(now.floor());
        let end = origin + ((now - origin) / STEP).floor() * STEP;
        let first = end - WINDOW;
        match self.last {
            Some(l) if l >= end => (end, None),
            Some(l) => (end, Some((l + STEP).max(first))),
            None => (end, Some(first)),
        }
    }

    /// Takes in a range answer up to `end` and forgets what fell out of the window. Only points
    /// on the window's steps are kept: a hostile or broken server that answers with points in
    /// the future, before the window or between its steps (millions of them) adds nothing, so
    /// a node never holds more than `STEPS` points.
    pub fn add(&mut self, series: &[Series], end: f64) {
        let first = end - WINDOW;
        let on_grid = |t: f64| {
            let i = ((t - first) / STEP).round();
            (0.0..STEPS as f64).contains(&i) && ms(first + i * STEP) == ms(t)
        };
        for s in series {
            let Some(host) = prom::hostname(&s.labels) else { continue };
            let mut kept = s.values.iter().filter(|(t, v)| v.is_finite() && on_grid(*t)).peekable();
            if kept.peek().is_none() {
                continue;
            }
            let line = self.points.entry(host.to_string()).or_default();
            for (t, v) in kept {
                line.insert(ms(*t), *v);
            }
        }
        // An empty answer (a Prometheus that just started) is asked again at the next refresh.
        if !series.is_empty() {
            self.last = Some(end);
        }
        let oldest = ms(end - WINDOW);
        self.points.retain(|_, line| {
            line.retain(|t, _| *t >= oldest);
            !line.is_empty()
        });
    }

    /// Every node's sparkline ending at `end`, oldest first.
    pub fn lines(&self, end: f64) -> BTreeMap<String, Vec<Option<f64>>> {
        let steps: Vec<i64> = (0..STEPS).map(|i| ms(end - WINDOW + i as f64 * STEP)).collect();
        self.points
            .iter()
            .map(|(host, line)| (host.clone(), steps.iter().map(|t| line.get(t).copied()).collect()))
            .collect()
    }
}

/// One refresh: `time()` from the server, then the node queries together (the range query only
/// when a new step has passed), then the detail queries of `focus` if a node is open. At most 4
/// queries, 6 with a node open, whatever the number of nodes.
pub async fn refresh_once(
    client: &PromClient,
    focus: Option<&str>,
    history: &mut History,
) -> Result<FleetSnapshot, PromError> {
    refresh_with(client, focus, false, history).await
}

/// `refresh_once`, and with `users` every owner across the fleet: one query more.
pub async fn refresh_with(
    client: &PromClient,
    focus: Option<&str>,
    users: bool,
    history: &mut History,
) -> Result<FleetSnapshot, PromError> {
    // The server's clock, not ours: the range query's steps and the ages come from it.
    let (now, b0) = client.query("time()", None).await?;
    let now = match now {
        // Whole seconds: every timestamp in the answers is 4 bytes shorter.
        Answer::Scalar(t) if t.is_finite() => t.floor(),
        other => return Err(PromError::Malformed(format!("time() answered {other:?}"))),
    };
    let (end, start) = history.wanted(now);
    let (stats_q, top_q, hist_q) =
        (queries::node_stats(), queries::top_containers(), queries::util_history());
    let range = async {
        match start {
            Some(start) => client.query_range(&hist_q, start, end, queries::STEP_SECS).await.map(Some),
            None => Ok(None),
        }
    };
    let (stats, top, hist) =
        tokio::join!(client.query(&stats_q, Some(now)), client.query(&top_q, Some(now)), range);
    let ((stats, b1), (top, b2), hist) = (stats?, top?, hist?);
    let mut snap = FleetSnapshot { at: now, queries: 3, bytes: b0 + b1 + b2, ..Default::default() };
    if let Some((hist, b3)) = hist {
        history.add(&matrix(hist)?, end);
        snap.queries += 1;
        snap.bytes += b3;
    }
    snap.nodes = merge::nodes(&vector(stats)?, &vector(top)?, history.lines(end), STEPS);
    if let Some(host) = focus {
        let (gq, cq) = (queries::node_gpus(host), queries::node_containers(host));
        let (g, c) = tokio::join!(client.query(&gq, Some(now)), client.query(&cq, Some(now)));
        let ((g, bg), (c, bc)) = (g?, c?);
        snap.detail = Some(merge::detail(host, &vector(g)?, &vector(c)?));
        snap.queries += 2;
        snap.bytes += bg + bc;
    }
    if users {
        let (u, bu) = client.query(&queries::owners(), Some(now)).await?;
        snap.users = Some(merge::owners(&vector(u)?));
        snap.queries += 1;
        snap.bytes += bu;
    }
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::prom::Labels;

    #[test]
    fn history_asks_only_for_new_steps_and_keeps_a_fixed_window() {
        let mut h = History::default();
        assert_eq!(h.wanted(1000.0), (1000.0, Some(400.0)), "the first refresh asks for the whole window");
        let labels: Labels = [("Hostname".to_string(), "a".to_string())].into_iter().collect();
        let series = Series { labels, values: vec![(970.0, 5.0), (1000.0, 50.0)] };
        h.add(std::slice::from_ref(&series), 1000.0);
        assert_eq!(h.wanted(1010.0), (1000.0, None), "no new step: no range query");
        assert_eq!(h.wanted(1031.0), (1030.0, Some(1030.0)));
        h.add(&[Series { values: vec![(1030.0, 70.0)], ..series }], 1030.0);
        let line = &h.lines(1030.0)["a"];
        assert_eq!(line.len(), STEPS);
        assert_eq!(&line[STEPS - 3..], [Some(5.0), Some(50.0), Some(70.0)]);
        assert_eq!(
            h.wanted(5000.0),
            (4990.0, Some(4990.0 - WINDOW)),
            "after a long gap: the window, no more"
        );
        h.add(&[], 4990.0);
        assert!(h.lines(4990.0).is_empty(), "points out of the window are forgotten");
        assert_eq!(h.wanted(4995.0).1, Some(4990.0 - WINDOW), "an empty answer is asked again");
    }

    #[test]
    fn points_in_the_future_before_the_window_or_between_steps_are_dropped() {
        let mut h = History::default();
        let (end, _) = h.wanted(1000.0);
        let labels: Labels = [("Hostname".to_string(), "a".to_string())].into_iter().collect();
        let mut values: Vec<(f64, f64)> = (0..200_000).map(|i| (end + 1.0 + f64::from(i), 1.0)).collect();
        values.extend((0..200_000).map(|i| (end - WINDOW + 0.001 * f64::from(i), 2.0)));
        values.extend((0..1000).map(|i| (end - WINDOW - 1.0 - f64::from(i), 3.0)));
        values.push((end, 50.0));
        h.add(&[Series { labels, values }], end);
        let kept: usize = h.points.values().map(BTreeMap::len).sum();
        assert!(kept <= STEPS, "{kept} points kept");
        let line = &h.lines(end)["a"];
        assert_eq!(line[STEPS - 1], Some(50.0));
        // A node whose every point is off the grid is no node at all.
        let ghost: Labels = [("Hostname".to_string(), "ghost".to_string())].into_iter().collect();
        h.add(&[Series { labels: ghost, values: vec![(end + 3600.0, 1.0)] }], end);
        assert!(!h.lines(end).contains_key("ghost"));
    }
}
