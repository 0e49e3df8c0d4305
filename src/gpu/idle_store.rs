//! The idle tracker's state file under `$XDG_STATE_HOME/gpudock/` (default
//! `~/.local/state/gpudock/`): a restart, even seconds later, still knows since when each process
//! has been idle. Keyed by GPU, PID and process start time, and by the boot it was written in
//! (start times count from boot). Each program has its own file, so the dashboard and `export`
//! on one node never overwrite each other. Read and written off the render loop.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::idle::Saved;

/// A state file bigger than this is not ours: it is ignored (a few thousand processes fit).
const MAX_BYTES: u64 = 1 << 20;
/// Entries kept at most.
const MAX_ENTRIES: usize = 4096;

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    boot_id: String,
    idle: Vec<Saved>,
}

/// `$XDG_STATE_HOME/gpudock/<name>.json`, else `$HOME/.local/state/gpudock/<name>.json`.
pub fn path(name: &str) -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".local/state"),
    };
    Some(base.join("gpudock").join(format!("{name}.json")))
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// What an earlier run saved in this boot; empty when there is nothing (or nothing usable).
pub fn load(path: &Path) -> Vec<Saved> {
    let text = match std::fs::File::open(path) {
        Ok(f) => {
            let mut text = String::new();
            if let Err(e) = f.take(MAX_BYTES).read_to_string(&mut text) {
                tracing::debug!(path = %path.display(), error = %e, "idle state unreadable");
                return Vec::new();
            }
            text
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "idle state unreadable");
            return Vec::new();
        }
    };
    match serde_json::from_str::<File>(&text) {
        Ok(f) if f.boot_id == boot_id() => f.idle.into_iter().take(MAX_ENTRIES).collect(),
        Ok(_) => Vec::new(),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "idle state not understood; starting afresh");
            Vec::new()
        }
    }
}

/// Writes `idle` atomically (a temporary file renamed over the old one).
pub fn save(path: &Path, idle: &[Saved]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = File { boot_id: boot_id(), idle: idle.iter().take(MAX_ENTRIES).copied().collect() };
    let text = serde_json::to_string(&file).map_err(std::io::Error::other)?;
    let tmp = path.with_extension(format!("json.{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Keeps the state file current for one program: written when the idle state changed, at most
/// every `EVERY`, on a blocking thread, and once more when this is dropped (every exit path).
pub struct Keeper {
    path: Option<PathBuf>,
    written: u64,
    last: Option<std::time::Instant>,
    latest: Vec<Saved>,
}

/// At most one write per this long while running.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(30);

impl Keeper {
    /// For program `name`, with what it saved before.
    pub fn open(name: &str) -> (Keeper, Vec<Saved>) {
        let path = path(name);
        let saved = path.as_deref().map(load).unwrap_or_default();
        // Until the first change, an exit writes back what was read, not nothing.
        (Keeper { path, written: 0, last: None, latest: saved.clone() }, saved)
    }

    /// After a state change: writes when the tracker changed and the last write is old enough.
    pub fn tick(&mut self, tracker: &super::idle::IdleTracker) {
        if tracker.generation() == self.written {
            return;
        }
        self.latest = tracker.saved();
        if self.last.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        self.written = tracker.generation();
        self.last = Some(std::time::Instant::now());
        if let Some(path) = self.path.clone() {
            let idle = self.latest.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(e) = save(&path, &idle) {
                    tracing::debug!(path = %path.display(), error = %e, "cannot write the idle state");
                }
            });
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        if let Some(path) = &self.path
            && let Err(e) = save(path, &self.latest)
        {
            tracing::debug!(path = %path.display(), error = %e, "cannot write the idle state");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_state_comes_back_in_the_same_boot_only() {
        let dir = std::env::temp_dir().join(format!("gpudock-idle-store-{}", std::process::id()));
        let path = dir.join("gpudock").join("dash.json");
        let idle = [Saved { gpu: 1, pid: 42, start: 900, since: 1_000, exact: false }];
        save(&path, &idle).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(load(&path), idle);
        std::fs::write(&path, r#"{"boot_id":"another boot","idle":[]}"#).unwrap_or_else(|e| panic!("{e}"));
        assert!(load(&path).is_empty());
        std::fs::write(&path, "not json").unwrap_or_else(|e| panic!("{e}"));
        assert!(load(&path).is_empty());
        assert!(load(&dir.join("missing.json")).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
