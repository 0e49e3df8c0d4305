//! Everything that talks to the Docker Engine. The collector owns the connection and sends plain
//! data (`model`) to the app; nothing outside this module sees bollard types.

pub mod actions;
pub mod auth;
pub mod cgroup;
pub mod collector;
pub mod context;
pub mod convert;
pub mod disk;
mod error;
pub mod events;
pub mod explain;
pub mod framing;
pub mod gpus;
pub mod host;
mod id;
pub mod inspect;
pub mod launch;
pub mod lister;
pub mod logs;
mod logs_save;
pub mod membership;
pub mod model;
pub mod owner;
pub mod ports;
pub mod run_argv;
pub mod shell;
pub mod ssh;
pub mod stats;
pub mod tls;
pub mod transport;

pub use collector::{DockerCollector, EngineEvent};
pub use error::EngineError;
pub use host::DockerHost;
pub use model::{
    ApiVersion, Container, ContainerId, ContainerState, ContainerStats, EngineInfo, Health, LaunchSpec,
    LogLine, StatsSource, short_id,
};

/// Seconds a request may wait for response headers. Long enough for a stop with the default
/// grace period, short enough that a hung engine is reported instead of freezing a panel.
pub const REQUEST_TIMEOUT_SECS: u64 = 30;

/// Connects (without talking yet) and negotiates the API version with the engine, so an older
/// engine (20.10 speaks 1.41) gets requests it understands.
pub async fn connect(host: &DockerHost) -> Result<bollard::Docker, EngineError> {
    Ok(client(host)?.negotiate_version().await?)
}

/// A client for `host` that has not spoken to the engine yet (no version negotiated).
pub fn client(host: &DockerHost) -> Result<bollard::Docker, EngineError> {
    use transport::{TcpDial, UnixDial};
    let docker = match host.endpoint() {
        DockerHost::Unix(path) => {
            if !path.exists() {
                return Err(EngineError::SocketNotFound(path.display().to_string()));
            }
            transport::client(UnixDial(path.to_string_lossy().into_owned()), None, REQUEST_TIMEOUT_SECS)?
        }
        DockerHost::Tcp(url) => {
            let addr = transport::tcp_addr(url).map_err(EngineError::Other)?;
            let dial = TcpDial { addr, shown: host::redact(url), tls: None };
            transport::client(dial, None, REQUEST_TIMEOUT_SECS)?
        }
        DockerHost::Tls { url, files } => {
            let addr = transport::tcp_addr(url).map_err(EngineError::Other)?;
            let config = files.client_config().map_err(|e| EngineError::Other(e.to_string()))?;
            let name = tls::server_name(&addr).map_err(EngineError::Other)?;
            let dial = TcpDial { addr, shown: host::redact(url), tls: Some((config, name)) };
            transport::client(dial, None, REQUEST_TIMEOUT_SECS)?
        }
        // `ssh` from PATH with the user's ~/.ssh/config and agent; no key file of our own.
        DockerHost::Ssh(url) => ssh::connect(url, REQUEST_TIMEOUT_SECS)?,
        DockerHost::Context { name, .. } => {
            return Err(EngineError::Other(format!("context {name} points at another context")));
        }
    };
    Ok(docker)
}
