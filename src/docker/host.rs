//! Which engine to talk to, with the docker CLI's `DOCKER_HOST` rules.

use std::fmt;
use std::path::PathBuf;

pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerHost {
    Unix(PathBuf),
    /// `tcp://host:port` or `http://host:port`: plain HTTP. TLS engines are refused (see
    /// `resolve`) rather than spoken to in the clear.
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

    /// The docker CLI speaks TLS to a tcp engine when `DOCKER_TLS_VERIFY` is set (certificates
    /// from `DOCKER_CERT_PATH`). gpudock does not speak TLS yet, and plain HTTP instead would
    /// send everything in the clear to an engine that expects TLS: refuse, and say so.
    pub fn refuse_tls(&self, tls_verify: Option<&str>) -> Result<(), String> {
        let wants_tls = tls_verify.is_some_and(|v| !v.is_empty() && v != "0");
        match self {
            DockerHost::Tcp(_) if wants_tls => Err(format!(
                "DOCKER_TLS_VERIFY is set, but gpudock cannot speak TLS to {self} yet and will not fall back \
                 to plain HTTP: unset DOCKER_TLS_VERIFY for a plain-HTTP engine, or run gpudock on the node \
                 itself (unix socket)"
            )),
            _ => Ok(()),
        }
    }

    pub fn parse(s: &str) -> Result<DockerHost, String> {
        if let Some(p) = s.strip_prefix("unix://") {
            Ok(DockerHost::Unix(PathBuf::from(p)))
        } else if s.starts_with('/') {
            Ok(DockerHost::Unix(PathBuf::from(s)))
        } else if s.starts_with("tcp://") || s.starts_with("http://") {
            Ok(DockerHost::Tcp(s.to_string()))
        } else if s.starts_with("https://") {
            Err(format!(
                "{} uses TLS, which gpudock cannot speak yet: run gpudock on the node itself (unix socket)",
                redact(s)
            ))
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
            DockerHost::Tcp(u) => f.write_str(&redact(u)),
        }
    }
}

/// `tcp://user:secret@host:2375` → `tcp://***@host:2375`: credentials in a host URL never reach
/// the screen, a snapshot or the log.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_string(),
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
        assert!(DockerHost::resolve(Some("https://node:2376"), None).is_err());
        assert_eq!(unix("/run/d.sock").to_string(), "unix:///run/d.sock");
    }

    #[test]
    fn credentials_in_a_host_url_are_never_shown() {
        let h = DockerHost::resolve(None, Some("tcp://alice:hunter2@10.0.0.5:2375"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.to_string(), "tcp://***@10.0.0.5:2375");
        assert_eq!(DockerHost::Tcp("tcp://10.0.0.5:2375".into()).to_string(), "tcp://10.0.0.5:2375");
        let err = DockerHost::parse("https://bob:pw@x:2376").err().unwrap_or_default();
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn tls_requested_is_refused_not_downgraded() {
        let tcp = DockerHost::Tcp("tcp://10.0.0.5:2376".into());
        assert!(tcp.refuse_tls(Some("1")).is_err_and(|e| e.contains("DOCKER_TLS_VERIFY")));
        assert!(
            tcp.refuse_tls(Some("0")).is_ok()
                && tcp.refuse_tls(None).is_ok()
                && tcp.refuse_tls(Some("")).is_ok()
        );
        let unix = DockerHost::Unix(PathBuf::from(DEFAULT_SOCKET));
        assert!(unix.refuse_tls(Some("1")).is_ok(), "a unix socket needs no TLS");
    }
}
