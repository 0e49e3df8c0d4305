//! `gpudock export`: the dashboard's figures as an OpenMetrics endpoint, for Prometheus to
//! scrape from many nodes. The same collectors as the dashboard feed one state; a scrape only
//! encodes that state, so it never waits on the engine or the driver.

pub mod gate;
pub mod metrics;
pub mod server;
pub mod state;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::docker::{DockerCollector, DockerHost};
use crate::gpu::{GpuSampler, XidWatcher};
pub use state::{ExportMsg, State};

/// Collectors wait when the exporter falls this far behind.
const CHANNEL: usize = 256;

/// The listen address could not be bound: `main` exits 2 for it, as for any setup error.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}{}", hint(source))]
pub struct BindError {
    pub addr: SocketAddr,
    pub source: std::io::Error,
}

fn hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => " (another exporter running? choose a port with --listen)",
        std::io::ErrorKind::AddrNotAvailable => " (not an address of this machine)",
        std::io::ErrorKind::PermissionDenied => " (ports below 1024 need privileges)",
        _ => "",
    }
}

/// Binds `listen`, starts the collectors and serves until SIGTERM or Ctrl-C.
pub async fn run(
    config: Config,
    host: DockerHost,
    nvml_lib: Option<PathBuf>,
    listen: SocketAddr,
    hostname: Option<String>,
) -> anyhow::Result<()> {
    // A panicked collector would leave the last sample exported as if live: end the process
    // instead, so the service manager restarts it and Prometheus sees the gap.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(%info, "panic: gpudock export ends");
        default_hook(info);
        std::process::exit(101);
    }));
    // Before the port answers: whoever sees it listening may stop it at once.
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let nofile = gate::raise_file_limit();
    let max_connections = gate::connections_for(nofile);
    tracing::info!(?nofile, max_connections, "file limit");
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|source| BindError { addr: listen, source })?;
    // A scrape takes the current state by its pointer; an update while a scrape still encodes
    // the old one works on a copy.
    let beat = Arc::new(crate::gpu::beat::Beat::new(config.refresh));
    let mut first = State::new(hostname.unwrap_or_else(crate::snapshot::hostname), config.idle_gpu_after);
    first.beat = Some(beat.clone());
    let state = Arc::new(Mutex::new(Arc::new(first)));
    // The same idle tracking as the dashboard, kept across restarts in a file of its own.
    let (mut idle_keeper, saved) = crate::gpu::idle_store::Keeper::open("idle-export");
    if let Ok(mut guard) = state.lock() {
        Arc::make_mut(&mut guard).idle.restore(&saved);
    }
    let (tx, mut rx) = mpsc::channel::<ExportMsg>(CHANNEL);
    if host.is_local() {
        XidWatcher { lib: nvml_lib.clone(), tx: tx.clone(), kernel_log: Some(Default::default()) }.spawn()?;
        // Sampled just before each scrape, not every refresh: nobody reads the ones between.
        GpuSampler { lib: nvml_lib, refresh: config.refresh, tx: tx.clone(), beat: Some(beat) }.spawn()?;
    } else {
        tracing::warn!(%host, "remote engine: no GPUs exported (this host's GPUs are not the engine's)");
    }
    // No container CPU or memory is exported: the collector only follows the list.
    tokio::spawn(
        DockerCollector::new(host.clone(), config.refresh, tx)
            .with_owner_labels(config.owner_labels.clone())
            .without_stats()
            .run(),
    );
    tracing::info!(%listen, %host, "serving metrics at /metrics");
    let server = tokio::spawn(server::serve(listener, state.clone(), max_connections));

    loop {
        tokio::select! {
            Some(msg) = rx.recv() => {
                let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
                let s = Arc::make_mut(&mut guard);
                s.apply(msg);
                // Take the rest of a burst under the same lock.
                while let Ok(m) = rx.try_recv() {
                    s.apply(m);
                }
                idle_keeper.tick(&s.idle);
            }
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
        }
    }
    tracing::info!("exporter stopping");
    server.abort();
    // Dropping the receiver ends the collector task and the NVML threads.
    drop(rx);
    Ok(())
}
