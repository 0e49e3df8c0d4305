//! Which engine to talk to, with the docker CLI's `DOCKER_HOST` rules.

use std::fmt;
use std::path::PathBuf;

pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerHost {
    Unix(PathBuf),
    /// `tcp://host:port` or `http://host:port` (plain HTTP; TLS engines are not supported yet).
    Tcp(String),
}

impl DockerHost {
    /// `--docker-host` beats `DOCKER_HOST`, which beats the default socket.
    pub fn resolve(flag: Option<&str>, env: Option<&str>) -> Result<DockerHost, String> {
        match flag.or(env).map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(DockerHost::Unix(PathBuf::from(DEFAULT_SOCKET))),
            Some(s) => DockerHost::parse(s),
        }
    }

    pub fn parse(s: &str) -> Result<DockerHost, String> {
        if let Some(p) = s.strip_prefix("unix://") {
            Ok(DockerHost::Unix(PathBuf::from(p)))
        } else if s.starts_with('/') {
            Ok(DockerHost::Unix(PathBuf::from(s)))
        } else if s.starts_with("tcp://") || s.starts_with("http://") {
            Ok(DockerHost::Tcp(s.to_string()))
        } else {
            Err(format!("unsupported Docker host {s:?}: use unix:///path/to/docker.sock or tcp://host:port"))
        }
    }

    /// A local engine shares our /proc and cgroup tree, so its containers' counters can be read
    /// from files instead of asking the engine.
    pub fn is_local(&self) -> bool {
        matches!(self, DockerHost::Unix(_))
    }
}

impl fmt::Display for DockerHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DockerHost::Unix(p) => write!(f, "unix://{}", p.display()),
            DockerHost::Tcp(u) => f.write_str(u),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_the_docker_cli() {
        let unix = |p: &str| DockerHost::Unix(PathBuf::from(p));
        assert_eq!(DockerHost::resolve(None, None), Ok(unix(DEFAULT_SOCKET)));
        assert_eq!(DockerHost::resolve(None, Some("unix:///run/d.sock")), Ok(unix("/run/d.sock")));
        assert_eq!(DockerHost::resolve(Some("/x.sock"), Some("unix:///y.sock")), Ok(unix("/x.sock")));
        assert_eq!(
            DockerHost::resolve(None, Some("tcp://127.0.0.1:2375")),
            Ok(DockerHost::Tcp("tcp://127.0.0.1:2375".into()))
        );
        assert!(DockerHost::resolve(Some("ssh://node"), None).is_err());
        assert_eq!(unix("/run/d.sock").to_string(), "unix:///run/d.sock");
    }
}
