//! Which engine to talk to, with the docker CLI's `DOCKER_HOST` rules (contexts: `context`).

use std::fmt;
use std::path::{Path, PathBuf};

use super::tls::TlsFiles;

pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerHost {
    Unix(PathBuf),
    /// `tcp://host:port` or `http://host:port`: plain HTTP.
    Tcp(String),
    /// `tcp://host:port` with TLS: `DOCKER_TLS_VERIFY` or a TLS context.
    Tls {
        url: String,
        files: TlsFiles,
    },
    /// `ssh://[user@]host[:port]`: the system `ssh` runs `docker system dial-stdio` on the node,
    /// one ssh process per HTTP connection (`ssh.rs`).
    Ssh(String),
    /// A Docker context (`--context`, `DOCKER_CONTEXT`, `currentContext`) and where it points.
    Context {
        name: String,
        endpoint: Box<DockerHost>,
    },
}

/// Requests in flight at once to an engine reached over ssh: each new HTTP connection is a new
/// ssh process on both machines.
pub const SSH_IN_FLIGHT: usize = 2;

impl DockerHost {
    /// `--docker-host` beats `DOCKER_HOST`, which beats the default socket.
    pub fn resolve(flag: Option<&str>, env: Option<&str>) -> Result<DockerHost, String> {
        match flag.or(env).map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(DockerHost::Unix(PathBuf::from(DEFAULT_SOCKET))),
            Some(s) => DockerHost::parse(s),
        }
    }

    /// The docker CLI speaks TLS to a tcp engine when `DOCKER_TLS_VERIFY` is set, with
    /// `ca.pem`, `cert.pem` and `key.pem` from `DOCKER_CERT_PATH` (default: the docker config
    /// dir). Files missing are an error, never a fall-back to plain HTTP.
    pub fn with_tls_env(self, tls_verify: Option<&str>, cert_path: &Path) -> Result<DockerHost, String> {
        let wants_tls = tls_verify.is_some_and(|v| !v.is_empty() && v != "0");
        match self {
            // The docker CLI takes http:// for plain HTTP only; with TLS it would look up a
            // host named "http". Say what is wrong instead.
            DockerHost::Tcp(url) if wants_tls && url.starts_with("http://") => Err(format!(
                "{}: DOCKER_TLS_VERIFY is set, and http:// means plain HTTP: use tcp://host:port for TLS",
                redact(&url)
            )),
            DockerHost::Tcp(url) if wants_tls => match TlsFiles::in_dir(cert_path) {
                Ok(files) => Ok(DockerHost::Tls { url, files }),
                Err(e) => Err(format!(
                    "DOCKER_TLS_VERIFY is set for {}: {e} (set DOCKER_CERT_PATH to the certificates' directory)",
                    redact(&url)
                )),
            },
            other => Ok(other),
        }
    }

    pub fn parse(s: &str) -> Result<DockerHost, String> {
        if let Some(p) = s.strip_prefix("unix://") {
            Ok(DockerHost::Unix(PathBuf::from(p)))
        } else if s.starts_with('/') {
            Ok(DockerHost::Unix(PathBuf::from(s)))
        } else if s.starts_with("tcp://") || s.starts_with("http://") {
            Ok(DockerHost::Tcp(s.to_string()))
        } else if let Some(rest) = s.strip_prefix("ssh://") {
            parse_ssh(s, rest)
        } else if s.starts_with("https://") {
            Err(format!(
                "{}: for TLS use tcp://host:port with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH, as the docker CLI does",
                redact(s)
            ))
        } else {
            Err(format!(
                "unsupported Docker host {:?}: use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host",
                redact(s)
            ))
        }
    }

    /// A local engine shares our /proc and cgroup tree, so its containers' counters can be read
    /// from files instead of asking the engine. A context is local when it points at a unix
    /// socket; tcp, TLS and ssh engines are other machines.
    pub fn is_local(&self) -> bool {
        matches!(self.endpoint(), DockerHost::Unix(_))
    }

    /// Where requests go: the context's endpoint for a context, else the host itself.
    pub fn endpoint(&self) -> &DockerHost {
        let mut h = self;
        while let DockerHost::Context { endpoint, .. } = h {
            h = endpoint;
        }
        h
    }

    /// The context's name, when the engine was chosen through one.
    pub fn context(&self) -> Option<&str> {
        match self {
            DockerHost::Context { name, .. } => Some(name),
            _ => None,
        }
    }

    /// How many requests (inspect, stats) may be in flight at once: `default` where the engine
    /// is cheap to reach, `SSH_IN_FLIGHT` over ssh.
    pub fn in_flight(&self, default: usize) -> usize {
        match self.endpoint() {
            DockerHost::Ssh(_) => default.clamp(1, SSH_IN_FLIGHT),
            _ => default.max(1),
        }
    }
}

impl fmt::Display for DockerHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DockerHost::Unix(p) => write!(f, "unix://{}", p.display()),
            DockerHost::Tcp(u) => f.write_str(&redact(u)),
            DockerHost::Tls { url, .. } => write!(f, "{} (TLS)", redact(url)),
            DockerHost::Ssh(u) => f.write_str(&redact_password(u)),
            DockerHost::Context { name, endpoint } => write!(f, "{endpoint} (context {name})"),
        }
    }
}

/// `ssh://[user@]host[:port]`, run by `docker/ssh.rs` as `ssh [-p port] -- [user@]host`.
fn parse_ssh(url: &str, rest: &str) -> Result<DockerHost, String> {
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let shown = redact_password(url);
    if !path.is_empty() && path != "/" {
        return Err(format!("{shown}: a path in an ssh:// URL is not supported (ssh://user@host)"));
    }
    // As the docker CLI: ssh would get the password on its command line, for every user's `ps`.
    if authority.rsplit_once('@').is_some_and(|(user, _)| user.contains(':')) {
        return Err(format!(
            "{shown}: a password in an ssh:// URL is not supported; use an ssh key or agent"
        ));
    }
    match super::ssh::destination(&format!("ssh://{authority}")) {
        Some(_) => Ok(DockerHost::Ssh(format!("ssh://{authority}"))),
        None => Err(format!("{shown}: not an ssh://[user@]host[:port] address")),
    }
}

/// `ssh://alice@node` stays as it is (the user is no secret); `ssh://alice:pw@node` is redacted.
fn redact_password(url: &str) -> String {
    let userinfo = url.split_once("://").and_then(|(_, rest)| rest.split('/').next()?.rsplit_once('@'));
    match userinfo {
        Some((user, _)) if user.contains(':') => redact(url),
        _ => url.to_string(),
    }
}

/// `tcp://user:secret@host:2375` → `tcp://***@host:2375`: credentials in a host URL never reach
/// the screen, a snapshot or the log.
pub fn redact(url: &str) -> String {
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
        assert_eq!(DockerHost::resolve(Some("ssh://node"), None), Ok(DockerHost::Ssh("ssh://node".into())));
        assert!(DockerHost::resolve(Some("npipe:////./pipe/docker_engine"), None).is_err());
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
    fn tls_requested_without_certificates_is_refused_not_downgraded() {
        let tcp = || DockerHost::Tcp("tcp://10.0.0.5:2376".into());
        let nowhere = Path::new("/nonexistent/certs");
        let err = tcp().with_tls_env(Some("1"), nowhere).err().unwrap_or_default();
        assert!(err.contains("DOCKER_TLS_VERIFY") && err.contains("ca.pem, cert.pem, key.pem"), "{err}");
        let http = DockerHost::Tcp("http://u:pw@10.0.0.5:2376".into()).with_tls_env(Some("1"), nowhere);
        let err = http.err().unwrap_or_default();
        assert!(err.contains("use tcp://host:port") && !err.contains("pw"), "{err}");
        for off in [Some("0"), None, Some("")] {
            assert_eq!(tcp().with_tls_env(off, nowhere), Ok(tcp()));
        }
        let unix = DockerHost::Unix(PathBuf::from(DEFAULT_SOCKET));
        assert_eq!(unix.clone().with_tls_env(Some("1"), nowhere), Ok(unix), "a unix socket needs no TLS");
        let files = TlsFiles { ca: "ca".into(), cert: "c".into(), key: "k".into() };
        let tls = DockerHost::Tls { url: "tcp://u:pw@10.0.0.5:2376".into(), files };
        assert!(!tls.is_local() && tls.to_string() == "tcp://***@10.0.0.5:2376 (TLS)");
    }

    #[test]
    fn ssh_hosts_are_remote_and_checked() {
        let h = DockerHost::parse("ssh://alice@gpu-07").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h, DockerHost::Ssh("ssh://alice@gpu-07".into()));
        assert_eq!(h.to_string(), "ssh://alice@gpu-07");
        assert!(!h.is_local());
        assert_eq!(h.in_flight(16), SSH_IN_FLIGHT);
        assert_eq!(DockerHost::parse("ssh://gpu-07/").map(|h| h.to_string()), Ok("ssh://gpu-07".into()));
        for ok in ["ssh://alice@gpu-07:2222", "ssh://[fe80::1]:22", "ssh://[fe80::1]", "ssh://gpu-07:22/"] {
            assert!(DockerHost::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["ssh://", "ssh://n/var/run", "ssh://-oProxyCommand=x", "ssh://n:port"] {
            assert!(DockerHost::parse(bad).is_err(), "{bad}");
        }
        let err = DockerHost::parse("ssh://bob:pw@n:x").err().unwrap_or_default();
        assert!(!err.contains("pw"), "{err}");
        // Refused outright, never handed to ssh.
        let err = DockerHost::parse("ssh://bob:hunter2@gpu-07").err().unwrap_or_default();
        assert!(err.contains("password") && !err.contains("hunter2"), "{err}");
        assert_eq!(DockerHost::Ssh("ssh://bob:pw@n".into()).to_string(), "ssh://***@n");
    }

    #[test]
    fn a_context_is_local_only_when_it_points_at_a_unix_socket() {
        let ctx =
            |endpoint: DockerHost| DockerHost::Context { name: "n2".into(), endpoint: Box::new(endpoint) };
        let unix = ctx(DockerHost::Unix(PathBuf::from("/run/d2.sock")));
        assert!(unix.is_local());
        assert_eq!(unix.to_string(), "unix:///run/d2.sock (context n2)");
        assert_eq!(unix.context(), Some("n2"));
        assert_eq!(unix.in_flight(16), 16);
        let ssh = ctx(DockerHost::Ssh("ssh://gpu-07".into()));
        assert!(!ssh.is_local() && ssh.in_flight(8) == SSH_IN_FLIGHT);
        assert!(!ctx(DockerHost::Tcp("tcp://10.0.0.5:2375".into())).is_local());
        assert_eq!(DockerHost::Tcp("tcp://x:1".into()).context(), None);
    }
}
