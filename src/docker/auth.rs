//! Stored registry logins, found as the docker CLI finds them for `docker run`:
//! `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`) — `credHelpers.<registry>`,
//! then `credsStore`, then `auths.<registry>.auth` (base64 `user:password`) or its
//! `identitytoken`. A helper is `docker-credential-<name> get`: the server on stdin,
//! `{"ServerURL","Username","Secret"}` on stdout. Docker Hub's key is
//! `https://index.docker.io/v1/`; nvcr.io's user is `$oauthtoken`.
//!
//! Secrets never leave this module except inside the `DockerCredentials` handed to the engine:
//! no error, log line or Debug output carries one (a helper's stdout is never quoted).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use serde::Deserialize;

/// Docker Hub, as the CLI names it in config.json and to helpers.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";
const MAX_CONFIG_BYTES: u64 = 1 << 20;
const MAX_HELPER_OUTPUT: u64 = 64 << 10;
const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a docker CLI config: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("the stored login for {registry} in {path} is not base64 user:password")]
    BadAuth { registry: String, path: PathBuf },
    #[error("credential helper docker-credential-{helper}: {why}")]
    Helper { helper: String, why: HelperFailure },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelperFailure {
    #[error("not found on PATH")]
    Missing,
    #[error("cannot run it: {0}")]
    Spawn(String),
    #[error("gave no answer within {0} s")]
    Timeout(u64),
    #[error("failed with exit status {0}")]
    Failed(i32),
    #[error("answered more than 64 KiB")]
    TooLong,
    #[error("answered something that is not its JSON")]
    Malformed,
}

/// The registry host of an image reference: `docker.io` when it names none.
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => "docker.io".to_string(),
    }
}

/// The command that stores a login for `registry`.
pub fn login_hint(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => "docker login".into(),
        "nvcr.io" => "docker login nvcr.io (user $oauthtoken, password your NGC API key)".into(),
        r => format!("docker login {r}"),
    }
}

/// The key config.json and helpers use for `registry`.
fn config_key(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_KEY.into(),
        r => r.to_string(),
    }
}

/// `https://host/v1/` and `host` name the same registry.
fn host_of(key: &str) -> &str {
    let k = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

// No Debug: it holds secrets.
#[derive(Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// `$DOCKER_CONFIG`, else `~/.docker`.
pub fn config_dir() -> PathBuf {
    crate::docker::context::ContextStore::from_env().dir().to_path_buf()
}

/// Where the login for `registry` is kept, read from config.json's text.
#[derive(Debug, PartialEq, Eq)]
enum Source {
    Helper(String),
    /// base64 `user:password`, or an identity token.
    Stored {
        auth: Option<String>,
        token: Option<String>,
    },
    None,
}

fn source(cfg: &ConfigFile, registry: &str) -> Source {
    let key = config_key(registry);
    let host = host_of(&key);
    let by_host =
        |m: &HashMap<String, String>| m.iter().find(|(k, _)| host_of(k) == host).map(|(_, v)| v.clone());
    if let Some(h) = by_host(&cfg.cred_helpers).filter(|h| !h.is_empty()) {
        return Source::Helper(h);
    }
    if let Some(s) = cfg.creds_store.clone().filter(|s| !s.is_empty()) {
        return Source::Helper(s);
    }
    match cfg.auths.iter().find(|(k, _)| host_of(k) == host) {
        Some((_, e)) => Source::Stored { auth: e.auth.clone(), token: e.identitytoken.clone() },
        None => Source::None,
    }
}

fn decode_auth(b64: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// The stored login for the registry of `image`, from the config in `dir`; None when there is
/// none (a missing config file is none, as for the docker CLI).
pub async fn for_image(image: &str, dir: &Path) -> Result<Option<DockerCredentials>, AuthError> {
    let registry = registry_of(image);
    let path = dir.join("config.json");
    let text = match read_capped(&path).await {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(AuthError::Read { path, source }),
    };
    // serde_json's message can quote the value it choked on, which may be a secret: only where.
    let cfg: ConfigFile = serde_json::from_str(&text).map_err(|e| AuthError::Parse {
        path: path.clone(),
        message: format!("malformed JSON at line {}, column {}", e.line(), e.column()),
    })?;
    let key = config_key(&registry);
    let creds = |username: String, password: Option<String>, token: Option<String>| DockerCredentials {
        username: Some(username),
        password,
        identitytoken: token,
        serveraddress: Some(key.clone()),
        ..Default::default()
    };
    match source(&cfg, &registry) {
        Source::None => Ok(None),
        Source::Stored { auth: Some(a), .. } if !a.is_empty() => {
            let (u, p) =
                decode_auth(&a).ok_or_else(|| AuthError::BadAuth { registry: registry.clone(), path })?;
            Ok(Some(creds(u, Some(p), None)))
        }
        Source::Stored { token: Some(t), .. } if !t.is_empty() => {
            Ok(Some(creds(String::new(), None, Some(t))))
        }
        Source::Stored { .. } => Ok(None),
        Source::Helper(h) => {
            let answer = helper_get(&h, &key).await?;
            Ok(answer.map(|a| {
                // The protocol's way of saying "the secret is an identity token".
                if a.username == "<token>" {
                    creds(String::new(), None, Some(a.secret))
                } else {
                    creds(a.username, Some(a.secret), None)
                }
            }))
        }
    }
}

async fn read_capped(path: &Path) -> std::io::Result<String> {
    use tokio::io::AsyncReadExt;
    let mut text = String::new();
    tokio::fs::File::open(path).await?.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text).await?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "larger than 1 MiB"));
    }
    Ok(text)
}

/// `docker-credential-<helper> get`, bounded in time and output. None: the helper has no
/// login for `server` (it says so by failing; its words are not repeated, they may hold one).
async fn helper_get(helper: &str, server: &str) -> Result<Option<HelperAnswer>, AuthError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fail = |why| AuthError::Helper { helper: helper.to_string(), why };
    if !helper.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(fail(HelperFailure::Missing));
    }
    let mut child = tokio::process::Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => fail(HelperFailure::Missing),
            _ => fail(HelperFailure::Spawn(e.kind().to_string())),
        })?;
    let talk = async {
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading is answered by its exit status below.
            let _ = stdin.write_all(server.as_bytes()).await;
        }
        let mut out = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            stdout
                .take(MAX_HELPER_OUTPUT + 1)
                .read_to_end(&mut out)
                .await
                .map_err(|e| fail(HelperFailure::Spawn(e.kind().to_string())))?;
        }
        let status = child.wait().await.map_err(|e| fail(HelperFailure::Spawn(e.kind().to_string())))?;
        Ok::<_, AuthError>((status, out))
    };
    let (status, out) = tokio::time::timeout(HELPER_TIMEOUT, talk)
        .await
        .map_err(|_| fail(HelperFailure::Timeout(HELPER_TIMEOUT.as_secs())))??;
    if out.len() as u64 > MAX_HELPER_OUTPUT {
        return Err(fail(HelperFailure::TooLong));
    }
    if !status.success() {
        // "credentials not found in native keychain" is the protocol's no-login answer.
        if String::from_utf8_lossy(&out).to_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(HelperFailure::Failed(status.code().unwrap_or(-1))));
    }
    serde_json::from_slice::<HelperAnswer>(&out).map(Some).map_err(|_| fail(HelperFailure::Malformed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_and_their_keys() {
        assert_eq!(registry_of("nvidia/cuda:12.9.1-base-ubuntu24.04"), "docker.io");
        assert_eq!(registry_of("busybox"), "docker.io");
        assert_eq!(registry_of("nvcr.io/nvidia/pytorch:25.01-py3"), "nvcr.io");
        assert_eq!(registry_of("127.0.0.1:5000/x/y:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/x"), "localhost");
        assert_eq!(config_key("docker.io"), DOCKER_HUB_KEY);
        assert!(login_hint("nvcr.io").contains("$oauthtoken"));
        assert_eq!(login_hint("docker.io"), "docker login");
    }

    #[test]
    fn helpers_come_before_the_store_and_the_store_before_auths() {
        let cfg: ConfigFile = serde_json::from_str(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"},"nvcr.io":{}},
                "credsStore":"desktop","credHelpers":{"nvcr.io":"ngc"}}"#,
        )
        .unwrap_or_default();
        assert_eq!(source(&cfg, "nvcr.io"), Source::Helper("ngc".into()));
        assert_eq!(source(&cfg, "docker.io"), Source::Helper("desktop".into()));
        let cfg: ConfigFile =
            serde_json::from_str(r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}}}"#)
                .unwrap_or_default();
        assert_eq!(source(&cfg, "docker.io"), Source::Stored { auth: Some("dTpw".into()), token: None });
        assert_eq!(source(&cfg, "nvcr.io"), Source::None);
        assert_eq!(decode_auth("dTpw"), Some(("u".into(), "p".into())));
        // nvcr.io's user has a dollar sign; the password may hold colons.
        let b64 = base64::engine::general_purpose::STANDARD.encode("$oauthtoken:a:b");
        assert_eq!(decode_auth(&b64), Some(("$oauthtoken".into(), "a:b".into())));
    }
}
