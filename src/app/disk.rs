//! The disk view: where Docker's space went, row by row, and reclaiming it with a preview and a
//! confirmation. Also the "disk almost full" warning the header shows on every screen.

use crossterm::event::{KeyCode, KeyEvent};

use super::{AppState, Level, Mode};
use crate::docker::disk::{Category, DiskUsage, FsUsage, ImageRow, PruneOptions, PruneReport};
use crate::msg::Command;

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Rows,
    /// Exactly what the prune of this row would remove; `y` confirms.
    Preview(Category),
    Pruning(Category),
    Images {
        rows: Option<Vec<ImageRow>>,
        selected: usize,
        confirm: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiskView {
    pub usage: Option<Box<DiskUsage>>,
    pub loading: bool,
    pub error: Option<String>,
    pub row: usize,
    /// Named volumes only go when the user asks for them.
    pub include_named: bool,
    pub stage: Stage,
    pub report: Option<String>,
}

impl DiskView {
    pub fn new() -> DiskView {
        DiskView {
            usage: None,
            loading: true,
            error: None,
            row: 0,
            include_named: false,
            stage: Stage::Rows,
            report: None,
        }
    }

    pub fn category(&self) -> Category {
        Category::ALL[self.row.min(Category::ALL.len() - 1)]
    }

    pub fn options(&self, until: Option<&str>) -> PruneOptions {
        PruneOptions {
            until: until.map(str::to_string),
            include_named_volumes: self.include_named && self.category() == Category::Volumes,
            label: None,
        }
    }
}

impl Default for DiskView {
    fn default() -> Self {
        DiskView::new()
    }
}

pub fn open(app: &mut AppState) -> Vec<Command> {
    app.mode = Mode::Disk(Box::default());
    vec![Command::DiskUsage]
}

pub fn handle_key(app: &mut AppState, mut view: Box<DiskView>, key: KeyEvent) -> Vec<Command> {
    let mut out = Vec::new();
    let read_only = app.read_only;
    match std::mem::replace(&mut view.stage, Stage::Rows) {
        Stage::Rows => match key.code {
            KeyCode::Esc | KeyCode::Char('q') => return Vec::new(),
            KeyCode::Char('j') | KeyCode::Down => view.row = (view.row + 1).min(Category::ALL.len() - 1),
            KeyCode::Char('k') | KeyCode::Up => view.row = view.row.saturating_sub(1),
            KeyCode::Char('a') => {
                view.include_named = !view.include_named;
                let what = if view.include_named { "included: their data will be destroyed" } else { "kept" };
                app.set_status(Level::Info, format!("named volumes {what}"));
            }
            KeyCode::Char('u') => {
                view.loading = true;
                out.push(Command::DiskUsage);
            }
            KeyCode::Char('i') => {
                view.stage = Stage::Images { rows: None, selected: 0, confirm: false };
                out.push(Command::ListImages);
            }
            KeyCode::Enter if view.usage.is_some() => view.stage = Stage::Preview(view.category()),
            _ => {}
        },
        Stage::Preview(category) => {
            if key.code == KeyCode::Char('y') {
                if read_only {
                    app.set_status(Level::Error, "read-only mode: pruning is disabled");
                } else {
                    view.stage = Stage::Pruning(category);
                    out.push(Command::Prune { category, options: view.options(app.prune_until.as_deref()) });
                }
            } else {
                app.set_status(Level::Info, "prune cancelled");
            }
        }
        Stage::Pruning(c) => view.stage = Stage::Pruning(c),
        Stage::Images { rows, selected, confirm } => {
            let n = rows.as_ref().map(Vec::len).unwrap_or(0);
            let current = rows.as_ref().and_then(|r| r.get(selected)).cloned();
            let mut stage = Stage::Images { rows, selected, confirm: false };
            if confirm {
                if key.code == KeyCode::Char('y')
                    && let Some(img) = current
                {
                    out.push(Command::RemoveImage { id: img.id, name: img.name });
                } else {
                    app.set_status(Level::Info, "cancelled");
                }
            } else if let Stage::Images { selected, confirm, .. } = &mut stage {
                match key.code {
                    KeyCode::Esc | KeyCode::Char('q') => stage = Stage::Rows,
                    KeyCode::Char('j') | KeyCode::Down => {
                        *selected = (*selected + 1).min(n.saturating_sub(1))
                    }
                    KeyCode::Char('k') | KeyCode::Up => *selected = selected.saturating_sub(1),
                    KeyCode::Char('d') => match &current {
                        _ if read_only => {
                            app.set_status(Level::Error, "read-only mode: removing images is disabled")
                        }
                        Some(img) if !img.containers.is_empty() => app.set_status(
                            Level::Error,
                            format!(
                                "{} is used by {}: remove those containers first",
                                img.name,
                                img.containers.join(", ")
                            ),
                        ),
                        Some(_) => *confirm = true,
                        None => {}
                    },
                    _ => {}
                }
            }
            view.stage = stage;
        }
    }
    app.mode = Mode::Disk(view);
    out
}

pub fn on_usage(app: &mut AppState, res: Result<Box<DiskUsage>, String>) {
    if let Mode::Disk(v) = &mut app.mode {
        v.loading = false;
        match res {
            Ok(u) => {
                v.usage = Some(u);
                v.error = None;
            }
            Err(e) => v.error = Some(e),
        }
    }
}

pub fn on_pruned(app: &mut AppState, res: Result<PruneReport, String>) -> Vec<Command> {
    let text = match &res {
        Ok(r) => r.summary(),
        Err(e) => e.clone(),
    };
    let level = if res.is_ok() { Level::Info } else { Level::Error };
    app.set_status(level, text.clone());
    if let Mode::Disk(v) = &mut app.mode {
        v.stage = Stage::Rows;
        v.report = Some(text);
        v.loading = true;
        return vec![Command::DiskUsage];
    }
    Vec::new()
}

pub fn on_images(app: &mut AppState, res: Result<Vec<ImageRow>, String>) {
    if let Mode::Disk(v) = &mut app.mode
        && let Stage::Images { rows, selected, .. } = &mut v.stage
    {
        match res {
            Ok(list) => {
                *selected = (*selected).min(list.len().saturating_sub(1));
                *rows = Some(list);
            }
            Err(e) => {
                *rows = Some(Vec::new());
                app.status = Some(super::StatusLine { text: e, level: Level::Error });
            }
        }
    }
}

pub fn on_image_removed(app: &mut AppState, res: Result<String, String>) -> Vec<Command> {
    match res {
        Ok(text) => app.set_status(Level::Info, text),
        Err(e) => app.set_status(Level::Error, e),
    }
    if matches!(&app.mode, Mode::Disk(v) if matches!(v.stage, Stage::Images { .. })) {
        return vec![Command::ListImages, Command::DiskUsage];
    }
    Vec::new()
}

/// The warning the header shows when Docker's filesystem runs low, or None.
pub fn fs_warning(dir: &str, fs: &FsUsage, floor: u64) -> Option<String> {
    if fs.total == 0 {
        return None;
    }
    let used = 100.0 - fs.free as f64 * 100.0 / fs.total as f64;
    (used > 85.0 || fs.free < floor)
        .then(|| format!("⚠ {dir}: {:.0}% full, {} free", used, crate::docker::disk::human_size(fs.free)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_when_full_or_below_the_floor() {
        let gb = 1_000_000_000;
        let fs = |total, free| FsUsage { total, free };
        assert_eq!(fs_warning("/var/lib/docker", &fs(100 * gb, 50 * gb), 10 * gb), None);
        let w = fs_warning("/var/lib/docker", &fs(100 * gb, 10 * gb), 5 * gb).unwrap_or_default();
        assert!(w.contains("90% full") && w.contains("10 GB free"), "{w}");
        assert!(fs_warning("/d", &fs(1000 * gb, 400 * gb), 500 * gb).is_some());
    }
}
