//! One prune per row, through the engine's prune endpoints wherever they do exactly what the row
//! promises; one by one where they would not.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bollard::query_parameters::{
    ListImagesOptions, PruneBuildOptions, PruneContainersOptions, PruneImagesOptions, PruneVolumesOptions,
    RemoveImageOptions, RemoveVolumeOptions,
};

use super::df::{DfData, DfImage};
use super::images::{container_users, list_containers};
use super::model::{Category, PruneOptions, PruneReport, VolumeKind, short_id};
use super::{DiskError, cutoff, patiently, usage};
use crate::clock::unix_now as now;
use crate::docker::ApiVersion;

/// Deleting hundreds of gigabytes of layers takes a while on a busy disk.
const PRUNE_TIMEOUT: Duration = Duration::from_secs(600);

type Filters = HashMap<String, Vec<String>>;

/// Removes what `category` lists, within `opts`. `api_version` is the negotiated one.
///
/// How each row is done, and why:
/// - stopped containers, dangling images, unused images, build cache: the engine's prune
///   (`SpaceReclaimed` is the engine's). Build cache uses `all=true` so every record not in use
///   goes, as the row lists them; its `until` is sent as a duration, the only form it accepts.
/// - unused images, when some image a container uses has several tags (or references in several
///   repositories): the engine's "all unused" prune would untag it, since only the last
///   reference is protected. Then the unused images are removed one by one by tag instead, and
///   the bytes are estimated from `/system/df` as in `usage`.
/// - volumes with `include_named_volumes` and no `until`: the engine's prune, with `all=true`
///   from API 1.42 on (before 1.42 it removes named volumes anyway).
/// - volumes otherwise: one by one from the `/system/df` list, sizes summed from it. Before API
///   1.42 the engine's prune would take named volumes too; from 1.42 it only takes volumes
///   labelled anonymous, which leaves out those created by engines before 23.0; and it has no
///   `until` filter at all.
pub async fn prune(
    docker: &bollard::Docker,
    category: Category,
    opts: &PruneOptions,
    api_version: ApiVersion,
) -> Result<PruneReport, DiskError> {
    let now = now();
    let cutoff = opts.until.as_deref().map(|u| cutoff(u, now)).transpose()?;
    let docker = docker.clone().with_timeout(PRUNE_TIMEOUT);
    match category {
        Category::StoppedContainers => containers(&docker, opts, cutoff).await,
        Category::DanglingImages | Category::UnusedImages => images(&docker, category, opts, cutoff).await,
        Category::BuildCache => build_cache(&docker, opts, cutoff, now).await,
        Category::Volumes => volumes(&docker, opts, cutoff, api_version).await,
    }
}

/// The engine's `until` takes Unix seconds as well as durations, so every row compares against
/// the same instant.
fn filters(opts: &PruneOptions, cutoff: Option<i64>) -> Filters {
    let mut f = Filters::new();
    if let Some(c) = cutoff {
        f.insert("until".into(), vec![c.to_string()]);
    }
    if let Some(l) = &opts.label {
        f.insert("label".into(), vec![l.clone()]);
    }
    f
}

/// `label` filter semantics: `key` or `key=value`.
fn label_matches(labels: Option<&HashMap<String, String>>, filter: Option<&str>) -> bool {
    let Some(filter) = filter else { return true };
    let Some(labels) = labels else { return false };
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(filter),
    }
}

fn in_scope(
    created: Option<i64>,
    labels: Option<&HashMap<String, String>>,
    opts: &PruneOptions,
    cutoff: Option<i64>,
) -> bool {
    let old_enough = cutoff.is_none_or(|c| created.is_some_and(|t| t <= c));
    old_enough && label_matches(labels, opts.label.as_deref())
}

fn bytes(n: Option<i64>) -> u64 {
    n.unwrap_or(0).max(0) as u64
}

async fn containers(
    docker: &bollard::Docker,
    opts: &PruneOptions,
    cutoff: Option<i64>,
) -> Result<PruneReport, DiskError> {
    // The prune answers with ids only.
    let names: HashMap<String, String> = list_containers(docker)
        .await?
        .into_iter()
        .filter_map(|c| Some((c.id?, c.names?.first()?.trim_start_matches('/').to_string())))
        .collect();
    let res = patiently(|| async {
        let f = Some(filters(opts, cutoff));
        docker
            .prune_containers(Some(PruneContainersOptions { filters: f }))
            .await
            .map_err(|e| DiskError::from_engine(e, "stopped containers"))
    })
    .await?;
    let removed = res
        .containers_deleted
        .unwrap_or_default()
        .iter()
        .map(|id| names.get(id).cloned().unwrap_or_else(|| short_id(id)))
        .collect();
    Ok(PruneReport {
        category: Category::StoppedContainers,
        removed,
        reclaimed: bytes(res.space_reclaimed),
        skipped: Vec::new(),
    })
}

async fn images(
    docker: &bollard::Docker,
    category: Category,
    opts: &PruneOptions,
    cutoff: Option<i64>,
) -> Result<PruneReport, DiskError> {
    let list_opts = ListImagesOptions { all: true, ..Default::default() };
    let (listing, users) = tokio::try_join!(
        async { docker.list_images(Some(list_opts)).await.map_err(|e| DiskError::from_engine(e, "images")) },
        container_users(docker),
    )?;
    if category == Category::UnusedImages {
        let at_risk = listing.iter().find(|i| {
            users.contains_key(&i.id)
                && several_references(&i.repo_tags, &i.repo_digests)
                && in_scope(Some(i.created), Some(&i.labels), opts, cutoff)
        });
        if let Some(image) = at_risk {
            tracing::info!(image = %image.id, "pruning unused images one by one: a prune would untag a used image");
            return unused_one_by_one(docker, opts, cutoff).await;
        }
    }
    let names: HashMap<&str, String> = listing
        .iter()
        .map(|i| {
            let tag = i.repo_tags.iter().find(|t| t.as_str() != "<none>:<none>");
            (i.id.as_str(), tag.cloned().unwrap_or_else(|| short_id(&i.id)))
        })
        .collect();
    let mut f = filters(opts, cutoff);
    f.insert("dangling".into(), vec![(category == Category::DanglingImages).to_string()]);
    let res = patiently(|| async {
        let f = Some(f.clone());
        docker
            .prune_images(Some(PruneImagesOptions { filters: f }))
            .await
            .map_err(|e| DiskError::from_engine(e, category.label()))
    })
    .await?;
    // `Deleted` lists image ids and the ids of their layers; only the former name anything.
    let removed = res
        .images_deleted
        .unwrap_or_default()
        .iter()
        .filter_map(|d| names.get(d.deleted.as_deref()?).cloned())
        .collect();
    Ok(PruneReport { category, removed, reclaimed: bytes(res.space_reclaimed), skipped: Vec::new() })
}

/// Whether the engine would remove one of this image's references while keeping the image (it
/// only refuses to drop the last reference of an image in use): more than one tag, or
/// references in more than one repository.
fn several_references(tags: &[String], digests: &[String]) -> bool {
    let tags: Vec<&String> = tags.iter().filter(|t| !t.starts_with("<none>")).collect();
    let repo = |r: &str| -> String {
        match r.split_once('@') {
            Some((repo, _)) => repo.to_string(),
            None => match r.rsplit_once(':') {
                Some((repo, tag)) if !tag.contains('/') => repo.to_string(),
                _ => r.to_string(),
            },
        }
    };
    let repos: HashSet<String> = tags
        .iter()
        .map(|t| t.as_str())
        .chain(digests.iter().map(String::as_str))
        .filter(|r| !r.starts_with("<none>"))
        .map(repo)
        .collect();
    tags.len() > 1 || repos.len() > 1
}

/// The "all unused" prune, image by image and tag by tag, never forced.
async fn unused_one_by_one(
    docker: &bollard::Docker,
    opts: &PruneOptions,
    cutoff: Option<i64>,
) -> Result<PruneReport, DiskError> {
    let df: DfData = usage::fetch(docker, &["image", "container"]).await?;
    let candidates: Vec<&DfImage> = df
        .unused_images()
        .into_iter()
        .filter(|i| in_scope(Some(i.created), i.labels.as_ref(), opts, cutoff))
        .collect();
    let mut gone: HashSet<&str> = HashSet::new();
    let mut removed = Vec::new();
    for image in candidates {
        let tags = image.tags();
        let refs = if tags.is_empty() { vec![image.id.clone()] } else { tags };
        for r in refs {
            let rm = RemoveImageOptions { force: false, noprune: false, ..Default::default() };
            match docker.remove_image(&r, Some(rm), None).await {
                Ok(items) => {
                    if items.iter().any(|d| d.deleted.as_deref() == Some(image.id.as_str())) {
                        gone.insert(image.id.as_str());
                        removed.push(image.display_name());
                    }
                }
                Err(e) => match DiskError::from_engine(e, &r) {
                    // Taken into use, or gone, since the listing: leave it.
                    DiskError::Conflict(_) | DiskError::ImageInUse { .. } | DiskError::NotFound(_) => break,
                    other => return Err(other),
                },
            }
        }
    }
    Ok(PruneReport {
        category: Category::UnusedImages,
        removed,
        reclaimed: df.images_freed(&gone),
        skipped: Vec::new(),
    })
}

async fn build_cache(
    docker: &bollard::Docker,
    opts: &PruneOptions,
    cutoff: Option<i64>,
    now: i64,
) -> Result<PruneReport, DiskError> {
    // Unknown filters are not rejected by every engine: sent on, a label would prune everything.
    if opts.label.is_some() {
        return Err(DiskError::LabelUnsupported);
    }
    let mut f = Filters::new();
    if let Some(c) = cutoff {
        f.insert("until".into(), vec![format!("{}s", (now - c).max(0))]);
    }
    let res = patiently(|| async {
        let build_opts =
            PruneBuildOptions { all: Some(true), filters: Some(f.clone()), ..Default::default() };
        docker.prune_build(Some(build_opts)).await.map_err(|e| DiskError::from_engine(e, "build cache"))
    })
    .await?;
    let removed = res.caches_deleted.unwrap_or_default().iter().map(|id| short_id(id)).collect();
    Ok(PruneReport {
        category: Category::BuildCache,
        removed,
        reclaimed: bytes(res.space_reclaimed),
        skipped: Vec::new(),
    })
}

fn volume_name(name: &str) -> String {
    if name.len() == 64 { short_id(name) } else { name.to_string() }
}

async fn volumes(
    docker: &bollard::Docker,
    opts: &PruneOptions,
    cutoff: Option<i64>,
    api_version: ApiVersion,
) -> Result<PruneReport, DiskError> {
    if opts.include_named_volumes && cutoff.is_none() {
        let mut f = filters(opts, None);
        if api_version.at_least(42) {
            f.insert("all".into(), vec!["true".into()]);
        }
        let res = patiently(|| async {
            let f = Some(f.clone());
            docker
                .prune_volumes(Some(PruneVolumesOptions { filters: f }))
                .await
                .map_err(|e| DiskError::from_engine(e, "unused volumes"))
        })
        .await?;
        let removed = res.volumes_deleted.unwrap_or_default().iter().map(|n| volume_name(n)).collect();
        return Ok(PruneReport {
            category: Category::Volumes,
            removed,
            reclaimed: bytes(res.space_reclaimed),
            skipped: Vec::new(),
        });
    }
    let df = usage::fetch(docker, &["volume"]).await?;
    let mut removed = Vec::new();
    let mut reclaimed = 0;
    let chosen = df.volumes.iter().filter(|v| {
        v.is_unused()
            && (opts.include_named_volumes
                || v.kind(Some(api_version), opts.label.as_deref()) == VolumeKind::Anonymous)
            && in_scope(v.created(), v.labels.as_ref(), opts, cutoff)
    });
    for v in chosen {
        match docker.remove_volume(&v.name, Some(RemoveVolumeOptions { force: false })).await {
            Ok(()) => {
                removed.push(volume_name(&v.name));
                reclaimed += v.size();
            }
            Err(e) => match DiskError::from_engine(e, &v.name) {
                // Mounted or removed since the listing: leave it.
                DiskError::Conflict(_) | DiskError::NotFound(_) => {}
                other => return Err(other),
            },
        }
    }
    Ok(PruneReport { category: Category::Volumes, removed, reclaimed, skipped: Vec::new() })
}
