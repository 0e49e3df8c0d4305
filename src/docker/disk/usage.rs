//! Fetching `/system/df` as raw JSON, and the filesystem figures around it.

use std::time::Duration;

use super::df::DfData;
use super::model::{DiskUsage, FsUsage};
use super::{DiskError, patiently};
use crate::docker::ApiVersion;

/// `/system/df` walks every volume and writable layer: on a node with terabytes of datasets it
/// takes minutes, far past the connection's usual request timeout.
const DF_TIMEOUT: Duration = Duration::from_secs(300);

/// What each row costs and what a prune of it would free, plus the free space on the engine's
/// filesystem when the engine is `local` (reached over its unix socket, so its `DockerRootDir`
/// is a path we can `statvfs`). `docker` must come from `docker::connect`: the request names
/// the negotiated API version, which an older engine refuses if it was never negotiated down.
pub async fn usage(docker: &bollard::Docker, local: bool) -> Result<DiskUsage, DiskError> {
    let (df, info) = tokio::join!(fetch(docker, &[]), docker.info());
    let categories = df?.categories();
    let root_dir = match info {
        Ok(info) => info.docker_root_dir,
        Err(e) => {
            tracing::debug!(error = %e, "no /info for the disk view");
            None
        }
    };
    let fs = match (&root_dir, local) {
        (Some(dir), true) => {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || statvfs(&dir)).await.ok().flatten()
        }
        _ => None,
    };
    Ok(DiskUsage { categories, root_dir, fs })
}

/// The records of `/system/df`, restricted to `types` ("image", "container", "volume",
/// "build-cache") where the engine can (API 1.42+; older engines compute everything).
pub(crate) async fn fetch(docker: &bollard::Docker, types: &[&str]) -> Result<DfData, DiskError> {
    let version = ApiVersion::from(docker.client_version());
    // Pinned to the negotiated version (unlike bollard's own calls, which leave the version
    // out and get the engine's newest shape), so the shape follows what we negotiated.
    // `verbose=1` asks 1.52+ for the per-record `Items`; older engines ignore it.
    let mut path = format!("/v{version}/system/df?verbose=1");
    if version.at_least(42) {
        for t in types {
            path.push_str("&type=");
            path.push_str(t);
        }
    }
    let text = patiently(|| async {
        get_text(docker, &path).await.map_err(|e| DiskError::from_engine(e, "disk usage"))
    })
    .await?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| DiskError::BadAnswer(format!("not JSON: {e}")))?;
    Ok(DfData { api: Some(version), ..DfData::from_json(&json)? })
}

/// GET `path_and_query` on the engine and return the body as text.
///
/// bollard 0.21 has no raw request API, and its `df()` only models the 1.52+ answer (every
/// field is `None` on older engines). Its `ping()` returns the body of a GET as text, and a
/// request modifier may rewrite that GET's path: together they reuse bollard's connection
/// (unix socket or TCP), timeout and error mapping without another HTTP client. The clone shares
/// the connection pool; replacing its request modifier affects only this request.
async fn get_text(docker: &bollard::Docker, path_and_query: &str) -> Result<String, bollard::errors::Error> {
    let target = path_and_query.to_string();
    let redirected = docker.clone().with_timeout(DF_TIMEOUT).with_request_modifier(move |mut req| {
        let uri = req.uri();
        let authority = uri.authority().map_or("", |a| a.as_str());
        let rewritten = format!("{}://{authority}{target}", uri.scheme_str().unwrap_or("http"));
        match rewritten.parse() {
            Ok(u) => *req.uri_mut() = u,
            // Left alone it asks `/_ping`, whose "OK" then fails to parse: reported, not hidden.
            Err(e) => tracing::warn!(error = %e, uri = %rewritten, "cannot build the /system/df request"),
        }
        req
    });
    redirected.ping().await
}

/// Size and free space of the filesystem holding `path`; None when it is not ours to see (for
/// instance gpudock in a container with only the socket mounted).
pub fn statvfs(path: &str) -> Option<FsUsage> {
    let c_path = std::ffi::CString::new(path).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c_path` is a valid NUL-terminated string and `st` points to writable memory of
    // the right type; statvfs only writes into it.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled the whole struct.
    let st = unsafe { st.assume_init() };
    // The field types differ between platforms (u32 on some 32-bit targets).
    #[allow(clippy::unnecessary_cast)]
    let (blocks, bfree, avail, frsize) =
        (st.f_blocks as u64, st.f_bfree as u64, st.f_bavail as u64, st.f_frsize as u64);
    Some(FsUsage {
        total: blocks.saturating_mul(frsize),
        free: avail.saturating_mul(frsize),
        used: blocks.saturating_sub(bfree).saturating_mul(frsize),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statvfs_reads_the_root_filesystem() {
        let fs = statvfs("/").unwrap_or_else(|| panic!("statvfs / failed"));
        assert!(fs.total > 0 && fs.free <= fs.total, "{fs:?}");
        // The same percentage as df (which rounds up), give or take a write in between.
        let df = std::process::Command::new("df").args(["--output=pcent", "/"]).output();
        let df = df.map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
        let df: Option<f64> = df.lines().nth(1).and_then(|l| l.trim().trim_end_matches('%').parse().ok());
        let ours = fs.used_percent().map(f64::ceil);
        assert!(ours.zip(df).is_some_and(|(o, d)| (o - d).abs() <= 1.0), "ours {ours:?}, df {df:?}: {fs:?}");
        assert_eq!(statvfs("/no/such/dir/for/gpudock"), None);
    }
}
