//! `/system/df` in both of the engine's shapes, and which of its records each row would prune.
//!
//! Engines before API 1.52 answer `LayersSize, Images, Containers, Volumes, BuildCache`. 1.52
//! adds `ImageUsage, ContainerUsage, VolumeUsage, BuildCacheUsage` (each `TotalCount,
//! ActiveCount, TotalSize, Reclaimable` and, with `verbose=1`, `Items`) and keeps the old fields
//! unless `verbose` is set; 1.53 drops them. The records inside are the same in both shapes.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use super::DiskError;
use super::model::{Category, CategoryUsage, DiskItem, VolumeKind, short_id};
use crate::docker::convert::parse_time;
use crate::docker::{ApiVersion, ContainerState};

/// Set on volumes that engines from 23.0 create without a name.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct Answer {
    layers_size: Option<i64>,
    images: Option<Vec<DfImage>>,
    containers: Option<Vec<DfContainer>>,
    volumes: Option<Vec<DfVolume>>,
    build_cache: Option<Vec<DfCache>>,
    image_usage: Option<Section<DfImage>>,
    container_usage: Option<Section<DfContainer>>,
    volume_usage: Option<Section<DfVolume>>,
    build_cache_usage: Option<Section<DfCache>>,
}

#[derive(Debug, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct Section<T> {
    total_size: Option<i64>,
    /// Left out by the engine when empty, and without `verbose=1`.
    items: Option<Vec<T>>,
}

impl<T> Default for Section<T> {
    fn default() -> Self {
        Section { total_size: None, items: None }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DfImage {
    pub id: String,
    pub parent_id: Option<String>,
    pub repo_tags: Option<Vec<String>>,
    pub repo_digests: Option<Vec<String>>,
    pub created: i64,
    pub size: i64,
    /// -1 when not computed.
    pub shared_size: i64,
    /// Containers created from it, running or not; -1 when not computed.
    pub containers: i64,
    pub labels: Option<HashMap<String, String>>,
}

impl DfImage {
    /// Real tags: engines before 1.52 list an untagged image as `<none>:<none>`.
    pub fn tags(&self) -> Vec<String> {
        self.repo_tags.iter().flatten().filter(|t| t.as_str() != "<none>:<none>").cloned().collect()
    }

    /// The bytes only this image holds.
    pub fn unique_size(&self) -> u64 {
        let shared = if self.shared_size > 0 { self.shared_size } else { 0 };
        (self.size - shared).max(0) as u64
    }

    pub fn display_name(&self) -> String {
        self.tags().into_iter().next().unwrap_or_else(|| short_id(&self.id))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DfContainer {
    pub id: String,
    pub names: Option<Vec<String>>,
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    pub created: i64,
    /// Left out when the writable layer is empty.
    pub size_rw: Option<i64>,
    pub state: ContainerState,
}

impl DfContainer {
    pub fn name(&self) -> String {
        self.names
            .iter()
            .flatten()
            .next()
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_else(|| short_id(&self.id))
    }

    /// What `/containers/prune` removes: anything not running, paused or restarting.
    fn is_stopped(&self) -> bool {
        self.state.is_stopped()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DfVolume {
    pub name: String,
    pub created_at: Option<String>,
    pub labels: Option<HashMap<String, String>>,
    pub usage_data: Option<UsageData>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct UsageData {
    /// -1 when the driver cannot tell.
    pub size: i64,
    /// Containers (running or not) that mount it; -1 when unknown.
    pub ref_count: i64,
}

impl DfVolume {
    pub fn size(&self) -> u64 {
        self.usage_data.as_ref().map_or(0, |u| u.size.max(0) as u64)
    }

    /// Unknown counts are treated as in use: never offer to delete what we cannot vouch for.
    pub fn is_unused(&self) -> bool {
        self.usage_data.as_ref().is_some_and(|u| u.ref_count == 0)
    }

    /// Whether a volume is anonymous, which decides whether a default prune takes it.
    ///
    /// Engines from 23.0 (API 1.42) label anonymous volumes, and only that label counts there:
    /// a volume someone named with 64 hex digits is still theirs. Older engines mark nothing;
    /// there a volume counts as anonymous only when its name is 64 hex digits and it carries no
    /// label (compose and `docker volume create --label` are deliberate) other than `scope`, the
    /// label a prune was asked to limit itself to. Unknown API versions get the older rule.
    pub fn kind(&self, api: Option<ApiVersion>, scope: Option<&str>) -> VolumeKind {
        let labels = self.labels.as_ref();
        if labels.is_some_and(|l| l.contains_key(ANONYMOUS_LABEL)) {
            return VolumeKind::Anonymous;
        }
        if api.is_some_and(|v| v.at_least(42)) {
            return VolumeKind::Named;
        }
        let scope_key = scope.map(|s| s.split_once('=').map_or(s, |(k, _)| k));
        let unlabelled = labels.is_none_or(|l| l.keys().all(|k| Some(k.as_str()) == scope_key));
        let random_name = self.name.len() == 64 && self.name.bytes().all(|b| b.is_ascii_hexdigit());
        if random_name && unlabelled { VolumeKind::Anonymous } else { VolumeKind::Named }
    }

    pub fn created(&self) -> Option<i64> {
        parse_time(self.created_at.as_deref())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DfCache {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Type")]
    pub kind: String,
    pub description: String,
    pub in_use: bool,
    /// Its content also belongs to an image, so removing it frees nothing.
    pub shared: bool,
    pub size: i64,
    pub created_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// The records of one `/system/df` answer.
#[derive(Debug, Clone, Default)]
pub struct DfData {
    /// All image layers on disk, each counted once.
    pub layers_size: u64,
    pub images: Vec<DfImage>,
    pub containers: Vec<DfContainer>,
    pub volumes: Vec<DfVolume>,
    pub build_cache: Vec<DfCache>,
    /// The API version the answer was asked in: it decides which volumes are anonymous.
    pub api: Option<ApiVersion>,
}

impl DfData {
    pub fn from_json(v: &Value) -> Result<DfData, DiskError> {
        // With `type=` (API 1.42+) only the asked-for sections come back.
        let known = [
            "LayersSize",
            "Images",
            "Containers",
            "Volumes",
            "BuildCache",
            "ImageUsage",
            "ContainerUsage",
            "VolumeUsage",
            "BuildCacheUsage",
        ];
        if !v.as_object().is_some_and(|o| known.iter().any(|k| o.contains_key(*k))) {
            return Err(DiskError::BadAnswer("none of its known sections are in it".into()));
        }
        let a = Answer::deserialize(v).map_err(|e| DiskError::BadAnswer(e.to_string()))?;
        fn pick<T>(new: Option<Section<T>>, legacy: Option<Vec<T>>) -> Vec<T> {
            new.and_then(|s| s.items).or(legacy).unwrap_or_default()
        }
        let layers = a.image_usage.as_ref().and_then(|s| s.total_size).or(a.layers_size).unwrap_or(0);
        Ok(DfData {
            layers_size: layers.max(0) as u64,
            images: pick(a.image_usage, a.images),
            containers: pick(a.container_usage, a.containers),
            volumes: pick(a.volume_usage, a.volumes),
            build_cache: pick(a.build_cache_usage, a.build_cache),
            api: None,
        })
    }

    /// Image ids some container (running or not) was created from. Both the per-image count and
    /// the container list say so; either is enough to keep an image.
    pub fn used_images(&self) -> HashSet<&str> {
        let counted = self.images.iter().filter(|i| i.containers > 0).map(|i| i.id.as_str());
        counted.chain(self.containers.iter().map(|c| c.image_id.as_str())).collect()
    }

    /// Images the "all unused" prune would remove: no container uses them, and an untagged one
    /// must not be the parent of another image (the engine keeps those intermediate layers).
    pub fn unused_images(&self) -> Vec<&DfImage> {
        let used = self.used_images();
        let parents: HashSet<&str> = self.images.iter().filter_map(|i| i.parent_id.as_deref()).collect();
        self.images
            .iter()
            .filter(|i| !used.contains(i.id.as_str()))
            .filter(|i| !i.tags().is_empty() || !parents.contains(i.id.as_str()))
            .collect()
    }

    /// Bytes freed by removing `gone`, as well as the per-image figures allow: at least each
    /// image's unique layers, and at least everything the kept images cannot be holding (which
    /// counts base layers that only the removed images share).
    pub fn images_freed(&self, gone: &HashSet<&str>) -> u64 {
        let unique: u64 =
            self.images.iter().filter(|i| gone.contains(i.id.as_str())).map(|i| i.unique_size()).sum();
        let kept: u64 =
            self.images.iter().filter(|i| !gone.contains(i.id.as_str())).map(|i| i.size.max(0) as u64).sum();
        unique.max(self.layers_size.saturating_sub(kept))
    }

    pub fn categories(&self) -> Vec<CategoryUsage> {
        Category::ALL.iter().map(|c| self.category(*c)).collect()
    }

    fn category(&self, category: Category) -> CategoryUsage {
        match category {
            Category::StoppedContainers => self.containers_row(),
            Category::DanglingImages | Category::UnusedImages => self.images_row(category),
            Category::BuildCache => self.cache_row(),
            Category::Volumes => self.volumes_row(),
        }
    }

    fn containers_row(&self) -> CategoryUsage {
        let rw = |c: &DfContainer| c.size_rw.unwrap_or(0).max(0) as u64;
        let items: Vec<DiskItem> = self
            .containers
            .iter()
            .filter(|c| c.is_stopped())
            .map(|c| DiskItem {
                id: c.id.clone(),
                name: c.name(),
                size: rw(c),
                created: Some(c.created),
                detail: c.image.clone(),
                volume: None,
            })
            .collect();
        row(Category::StoppedContainers, self.containers.len(), self.containers.iter().map(rw).sum(), items)
    }

    fn images_row(&self, category: Category) -> CategoryUsage {
        let unused = self.unused_images();
        let chosen: Vec<&DfImage> = match category {
            Category::DanglingImages => unused.into_iter().filter(|i| i.tags().is_empty()).collect(),
            _ => unused,
        };
        let gone: HashSet<&str> = chosen.iter().map(|i| i.id.as_str()).collect();
        let items = chosen
            .iter()
            .map(|i| {
                let tags = i.tags();
                DiskItem {
                    id: i.id.clone(),
                    name: i.display_name(),
                    size: i.unique_size(),
                    created: Some(i.created),
                    detail: if tags.is_empty() { "untagged".into() } else { tags[1..].join(", ") },
                    volume: None,
                }
            })
            .collect();
        let mut r = row(category, self.images.len(), self.layers_size, items);
        r.reclaimable_bytes = self.images_freed(&gone);
        r
    }

    fn cache_row(&self) -> CategoryUsage {
        let size = |c: &DfCache| c.size.max(0) as u64;
        let items: Vec<DiskItem> = self
            .build_cache
            .iter()
            .filter(|c| !c.in_use)
            .map(|c| DiskItem {
                id: c.id.clone(),
                name: if c.description.is_empty() { short_id(&c.id) } else { c.description.clone() },
                size: size(c),
                created: parse_time(c.last_used_at.as_deref())
                    .or_else(|| parse_time(c.created_at.as_deref())),
                detail: if c.shared { format!("{}, shared", c.kind) } else { c.kind.clone() },
                volume: None,
            })
            .collect();
        let private = |c: &&DfCache| !c.shared;
        let total = self.build_cache.iter().filter(private).map(size).sum();
        let mut r = row(Category::BuildCache, self.build_cache.len(), total, items);
        // Shared records free nothing: an image still holds their content.
        r.reclaimable_bytes = self.build_cache.iter().filter(private).filter(|c| !c.in_use).map(size).sum();
        r
    }

    fn volumes_row(&self) -> CategoryUsage {
        let items: Vec<DiskItem> = self
            .volumes
            .iter()
            .filter(|v| v.is_unused())
            .map(|v| {
                let kind = v.kind(self.api, None);
                DiskItem {
                    id: v.name.clone(),
                    name: if kind == VolumeKind::Anonymous { short_id(&v.name) } else { v.name.clone() },
                    size: v.size(),
                    created: v.created(),
                    detail: kind.label().into(),
                    volume: Some(kind),
                }
            })
            .collect();
        let total = self.volumes.iter().map(DfVolume::size).sum();
        let mut r = row(Category::Volumes, self.volumes.len(), total, items);
        r.reclaimable_bytes =
            r.items.iter().filter(|i| i.volume == Some(VolumeKind::Anonymous)).map(|i| i.size).sum();
        r
    }
}

/// A row whose reclaimable bytes are its items' sizes, items largest first.
fn row(category: Category, count: usize, total_bytes: u64, mut items: Vec<DiskItem>) -> CategoryUsage {
    items.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    let reclaimable_bytes = items.iter().map(|i| i.size).sum();
    CategoryUsage { category, count, total_bytes, reclaimable_bytes, items }
}

/// One row per `Category::ALL` from a `/system/df` answer of any API version.
pub fn parse_df(v: &Value) -> Result<Vec<CategoryUsage>, DiskError> {
    Ok(DfData::from_json(v)?.categories())
}
