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
pub mod gpus;
pub mod host;
mod id;
pub mod inspect;
pub mod launch;
pub mod lister;
pub mod logs;
pub mod model;
pub mod owner;
pub mod ports;
pub mod run_argv;
pub mod shell;
pub mod ssh;
pub mod stats;
pub mod tls;

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
    let docker = match host.endpoint() {
        DockerHost::Unix(path) => bollard::Docker::connect_with_unix(
            &path.to_string_lossy(),
            REQUEST_TIMEOUT_SECS,
            bollard::API_DEFAULT_VERSION,
        )?,
        DockerHost::Tcp(url) => {
            bollard::Docker::connect_with_http(url, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)?
        }
        DockerHost::Tls { url, files } => bollard::Docker::connect_with_ssl(
            url,
            &files.key,
            &files.cert,
            &files.ca,
            REQUEST_TIMEOUT_SECS,
            bollard::API_DEFAULT_VERSION,
        )?,
        // `ssh` from PATH with the user's ~/.ssh/config and agent; no key file of our own.
        DockerHost::Ssh(url) => ssh::connect(url, REQUEST_TIMEOUT_SECS)?,
        DockerHost::Context { name, .. } => {
            return Err(EngineError::Other(format!("context {name} points at another context")));
        }
    };
    Ok(docker.negotiate_version().await?)
}
