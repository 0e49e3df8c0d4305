//! The Docker collector: one background task that keeps the container list live from the
//! engine's events, samples CPU/memory once per refresh, and reconnects with backoff when the
//! engine goes away.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc::Sender;
use tokio::time::Instant;

use super::disk::FsUsage;
use super::host::DockerHost;
use super::lister::Lister;
use super::model::{Container, ContainerId, ContainerStats, EngineInfo};
use super::owner::OwnerRules;
use super::stats::StatsSampler;
use super::{EngineError, convert};

/// Events arrive in bursts (a `docker run` is create, attach, start…): wait this long after the
/// first one so the burst costs one listing.
const DEBOUNCE: Duration = Duration::from_millis(50);
/// A second look after a burst of events: the listing can still show the state from before.
const FOLLOWUP: Duration = Duration::from_millis(1000);
/// A listing this often heals any event that was missed (no per-container calls unless
/// something changed).
const RECONCILE: Duration = Duration::from_secs(30);
/// The engine is pinged this often, and must answer within it: a frozen engine (SIGSTOP, a
/// hung dockerd) sends no events and fails no request until the next listing's timeout, so it
/// would look alive for most of a minute.
pub const HEALTH: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// Ticks between two readings of the engine's filesystem (10 s at the default refresh).
const FS_EVERY: u32 = 10;
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

/// What the collector publishes. Any front end that can be made from these (the TUI's message,
/// a metrics exporter) can run the collector.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    Connecting {
        host: String,
    },
    Connected(Box<EngineInfo>),
    Down {
        host: String,
        reason: String,
        retry_in: Duration,
        attempt: u32,
    },
    /// Every container the engine has, in the engine's order (the app sorts).
    Containers(Vec<Container>),
    /// CPU/memory of running containers; `at` is Unix seconds.
    Stats {
        at: i64,
        stats: HashMap<ContainerId, ContainerStats>,
    },
    /// The filesystem holding the engine's data root (local engines only).
    RootFs {
        dir: String,
        fs: FsUsage,
    },
}

pub struct DockerCollector<M> {
    host: DockerHost,
    refresh: Duration,
    tx: Sender<M>,
    owner_labels: Vec<String>,
    /// CPU, memory and the data root's free space every refresh (off for `gpudock export`).
    stats: bool,
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

impl<M: From<EngineEvent> + Send + 'static> DockerCollector<M> {
    pub fn new(host: DockerHost, refresh: Duration, tx: Sender<M>) -> DockerCollector<M> {
        DockerCollector { host, refresh, tx, owner_labels: Vec::new(), stats: true }
    }

    /// The labels that name a container's owner (`owner_labels` in the config).
    pub fn with_owner_labels(mut self, labels: Vec<String>) -> DockerCollector<M> {
        self.owner_labels = labels;
        self
    }

    /// Only the container list: no per-tick stats or disk figures (nobody reads them).
    pub fn without_stats(mut self) -> DockerCollector<M> {
        self.stats = false;
        self
    }

    pub async fn run(self) {
        let mut backoff = BACKOFF_MIN;
        let mut attempt = 0u32;
        loop {
            if self.send(EngineEvent::Connecting { host: self.host.to_string() }).await.is_err() {
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
                        EngineEvent::Down { host: self.host.to_string(), reason, retry_in: backoff, attempt };
                    if self.send(down).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    async fn send(&self, event: EngineEvent) -> Result<(), ()> {
        self.tx.send(M::from(event)).await.map_err(|_| ())
    }

    async fn session(&self) -> End {
        let lost = |e: EngineError, was_connected| End::Lost { reason: e.to_string(), was_connected };
        let docker = match super::connect(&self.host).await {
            Ok(d) => d,
            Err(e) => return lost(e, false),
        };
        let (version, info) = match tokio::try_join!(docker.version(), docker.info()) {
            Ok(v) => v,
            Err(e) => return lost(e.into(), false),
        };
        let root_dir = info.docker_root_dir.clone().filter(|_| self.host.is_local());
        let mut last_fs = None;
        let mut samples: u32 = 0;
        let mut engine = convert::engine_info(self.host.to_string(), &version, &info, self.host.is_local());
        engine.context = self.host.context().map(str::to_string);
        tracing::info!(host = %self.host, version = ?engine.server_version, api = ?engine.api_version, "connected");
        if self.send(EngineEvent::Connected(Box::new(engine))).await.is_err() {
            return End::AppClosed;
        }

        // From the engine's clock before the listing: the engine replays what happened between
        // the listing and the moment the request goes out.
        let since = super::events::engine_clock(info.system_time.as_deref())
            .unwrap_or_else(super::events::local_clock);
        let mut events = super::events::subscribe(&docker, &since);

        // A frozen engine (SIGSTOP, a hung dockerd) sends no events and fails nothing until a
        // request times out, which may be a listing stuck for 30 s: a ping of its own, beside
        // whatever the session is doing, notices within one interval.
        let watchdog = async {
            let mut health = tokio::time::interval_at(Instant::now() + HEALTH, HEALTH);
            health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                health.tick().await;
                match tokio::time::timeout(HEALTH, docker.ping()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return lost(e.into(), true),
                    Err(_) => {
                        return End::Lost {
                            reason: format!("the engine did not answer a ping within {} s", HEALTH.as_secs()),
                            was_connected: true,
                        };
                    }
                }
            }
        };
        let work = async {
            let mut lister = Lister::for_host(&self.host)
                .with_owners(OwnerRules::new(self.owner_labels.clone(), self.host.is_local()));
            let mut sampler = StatsSampler::for_host(&self.host);
            let mut sent: Option<Vec<Container>> = None;
            if let Err(end) = self.refresh(&docker, &mut lister, &mut sent).await {
                return end;
            }

            let mut tick = crate::clock::interval(self.refresh);
            let mut reconcile = tokio::time::interval_at(Instant::now() + RECONCILE, RECONCILE);
            reconcile.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut debounce: Option<Instant> = None;
            let mut followup: Option<Instant> = None;
            // Containers named by the events of the last burst: looked at once more in the follow-up.
            let mut recent: HashSet<String> = HashSet::new();
            let far = || Instant::now() + Duration::from_secs(3600);
            loop {
                let wake = tokio::select! {
                    ev = events.next() => match ev {
                        Some(Ok(ev)) => {
                            let action = ev.action.as_deref().unwrap_or("");
                            if is_relevant(action) {
                                if let Some(id) = ev.actor.and_then(|a| a.id) {
                                    lister.touch(id.clone());
                                    recent.insert(id);
                                }
                                debounce.get_or_insert_with(|| Instant::now() + DEBOUNCE);
                            }
                            continue;
                        }
                        Some(Err(e)) => return lost(e.into(), true),
                        None => return End::Lost { reason: "the engine closed the event stream".into(), was_connected: true },
                    },
                    _ = tokio::time::sleep_until(debounce.unwrap_or_else(far)), if debounce.is_some() => {
                        debounce = None;
                        // The listing can lag the events that caused it: look again shortly.
                        followup.get_or_insert_with(|| Instant::now() + FOLLOWUP);
                        Wake::Refresh
                    }
                    _ = tokio::time::sleep_until(followup.unwrap_or_else(far)), if followup.is_some() => {
                        followup = None;
                        for id in recent.drain() {
                            lister.touch(id);
                        }
                        Wake::Refresh
                    }
                    _ = reconcile.tick() => Wake::Refresh,
                    _ = tick.tick(), if self.stats => Wake::Sample,
                };
                match wake {
                    Wake::Refresh => {
                        if let Err(end) = self.refresh(&docker, &mut lister, &mut sent).await {
                            return end;
                        }
                        if lister.has_failures() {
                            followup.get_or_insert_with(|| Instant::now() + FOLLOWUP);
                        }
                    }
                    Wake::Sample => {
                        let stats = sampler.sample(&docker, lister.current()).await;
                        let at = crate::clock::unix_now();
                        if self.send(EngineEvent::Stats { at, stats }).await.is_err() {
                            return End::AppClosed;
                        }
                        // A statvfs every `FS_EVERY` ticks (the first at once): the "disk almost
                        // full" warning must not wait for someone to open the disk view, and a
                        // disk fills over minutes, not within a second. It can block on a slow
                        // filesystem, so it runs off the async workers.
                        samples = samples.wrapping_add(1);
                        if let Some(dir) = root_dir.as_ref().filter(|_| samples % FS_EVERY == 1) {
                            let d = dir.clone();
                            let fs = tokio::task::spawn_blocking(move || super::disk::statvfs(&d))
                                .await
                                .ok()
                                .flatten();
                            if let Some(fs) = fs.filter(|f| Some(*f) != last_fs) {
                                last_fs = Some(fs);
                                if self.send(EngineEvent::RootFs { dir: dir.clone(), fs }).await.is_err() {
                                    return End::AppClosed;
                                }
                            }
                        }
                    }
                }
            }
        };
        tokio::select! {
            end = watchdog => end,
            end = work => end,
        }
    }

    /// Lists, and publishes the list when it changed.
    async fn refresh(
        &self,
        docker: &bollard::Docker,
        lister: &mut Lister,
        sent: &mut Option<Vec<Container>>,
    ) -> Result<(), End> {
        let lost = |e: EngineError| End::Lost { reason: e.to_string(), was_connected: true };
        let summaries = lister.list(docker).await.map_err(lost)?;
        if sent.is_none() && !summaries.is_empty() {
            // The first listing of a session goes out before its inspects (one per container,
            // a few hundred milliseconds on a node with hundreds): names, images and states at
            // once, the rest a moment later.
            let early = lister.preview(&summaries);
            self.send(EngineEvent::Containers(early)).await.map_err(|()| End::AppClosed)?;
        }
        let list = lister.inspect_and_merge(docker, &summaries).await.map_err(lost)?;
        if sent.as_ref() != Some(&list) {
            *sent = Some(list.clone());
            self.send(EngineEvent::Containers(list)).await.map_err(|()| End::AppClosed)?;
        }
        Ok(())
    }
}

enum Wake {
    Refresh,
    Sample,
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
