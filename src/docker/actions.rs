//! Container actions against the engine: stop, restart, kill, remove, launch (pull, create,
//! start) and following logs. Each reports back as an `ActionMsg`.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, DeviceRequest, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, KillContainerOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use tokio::sync::mpsc::Sender;

use super::model::{LaunchSpec, LogLine};
use super::{describe_error, explain};
use crate::gpu::request::GpuRequest;
use crate::msg::{ActionMsg, Msg};

async fn report(tx: &Sender<Msg>, msg: ActionMsg) {
    // The app may be gone (quitting): nothing left to tell.
    let _ = tx.send(Msg::Action(msg)).await;
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

pub async fn stop(docker: &Docker, tx: &Sender<Msg>, id: &str, name: &str, timeout: u32) {
    let t = i32::try_from(timeout).unwrap_or(i32::MAX);
    let opts = StopContainerOptionsBuilder::default().t(t).build();
    let msg = match docker.stop_container(id, Some(opts)).await {
        Ok(()) => ActionMsg::Done { text: format!("stopped {name}") },
        // 304: it had already stopped.
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => {
            ActionMsg::Done { text: format!("{name} was already stopped") }
        }
        Err(e) => ActionMsg::Failed { text: format!("stop {name}: {}", describe_error(&e)) },
    };
    report(tx, msg).await;
}

pub async fn restart(docker: &Docker, tx: &Sender<Msg>, id: &str, name: &str, timeout: u32) {
    let t = i32::try_from(timeout).unwrap_or(i32::MAX);
    let opts = RestartContainerOptionsBuilder::default().t(t).build();
    let msg = match docker.restart_container(id, Some(opts)).await {
        Ok(()) => ActionMsg::Done { text: format!("restarted {name}") },
        Err(e) => ActionMsg::Failed { text: format!("restart {name}: {}", describe_error(&e)) },
    };
    report(tx, msg).await;
}

pub async fn kill(docker: &Docker, tx: &Sender<Msg>, id: &str, name: &str) {
    let opts = KillContainerOptionsBuilder::default().signal("SIGKILL").build();
    let msg = match docker.kill_container(id, Some(opts)).await {
        Ok(()) => ActionMsg::Done { text: format!("killed {name}") },
        Err(e) => ActionMsg::Failed { text: format!("kill {name}: {}", describe_error(&e)) },
    };
    report(tx, msg).await;
}

pub async fn remove(docker: &Docker, tx: &Sender<Msg>, id: &str, name: &str, force: bool) {
    let opts = RemoveContainerOptionsBuilder::default().force(force).build();
    let msg = match docker.remove_container(id, Some(opts)).await {
        Ok(()) => ActionMsg::Done { text: format!("removed {name} ({})", short(id)) },
        Err(e) => ActionMsg::Failed { text: format!("remove {name}: {}", describe_error(&e)) },
    };
    report(tx, msg).await;
}

/// `--gpus` encoded the way the docker CLI encodes it.
pub fn device_requests(gpus: &GpuRequest) -> Option<Vec<DeviceRequest>> {
    let gpu = |count: i64, ids: Option<Vec<String>>| DeviceRequest {
        driver: Some(String::new()),
        count: Some(count),
        device_ids: ids,
        capabilities: Some(vec![vec!["gpu".to_string()]]),
        options: Some(HashMap::new()),
    };
    match gpus {
        GpuRequest::None => None,
        GpuRequest::All => Some(vec![gpu(-1, None)]),
        GpuRequest::Count(n) => Some(vec![gpu(i64::from(*n), None)]),
        GpuRequest::Devices(refs) => Some(vec![gpu(0, Some(refs.iter().map(device_id).collect()))]),
    }
}

fn device_id(r: &crate::gpu::request::GpuRef) -> String {
    use crate::gpu::request::GpuRef;
    match r {
        GpuRef::Index(i) => i.to_string(),
        // Display shortens UUIDs; the engine needs them whole.
        GpuRef::Uuid(u) | GpuRef::Other(u) => u.clone(),
    }
}

pub fn create_body(spec: &LaunchSpec) -> ContainerCreateBody {
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: (!spec.cmd.is_empty()).then(|| spec.cmd.clone()),
        env: (!spec.env.is_empty()).then(|| spec.env.clone()),
        working_dir: spec.workdir.clone(),
        labels: Some(spec.labels.iter().cloned().collect()),
        host_config: Some(HostConfig {
            auto_remove: Some(spec.auto_remove),
            device_requests: device_requests(&spec.gpus),
            binds: (!spec.binds.is_empty()).then(|| spec.binds.clone()),
            ipc_mode: spec.ipc_host.then(|| "host".to_string()),
            shm_size: spec.shm_size,
            network_mode: spec.network.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Pulls `image` with progress reports; Err is the explained failure.
async fn pull(docker: &Docker, tx: &Sender<Msg>, image: &str) -> Result<(), String> {
    let opts = CreateImageOptionsBuilder::default().from_image(image).build();
    let mut stream = docker.create_image(Some(opts), None, None);
    // Bytes per layer; the gauge shows the sums.
    let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| explain::pull_error(image, &describe_error(&e)))?;
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(explain::pull_error(image, &err));
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
        report(tx, ActionMsg::PullProgress { image: image.to_string(), done, total, status }).await;
    }
    Ok(())
}

/// Pull if needed, create, start. A failed start leaves no container behind.
pub async fn launch(docker: &Docker, tx: &Sender<Msg>, spec: &LaunchSpec, driver_cuda: Option<&str>) {
    let fail = |text: String| ActionMsg::LaunchFailed { text };
    if docker.inspect_image(&spec.image).await.is_err() {
        report(
            tx,
            ActionMsg::PullProgress {
                image: spec.image.clone(),
                done: 0,
                total: 0,
                status: "pulling".into(),
            },
        )
        .await;
        if let Err(text) = pull(docker, tx, &spec.image).await {
            return report(tx, fail(text)).await;
        }
    }
    let mut opts = CreateContainerOptionsBuilder::default();
    if let Some(name) = &spec.name {
        opts = opts.name(name);
    }
    let created = match docker.create_container(Some(opts.build()), create_body(spec)).await {
        Ok(c) => c,
        Err(e) => return report(tx, fail(explain::launch_error(&describe_error(&e), driver_cuda))).await,
    };
    if let Err(e) = docker.start_container(&created.id, None).await {
        // With auto-remove the engine may already have removed it; make sure either way.
        let rm = RemoveContainerOptionsBuilder::default().force(true).build();
        if let Err(rm_err) = docker.remove_container(&created.id, Some(rm)).await
            && !matches!(rm_err, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
        {
            tracing::warn!(id = %created.id, error = %rm_err, "could not remove the container that failed to start");
        }
        return report(tx, fail(explain::launch_error(&describe_error(&e), driver_cuda))).await;
    }
    let name = match docker.inspect_container(&created.id, None).await {
        Ok(i) => i.name.map(|n| n.trim_start_matches('/').to_string()),
        Err(_) => None,
    };
    let name = name.or_else(|| spec.name.clone()).unwrap_or_else(|| short(&created.id).to_string());
    report(tx, ActionMsg::Launched { id: created.id, name }).await;
}

/// Batches output so a chatty container costs one message per batch, not per line.
const LOG_BATCH: usize = 256;
const LOG_FLUSH: Duration = Duration::from_millis(100);

pub async fn follow_logs(docker: &Docker, tx: &Sender<Msg>, id: &str, tail: usize) {
    let opts =
        LogsOptionsBuilder::default().follow(true).stdout(true).stderr(true).tail(&tail.to_string()).build();
    let mut stream = docker.logs(id, Some(opts));
    let mut batch: Vec<LogLine> = Vec::new();
    let mut partial: [String; 2] = [String::new(), String::new()];
    let mut last_flush = tokio::time::Instant::now();
    let reason = loop {
        let next = tokio::time::timeout(LOG_FLUSH, stream.next()).await;
        let idle = next.is_err();
        match next {
            Err(_) => {}
            Ok(None) => break None,
            Ok(Some(Err(e))) => break Some(describe_error(&e)),
            Ok(Some(Ok(out))) => {
                use bollard::container::LogOutput;
                let (stderr, bytes) = match out {
                    LogOutput::StdErr { message } => (true, message),
                    LogOutput::StdOut { message } | LogOutput::Console { message } => (false, message),
                    LogOutput::StdIn { .. } => continue,
                };
                let buf = &mut partial[usize::from(stderr)];
                buf.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(i) = buf.find('\n') {
                    let text: String = buf.drain(..=i).collect();
                    batch.push(LogLine { stderr, text: text.trim_end_matches(['\n', '\r']).to_string() });
                }
            }
        }
        if !batch.is_empty() && (batch.len() >= LOG_BATCH || idle || last_flush.elapsed() >= LOG_FLUSH) {
            last_flush = tokio::time::Instant::now();
            report(tx, ActionMsg::LogLines { id: id.to_string(), lines: std::mem::take(&mut batch) }).await;
        }
    };
    for (stderr, rest) in [(false, &partial[0]), (true, &partial[1])] {
        if !rest.is_empty() {
            batch.push(LogLine { stderr, text: rest.clone() });
        }
    }
    if !batch.is_empty() {
        report(tx, ActionMsg::LogLines { id: id.to_string(), lines: batch }).await;
    }
    report(tx, ActionMsg::LogsEnded { id: id.to_string(), reason }).await;
}
