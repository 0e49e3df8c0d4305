//! Docker contexts, read from the docker CLI's own store, and which engine to use.
//!
//! Precedence, as the docker CLI (28.2) does it, measured:
//! 1. `--docker-host` (the CLI's `-H`) or `--context`: both together are refused. An explicit
//!    `--context` wins over `DOCKER_HOST`.
//! 2. `DOCKER_HOST`
//! 3. `DOCKER_CONTEXT`
//! 4. `currentContext` in `$DOCKER_CONFIG/config.json` (default `~/.docker`)
//! 5. the default socket.
//!
//! The context named `default` is the engine the CLI would use without contexts: `DOCKER_HOST`
//! when set, else the default socket.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::host::DockerHost;
use super::tls::TlsFiles;

pub const DEFAULT_CONTEXT: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error("--docker-host and --context name the engine twice: use one of them")]
    Conflict,
    #[error("no Docker context named {name:?} in {}: {}", store.display(), known(found))]
    Unknown { name: String, store: PathBuf, found: Vec<String> },
    #[error("{}: {message}", path.display())]
    Malformed { path: PathBuf, message: String },
    #[error("Docker context {name:?} uses TLS in a way gpudock does not support: {why}")]
    Tls { name: String, why: String },
    #[error("Docker context {name:?}: {message}")]
    Endpoint { name: String, message: String },
    /// `--docker-host` or `DOCKER_HOST` that cannot be used.
    #[error("{0}")]
    Host(String),
}

fn known(found: &[String]) -> String {
    if found.is_empty() {
        "there are none (`docker context ls`)".into()
    } else {
        format!("found {}", found.join(", "))
    }
}

/// Where the engine is named, one field per place the docker CLI looks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Choice<'a> {
    pub flag_host: Option<&'a str>,
    pub flag_context: Option<&'a str>,
    pub env_host: Option<&'a str>,
    pub env_context: Option<&'a str>,
}

impl Choice<'_> {
    /// The engine to use, with the precedence in the module docs.
    pub fn resolve(&self, store: &ContextStore) -> Result<DockerHost, ContextError> {
        let given = |v: Option<&str>| v.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let (flag_host, env_host) = (given(self.flag_host), given(self.env_host));
        match (flag_host, given(self.flag_context)) {
            (Some(_), Some(_)) => Err(ContextError::Conflict),
            (Some(h), None) => DockerHost::parse(&h).map_err(ContextError::Host),
            (None, Some(name)) => store.host(&name, env_host.as_deref()),
            (None, None) => match (env_host, given(self.env_context)) {
                (Some(h), _) => DockerHost::parse(&h).map_err(ContextError::Host),
                (None, Some(name)) => store.host(&name, None),
                (None, None) => match store.current()? {
                    Some(name) => store.host(&name, None),
                    None => DockerHost::resolve(None, None).map_err(ContextError::Host),
                },
            },
        }
    }
}

/// One context's docker endpoint, as stored by `docker context create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub name: String,
    pub host: String,
    pub skip_tls_verify: bool,
    /// `ca.pem`, `cert.pem`, `key.pem` that exist in the context's TLS dir.
    pub tls_files: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Endpoints", default)]
    endpoints: std::collections::HashMap<String, Endpoint>,
}

#[derive(Deserialize)]
struct Endpoint {
    #[serde(rename = "Host", default)]
    host: Option<String>,
    #[serde(rename = "SkipTLSVerify", default)]
    skip_tls_verify: bool,
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(rename = "currentContext", default)]
    current_context: Option<String>,
}

/// The docker CLI's config dir: `contexts/` and `config.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextStore {
    dir: PathBuf,
}

impl ContextStore {
    pub fn new(dir: impl Into<PathBuf>) -> ContextStore {
        ContextStore { dir: dir.into() }
    }

    /// The docker config dir; also where `DOCKER_TLS_VERIFY` looks for certificates by default.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `$DOCKER_CONFIG`, else `$HOME/.docker`.
    pub fn from_env() -> ContextStore {
        let dir = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()).map(PathBuf::from);
        let home = || std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker"));
        ContextStore::new(dir.or_else(home).unwrap_or_else(|| PathBuf::from(".docker")))
    }

    /// `currentContext` from config.json; none when the file or the key is missing.
    pub fn current(&self) -> Result<Option<String>, ContextError> {
        let path = self.dir.join("config.json");
        let Some(text) = read(&path)? else { return Ok(None) };
        let cfg: ConfigFile = serde_json::from_str(&text).map_err(|e| malformed(&path, e))?;
        Ok(cfg.current_context.filter(|c| !c.is_empty()))
    }

    /// The names of the stored contexts, sorted; unreadable entries are left out.
    pub fn names(&self) -> Vec<String> {
        let Ok(dirs) = std::fs::read_dir(self.dir.join("contexts/meta")) else { return Vec::new() };
        let mut names: Vec<String> = dirs
            .flatten()
            .filter_map(|d| std::fs::read_to_string(d.path().join("meta.json")).ok())
            .filter_map(|t| serde_json::from_str::<Meta>(&t).ok().map(|m| m.name))
            .collect();
        names.sort();
        names
    }

    pub fn load(&self, name: &str) -> Result<Context, ContextError> {
        let path = self.dir.join("contexts/meta").join(digest(name)).join("meta.json");
        let Some(text) = read(&path)? else {
            let store = self.dir.join("contexts");
            return Err(ContextError::Unknown { name: name.into(), store, found: self.names() });
        };
        let meta: Meta = serde_json::from_str(&text).map_err(|e| malformed(&path, e))?;
        let Some(ep) = meta.endpoints.get("docker") else {
            let message = "no docker endpoint (Endpoints.docker)".into();
            return Err(ContextError::Endpoint { name: meta.name, message });
        };
        let tls_dir = self.dir.join("contexts/tls").join(digest(name)).join("docker");
        let tls_files = ["ca.pem", "cert.pem", "key.pem"]
            .iter()
            .map(|f| tls_dir.join(f))
            .filter(|p| p.is_file())
            .collect();
        Ok(Context {
            name: meta.name,
            host: ep.host.clone().unwrap_or_default(),
            skip_tls_verify: ep.skip_tls_verify,
            tls_files,
        })
    }

    /// The engine a context names; `default` is `DOCKER_HOST` or the default socket.
    pub fn host(&self, name: &str, env_host: Option<&str>) -> Result<DockerHost, ContextError> {
        if name == DEFAULT_CONTEXT {
            return DockerHost::resolve(None, env_host).map_err(ContextError::Host);
        }
        self.load(name)?.to_host()
    }
}

impl Context {
    pub fn to_host(&self) -> Result<DockerHost, ContextError> {
        let name = self.name.clone();
        if self.host.trim().is_empty() {
            return Err(ContextError::Endpoint { name, message: "the docker endpoint has no Host".into() });
        }
        let endpoint = DockerHost::parse(self.host.trim())
            .map_err(|message| ContextError::Endpoint { name: name.clone(), message })?;
        let endpoint = match endpoint {
            DockerHost::Tcp(_) if self.skip_tls_verify => {
                let why = "SkipTLSVerify (gpudock always verifies the engine's certificate)".into();
                return Err(ContextError::Tls { name, why });
            }
            DockerHost::Tcp(url) => match self.tls_files.first().and_then(|f| f.parent()) {
                None => DockerHost::Tcp(url),
                Some(dir) => match TlsFiles::in_dir(dir) {
                    Ok(files) => DockerHost::Tls { url, files },
                    Err(why) => return Err(ContextError::Tls { name, why }),
                },
            },
            other => other,
        };
        Ok(DockerHost::Context { name, endpoint: Box::new(endpoint) })
    }
}

/// The directory name the docker CLI files a context under: the hex SHA-256 of its name.
pub fn digest(name: &str) -> String {
    format!("{:x}", Sha256::digest(name.as_bytes()))
}

/// A file's text; `None` when it does not exist.
fn read(path: &Path) -> Result<Option<String>, ContextError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ContextError::Malformed { path: path.into(), message: e.to_string() }),
    }
}

fn malformed(path: &Path, e: serde_json::Error) -> ContextError {
    ContextError::Malformed { path: path.into(), message: e.to_string() }
}

#[cfg(test)]
#[path = "context_tests.rs"]
mod tests;
