//! The disk view: where Docker's space went, row by row, and reclaiming it with a preview and a
//! confirmation. Also the "disk almost full" warning the header shows on every screen.

use super::view::{Scope, ViewKey};
use super::{AppState, Confirm, Level, Mode, Outcome, Shows, StatusLine};
use crate::config::Action;
use crate::docker::disk::{
    Category, DiskError, DiskItem, DiskUsage, FsUsage, ImageRow, PruneOptions, PruneReport, human_size,
};
use crate::msg::Command;

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Rows,
    Pruning(Category),
    Images { rows: Option<Vec<ImageRow>>, selected: usize },
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
    /// An image listing was asked for and has not come back: asking again would only queue a
    /// second expensive request behind it.
    pub images_pending: bool,
}

/// The question before an image goes: which image, how big, and which of its tags go with it.
fn image_prompt(img: &ImageRow) -> String {
    let tags = match img.tags.as_slice() {
        [] => "It has no tags".to_string(),
        [one] => format!("Its tag {one} goes"),
        many => format!("All {} of its tags go: {}", many.len(), many.join(", ")),
    };
    format!(
        "Remove image {} ({}, {})? {tags}.",
        img.name,
        crate::docker::disk::short_id(&img.id),
        crate::docker::disk::human_size(img.size)
    )
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
            images_pending: false,
        }
    }

    pub fn category(&self) -> Category {
        Category::ALL[self.row.min(Category::ALL.len() - 1)]
    }

    pub fn options(&self, until: Option<&str>) -> PruneOptions {
        self.options_for(self.category(), until)
    }

    fn options_for(&self, category: Category, until: Option<&str>) -> PruneOptions {
        PruneOptions {
            until: until.map(str::to_string),
            include_named_volumes: self.include_named && category == Category::Volumes,
            label: None,
        }
    }

    /// How many things a prune of `category` removes and about how many bytes that frees: the
    /// row and its preview say the same, under `prune_until` and the named-volume choice too.
    pub fn figures(&self, category: Category, prune_until: Option<&str>, now: i64) -> Option<(usize, u64)> {
        let row = self.usage.as_ref()?.category(category)?;
        let opts = self.options_for(category, prune_until);
        let selected = row.selected(&opts, now).ok()?;
        // The whole row as the engine would prune it: its own estimate, which counts shared
        // image layers once. Narrowed, the items' own sizes.
        let whole_row = opts.until.is_none() && !opts.include_named_volumes;
        let bytes = if whole_row { row.reclaimable_bytes } else { selected.iter().map(|i| i.size).sum() };
        Some((selected.len(), bytes))
    }
}

impl Default for DiskView {
    fn default() -> Self {
        DiskView::new()
    }
}

pub fn open(app: &mut AppState) -> Vec<Command> {
    let mut view = DiskView::new();
    // The engine is known to be down: say so now rather than wait on a request that cannot
    // succeed; the view asks again when the engine is back.
    if let super::EngineStatus::Down { host, reason, .. } = &app.engine {
        view.loading = false;
        view.error =
            Some(format!("the Docker engine at {host} is unreachable ({reason}); retrying when it answers"));
        app.mode = Mode::Disk(Box::new(view));
        return Vec::new();
    }
    app.mode = Mode::Disk(Box::new(view));
    vec![Command::DiskUsage]
}

/// The engine answers again: a disk view that could not load asks now.
pub fn on_engine_back(app: &mut AppState) -> Vec<Command> {
    match &mut app.mode {
        Mode::Disk(v) if v.usage.is_none() && !v.loading => {
            v.loading = true;
            v.error = None;
            vec![Command::DiskUsage]
        }
        _ => Vec::new(),
    }
}

pub const ROW_KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Down, "next row").hint(&[Action::Down, Action::Up], "row"),
    ViewKey::new(Action::Up, "previous row"),
    ViewKey::new(Action::First, "first row"),
    ViewKey::new(Action::Last, "last row"),
    ViewKey::new(Action::Preview, "preview what a prune of the row removes, then y prunes")
        .hint(&[Action::Preview], "preview & prune"),
    ViewKey::new(Action::NamedVolumes, "include / keep named volumes in the volume prune")
        .hint(&[Action::NamedVolumes], "named volumes"),
    ViewKey::new(Action::Images, "list images by size").hint(&[Action::Images], "images"),
    ViewKey::new(Action::Refresh, "ask the engine again").hint(&[Action::Refresh], "refresh"),
    ViewKey::new(Action::Alerts, super::alert_list::FROM_ANYWHERE),
    ViewKey::new(Action::Back, "back to the previous screen").hint(&[Action::Back], "back"),
];

pub const IMAGE_KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Down, "next row").hint(&[Action::Down, Action::Up], "move"),
    ViewKey::new(Action::Up, "previous row"),
    ViewKey::new(Action::PageUp, "page up"),
    ViewKey::new(Action::PageDown, "page down"),
    ViewKey::new(Action::First, "first row"),
    ViewKey::new(Action::Last, "last row"),
    ViewKey::new(Action::Remove, "remove the selected image (asks first)").hint(&[Action::Remove], "remove"),
    ViewKey::new(Action::Alerts, super::alert_list::FROM_ANYWHERE),
    ViewKey::new(Action::Back, "back to the previous screen").hint(&[Action::Back], "back"),
];

impl DiskView {
    /// The rows or the image list (questions are the `Confirm` view over this one).
    pub fn scope(&self) -> Scope {
        match &self.stage {
            Stage::Rows | Stage::Pruning(_) => Scope::Disk,
            Stage::Images { .. } => Scope::Images,
        }
    }

    /// `action` is what the keymap made of the key in `self.scope()`.
    pub fn handle_key(
        &mut self,
        action: Option<Action>,
        read_only: bool,
        prune_until: Option<&str>,
        now: i64,
    ) -> Outcome {
        match &mut self.stage {
            Stage::Rows => self.rows_key(action, read_only, prune_until, now),
            Stage::Pruning(_) => Outcome::stay(),
            Stage::Images { rows, selected } => {
                let current = rows.as_ref().and_then(|r| r.get(*selected));
                let last = rows.as_ref().map_or(0, |r| r.len().saturating_sub(1));
                match action {
                    Some(Action::Back) => self.stage = Stage::Rows,
                    Some(Action::Down) => *selected = (*selected + 1).min(last),
                    Some(Action::Up) => *selected = selected.saturating_sub(1),
                    Some(Action::PageDown) => *selected = (*selected + 10).min(last),
                    Some(Action::PageUp) => *selected = selected.saturating_sub(10),
                    Some(Action::First) => *selected = 0,
                    Some(Action::Last) => *selected = last,
                    Some(Action::Remove) => match current {
                        _ if read_only => {
                            return Outcome::stay()
                                .say(Level::Error, "read-only mode: removing images is disabled");
                        }
                        Some(img) if !img.containers.is_empty() => {
                            let text = format!(
                                "{} is used by {}: remove those containers first",
                                img.name,
                                img.containers.join(", ")
                            );
                            return Outcome::stay().say(Level::Error, text);
                        }
                        // The question carries the image `d` was pressed on: the removal is
                        // bound to it, whatever a refresh of the list does to the rows meanwhile.
                        Some(img) => {
                            let command = Command::RemoveImage { id: img.id.clone(), name: img.name.clone() };
                            return Outcome::ask(image_prompt(img), command);
                        }
                        None => {}
                    },
                    _ => {}
                }
                Outcome::stay()
            }
        }
    }

    /// What a prune of the selected row removes now, under `prune_until` and the named-volume
    /// choice: the preview, and exactly what `y` removes.
    fn preview_items(&self, prune_until: Option<&str>, now: i64) -> Result<Vec<DiskItem>, String> {
        let usage = self.usage.as_ref().ok_or("no disk usage yet")?;
        let row = usage.category(self.category()).ok_or("the engine did not report this row")?;
        let selected = row.selected(&self.options(prune_until), now).map_err(|e| e.to_string())?;
        Ok(selected.into_iter().cloned().collect())
    }

    fn rows_key(
        &mut self,
        action: Option<Action>,
        read_only: bool,
        prune_until: Option<&str>,
        now: i64,
    ) -> Outcome {
        let last = Category::ALL.len() - 1;
        match action {
            Some(Action::Back) => return Outcome::close(),
            Some(Action::Down) => self.row = (self.row + 1).min(last),
            Some(Action::Up) => self.row = self.row.saturating_sub(1),
            Some(Action::First) => self.row = 0,
            Some(Action::Last) => self.row = last,
            Some(Action::NamedVolumes) => {
                self.include_named = !self.include_named;
                let what = if self.include_named { "included: their data will be destroyed" } else { "kept" };
                return Outcome::stay().say(Level::Info, format!("named volumes {what}"));
            }
            Some(Action::Refresh) if self.loading => {
                return Outcome::stay().say(Level::Info, "still waiting for the engine's answer");
            }
            Some(Action::Refresh) => {
                self.loading = true;
                return Outcome::stay().run(Command::DiskUsage);
            }
            Some(Action::Images) => {
                self.stage = Stage::Images { rows: None, selected: 0 };
                if self.images_pending {
                    return Outcome::stay();
                }
                self.images_pending = true;
                return Outcome::stay().run(Command::ListImages);
            }
            Some(Action::Preview) if self.usage.is_some() => {
                let category = self.category();
                let items = self.preview_items(prune_until, now);
                let bytes = self.figures(category, prune_until, now).map_or(0, |f| f.1);
                let say = |level, text: String| Some(StatusLine { text, level });
                let refused = match &items {
                    _ if read_only => say(Level::Error, "read-only mode: pruning is disabled".into()),
                    Err(e) => say(Level::Error, e.clone()),
                    Ok(list) if list.is_empty() => {
                        say(Level::Info, format!("Nothing to remove: no {}", category.label()))
                    }
                    Ok(_) => None,
                };
                let command = Command::Prune { category, items: items.clone().unwrap_or_default() };
                let prompt = format!("Prune {}?", category.label());
                let shows = Shows::Prune { category, items, bytes, scroll: 0 };
                return Outcome::push(Mode::Confirm(Confirm { prompt, command, then: None, refused, shows }));
            }
            _ => {}
        }
        Outcome::stay()
    }
}

pub fn on_usage(app: &mut AppState, res: Result<Box<DiskUsage>, DiskError>) {
    if let Mode::Disk(v) = &mut app.mode {
        v.loading = false;
        match res {
            Ok(u) => {
                v.usage = Some(u);
                v.error = None;
            }
            Err(e) => v.error = Some(e.to_string()),
        }
    }
}

/// A yes to a prune: the disk view under the question says it is pruning until the answer.
pub fn on_confirmed(back: &mut [Mode], out: &Outcome) {
    let pruning = out.commands.iter().find_map(|c| match c {
        Command::Prune { category, .. } => Some(*category),
        _ => None,
    });
    if let (Some(category), Some(Mode::Disk(v))) = (pruning, back.last_mut()) {
        v.stage = Stage::Pruning(category);
    }
}

pub fn on_pruned(app: &mut AppState, res: Result<PruneReport, DiskError>) -> Vec<Command> {
    let text = match &res {
        Ok(r) => r.summary(),
        Err(e) => e.to_string(),
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

pub fn on_images(app: &mut AppState, res: Result<Vec<ImageRow>, DiskError>) {
    if let Mode::Disk(v) = &mut app.mode {
        v.images_pending = false;
    }
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
                app.set_status(Level::Error, e.to_string());
            }
        }
    }
}

pub fn on_image_removed(app: &mut AppState, name: &str, res: Result<u64, DiskError>) -> Vec<Command> {
    match res {
        Ok(bytes) => {
            app.set_status(Level::Info, format!("removed image {name}, reclaimed {}", human_size(bytes)))
        }
        Err(e) => app.set_status(Level::Error, format!("remove image {name}: {e}")),
    }
    if let Mode::Disk(v) = &mut app.mode
        && matches!(v.stage, Stage::Images { .. })
    {
        let mut out = Vec::new();
        if !std::mem::replace(&mut v.images_pending, true) {
            out.push(Command::ListImages);
        }
        if !std::mem::replace(&mut v.loading, true) {
            out.push(Command::DiskUsage);
        }
        return out;
    }
    Vec::new()
}

/// The warning the header shows when Docker's filesystem runs low, or None.
pub fn fs_warning(dir: &str, fs: &FsUsage, floor: u64) -> Option<String> {
    let used = fs.used_percent()?;
    // Say which limit was hit: the two call for different amounts of cleaning.
    let why = match (used > 85.0, fs.free < floor) {
        (_, true) => format!("below the {} floor", human_size(floor)),
        (true, false) => "over 85% full".to_string(),
        (false, false) => return None,
    };
    Some(format!("⚠ {dir}: {used:.0}% full, {} free ({why})", human_size(fs.free)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_when_full_or_below_the_floor() {
        let gb = 1_000_000_000;
        let fs = |total, free| FsUsage { total, free, used: total - free };
        assert_eq!(fs_warning("/var/lib/docker", &fs(100 * gb, 50 * gb), 10 * gb), None);
        let w = fs_warning("/var/lib/docker", &fs(100 * gb, 10 * gb), 5 * gb).unwrap_or_default();
        assert!(w.contains("90% full") && w.contains("10 GB free"), "{w}");
        assert!(fs_warning("/d", &fs(1000 * gb, 400 * gb), 500 * gb).is_some());
        // Space neither used nor available (reserved, or a virtual disk's): df says 22%, so do we.
        let odd = FsUsage { total: 270 * gb, free: 77 * gb, used: 21 * gb };
        assert_eq!(odd.used_percent().map(|p| p.round()), Some(21.0));
        assert_eq!(fs_warning("/var/lib/docker", &odd, 20 * gb), None);
    }
}
