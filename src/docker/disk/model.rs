//! Plain data for the "reclaim disk space" view: what each kind of leftover costs, and what a
//! prune removed. No engine types past this point.

use humansize::{DECIMAL, FormatSizeOptions, format_size};

use super::DiskError;

/// One row of the view, each backed by one engine prune. In the order the view lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    StoppedContainers,
    DanglingImages,
    UnusedImages,
    BuildCache,
    Volumes,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::StoppedContainers,
        Category::DanglingImages,
        Category::UnusedImages,
        Category::BuildCache,
        Category::Volumes,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Category::StoppedContainers => "stopped containers",
            Category::DanglingImages => "dangling images",
            Category::UnusedImages => "unused images",
            Category::BuildCache => "build cache",
            Category::Volumes => "unused volumes",
        }
    }

    /// Singular and plural noun for one removed thing, for summaries.
    fn nouns(self) -> (&'static str, &'static str) {
        match self {
            Category::StoppedContainers => ("container", "containers"),
            Category::DanglingImages | Category::UnusedImages => ("image", "images"),
            Category::BuildCache => ("build cache entry", "build cache entries"),
            Category::Volumes => ("volume", "volumes"),
        }
    }
}

/// One thing a prune of its row would remove.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskItem {
    /// Full engine id (container id, `sha256:` image id, cache record id) or the volume name.
    pub id: String,
    /// What a person recognises: container name, first tag, volume name; a short id otherwise.
    pub name: String,
    /// Bytes removing this item alone frees: a container's writable layer, the layers of an image
    /// that no other image shares, a volume's contents, a cache record.
    pub size: u64,
    /// Unix seconds the engine's `until` filter compares: creation, except for build cache
    /// records, where the engine looks at when the record was last used.
    pub created: Option<i64>,
    /// Container: its image. Image: "untagged", or its other tags. Volume: "anonymous" or
    /// "named". Build cache: the record type, with ", shared" when images share its content.
    pub detail: String,
    /// For volumes: which kind, since that decides whether a prune takes it.
    pub volume: Option<VolumeKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeKind {
    Anonymous,
    /// Created by name: holds data someone meant to keep; pruned only when asked for.
    Named,
}

impl VolumeKind {
    pub fn label(self) -> &'static str {
        match self {
            VolumeKind::Anonymous => "anonymous",
            VolumeKind::Named => "named",
        }
    }
}

/// One row. `count` and `total_bytes` cover everything of that kind on the engine (all
/// containers, all images, all cache records, all volumes), so the view can say "3 of 40".
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryUsage {
    pub category: Category,
    pub count: usize,
    pub total_bytes: u64,
    /// What `prune(category, &PruneOptions::default())` frees. For images an estimate from the
    /// per-image figures (the API has no per-layer ones): the larger of the removed images'
    /// unique layers and the engine's layer total less everything the kept images could hold,
    /// so base layers shared only among removed images still count.
    pub reclaimable_bytes: u64,
    /// Largest first: everything the widest prune of this row removes. `UnusedImages` includes
    /// the dangling images (the engine's "all unused" prune removes them too); `Volumes` lists
    /// named volumes as well, which only go with `include_named_volumes` (`detail` says which).
    pub items: Vec<DiskItem>,
}

impl CategoryUsage {
    /// The items a prune with `opts` would remove, judged by `until` and, for volumes, by
    /// `include_named_volumes`. A label filter is not visible here: the view should say so.
    pub fn selected(&self, opts: &PruneOptions, now: i64) -> Result<Vec<&DiskItem>, DiskError> {
        let cutoff = opts.until.as_deref().map(|u| super::cutoff(u, now)).transpose()?;
        Ok(self
            .items
            .iter()
            .filter(|i| cutoff.is_none_or(|c| i.created.is_some_and(|t| t <= c)))
            .filter(|i| opts.include_named_volumes || i.volume != Some(VolumeKind::Named))
            .collect())
    }
}

/// Size of the filesystem that holds the engine's data root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsUsage {
    pub total: u64,
    /// Bytes available to unprivileged users, as `df` shows them.
    pub free: u64,
    /// Bytes in use. Not `total - free`: blocks reserved for root (or, on some virtual disks,
    /// most of the size) are neither.
    pub used: u64,
}

impl FsUsage {
    /// Percent full as `df` counts it, of what is usable: used / (used + available).
    pub fn used_percent(&self) -> Option<f64> {
        let usable = self.used.saturating_add(self.free);
        (usable > 0).then(|| self.used as f64 * 100.0 / usable as f64)
    }

    /// "230 GB used, 40 GB free, 0.5 GB reserved of 270.6 GB (85% full)": used, free and the
    /// blocks that are neither, so the figures add up (free alone beside the size and a percent
    /// of the usable part read as a contradiction).
    pub fn describe(&self) -> String {
        self.phrases().join(" ")
    }

    /// `describe`'s text in the phrases a narrow pane may break it into: `["230 GB used,",
    /// "40 GB free,", "0.5 GB reserved", "of 270.6 GB (85% full)"]`.
    pub fn phrases(&self) -> Vec<String> {
        let h = human_size;
        let reserved = self.total.saturating_sub(self.used.saturating_add(self.free));
        let full = self.used_percent().map_or_else(String::new, |p| format!(" ({p:.0}% full)"));
        let mut out = vec![format!("{} used,", h(self.used))];
        if reserved > 0 {
            out.push(format!("{} free,", h(self.free)));
            out.push(format!("{} reserved", h(reserved)));
        } else {
            out.push(format!("{} free", h(self.free)));
        }
        out.push(format!("of {}{full}", h(self.total)));
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiskUsage {
    /// One per `Category::ALL`, in that order.
    pub categories: Vec<CategoryUsage>,
    /// The engine's `DockerRootDir`, when `/info` answered.
    pub root_dir: Option<String>,
    /// Only for a local engine: a remote engine's root is not our filesystem.
    pub fs: Option<FsUsage>,
}

impl DiskUsage {
    pub fn category(&self, category: Category) -> Option<&CategoryUsage> {
        self.categories.iter().find(|c| c.category == category)
    }

    /// What pruning every row with default options frees. The dangling images are part of the
    /// unused images, so that row is left out of the sum.
    pub fn reclaimable_total(&self) -> u64 {
        self.categories
            .iter()
            .filter(|c| c.category != Category::DanglingImages)
            .map(|c| c.reclaimable_bytes)
            .sum()
    }
}

/// How far a prune reaches. The default removes everything its row lists except named volumes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneOptions {
    /// Only things older than this: a duration before now ("24h", "7d", "90m"), an RFC 3339
    /// time, or Unix seconds. Images compare their build time, not when they were pulled.
    pub until: Option<String>,
    pub include_named_volumes: bool,
    /// Only things carrying this label, `key` or `key=value` (e.g. one project's leftovers).
    /// Build cache records have no labels: a prune of that row with a label is refused.
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PruneReport {
    pub category: Category,
    /// Names where known (container names, image tags, volume names), short ids otherwise.
    pub removed: Vec<String>,
    /// Bytes freed, as the engine reported them (summed from `/system/df` sizes where gpudock
    /// removed things one by one, see `prune`).
    pub reclaimed: u64,
    /// Previewed things left alone because they changed since ("name (why)").
    pub skipped: Vec<String>,
}

impl PruneReport {
    /// "Reclaimed 12.4 GB — 3 containers", or "Nothing to remove: no unused volumes".
    pub fn summary(&self) -> String {
        if self.removed.is_empty() && self.reclaimed == 0 && self.skipped.is_empty() {
            return format!("Nothing to remove: no {}", self.category.label());
        }
        let (one, many) = self.category.nouns();
        let n = self.removed.len();
        let mut text =
            format!("Reclaimed {} — {n} {}", human_size(self.reclaimed), if n == 1 { one } else { many });
        if !self.skipped.is_empty() {
            text.push_str(&format!("; left alone, changed since the preview: {}", self.skipped.join(", ")));
        }
        text
    }
}

/// One image for the image list, with the containers that keep it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRow {
    /// `sha256:…`
    pub id: String,
    /// First tag, or the short id of an untagged image.
    pub name: String,
    pub tags: Vec<String>,
    /// All its layers, shared ones included.
    pub size: u64,
    /// Bytes shared with other images; engines before API 1.42 do not say.
    pub shared_size: Option<u64>,
    pub created: i64,
    /// Names of the containers (running or not) created from it; removal is refused while any
    /// remain.
    pub containers: Vec<String>,
}

/// Decimal units, like the engine's own reports ("12.4 GB").
pub fn human_size(bytes: u64) -> String {
    format_size(bytes, FormatSizeOptions::from(DECIMAL).decimal_places(1))
}

/// First 12 hex digits of an id, without the `sha256:` prefix, like the docker CLI.
pub fn short_id(id: &str) -> String {
    crate::docker::short_id(id).to_string()
}
