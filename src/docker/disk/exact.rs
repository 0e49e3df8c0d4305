//! Pruning exactly what a preview showed: each previewed thing is removed by its ID, never
//! forced, and whatever changed since the preview (a container that started again, an image
//! a new container uses, a volume now mounted, something already gone) is skipped and said so.
//! The engine's prune endpoints would take whatever matches at the moment of the prune, which
//! on a shared node includes someone else's container that exited while the preview was open.

use std::collections::HashMap;

use bollard::query_parameters::{
    PruneBuildOptions, RemoveContainerOptions, RemoveImageOptions, RemoveVolumeOptions,
};

use super::images::container_users;
use super::model::{Category, DiskItem, PruneReport};
use super::{DiskError, patiently};

/// Removes `items`, the preview of `category`'s prune, and nothing else.
pub async fn prune_items(
    docker: &bollard::Docker,
    category: Category,
    items: &[DiskItem],
) -> Result<PruneReport, DiskError> {
    let mut report = PruneReport { category, removed: Vec::new(), reclaimed: 0, skipped: Vec::new() };
    // Images in use now, by any container: those stay, whatever the preview said.
    let users = match category {
        Category::DanglingImages | Category::UnusedImages => container_users(docker).await?,
        _ => HashMap::new(),
    };
    for item in items {
        let outcome = match category {
            Category::StoppedContainers => container(docker, item).await,
            Category::DanglingImages | Category::UnusedImages => match users.get(&item.id) {
                Some(names) => Outcome::Skipped(format!("now used by {}", names.join(", "))),
                None => image(docker, item).await,
            },
            Category::Volumes => volume(docker, item).await,
            Category::BuildCache => cache_record(docker, item).await,
        };
        match outcome {
            Outcome::Removed(bytes) => {
                report.removed.push(item.name.clone());
                report.reclaimed += bytes;
            }
            Outcome::Skipped(why) => report.skipped.push(format!("{} ({why})", item.name)),
            Outcome::Failed(e) => return Err(e),
        }
    }
    Ok(report)
}

enum Outcome {
    /// Gone, freeing this many bytes.
    Removed(u64),
    /// Changed since the preview: left alone, for this reason.
    Skipped(String),
    Failed(DiskError),
}

/// Refusals that mean "this changed since the preview", as opposed to the engine failing.
fn changed(e: DiskError) -> Outcome {
    match e {
        DiskError::NotFound(_) => Outcome::Skipped("already gone".into()),
        DiskError::ImageInUse { containers, .. } => {
            Outcome::Skipped(format!("now used by {}", containers.join(", ")))
        }
        DiskError::Conflict(m) => Outcome::Skipped(m),
        other => Outcome::Failed(other),
    }
}

async fn container(docker: &bollard::Docker, item: &DiskItem) -> Outcome {
    // Not forced: the engine refuses a container that runs again.
    let opts = RemoveContainerOptions { force: false, v: false, link: false };
    match docker.remove_container(&item.id, Some(opts)).await {
        Ok(()) => Outcome::Removed(item.size),
        Err(e) => match DiskError::from_engine(e, &item.name) {
            DiskError::Conflict(m) if m.contains("running") => Outcome::Skipped("running again".into()),
            other => changed(other),
        },
    }
}

async fn image(docker: &bollard::Docker, item: &DiskItem) -> Outcome {
    // By each tag, then the ID: an image with several tags cannot go by ID without force.
    let tags = match docker.inspect_image(&item.id).await {
        Ok(i) => i.repo_tags.unwrap_or_default(),
        Err(e) => return changed(DiskError::from_engine(e, &item.name)),
    };
    let refs: Vec<&str> = tags.iter().map(String::as_str).filter(|t| *t != "<none>:<none>").collect();
    let refs = if refs.is_empty() { vec![item.id.as_str()] } else { refs };
    for r in refs {
        let opts = RemoveImageOptions { force: false, noprune: false, ..Default::default() };
        match docker.remove_image(r, Some(opts), None).await {
            Ok(deleted) if deleted.iter().any(|d| d.deleted.as_deref() == Some(item.id.as_str())) => {
                return Outcome::Removed(item.size);
            }
            Ok(_) => {}
            Err(e) => return changed(DiskError::from_engine(e, &item.name)),
        }
    }
    Outcome::Skipped("still tagged".into())
}

async fn volume(docker: &bollard::Docker, item: &DiskItem) -> Outcome {
    match docker.remove_volume(&item.id, Some(RemoveVolumeOptions { force: false })).await {
        Ok(()) => Outcome::Removed(item.size),
        Err(e) => match DiskError::from_engine(e, &item.name) {
            DiskError::Conflict(_) => Outcome::Skipped("in use now".into()),
            other => changed(other),
        },
    }
}

/// A build cache record has no remove call of its own: a prune filtered by its ID (the engine
/// takes one ID per request, matched as a pattern; full IDs match only themselves).
async fn cache_record(docker: &bollard::Docker, item: &DiskItem) -> Outcome {
    let mut filters = HashMap::new();
    filters.insert("id".to_string(), vec![item.id.clone()]);
    let res = patiently(|| async {
        let opts =
            PruneBuildOptions { all: Some(true), filters: Some(filters.clone()), ..Default::default() };
        docker.prune_build(Some(opts)).await.map_err(|e| DiskError::from_engine(e, "build cache"))
    })
    .await;
    match res {
        Ok(r) => {
            let deleted = r.caches_deleted.unwrap_or_default();
            if deleted.iter().any(|d| *d != item.id) {
                // The engine took more than the one record asked for: stop before it does again.
                return Outcome::Failed(DiskError::Conflict(format!(
                    "the engine pruned {} build cache records for one ID; stopped",
                    deleted.len()
                )));
            }
            if deleted.is_empty() {
                Outcome::Skipped("in use now, or already gone".into())
            } else {
                Outcome::Removed(u64::try_from(r.space_reclaimed.unwrap_or(0)).unwrap_or(0))
            }
        }
        Err(e) => changed(e),
    }
}
