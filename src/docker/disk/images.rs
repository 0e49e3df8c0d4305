//! The image list with the containers that keep each image, and removing one image.

use std::collections::HashMap;

use bollard::models::ContainerSummary;
use bollard::query_parameters::{ListContainersOptions, ListImagesOptions, RemoveImageOptions};

use super::DiskError;
use super::model::{ImageRow, short_id};
use super::usage;

pub(crate) async fn list_containers(docker: &bollard::Docker) -> Result<Vec<ContainerSummary>, DiskError> {
    let opts = ListContainersOptions { all: true, ..Default::default() };
    docker.list_containers(Some(opts)).await.map_err(|e| DiskError::from_engine(e, "containers"))
}

/// Image id → names of the containers (running or not) created from it.
pub(crate) async fn container_users(
    docker: &bollard::Docker,
) -> Result<HashMap<String, Vec<String>>, DiskError> {
    let mut users: HashMap<String, Vec<String>> = HashMap::new();
    for c in list_containers(docker).await? {
        let name = c
            .names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_else(|| c.id.as_deref().map(short_id).unwrap_or_default());
        if let Some(image) = c.image_id {
            users.entry(image).or_default().push(name);
        }
    }
    for names in users.values_mut() {
        names.sort();
    }
    Ok(users)
}

/// Every image (intermediate build layers aside), largest first.
pub async fn images(docker: &bollard::Docker) -> Result<Vec<ImageRow>, DiskError> {
    // `shared-size` needs API 1.42; older engines answer -1.
    let opts = ListImagesOptions { shared_size: true, ..Default::default() };
    let (listing, mut users) = tokio::try_join!(
        async { docker.list_images(Some(opts)).await.map_err(|e| DiskError::from_engine(e, "images")) },
        container_users(docker),
    )?;
    let mut rows: Vec<ImageRow> = listing
        .into_iter()
        .map(|i| {
            let tags: Vec<String> = i.repo_tags.into_iter().filter(|t| t != "<none>:<none>").collect();
            ImageRow {
                name: tags.first().cloned().unwrap_or_else(|| short_id(&i.id)),
                tags,
                size: i.size.max(0) as u64,
                shared_size: u64::try_from(i.shared_size).ok(),
                created: i.created,
                containers: users.remove(&i.id).unwrap_or_default(),
                id: i.id,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    Ok(rows)
}

/// Whether `arg` names the image by (a prefix of) its id rather than by a reference.
fn is_id_prefix(arg: &str, id: &str) -> bool {
    let hex = arg.strip_prefix("sha256:").unwrap_or(arg);
    !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && id.strip_prefix("sha256:").unwrap_or(id).starts_with(hex)
}

/// Removes an image, never forced, and returns the bytes that freed: the layers no other image
/// shares (from `/system/df`; the image's whole size when the engine cannot say), or 0 when
/// `id_or_name` was one of several tags and only that tag went.
///
/// Refused with `DiskError::ImageInUse` while any container, running or not, was created from
/// it. Given an id, all the image's tags go (the engine alone refuses an image "referenced in
/// multiple repositories").
pub async fn remove_image(docker: &bollard::Docker, id_or_name: &str) -> Result<u64, DiskError> {
    let inspect =
        docker.inspect_image(id_or_name).await.map_err(|e| DiskError::from_engine(e, id_or_name))?;
    let Some(id) = inspect.id else {
        return Err(DiskError::NotFound(id_or_name.to_string()));
    };
    if let Some(containers) = container_users(docker).await?.remove(&id) {
        return Err(DiskError::ImageInUse { image: id_or_name.to_string(), containers });
    }
    // Best effort: another disk-usage computation may be running on older engines.
    let unique = match usage::fetch(docker, &["image"]).await {
        Ok(df) => df.images.iter().find(|i| i.id == id).map(|i| i.unique_size()),
        Err(e) => {
            tracing::debug!(error = %e, "no /system/df for the removed image's size");
            None
        }
    };
    let freed = unique.unwrap_or_else(|| inspect.size.unwrap_or(0).max(0) as u64);
    let tags: Vec<String> =
        inspect.repo_tags.unwrap_or_default().into_iter().filter(|t| t != "<none>:<none>").collect();
    let refs =
        if is_id_prefix(id_or_name, &id) && tags.len() > 1 { tags } else { vec![id_or_name.to_string()] };
    let mut deleted = false;
    for r in &refs {
        let opts = RemoveImageOptions { force: false, noprune: false, ..Default::default() };
        let items =
            docker.remove_image(r, Some(opts), None).await.map_err(|e| DiskError::from_engine(e, r))?;
        deleted |= items.iter().any(|d| d.deleted.as_deref() == Some(id.as_str()));
    }
    Ok(if deleted { freed } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_ids_from_names() {
        let id = "sha256:2a7679da4dd962f4399610b36d628323c783cc8dc25c11031a1be0fd2ae3d6cb";
        assert!(is_id_prefix("2a7679da4dd9", id));
        assert!(is_id_prefix("sha256:2a7679da", id));
        assert!(is_id_prefix(id, id));
        assert!(!is_id_prefix("gpudock-test/busybox:latest", id));
        assert!(!is_id_prefix("abc", id));
        assert!(!is_id_prefix("", id));
    }
}
