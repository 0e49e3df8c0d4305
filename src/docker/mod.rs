//! Everything that talks to the Docker Engine. The collector owns the connection and sends plain
//! data (`model`) to the app; nothing outside this module sees bollard types.

pub mod actions;
pub mod cgroup;
pub mod collector;
pub mod convert;
pub mod disk;
pub mod explain;
pub mod host;
pub mod model;
pub mod stats;

pub use host::DockerHost;
pub use model::{Container, ContainerState, ContainerStats, EngineInfo, LaunchSpec, LogLine, StatsSource};

/// Seconds a request may wait for response headers. Long enough for a stop with the default
/// grace period, short enough that a hung engine is reported instead of freezing a panel.
pub const REQUEST_TIMEOUT_SECS: u64 = 30;

/// Connects (without talking yet) and negotiates the API version with the engine, so an older
/// engine (20.10 speaks 1.41) gets requests it understands.
pub async fn connect(host: &DockerHost) -> Result<bollard::Docker, bollard::errors::Error> {
    let docker = match host {
        DockerHost::Unix(path) => bollard::Docker::connect_with_unix(
            &path.to_string_lossy(),
            REQUEST_TIMEOUT_SECS,
            bollard::API_DEFAULT_VERSION,
        )?,
        DockerHost::Tcp(url) => {
            bollard::Docker::connect_with_http(url, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)?
        }
    };
    docker.negotiate_version().await
}

/// The engine's error in words a person can act on, without bollard's type names.
pub fn describe_error(err: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    match err {
        E::DockerResponseServerError { status_code, message } => format!("{message} (HTTP {status_code})"),
        E::SocketNotFoundError(path) => format!("socket {path} not found — is dockerd running?"),
        E::RequestTimeoutError => "the engine did not answer in time".to_string(),
        E::HyperResponseError { err } => {
            let text = err.to_string();
            if text.contains("Connection refused") || text.contains("connection refused") {
                "connection refused — is dockerd running?".to_string()
            } else {
                text
            }
        }
        other => {
            let text = other.to_string();
            if text.contains("Permission denied") || text.contains("permission denied") {
                format!("{text} — is your user in the docker group?")
            } else {
                text
            }
        }
    }
}
