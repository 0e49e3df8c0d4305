//! Launching a container: pull if needed (reporting progress), create, start. A failed start
//! leaves no container behind.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, RemoveContainerOptionsBuilder,
};
use std::pin::Pin;

use bollard::container::LogOutput;
use bollard::query_parameters::{AttachContainerOptions, WaitContainerOptions};
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc::Sender;

use super::explain::{LaunchError, LaunchFailure};
use super::model::{ContainerId, LaunchSpec};
use super::{EngineError, gpus};

/// How far a pull has come: bytes summed over the layers the engine has reported so far.
#[derive(Debug, Clone, PartialEq)]
pub struct PullProgress {
    pub image: String,
    pub done: u64,
    pub total: u64,
    pub status: String,
}

/// Asks a launch under way to stop. Aborting the task instead could leave a created (even
/// started) container behind; the launch checks this after each step and cleans up.
#[derive(Debug, Clone)]
pub struct Cancel(tokio::sync::watch::Receiver<bool>);

/// The other end of a `Cancel`.
#[derive(Debug)]
pub struct CancelHandle(tokio::sync::watch::Sender<bool>);

impl Cancel {
    pub fn new() -> (CancelHandle, Cancel) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (CancelHandle(tx), Cancel(rx))
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once cancelled (never, if the handle is dropped without cancelling).
    pub async fn cancelled(&mut self) {
        if self.0.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl CancelHandle {
    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}

/// The output of a launched container, attached before it started (as `docker run` does), so
/// a short-lived `--rm` container's output is not lost, and its exit code, waited for from
/// before the start.
pub struct Attached {
    pub output: Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>,
    pub exit_code: ExitCode,
}

/// The wait for a container's exit. Dropped (the log view closed first), it stops waiting
/// instead of holding a request open until the container ends.
pub struct ExitCode(tokio::task::JoinHandle<Option<i64>>);

impl ExitCode {
    pub async fn get(mut self) -> Option<i64> {
        (&mut self.0).await.ok().flatten()
    }
}

impl Drop for ExitCode {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for Attached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Attached")
    }
}

/// The container that was started.
#[derive(Debug, Clone, PartialEq)]
pub struct Launched {
    pub id: ContainerId,
    pub name: String,
}

pub fn create_body(spec: &LaunchSpec) -> ContainerCreateBody {
    let (exposed_ports, port_bindings) = super::ports::encode(&spec.ports);
    ContainerCreateBody {
        exposed_ports,
        image: Some(spec.image.clone()),
        cmd: (!spec.cmd.is_empty()).then(|| spec.cmd.clone()),
        env: (!spec.env.is_empty()).then(|| spec.env.clone()),
        working_dir: spec.workdir.clone(),
        labels: Some(spec.labels.iter().cloned().collect()),
        host_config: Some(HostConfig {
            auto_remove: Some(spec.auto_remove),
            device_requests: gpus::encode(&spec.gpus),
            binds: (!spec.binds.is_empty()).then(|| spec.binds.clone()),
            ipc_mode: spec.ipc_host.then(|| "host".to_string()),
            shm_size: spec.shm_size,
            network_mode: spec.network.clone(),
            port_bindings,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Pulls `image`, publishing progress as it goes. Cancelling stops the pull: nothing was
/// created yet.
async fn pull<M: From<PullProgress>>(
    docker: &Docker,
    tx: &Sender<M>,
    image: &str,
    cancel: &mut Cancel,
) -> Result<(), LaunchError> {
    let opts = CreateImageOptionsBuilder::default().from_image(image).build();
    // As `docker run` does: the docker CLI's stored login for the image's registry, if any. One
    // that cannot be read is logged (never its secret) and the pull goes on without it.
    let creds = match super::auth::for_image(image, &super::auth::config_dir()).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(image, error = %e, "cannot read the stored registry login; pulling without one");
            None
        }
    };
    let mut stream = docker.create_image(Some(opts), None, creds);
    // Bytes per layer; the gauge shows the sums.
    let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            () = cancel.cancelled() => return Err(LaunchError::Cancelled { removed: false }),
        };
        let Some(item) = item else { break };
        let info = item.map_err(|e| LaunchError::pull(image, &EngineError::from(e).to_string()))?;
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(LaunchError::pull(image, &err));
        }
        if let (Some(id), Some(p)) = (info.id.clone(), info.progress_detail) {
            let e = layers.entry(id).or_default();
            if let Some(c) = p.current {
                e.0 = u64::try_from(c).unwrap_or(0);
            }
            if let Some(t) = p.total {
                e.1 = u64::try_from(t).unwrap_or(0);
            }
        }
        let (done, total) = layers.values().fold((0, 0), |a, l| (a.0 + l.0, a.1 + l.1));
        let status = info.status.unwrap_or_default();
        // The app may be gone (quitting): the pull is abandoned with it.
        let _ = tx.send(M::from(PullProgress { image: image.to_string(), done, total, status })).await;
    }
    Ok(())
}

fn engine_failure(e: bollard::errors::Error) -> LaunchError {
    LaunchError::engine(&EngineError::from(e).to_string())
}

/// Removes a container the launch created; with auto-remove the engine may have done so.
async fn discard(docker: &Docker, id: &str) -> bool {
    let rm = RemoveContainerOptionsBuilder::default().force(true).build();
    match docker.remove_container(id, Some(rm)).await.map_err(EngineError::from) {
        Ok(()) => true,
        Err(e) if e.is_not_found() => true,
        Err(e) => {
            tracing::warn!(%id, error = %e, "could not remove the container the launch created");
            false
        }
    }
}

/// Waits for the container to exit (or, with --rm, to be removed) and returns its exit code.
/// The request is on its way before this returns, so an exit right after the start is seen.
async fn wait_for_exit(docker: &Docker, id: &str, auto_remove: bool) -> tokio::task::JoinHandle<Option<i64>> {
    let (docker, id) = (docker.clone(), id.to_string());
    let condition = if auto_remove { "removed" } else { "next-exit" }.to_string();
    let task = tokio::spawn(async move {
        let mut wait = docker.wait_container(&id, Some(WaitContainerOptions { condition }));
        match wait.next().await {
            Some(Ok(r)) => Some(r.status_code),
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Some(code),
            _ => None,
        }
    });
    // Give the request a moment to reach the engine before the start, as `docker run` does.
    tokio::time::sleep(WAIT_HEAD_START).await;
    task
}

/// Attaches to a created container's output; None (logged) if the engine refuses.
async fn attach(
    docker: &Docker,
    id: &str,
) -> Option<Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>> {
    let opts =
        AttachContainerOptions { stream: true, stdout: true, stderr: true, logs: true, ..Default::default() };
    match docker.attach_container(id, Some(opts)).await {
        Ok(a) => Some(a.output),
        Err(e) => {
            tracing::debug!(%id, error = %e, "cannot attach to the new container; its logs are followed instead");
            None
        }
    }
}

const WAIT_HEAD_START: std::time::Duration = std::time::Duration::from_millis(20);

/// The image, pulled first if the node lacks it (progress on `tx`). `gpudock run` calls it
/// before picking `free:N` GPUs, so the pick is made after a long pull, not before.
pub async fn ensure_image<M: From<PullProgress>>(
    docker: &Docker,
    tx: &Sender<M>,
    image: &str,
    cancel: &mut Cancel,
) -> Result<bollard::models::ImageInspect, LaunchError> {
    match docker.inspect_image(image).await {
        Ok(i) => Ok(i),
        Err(_) => {
            let start =
                PullProgress { image: image.to_string(), done: 0, total: 0, status: "pulling".into() };
            let _ = tx.send(M::from(start)).await;
            pull(docker, tx, image, cancel).await?;
            docker.inspect_image(image).await.map_err(engine_failure)
        }
    }
}

/// Pull if needed, create, attach, start. Cancelled, it removes what it created and says so.
pub async fn launch<M: From<PullProgress>>(
    docker: &Docker,
    tx: &Sender<M>,
    spec: &LaunchSpec,
    mut cancel: Cancel,
) -> Result<(Launched, Option<Attached>), LaunchError> {
    let image = ensure_image(docker, tx, &spec.image, &mut cancel).await?;
    // The engine would refuse with a bare "No command specified": say it at the form instead.
    let config = image.config.as_ref();
    let has_default = config.is_some_and(|c| {
        c.cmd.as_ref().is_some_and(|v| !v.is_empty()) || c.entrypoint.as_ref().is_some_and(|v| !v.is_empty())
    });
    if spec.cmd.is_empty() && !has_default {
        return Err(LaunchError::Engine {
            why: LaunchFailure::NoCommand,
            message: format!("{} has no CMD or ENTRYPOINT", spec.image),
        });
    }
    let mut opts = CreateContainerOptionsBuilder::default();
    if let Some(name) = &spec.name {
        opts = opts.name(name);
    }
    let created =
        docker.create_container(Some(opts.build()), create_body(spec)).await.map_err(engine_failure)?;
    if cancel.is_cancelled() {
        return Err(LaunchError::Cancelled { removed: discard(docker, &created.id).await });
    }
    let output = attach(docker, &created.id).await;
    // Aborted when dropped: on a failed start, or when there is no output to follow.
    let exit_code = ExitCode(wait_for_exit(docker, &created.id, spec.auto_remove).await);
    if let Err(e) = docker.start_container(&created.id, None).await {
        drop(exit_code);
        discard(docker, &created.id).await;
        return Err(engine_failure(e));
    }
    let attached = output.map(|output| Attached { output, exit_code });
    if cancel.is_cancelled() {
        return Err(LaunchError::Cancelled { removed: discard(docker, &created.id).await });
    }
    let id = ContainerId::new(created.id);
    let name = match docker.inspect_container(id.as_str(), None).await {
        Ok(i) => i.name.map(|n| n.trim_start_matches('/').to_string()),
        Err(e) => {
            tracing::debug!(%id, error = %e, "cannot inspect the launched container; naming it from the form");
            None
        }
    };
    let name = name.or_else(|| spec.name.clone()).unwrap_or_else(|| id.short().to_string());
    Ok((Launched { id, name }, attached))
}
