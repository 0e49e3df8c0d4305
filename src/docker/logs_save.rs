//! Saving a container's log to a file (`w`, `W`): private to its owner (logs carry tokens, and
//! gpudock often runs as root), never over an existing file, and never left half-written.

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;

use super::EngineError;
use super::logs::LineSplitter;
use super::model::ContainerId;

/// A new file for a saved log, readable by its owner only: logs carry tokens and passwords,
/// and gpudock often runs as root. Never over an existing file.
fn create_private(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

/// A save that failed after its file was made: the partial file goes, and the message says so.
fn failed_save(path: &std::path::Path, why: String) -> String {
    match std::fs::remove_file(path) {
        Ok(()) => format!("{why} (the partial file was removed)"),
        Err(e) => format!("{why} (the partial file could not be removed: {e})"),
    }
}

/// Writes `lines` to a new file at `path` (never over an existing one); returns how many.
pub fn write_new<'a>(
    path: &std::path::Path,
    lines: impl Iterator<Item = &'a String>,
) -> Result<usize, String> {
    let file = create_private(path).map_err(|e| e.to_string())?;
    write_lines(std::io::BufWriter::new(file), lines).map_err(|e| failed_save(path, e.to_string()))
}

fn write_lines<'a>(
    mut out: impl std::io::Write,
    lines: impl Iterator<Item = &'a String>,
) -> std::io::Result<usize> {
    let mut n = 0;
    for l in lines {
        writeln!(out, "{l}")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// The container's whole log (stdout and stderr, as `docker logs` prints them), written to a
/// new file at `path`; returns the number of lines.
pub async fn save_whole(docker: &Docker, id: &ContainerId, path: &std::path::Path) -> Result<usize, String> {
    let file = tokio::fs::File::from_std(create_private(path).map_err(|e| e.to_string())?);
    match copy_whole(docker, id, file).await {
        Ok(n) => Ok(n),
        Err(why) => Err(failed_save(path, why)),
    }
}

async fn copy_whole(docker: &Docker, id: &ContainerId, file: tokio::fs::File) -> Result<usize, String> {
    use tokio::io::AsyncWriteExt;
    let mut out = tokio::io::BufWriter::new(file);
    let opts = LogsOptionsBuilder::default().follow(false).stdout(true).stderr(true).build();
    let mut stream = docker.logs(id.as_str(), Some(opts));
    let mut splitters = [LineSplitter::default(), LineSplitter::default()];
    // Written as it arrives: a log of gigabytes never sits in memory whole.
    let mut lines = Vec::new();
    let mut n = 0;
    let mut done = false;
    while !done {
        match stream.next().await {
            Some(item) => {
                let (i, bytes) = match item.map_err(|e| EngineError::from(e).to_string())? {
                    LogOutput::StdErr { message } => (1, message),
                    LogOutput::StdOut { message } | LogOutput::Console { message } => (0, message),
                    LogOutput::StdIn { .. } => continue,
                };
                splitters[i].push(&bytes, &mut lines);
            }
            None => {
                lines.extend(splitters.iter_mut().filter_map(LineSplitter::rest));
                done = true;
            }
        }
        for l in lines.drain(..) {
            out.write_all(l.as_bytes()).await.map_err(|e| e.to_string())?;
            out.write_all(b"\n").await.map_err(|e| e.to_string())?;
            n += 1;
        }
    }
    out.flush().await.map_err(|e| e.to_string())?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_logs_are_private_and_a_failed_save_leaves_no_partial_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("saved.log");
        let lines = ["token=s3cret".to_string(), "two".to_string()];
        assert_eq!(write_new(&path, lines.iter()), Ok(2));
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode, 0o600, "{mode:o}");
        assert!(write_new(&path, lines.iter()).is_err(), "never over an existing file");

        // A disk that fills after the first bytes.
        struct Full(usize);
        impl std::io::Write for Full {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
                }
                let n = b.len().min(self.0);
                self.0 -= n;
                Ok(n)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        assert!(write_lines(Full(5), lines.iter()).is_err());
        let partial = dir.path().join("partial.log");
        std::fs::write(&partial, "token=").unwrap_or_else(|e| panic!("{e}"));
        let msg = failed_save(&partial, "No space left on device".into());
        assert_eq!(msg, "No space left on device (the partial file was removed)");
        assert!(!partial.exists());
    }
}
