//! The fleet collector: a fixed set of queries per refresh, whatever the number of nodes.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::client::{PromClient, PromError};
use super::merge;
use super::model::{FleetEvent, FleetSnapshot};
use super::prom::{Answer, Sample, Series};
use super::queries;

/// How long to wait before asking a Prometheus that did not answer again.
pub const RETRY: Duration = Duration::from_secs(5);

pub struct FleetCollector {
    pub client: PromClient,
    pub refresh: Duration,
    /// The node on screen (its detail queries run only while one is open).
    pub focus: watch::Receiver<Option<String>>,
    pub tx: mpsc::Sender<FleetEvent>,
}

impl FleetCollector {
    /// Runs until the receiver is dropped.
    pub async fn run(mut self) {
        loop {
            let focus = self.focus.borrow_and_update().clone();
            let (event, wait) = match refresh_once(&self.client, focus.as_deref()).await {
                Ok(s) => (FleetEvent::Snapshot(Box::new(s)), self.refresh),
                Err(e) => {
                    tracing::debug!(error = %e, "prometheus query failed");
                    (FleetEvent::Down { reason: e.to_string(), retry_in: RETRY }, RETRY)
                }
            };
            if self.tx.send(event).await.is_err() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = self.focus.changed() => if changed.is_err() { return },
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

/// One refresh: `time()` from the server, then the node queries together, then the detail
/// queries of `focus` if a node is open. 4 queries, 6 with a node open.
pub async fn refresh_once(client: &PromClient, focus: Option<&str>) -> Result<FleetSnapshot, PromError> {
    // The server's clock, not ours: the range query's steps and the ages come from it.
    let (now, b0) = client.query("time()", None).await?;
    let now = match now {
        Answer::Scalar(t) if t.is_finite() => t,
        other => return Err(PromError::Malformed(format!("time() answered {other:?}"))),
    };
    let step = f64::from(queries::STEP_SECS);
    // Steps end at the server's now, so the newest point is the latest scrape.
    let end = (now * 1000.0).round() / 1000.0;
    let start = end - f64::from(queries::HISTORY_SECS);
    let (stats_q, top_q, hist_q) =
        (queries::node_stats(), queries::top_containers(), queries::util_history());
    let (stats, top, hist) = tokio::join!(
        client.query(&stats_q, Some(now)),
        client.query(&top_q, Some(now)),
        client.query_range(&hist_q, start, end, queries::STEP_SECS),
    );
    let ((stats, b1), (top, b2), (hist, b3)) = (stats?, top?, hist?);
    let steps = (queries::HISTORY_SECS / queries::STEP_SECS + 1) as usize;
    let nodes = merge::nodes(&vector(stats)?, &vector(top)?, &matrix(hist)?, (start, step, steps));
    let mut snap = FleetSnapshot { at: now, nodes, detail: None, queries: 4, bytes: b0 + b1 + b2 + b3 };
    if let Some(host) = focus {
        let (gq, cq) = (queries::node_gpus(host), queries::node_containers(host));
        let (g, c) = tokio::join!(client.query(&gq, Some(now)), client.query(&cq, Some(now)));
        let ((g, bg), (c, bc)) = (g?, c?);
        snap.detail = Some(merge::detail(host, &vector(g)?, &vector(c)?));
        snap.queries += 2;
        snap.bytes += bg + bc;
    }
    Ok(snap)
}
