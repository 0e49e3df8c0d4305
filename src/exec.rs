//! The command executor: carries out what `AppState::update` asks for, each command in its own
//! task so the render loop never waits, and reports back through the message channel.

use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;

use crate::docker::{self, DockerHost, actions, describe_error, disk};
use crate::msg::{ActionMsg, Command, Msg};

pub struct Executor {
    host: DockerHost,
    tx: Sender<Msg>,
    launch: Option<JoinHandle<()>>,
    logs: Option<JoinHandle<()>>,
}

impl Executor {
    pub fn new(host: DockerHost, tx: Sender<Msg>) -> Executor {
        Executor { host, tx, launch: None, logs: None }
    }

    /// Starts `cmd`; `Quit` is the caller's to handle.
    pub fn run(&mut self, cmd: Command) {
        let host = self.host.clone();
        let tx = self.tx.clone();
        match cmd {
            Command::Quit => {}
            Command::CancelLaunch => {
                if let Some(h) = self.launch.take() {
                    h.abort();
                }
            }
            Command::StopLogs => {
                if let Some(h) = self.logs.take() {
                    h.abort();
                }
            }
            Command::FollowLogs { id, tail } => {
                if let Some(h) = self.logs.take() {
                    h.abort();
                }
                self.logs = Some(spawn_with(host, tx, move |d, tx| async move {
                    actions::follow_logs(&d, &tx, &id, tail).await
                }));
            }
            Command::Launch { spec, driver_cuda: cuda } => {
                self.launch = Some(spawn_with(host, tx, move |d, tx| async move {
                    actions::launch(&d, &tx, &spec, cuda.as_deref()).await
                }));
            }
            Command::DiskUsage => {
                let local = self.host.is_local();
                spawn_with(host, tx, move |d, tx| async move {
                    let res = disk::usage(&d, local).await.map(Box::new).map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Action(ActionMsg::DiskUsage(res))).await;
                });
            }
            Command::Prune { category, options } => {
                spawn_with(host, tx, move |d, tx| async move {
                    let v = d.client_version();
                    let api = format!("{}.{}", v.major_version, v.minor_version);
                    let res = disk::prune(&d, category, &options, &api).await.map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Action(ActionMsg::Pruned(res))).await;
                });
            }
            Command::ListImages => {
                spawn_with(host, tx, move |d, tx| async move {
                    let res = disk::images(&d).await.map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Action(ActionMsg::Images(res))).await;
                });
            }
            Command::RemoveImage { id, name } => {
                spawn_with(host, tx, move |d, tx| async move {
                    let res = disk::remove_image(&d, &id)
                        .await
                        .map(|bytes| format!("removed image {name}, reclaimed {}", disk::human_size(bytes)))
                        .map_err(|e| format!("remove image {name}: {e}"));
                    let _ = tx.send(Msg::Action(ActionMsg::ImageRemoved(res))).await;
                });
            }
            Command::Stop { id, name, timeout } => {
                spawn_with(host, tx, move |d, tx| async move {
                    actions::stop(&d, &tx, &id, &name, timeout).await
                });
            }
            Command::Restart { id, name, timeout } => {
                spawn_with(host, tx, move |d, tx| async move {
                    actions::restart(&d, &tx, &id, &name, timeout).await
                });
            }
            Command::Kill { id, name } => {
                spawn_with(host, tx, move |d, tx| async move { actions::kill(&d, &tx, &id, &name).await });
            }
            Command::Remove { id, name, force } => {
                spawn_with(host, tx, move |d, tx| async move {
                    actions::remove(&d, &tx, &id, &name, force).await
                });
            }
        }
    }
}

/// Runs `f` with a connection in its own task.
fn spawn_with<F, Fut>(host: DockerHost, tx: Sender<Msg>, f: F) -> JoinHandle<()>
where
    F: FnOnce(bollard::Docker, Sender<Msg>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        if let Some(d) = connect(&host, &tx).await {
            f(d, tx).await;
        }
    })
}

/// A fresh connection per action: actions are rare, and this way an engine restart between
/// two of them needs no reconnect logic.
async fn connect(host: &DockerHost, tx: &Sender<Msg>) -> Option<bollard::Docker> {
    match docker::connect(host).await {
        Ok(d) => Some(d),
        Err(e) => {
            let text = format!("cannot reach the Docker engine at {host}: {}", describe_error(&e));
            let _ = tx.send(Msg::Action(ActionMsg::Failed { text })).await;
            None
        }
    }
}
