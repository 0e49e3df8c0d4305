//! The seams, checked: the engine layer (`docker/`, `gpu/`, `fleet/`, `procfs`, `signal`) never sees the app, so a
//! second front end (an exporter, a fleet view) can run the collectors; and no source file grows
//! past the size where it stops having one job.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_engine_layer_never_imports_the_app() {
    let mut files = Vec::new();
    rust_files(&src().join("docker"), &mut files);
    rust_files(&src().join("gpu"), &mut files);
    rust_files(&src().join("fleet"), &mut files);
    files.push(src().join("procfs.rs"));
    files.push(src().join("signal.rs"));
    files.push(src().join("bounded.rs"));
    let forbidden =
        ["crate::msg", "crate::app", "crate::ui", "crate::exec", "crate::run", "crate::config", "crate::tui"];
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for (n, line) in text.lines().enumerate() {
            if let Some(word) = forbidden.iter().find(|w| line.contains(*w)) {
                found.push(format!("{}:{}: {word}", f.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "the engine layer reaches into the app:\n{}", found.join("\n"));
    assert!(files.len() > 10, "found only {} files: wrong directory?", files.len());
}

#[test]
fn no_source_file_passes_400_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            (n > 400).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
}
