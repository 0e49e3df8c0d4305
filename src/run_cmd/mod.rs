//! `gpudock run [OPTIONS] IMAGE [COMMAND…]`: the launch form's launch as a command. The same
//! validation, pull, labels and explained failures as the form; output streamed as
//! `docker run` streams it (stdout and stderr kept apart) and the container's exit code as
//! gpudock's. gpudock's own words go to stderr, prefixed `gpudock:`.

mod notebooks;
mod progress;
pub mod spec;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::{
    KillContainerOptionsBuilder, ListContainersOptions, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;

use crate::config::Config;
use crate::docker::gpus::{GpuRef, GpuRequest};
use crate::docker::launch::{self, Cancel, PullProgress};
use crate::docker::{DockerHost, LaunchSpec, ports, run_argv};
use crate::gpu::model::{GpuSample, gpu_ids};
use crate::gpu::nvml::NvmlBackend;
use crate::gpu::pick::{self, Candidates, Joins};

pub use spec::{GpuChoice, RunArgs};

/// gpudock's own failure (bad input, pull, create), as `docker run` answers 125.
pub const FAILED: u8 = 125;

/// Writes a line of gpudock's own to stderr, with control characters made harmless.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "gpudock: {}", crate::sanitize::lines(text));
}

/// One NVML reading of this host's GPUs, or why there is none.
struct GpuFacts {
    gpus: Vec<GpuSample>,
    driver_cuda: Option<String>,
    topology: Option<crate::gpu::topology::Topology>,
}

/// Opens NVML and takes one sample, off the async threads (the driver can be slow).
async fn read_gpus(lib: Option<&Path>) -> Result<GpuFacts, String> {
    let lib = lib.map(Path::to_path_buf);
    let task = tokio::task::spawn_blocking(move || {
        let mut nvml = NvmlBackend::open(lib.as_deref()).map_err(|e| e.to_string())?;
        let snap = nvml.sample(crate::clock::unix_now()).map_err(|e| crate::gpu::nvml::describe(&e))?;
        Ok(GpuFacts { gpus: snap.gpus, driver_cuda: snap.cuda_version, topology: snap.topology })
    });
    match tokio::time::timeout(std::time::Duration::from_secs(20), task).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(format!("the NVML reader failed: {e}")),
        Err(_) => Err("NVML did not answer within 20 s".into()),
    }
}

/// Runs the command; the exit code is the container's, or 125 when gpudock failed.
pub async fn run(args: RunArgs, config: &Config, host: &DockerHost, nvml_lib: Option<&Path>) -> u8 {
    let facts = read_gpus(nvml_lib).await;
    if let Err(e) = &facts {
        tracing::debug!(error = %e, "no NVML for gpudock run");
    }
    let ids = facts.as_ref().ok().map(|f| gpu_ids(&f.gpus));
    let user = crate::run::current_user();
    let planned =
        spec::plan(&args, &spec::Facts { presets: &config.presets, gpus: ids.as_deref(), user: &user });
    let mut planned = match planned {
        Ok(p) => p,
        Err(e) => {
            say(&e);
            return FAILED;
        }
    };
    let free = match planned.gpus {
        GpuChoice::Free(n) => match &facts {
            Ok(_) => Some(n),
            Err(e) => {
                say(&format!("--gpus free:{n} needs to read the GPUs, and NVML is unavailable: {e}"));
                return FAILED;
            }
        },
        GpuChoice::Fixed(_) => None,
    };
    if args.dry_run {
        if let (Some(n), Ok(f)) = (free, &facts) {
            // No engine here: holders are named by container ID.
            match pick_from(n, f, &HashMap::new()) {
                Ok(req) => planned.spec.gpus = req,
                Err(e) => {
                    say(&e);
                    return FAILED;
                }
            }
        }
        let line = run_argv::shell_line(&run_argv::argv(&planned.spec, args.detach));
        let _ = writeln!(std::io::stdout(), "{line}");
        return 0;
    }
    // --dry-run changes nothing, so read-only mode allows it.
    if config.read_only {
        say("refusing to launch: read-only mode (--read-only or read_only in the config file)");
        return FAILED;
    }
    if let Some(w) = spec::cuda_warning(
        &args,
        &config.presets,
        &planned.spec.image,
        facts.as_ref().ok().and_then(|f| f.driver_cuda.as_deref()),
    ) {
        say(&w);
    }
    let docker = match crate::docker::connect(host).await {
        Ok(d) => d,
        Err(e) => {
            say(&format!("cannot reach the Docker engine at {host}: {e}"));
            return FAILED;
        }
    };
    if !planned.spec.ports.is_empty()
        && let Err(e) = port_clash(&docker, &planned.spec).await
    {
        say(&e);
        return FAILED;
    }
    let driver_cuda = facts.as_ref().ok().and_then(|f| f.driver_cuda.clone());
    let free = free.map(|n| (n, nvml_lib));
    launch_and_follow(&docker, &planned.spec, args.detach, config, driver_cuda.as_deref(), free).await
}

/// `free:N` from a GPU reading, the pick and its reason said on stderr.
fn pick_from(n: u32, facts: &GpuFacts, names: &HashMap<String, String>) -> Result<GpuRequest, String> {
    let name = |id: &str| names.get(id).cloned();
    let candidates = Candidates {
        gpus: facts.gpus.iter().map(|g| pick::from_sample(g, &name)).collect(),
        joins: Joins::from_sample(facts.topology.as_ref(), &facts.gpus),
    };
    let chosen = candidates.pick(n).map_err(|r| r.to_string())?;
    let free = candidates.gpus.iter().filter(|c| c.is_free()).count();
    say(&format!("free:{n} picked {chosen} ({free} free)"));
    Ok(GpuRequest::Devices(chosen.gpus.into_iter().map(GpuRef::Index).collect()))
}

/// `free:N` just before create: a fresh reading, holders named from the engine's list.
async fn pick_now(docker: &Docker, n: u32, lib: Option<&Path>) -> Result<GpuRequest, String> {
    let facts = read_gpus(lib).await.map_err(|e| format!("cannot read the GPUs for free:{n}: {e}"))?;
    let mut names = HashMap::new();
    if let Ok(list) = docker.list_containers(None::<ListContainersOptions>).await {
        for c in list {
            if let (Some(id), Some(name)) = (c.id, c.names.and_then(|n| n.into_iter().next())) {
                names.insert(id, name.trim_start_matches('/').to_string());
            }
        }
    }
    pick_from(n, &facts, &names)
}

/// Refuses ports another container on this node already publishes.
async fn port_clash(docker: &Docker, spec: &LaunchSpec) -> Result<(), String> {
    let list = docker
        .list_containers(Some(ListContainersOptions { all: false, ..Default::default() }))
        .await
        .map_err(|e| {
            format!("cannot list containers to check the ports: {}", crate::docker::EngineError::from(e))
        })?;
    ports::check_clashes(&spec.ports, &ports::published(&list))
}

/// Pulls, creates, starts; then streams the output until the container exits.
async fn launch_and_follow(
    docker: &Docker,
    spec: &LaunchSpec,
    detach: bool,
    config: &Config,
    driver_cuda: Option<&str>,
    free: Option<(u32, Option<&Path>)>,
) -> u8 {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<PullProgress>(64);
    let printer = tokio::spawn(async move {
        let mut bar = progress::Printer::new();
        while let Some(p) = rx.recv().await {
            bar.show(&p);
        }
        bar.finish();
    });
    let (cancel_handle, cancel) = Cancel::new();
    // The sender goes with the launch, so the printer ends when the launch does.
    let launching = async move {
        let mut spec = spec.clone();
        if let Some((n, lib)) = free {
            let mut c = cancel.clone();
            launch::ensure_image(docker, &tx, &spec.image, &mut c)
                .await
                .map_err(|e| e.explain(driver_cuda))?;
            spec.gpus = pick_now(docker, n, lib).await?;
        }
        launch::launch(docker, &tx, &spec, cancel).await.map_err(|e| e.explain(driver_cuda))
    };
    tokio::pin!(launching);
    // One listener for the whole run: a fresh `ctrl_c()` per loop turn would miss a SIGINT
    // that lands between two turns (right after the output that prompted it, typically).
    let mut sigint = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
        Ok(s) => s,
        Err(e) => {
            say(&format!("cannot listen for Ctrl-C: {e}"));
            return FAILED;
        }
    };
    let result = loop {
        tokio::select! {
            r = &mut launching => break r,
            _ = sigint.recv() => {
                say("Ctrl-C: cancelling the launch");
                cancel_handle.cancel();
            }
        }
    };
    let _ = printer.await;
    let (launched, attached) = match result {
        Ok(r) => r,
        Err(e) => {
            say(&e);
            return FAILED;
        }
    };
    if detach {
        let _ = writeln!(std::io::stdout(), "{}", launched.id.as_str());
        return 0;
    }
    let Some(attached) = attached else {
        say(&format!("started {} but cannot attach to its output; follow it with gpudock", launched.name));
        return FAILED;
    };
    let mut output = attached.output;
    let mut stops = 0;
    let host_network = spec.network.as_deref() == Some("host");
    let mut watch = notebooks::Watch::new(spec.ports.clone(), host_network, crate::snapshot::hostname());
    loop {
        tokio::select! {
            item = output.next() => match item {
                Some(Ok(chunk)) => {
                    let said = match &chunk {
                        LogOutput::StdErr { message } => watch.feed(true, message),
                        LogOutput::StdOut { message } | LogOutput::Console { message } => watch.feed(false, message),
                        LogOutput::StdIn { .. } => Vec::new(),
                    };
                    write_chunk(chunk);
                    for s in said {
                        say(&s);
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "the attach stream ended with an error");
                    break;
                }
                None => break,
            },
            _ = sigint.recv() => {
                stops += 1;
                interrupt(docker, &launched.name, launched.id.as_str(), spec.auto_remove, stops, config.stop_timeout).await;
            }
        }
    }
    let _ = std::io::stdout().flush();
    match attached.exit_code.get().await {
        Some(code) => {
            if stops > 0 && spec.auto_remove {
                say(&format!("{} removed (--rm)", launched.name));
            }
            // The shell shows an exit status modulo 256, as for `docker run`.
            (code & 0xff) as u8
        }
        None => {
            say(&format!("lost track of {}: its exit code is unknown", launched.name));
            FAILED
        }
    }
}

/// Ctrl-C while the container runs: the first stops it (SIGTERM, then SIGKILL after the stop
/// timeout), a second kills it at once.
async fn interrupt(docker: &Docker, name: &str, id: &str, auto_remove: bool, nth: u32, timeout: u32) {
    let rm = if auto_remove { "; --rm removes it" } else { "" };
    if nth == 1 {
        say(&format!("Ctrl-C: stopping {name} (SIGKILL after {timeout} s; Ctrl-C again to kill now){rm}"));
        let (docker, id) = (docker.clone(), id.to_string());
        // Stopping waits up to the timeout; the output keeps streaming meanwhile.
        tokio::spawn(async move {
            let opts = StopContainerOptionsBuilder::default().t(timeout as i32).build();
            if let Err(e) = docker.stop_container(&id, Some(opts)).await {
                tracing::debug!(error = %e, "stop after Ctrl-C");
            }
        });
    } else {
        say(&format!("Ctrl-C again: killing {name}{rm}"));
        let opts = KillContainerOptionsBuilder::default().signal("SIGKILL").build();
        if let Err(e) = docker.kill_container(id, Some(opts)).await {
            tracing::debug!(error = %e, "kill after a second Ctrl-C");
        }
    }
}

/// The container's bytes, unchanged, to the stream they came from (as `docker run` does).
fn write_chunk(chunk: LogOutput) {
    match chunk {
        LogOutput::StdOut { message } | LogOutput::Console { message } => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&message);
            let _ = out.flush();
        }
        LogOutput::StdErr { message } => {
            let _ = std::io::stderr().lock().write_all(&message);
        }
        LogOutput::StdIn { .. } => {}
    }
}
