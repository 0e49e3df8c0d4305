//! The Docker collector: one background task that keeps the container list live from the
//! engine's events, samples CPU/memory once per refresh, and reconnects with backoff when the
//! engine goes away.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures_util::{StreamExt, stream};
use tokio::sync::mpsc::Sender;
use tokio::time::Instant;

use super::host::DockerHost;
use super::model::Container;
use super::stats::StatsSampler;
use super::{convert, describe_error};
use crate::msg::{EngineMsg, Msg};

/// Events arrive in bursts (a `docker run` is create, attach, start…): wait this long after the
/// first one so the burst costs one listing.
const DEBOUNCE: Duration = Duration::from_millis(50);
const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// Keeps recovery within 5 s of the engine coming back.
const BACKOFF_MAX: Duration = Duration::from_secs(4);

/// Container actions that change what the table shows. Exec and attach events (health checks
/// run an exec every interval) are skipped so they cost nothing.
fn is_relevant(action: &str) -> bool {
    let base = action.split(':').next().unwrap_or(action).trim();
    matches!(
        base,
        "create"
            | "start"
            | "restart"
            | "die"
            | "stop"
            | "kill"
            | "destroy"
            | "rename"
            | "pause"
            | "unpause"
            | "health_status"
            | "oom"
            | "update"
    )
}

pub struct DockerCollector {
    host: DockerHost,
    refresh: Duration,
    tx: Sender<Msg>,
}

/// Why a session with the engine ended.
enum End {
    /// The app is gone; stop quietly.
    AppClosed,
    Lost {
        reason: String,
        was_connected: bool,
    },
}

impl DockerCollector {
    pub fn new(host: DockerHost, refresh: Duration, tx: Sender<Msg>) -> DockerCollector {
        DockerCollector { host, refresh, tx }
    }

    pub async fn run(self) {
        let mut backoff = BACKOFF_MIN;
        let mut attempt = 0u32;
        loop {
            if self.send(EngineMsg::Connecting { host: self.host.to_string() }).await.is_err() {
                return;
            }
            match self.session().await {
                End::AppClosed => return,
                End::Lost { reason, was_connected } => {
                    if was_connected {
                        backoff = BACKOFF_MIN;
                        attempt = 0;
                    }
                    attempt += 1;
                    tracing::warn!(host = %self.host, %reason, attempt, "docker engine unreachable");
                    let down =
                        EngineMsg::Down { host: self.host.to_string(), reason, retry_in: backoff, attempt };
                    if self.send(down).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    async fn send(&self, msg: EngineMsg) -> Result<(), ()> {
        self.tx.send(Msg::Engine(msg)).await.map_err(|_| ())
    }

    async fn session(&self) -> End {
        let lost = |e: &bollard::errors::Error, was_connected| End::Lost {
            reason: describe_error(e),
            was_connected,
        };
        let docker = match super::connect(&self.host).await {
            Ok(d) => d,
            Err(e) => return lost(&e, false),
        };
        let (version, info) = match tokio::try_join!(docker.version(), docker.info()) {
            Ok(v) => v,
            Err(e) => return lost(&e, false),
        };
        let root_dir = info.docker_root_dir.clone().filter(|_| self.host.is_local());
        let mut last_fs = None;
        let engine = convert::engine_info(self.host.to_string(), &version, &info, self.host.is_local());
        tracing::info!(host = %self.host, version = ?engine.server_version, api = ?engine.api_version, "connected");
        if self.send(EngineMsg::Connected(Box::new(engine))).await.is_err() {
            return End::AppClosed;
        }

        // Subscribe before listing so nothing that happens in between is missed.
        let mut filters = HashMap::new();
        filters.insert("type", vec!["container"]);
        let mut events =
            docker.events(Some(EventsOptionsBuilder::default().filters(&filters).build())).boxed();

        let mut lister = Lister::default();
        let mut sampler = StatsSampler::new(self.host.is_local());
        match lister.refresh(&docker).await {
            Ok(list) => {
                if self.send(EngineMsg::Containers(list)).await.is_err() {
                    return End::AppClosed;
                }
            }
            Err(e) => return lost(&e, true),
        }

        let mut tick = crate::clock::interval(self.refresh);
        let mut debounce: Option<Instant> = None;
        loop {
            let deadline = debounce.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                ev = events.next() => match ev {
                    Some(Ok(ev)) => {
                        let action = ev.action.as_deref().unwrap_or("");
                        if is_relevant(action) {
                            if let Some(id) = ev.actor.and_then(|a| a.id) {
                                lister.touched.insert(id);
                            }
                            debounce.get_or_insert_with(|| Instant::now() + DEBOUNCE);
                        }
                    }
                    Some(Err(e)) => return lost(&e, true),
                    None => return End::Lost { reason: "the engine closed the event stream".into(), was_connected: true },
                },
                _ = tokio::time::sleep_until(deadline), if debounce.is_some() => {
                    debounce = None;
                    match lister.refresh(&docker).await {
                        Ok(list) => if self.send(EngineMsg::Containers(list)).await.is_err() { return End::AppClosed },
                        Err(e) => return lost(&e, true),
                    }
                }
                _ = tick.tick() => {
                    let stats = sampler.sample(&docker, &lister.current).await;
                    let at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
                    if self.send(EngineMsg::Stats { at, stats }).await.is_err() {
                        return End::AppClosed;
                    }
                    // One statvfs per tick: the "disk almost full" warning must not wait for
                    // someone to open the disk view.
                    if let Some(dir) = &root_dir {
                        let fs = super::disk::statvfs(dir);
                        if let Some(fs) = fs.filter(|f| Some(*f) != last_fs) {
                            last_fs = Some(fs);
                            if self.send(EngineMsg::RootFs { dir: dir.clone(), fs }).await.is_err() {
                                return End::AppClosed;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The container list with an inspect cache: a container is inspected again only when an event
/// named it or its state changed, so a refresh of 500 containers is one listing call.
#[derive(Default)]
pub struct Lister {
    inspected: HashMap<String, ContainerInspectResponse>,
    touched: HashSet<String>,
    current: Vec<Container>,
}

impl Lister {
    pub async fn refresh(
        &mut self,
        docker: &bollard::Docker,
    ) -> Result<Vec<Container>, bollard::errors::Error> {
        let summaries =
            docker.list_containers(Some(ListContainersOptionsBuilder::default().all(true).build())).await?;
        let prev_state: HashMap<&str, _> = self.current.iter().map(|c| (c.id.as_str(), c.state)).collect();
        let stale: Vec<String> = summaries
            .iter()
            .filter_map(|s| Some((s.id.clone()?, convert::summary_state(s))))
            .filter(|(id, state)| {
                !self.inspected.contains_key(id)
                    || self.touched.contains(id)
                    || prev_state.get(id.as_str()) != Some(state)
            })
            .map(|(id, _)| id)
            .collect();
        self.touched.clear();
        let fresh: Vec<(String, Result<ContainerInspectResponse, bollard::errors::Error>)> =
            stream::iter(stale)
                .map(|id| async move {
                    let r = docker.inspect_container(&id, None).await;
                    (id, r)
                })
                .buffer_unordered(16)
                .collect()
                .await;
        for (id, res) in fresh {
            match res {
                Ok(i) => {
                    self.inspected.insert(id, i);
                }
                // Removed between the listing and the inspect: the next event drops it.
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let live: HashSet<&str> = summaries.iter().filter_map(|s| s.id.as_deref()).collect();
        self.inspected.retain(|id, _| live.contains(id.as_str()));
        self.current = summaries
            .iter()
            .filter_map(|s| {
                let inspect = self.inspected.get(s.id.as_deref()?)?;
                Some(convert::container(s, inspect))
            })
            .collect();
        Ok(self.current.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_checks_and_execs_do_not_trigger_refreshes() {
        for a in ["start", "die", "destroy", "health_status: healthy", "rename", "create"] {
            assert!(is_relevant(a), "{a}");
        }
        for a in ["exec_create: sh -c true", "exec_start: sh", "exec_die", "attach", "resize", "top"] {
            assert!(!is_relevant(a), "{a}");
        }
    }
}
