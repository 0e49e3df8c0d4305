//! The seams, checked: the README's layout table, row by row (who may import whom); the engine layer
//! (`docker/`, `gpu/`, `fleet/`, `procfs`, `signal`) never sees the app, so a
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

/// The README's layout table, row by row: the paths a row is about, and the modules they may
/// import (None: everything).
fn layout_table() -> Vec<(Vec<String>, Option<Vec<String>>)> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .unwrap_or_else(|e| panic!("README.md: {e}"));
    let section = readme.split("## Layout of the code").nth(1).unwrap_or_else(|| panic!("no layout section"));
    let section = section.split("\n## ").next().unwrap_or_default();
    let ticked =
        |cell: &str| -> Vec<String> { cell.split('`').skip(1).step_by(2).map(str::to_string).collect() };
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|row| {
            let cells: Vec<&str> = row.split(" | ").collect();
            let (paths, may) =
                (cells[0].trim_start_matches("| "), cells[cells.len() - 1].trim_end_matches(" |"));
            let allowed = (!may.contains("everything"))
                .then(|| ticked(may).into_iter().map(|m| m.trim_end_matches('/').to_string()).collect());
            (ticked(paths), allowed)
        })
        .collect()
}

/// The crate modules a line of source names: `crate::docker::…` and `crate::{tui, ui}`.
fn crate_modules(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in line.split("crate::").skip(1) {
        let names = match part.strip_prefix('{') {
            Some(group) => group.split('}').next().unwrap_or_default().split(',').collect(),
            None => vec![part],
        };
        for n in names {
            let n: String = n.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !n.is_empty() {
                out.push(n);
            }
        }
    }
    out
}

#[test]
fn every_module_imports_only_what_the_readmes_layout_table_allows() {
    let table = layout_table();
    assert!(table.len() > 15, "the README's layout table has {} rows: moved?", table.len());
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut found = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(src()).unwrap_or(f).to_string_lossy().replace('\\', "/");
        // The most specific row: `app/fleet/` before `app/`.
        let row = table
            .iter()
            .flat_map(|(paths, allowed)| paths.iter().map(move |p| (p, allowed)))
            .filter(|(p, _)| if p.ends_with('/') { rel.starts_with(p.as_str()) } else { rel == **p })
            .max_by_key(|(p, _)| p.len());
        let Some((path, allowed)) = row else {
            found.push(format!("{rel}: no row in the README's layout table"));
            continue;
        };
        let Some(allowed) = allowed else { continue };
        let own = rel.split('/').next().unwrap_or_default().trim_end_matches(".rs").to_string();
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for m in crate_modules(line) {
                if m != own && !allowed.contains(&m) {
                    found.push(format!("{rel}:{}: crate::{m} (row {path} allows {allowed:?})", n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "imports the README's layout table does not allow:\n{}", found.join("\n"));
}

#[test]
fn the_table_check_sees_what_it_should() {
    assert_eq!(crate_modules("use crate::{tui, ui};"), ["tui", "ui"]);
    assert_eq!(crate_modules("let x = crate::fmt::age(crate::docker::x);"), ["fmt", "docker"]);
    let table = layout_table();
    let row = |p: &str| table.iter().find(|(paths, _)| paths.iter().any(|x| x == p)).map(|r| r.1.clone());
    // The rules the issue names: msg sees no app, app no ui, snapshot and export no ui.
    for (module, never) in
        [("msg.rs", "app"), ("app/", "ui"), ("snapshot/", "ui"), ("export/", "ui"), ("doctor/", "snapshot")]
    {
        let allowed =
            row(module).flatten().unwrap_or_else(|| panic!("{module}: no row, or it allows everything"));
        assert!(!allowed.iter().any(|a| a == never), "{module} may import {never}: {allowed:?}");
    }
}
