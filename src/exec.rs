//! The command executor: carries out what `AppState::update` asks for, each command in its own
//! task so the render loop never waits. The one place where the engine layer's typed outcomes
//! become app messages: every command ends in exactly one `ActionMsg`, also when the engine
//! cannot be reached.

use tokio::sync::mpsc::Sender;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::docker::explain::{LaunchError, LaunchFailure};
use crate::docker::gpus::{GpuRef, GpuRequest};
use crate::docker::launch::{Cancel, CancelHandle};
use crate::docker::{self, DockerHost, EngineError, actions, disk, inspect, launch, logs};
use crate::gpu::pick::{self, Again, Candidates};
use crate::msg::{ActionMsg, Command, Msg};

pub struct Executor {
    host: DockerHost,
    tx: Sender<Msg>,
    launch: Option<CancelHandle>,
    logs: Option<JoinHandle<()>>,
    /// Stops the log following of the latest launch (the launch itself runs to its end).
    launch_logs: Option<CancelHandle>,
    /// The GPUs as `free:N` candidates, from the app's latest sample: a launch picks again
    /// from them right before create.
    picks: watch::Receiver<Option<Candidates>>,
}

impl Executor {
    pub fn new(host: DockerHost, tx: Sender<Msg>) -> Executor {
        // Nobody publishes: a launch keeps the pick made on submit.
        let picks = watch::channel(None).1;
        Executor { host, tx, launch: None, logs: None, launch_logs: None, picks }
    }

    /// Where the app publishes its `free:N` candidates each GPU sample.
    pub fn with_picks(mut self, picks: watch::Receiver<Option<Candidates>>) -> Executor {
        self.picks = picks;
        self
    }

    fn stop_following(&mut self) {
        if let Some(h) = self.logs.take() {
            h.abort();
        }
        if let Some(s) = self.launch_logs.take() {
            s.cancel();
        }
    }

    /// Starts `cmd`; `Quit` is the caller's to handle.
    pub fn run(&mut self, cmd: Command) {
        let host = self.host.clone();
        let tx = self.tx.clone();
        match cmd {
            // The event loop's to handle: they are about the terminal, not the engine.
            Command::Quit
            | Command::SetMouse(_)
            | Command::Bell
            | Command::Clipboard(_)
            | Command::Shell { .. } => {}
            Command::CancelLaunch => {
                // Not an abort: the launch removes what it created and reports that.
                if let Some(h) = self.launch.take() {
                    h.cancel();
                }
            }
            Command::StopLogs => self.stop_following(),
            Command::FollowLogs { id, tail } => {
                self.stop_following();
                self.logs = Some(spawn(tx.clone(), async move {
                    let end = match docker::connect(&host).await {
                        Ok(d) => logs::follow(&d, &tx, &id, tail).await,
                        Err(e) => logs::LogsEnd { error: Some(e), exit_code: None },
                    };
                    ActionMsg::LogsEnded { id, error: end.error, exit_code: end.exit_code }
                }));
            }
            Command::Launch { spec } => {
                let (handle, cancel) = Cancel::new();
                self.launch = Some(handle);
                self.stop_following();
                // The launch goes on to follow the new container's output: the app shows it in
                // the log view, whose Esc stops that part like any log follower. Never by
                // abort: a launch cut short while it cleans up after a cancel would leave its
                // container behind.
                let (stop, mut stopped) = Cancel::new();
                self.launch_logs = Some(stop);
                let picks = self.picks.clone();
                tokio::spawn(async move {
                    let outcome = async {
                        let d = match docker::connect(&host).await {
                            Ok(d) => d,
                            Err(e) => {
                                return Some(ActionMsg::Launch(Err(LaunchError::engine(&unreachable(
                                    &host, &e,
                                )))));
                            }
                        };
                        let mut spec = *spec;
                        if let Some(n) = spec.free {
                            // The pull first: the pick is made after it, just before create.
                            let mut c = cancel.clone();
                            if let Err(e) = launch::ensure_image(&d, &tx, &spec.image, &mut c).await {
                                return Some(ActionMsg::Launch(Err(e)));
                            }
                            let now = picks.borrow().clone();
                            match repick(n, &spec.gpus, now.as_ref()) {
                                Ok(None) => {}
                                Ok(Some((gpus, text))) => {
                                    spec.gpus = gpus;
                                    let _ = tx.send(Msg::Action(ActionMsg::LaunchRepicked(text))).await;
                                }
                                Err(e) => return Some(ActionMsg::Launch(Err(e))),
                            }
                        }
                        let (launched, attached) = match launch::launch(&d, &tx, &spec, cancel).await {
                            Ok(ok) => ok,
                            Err(e) => return Some(ActionMsg::Launch(Err(e))),
                        };
                        let id = launched.id.clone();
                        let _ = tx.send(Msg::Action(ActionMsg::Launch(Ok(launched)))).await;
                        let follow = async {
                            match attached {
                                Some(a) => {
                                    let error = logs::pump(a.output, &tx, &id).await;
                                    logs::LogsEnd { error, exit_code: a.exit_code.get().await }
                                }
                                None => logs::follow(&d, &tx, &id, LAUNCH_TAIL).await,
                            }
                        };
                        // Stopped: the view is gone, and nobody wants to hear of it.
                        let end = tokio::select! {
                            end = follow => end,
                            () = stopped.cancelled() => return None,
                        };
                        Some(ActionMsg::LogsEnded { id, error: end.error, exit_code: end.exit_code })
                    };
                    if let Some(m) = outcome.await {
                        let _ = tx.send(Msg::Action(m)).await;
                    }
                });
            }
            Command::DiskUsage => {
                let local = host.is_local();
                spawn(tx, async move {
                    let res = match docker::connect(&host).await {
                        Ok(d) => disk::usage(&d, local).await.map(Box::new),
                        Err(e) => Err(disk::DiskError::Engine(e)),
                    };
                    ActionMsg::DiskUsage(res)
                });
            }
            Command::Prune { category, items } => {
                spawn(tx, async move {
                    let res = match docker::connect(&host).await {
                        Ok(d) => disk::prune_items(&d, category, &items).await,
                        Err(e) => Err(disk::DiskError::Engine(e)),
                    };
                    ActionMsg::Pruned(res)
                });
            }
            Command::ListImages => {
                spawn(tx, async move {
                    let res = match docker::connect(&host).await {
                        Ok(d) => disk::images(&d).await,
                        Err(e) => Err(disk::DiskError::Engine(e)),
                    };
                    ActionMsg::Images(res)
                });
            }
            Command::RemoveImage { id, name } => {
                spawn(tx, async move {
                    let result = match docker::connect(&host).await {
                        Ok(d) => disk::remove_image(&d, &id).await,
                        Err(e) => Err(disk::DiskError::Engine(e)),
                    };
                    ActionMsg::ImageRemoved { name, result }
                });
            }
            Command::SaveLines { path, lines } => {
                spawn(tx, async move {
                    let target = path.clone();
                    let result = tokio::task::spawn_blocking(move || logs::write_new(&target, lines.iter()))
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|r| r);
                    ActionMsg::Saved { path, result }
                });
            }
            Command::CheckNode { cdi_dirs } => {
                spawn(tx, async move {
                    if !host.is_local() {
                        return ActionMsg::NodeChecked(None);
                    }
                    let path = std::path::Path::new(crate::probe::DAEMON_JSON);
                    match tokio::task::spawn_blocking(move || crate::probe::host_files(path, &cdi_dirs)).await
                    {
                        Ok(files) => ActionMsg::NodeChecked(Some(Box::new(files))),
                        Err(e) => {
                            tracing::warn!(error = %e, "reading the node's files failed");
                            ActionMsg::NodeChecked(None)
                        }
                    }
                });
            }
            Command::SaveLog { id, path } => {
                spawn(tx, async move {
                    let result = match docker::connect(&host).await {
                        Ok(d) => logs::save_whole(&d, &id, &path).await,
                        Err(e) => Err(e.to_string()),
                    };
                    ActionMsg::Saved { path, result }
                });
            }
            Command::Inspect(id) => {
                spawn(tx, async move {
                    let result = match docker::connect(&host).await {
                        Ok(d) => inspect::inspect(&d, &id).await.map(Box::new),
                        Err(e) => Err(e),
                    };
                    ActionMsg::Inspected { id, result }
                });
            }
            Command::Signal { pid, start_time, signal } => {
                spawn(tx, async move {
                    let send =
                        move || crate::signal::send(std::path::Path::new("/proc"), pid, start_time, signal);
                    let result = tokio::task::spawn_blocking(send).await.unwrap_or_else(|e| {
                        Err(crate::signal::SignalError::Failed { pid, signal, message: e.to_string() })
                    });
                    ActionMsg::Signal { pid, signal, result }
                });
            }
            Command::Container { id, name, action } => {
                spawn(tx, async move {
                    let result = match docker::connect(&host).await {
                        Ok(d) => actions::run(&d, &id, action).await,
                        Err(e) => Err(e),
                    };
                    ActionMsg::Container { id, name, action, result }
                });
            }
        }
    }
}

/// Runs `work` in its own task and reports its outcome. A fresh connection per command:
/// commands are rare, and this way an engine restart between two of them needs no reconnect.
fn spawn(tx: Sender<Msg>, work: impl Future<Output = ActionMsg> + Send + 'static) -> JoinHandle<()> {
    tokio::spawn(async move {
        let outcome = work.await;
        // The app may be gone (quitting): nothing left to tell.
        let _ = tx.send(Msg::Action(outcome)).await;
    })
}

/// A launched container's log from its start, when attaching was refused.
const LAUNCH_TAIL: usize = 1000;

fn unreachable(host: &DockerHost, e: &EngineError) -> String {
    format!("cannot reach the Docker engine at {host}: {e}")
}

/// `free:n` again from the app's latest candidates, right before create: None keeps the GPUs
/// of `gpus` (still free, or no GPU reading to judge by), Some the new request and what
/// changed; Err when too few GPUs are free any more.
pub fn repick(
    n: u32,
    gpus: &GpuRequest,
    now: Option<&Candidates>,
) -> Result<Option<(GpuRequest, String)>, LaunchError> {
    let Some(now) = now else {
        tracing::info!(n, "no GPU reading to pick free:N again from; the pick made on submit stands");
        return Ok(None);
    };
    let before: Vec<u32> = match gpus {
        GpuRequest::Devices(refs) => refs
            .iter()
            .filter_map(|r| match r {
                GpuRef::Index(i) => Some(*i),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    match pick::again(n, &before, now) {
        Ok(Again::Kept) => Ok(None),
        Ok(Again::Moved { pick, text }) => {
            Ok(Some((GpuRequest::Devices(pick.gpus.into_iter().map(GpuRef::Index).collect()), text)))
        }
        Err(refusal) => {
            Err(LaunchError::Engine { why: LaunchFailure::NoFreeGpus, message: refusal.to_string() })
        }
    }
}
