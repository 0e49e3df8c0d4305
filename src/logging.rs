//! Tracing goes to a file: the terminal belongs to the dashboard.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

pub fn default_path() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "gpudock")?;
    let dir = dirs.state_dir().unwrap_or_else(|| dirs.cache_dir());
    Some(dir.join("gpudock.log"))
}

/// The log names containers, processes and users: readable by its owner only. A symlink put
/// in its place (in a shared or world-writable directory) is refused, not followed.
fn open(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Starts logging to `path` at the level in `$GPUDOCK_LOG` (default `info`).
pub fn init(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = open(path)?;
    let filter = EnvFilter::try_from_env("GPUDOCK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_log_is_private_and_symlinks_are_not_followed() {
        let dir = std::env::temp_dir().join(format!("gpudock-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let log = dir.join("gpudock.log");
        open(&log).unwrap_or_else(|e| panic!("{e}"));
        let mode = std::fs::metadata(&log).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode, 0o600);
        let target = dir.join("victim");
        std::fs::write(&target, "keep").unwrap_or_else(|e| panic!("{e}"));
        let link = dir.join("link.log");
        std::os::unix::fs::symlink(&target, &link).unwrap_or_else(|e| panic!("{e}"));
        assert!(open(&link).is_err(), "a symlinked log path was followed");
        assert_eq!(std::fs::read_to_string(&target).unwrap_or_default(), "keep");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
