//! `parse_df` against a real API 1.41 answer (captured from Docker 20.10.24 with a stopped and a
//! created container, a dangling and an unused image, anonymous and named volumes) and a 1.53
//! answer written from the API description (GPU node: two PyTorch releases, build cache).

use serde_json::{Value, json};

use super::df::DfData;
use super::*;

fn fixture(text: &str) -> Vec<CategoryUsage> {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    parse_df(&v).unwrap_or_else(|e| panic!("{e}"))
}

fn v141() -> Vec<CategoryUsage> {
    fixture(include_str!("../../../tests/fixtures/df_v1.41.json"))
}

fn v153() -> Vec<CategoryUsage> {
    fixture(include_str!("../../../tests/fixtures/df_v1.53.json"))
}

fn row(rows: &[CategoryUsage], c: Category) -> &CategoryUsage {
    rows.iter().find(|r| r.category == c).unwrap_or_else(|| panic!("no {c:?} row"))
}

fn names(r: &CategoryUsage) -> Vec<&str> {
    r.items.iter().map(|i| i.name.as_str()).collect()
}

#[test]
fn rows_come_in_category_order() {
    for rows in [v141(), v153()] {
        assert_eq!(rows.iter().map(|r| r.category).collect::<Vec<_>>(), Category::ALL);
    }
}

#[test]
fn v141_stopped_containers_are_exited_and_created_ones() {
    let rows = v141();
    let r = row(&rows, Category::StoppedContainers);
    assert_eq!((r.count, r.total_bytes, r.reclaimable_bytes), (7, 204_800, 204_800));
    assert_eq!(names(r), ["gdfix-stopped", "gdfix-created"]);
    assert_eq!(r.items[0].detail, "gpudock-test/busybox:latest");
    assert_eq!(r.items[0].created, Some(1_795_959_918));
}

#[test]
fn v141_images_split_into_dangling_and_unused() {
    let rows = v141();
    let dangling = row(&rows, Category::DanglingImages);
    assert_eq!((dangling.count, dangling.total_bytes), (3, 2_494_305));
    assert_eq!(names(dangling), ["99e7c641b2cc"]);
    assert_eq!((dangling.items[0].size, dangling.items[0].detail.as_str()), (204_800, "untagged"));
    assert_eq!(dangling.reclaimable_bytes, 204_800);

    // The engine's "all unused" prune takes the dangling image too; the used base image stays.
    let unused = row(&rows, Category::UnusedImages);
    assert_eq!(names(unused), ["gpudock-test/disk-fixture:unused", "99e7c641b2cc"]);
    assert_eq!(unused.reclaimable_bytes, 512_000);
    assert!(!unused.items.iter().any(|i| i.name == "gpudock-test/busybox:latest"));
}

#[test]
fn v141_volumes_split_anonymous_and_named() {
    let rows = v141();
    let r = row(&rows, Category::Volumes);
    assert_eq!((r.count, r.total_bytes), (4, 174_080));
    let split: Vec<(&str, &str, u64)> =
        r.items.iter().map(|i| (i.name.as_str(), i.detail.as_str(), i.size)).collect();
    // The 64-hex volume carries a label (the test suite's), so on an engine that does not mark
    // anonymous volumes it was made deliberately: named, never pruned by default.
    let labelled = "e84560b0a61dbd1bd2f1d91f23d94baa1ce39a0953babeb2150d6cd8a9dfc85d";
    assert_eq!(split, [("gdfix-named", "named", 122_880), (labelled, "named", 0)]);
    // Default prunes leave named volumes alone.
    assert_eq!(r.reclaimable_bytes, 0);
    assert_eq!(r.items[1].created, Some(1_795_959_919));
    let cache = row(&rows, Category::BuildCache);
    assert_eq!((cache.count, cache.total_bytes, cache.items.len()), (0, 0, 0));
}

#[test]
fn v153_containers() {
    let rows = v153();
    let r = row(&rows, Category::StoppedContainers);
    assert_eq!((r.count, r.total_bytes, r.reclaimable_bytes), (5, 1_341_971_660, 52_432_896));
    assert_eq!(names(r), ["cuda-smoke", "stuck", "old-build"]);
}

#[test]
fn v153_images() {
    let rows = v153();
    let dangling = row(&rows, Category::DanglingImages);
    assert_eq!((dangling.count, dangling.total_bytes), (5, 34_763_456_512));
    assert_eq!(names(dangling), ["e5f6a7b8c9d0"]);
    assert_eq!(dangling.reclaimable_bytes, 1_207_959_552);

    let unused = row(&rows, Category::UnusedImages);
    assert_eq!(names(unused), ["nvcr.io/nvidia/pytorch:24.10-py3", "e5f6a7b8c9d0", "myorg/trainer:latest"]);
    assert_eq!(unused.items[2].detail, "myorg/trainer:v3");
    // The PyTorch layers 24.10 shares with the running 25.01 stay: only unique layers count.
    assert_eq!(unused.reclaimable_bytes, 11_003_240_448 + 1_207_959_552 + 812_646_400);
}

#[test]
fn v153_build_cache_counts_shared_records_as_freeing_nothing() {
    let rows = v153();
    let r = row(&rows, Category::BuildCache);
    assert_eq!((r.count, r.total_bytes), (5, 3_521_749_760));
    assert_eq!(r.items.len(), 4, "the record in use stays");
    assert_eq!(r.items[0].detail, "regular, shared");
    assert_eq!(r.items[2].detail, "exec.cachemount");
    assert_eq!(r.reclaimable_bytes, 2_147_483_648 + 1_073_741_824 + 524_288);
    // Last use, which is what the engine's `until` compares for cache records.
    assert_eq!(r.items[1].created, Some(1_764_081_000));
}

#[test]
fn a_volume_named_with_64_hex_digits_is_anonymous_only_when_nothing_says_otherwise() {
    let hex = "ab".repeat(32);
    let vol = |labels: Value| json!({"Name": hex, "Labels": labels, "UsageData": {"Size": 1, "RefCount": 0}});
    let kind = |labels: Value, api: &str, scope: Option<&str>| {
        let df = DfData::from_json(&json!({"Volumes": [vol(labels)]})).unwrap_or_else(|e| panic!("{e}"));
        df.volumes[0].kind(crate::docker::ApiVersion::parse(api), scope)
    };
    let old = "1.41";
    assert_eq!(kind(Value::Null, old, None), VolumeKind::Anonymous);
    assert_eq!(kind(json!({"com.docker.compose.project": "ml"}), old, None), VolumeKind::Named);
    assert_eq!(kind(json!({"owner": "alice"}), old, None), VolumeKind::Named);
    // The label a prune is limited to selects; it does not protect.
    assert_eq!(kind(json!({"team": "x"}), old, Some("team=x")), VolumeKind::Anonymous);
    // From API 1.42 the engine's own label is the only evidence.
    assert_eq!(kind(Value::Null, "1.43", None), VolumeKind::Named);
    assert_eq!(kind(json!({ANONYMOUS_LABEL: ""}), "1.43", None), VolumeKind::Anonymous);
}

#[test]
fn v153_volumes_know_anonymous_by_label_or_by_name() {
    let rows = v153();
    let r = row(&rows, Category::Volumes);
    assert_eq!((r.count, r.total_bytes), (5, 54_431_584_256));
    let split: Vec<(&str, &str)> = r.items.iter().map(|i| (i.name.as_str(), i.detail.as_str())).collect();
    assert_eq!(
        split,
        [("datasets-old", "named"), ("3f1c3f1c3f1c", "anonymous"), ("0a5e0a5e0a5e", "anonymous")]
    );
    assert_eq!(r.reclaimable_bytes, 734_003_200 + 10_485_760);
}

#[test]
fn selection_follows_until_and_named_volumes() {
    let rows = v153();
    let vols = row(&rows, Category::Volumes);
    let now = 1_764_400_000; // 2025-11-29
    let all = PruneOptions { include_named_volumes: true, ..Default::default() };
    assert_eq!(vols.selected(&all, now).unwrap_or_else(|e| panic!("{e}")).len(), 3);
    assert_eq!(vols.selected(&PruneOptions::default(), now).unwrap_or_else(|e| panic!("{e}")).len(), 2);
    let old = PruneOptions { until: Some("30d".into()), include_named_volumes: true, ..Default::default() };
    let picked = vols.selected(&old, now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(picked.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["datasets-old", "0a5e0a5e0a5e"]);
    let bad = PruneOptions { until: Some("last week".into()), ..Default::default() };
    assert_eq!(vols.selected(&bad, now), Err(DiskError::BadUntil("last week".into())));
}

#[test]
fn totals_do_not_count_dangling_images_twice() {
    let usage = DiskUsage { categories: v141(), root_dir: None, fs: None };
    assert_eq!(usage.reclaimable_total(), 204_800 + 512_000);
}

#[test]
fn freed_bytes_include_layers_shared_only_by_removed_images() {
    // Two unused releases share a 5 GB base no kept image has.
    let v = json!({"LayersSize": 9_000, "Images": [
        {"Id": "a", "RepoTags": ["x:1"], "Size": 7_000, "SharedSize": 5_000, "Containers": 0},
        {"Id": "b", "RepoTags": ["x:2"], "Size": 6_000, "SharedSize": 5_000, "Containers": 0},
        {"Id": "c", "RepoTags": ["y:1"], "Size": 1_000, "SharedSize": 0, "Containers": 1}]});
    let rows = parse_df(&v).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(row(&rows, Category::UnusedImages).reclaimable_bytes, 8_000);
}

#[test]
fn untagged_parents_and_used_images_are_never_listed() {
    let v = json!({"LayersSize": 10, "Images": [
        {"Id": "parent", "RepoTags": null, "Size": 5, "Containers": 0},
        {"Id": "child", "ParentId": "parent", "RepoTags": ["c:1"], "Size": 6, "Containers": 0},
        {"Id": "used", "RepoTags": ["u:1"], "Size": 4, "Containers": 0}],
        "Containers": [{"Id": "x", "ImageID": "used", "State": "exited"}]});
    let df = DfData::from_json(&v).unwrap_or_else(|e| panic!("{e}"));
    let unused: Vec<&str> = df.unused_images().iter().map(|i| i.id.as_str()).collect();
    assert_eq!(unused, ["child"]);
}

#[test]
fn legacy_build_cache_and_missing_sections() {
    let v = json!({"LayersSize": 0, "Images": [], "Containers": [], "Volumes": null, "BuildCache": [
        {"ID": "abc", "Parent": "", "Type": "regular", "Description": "", "InUse": false, "Shared": false,
         "Size": 42, "CreatedAt": "2025-01-01T00:00:00Z", "LastUsedAt": null, "UsageCount": 0}]});
    let rows = parse_df(&v).unwrap_or_else(|e| panic!("{e}"));
    let cache = row(&rows, Category::BuildCache);
    assert_eq!((cache.reclaimable_bytes, names(cache)), (42, vec!["abc"]));
    assert_eq!(cache.items[0].created, Some(1_735_689_600));
    assert_eq!(row(&rows, Category::Volumes).count, 0);
}

#[test]
fn a_type_filtered_answer_has_only_its_section() {
    let vol = json!({"Name": "v", "UsageData": {"Size": 7, "RefCount": 0}});
    let legacy = DfData::from_json(&json!({"Volumes": [vol.clone()]})).unwrap_or_else(|e| panic!("{e}"));
    let new = json!({"VolumeUsage": {"TotalCount": 1, "TotalSize": 7, "Items": [vol]}});
    let new = DfData::from_json(&new).unwrap_or_else(|e| panic!("{e}"));
    for df in [legacy, new] {
        assert_eq!((df.volumes.len(), df.volumes[0].size(), df.images.len()), (1, 7, 0));
    }
}

#[test]
fn rejects_what_is_not_a_df_answer() {
    assert!(matches!(parse_df(&json!("OK")), Err(DiskError::BadAnswer(_))));
    assert!(matches!(parse_df(&json!({"message": "page not found"})), Err(DiskError::BadAnswer(_))));
    assert!(matches!(parse_df(&json!({"Images": "nope"})), Err(DiskError::BadAnswer(_))));
}

#[test]
fn until_values() {
    let now = 1_800_000_000;
    assert_eq!(cutoff("24h", now), Ok(now - 86_400));
    assert_eq!(cutoff("7d", now), Ok(now - 7 * 86_400));
    assert_eq!(cutoff("1h30m", now), Ok(now - 5_400));
    assert_eq!(cutoff("1700000000", now), Ok(1_700_000_000));
    assert_eq!(cutoff("2025-01-01T00:00:00Z", now), Ok(1_735_689_600));
    assert!(cutoff("yesterday", now).is_err());
    // Values that once wrapped around and pruned everything.
    for absurd in ["-9223372036854775808", "-1", "9223372036854775807", "2999-01-01T00:00:00Z", "600000000y"]
    {
        assert!(cutoff(absurd, now).is_err(), "{absurd}");
    }
}

#[test]
fn api_versions() {
    let at_least = |s: &str, minor| crate::docker::ApiVersion::parse(s).is_some_and(|v| v.at_least(minor));
    assert!(at_least("1.42", 42) && at_least("1.53", 42) && at_least("2.0", 42));
    assert!(!at_least("1.41", 42) && !at_least("", 42) && !at_least("x", 42));
}

#[test]
fn summaries_and_errors_read_as_sentences() {
    let r = PruneReport {
        category: Category::StoppedContainers,
        removed: vec!["a".into(); 3],
        reclaimed: 12_400_000_000,
        skipped: Vec::new(),
    };
    assert_eq!(r.summary(), "Reclaimed 12.4 GB — 3 containers");
    let one = PruneReport {
        category: Category::BuildCache,
        removed: vec!["x".into()],
        reclaimed: 2_000,
        skipped: Vec::new(),
    };
    assert_eq!(one.summary(), "Reclaimed 2 kB — 1 build cache entry");
    let none =
        PruneReport { category: Category::Volumes, removed: vec![], reclaimed: 0, skipped: Vec::new() };
    assert_eq!(none.summary(), "Nothing to remove: no unused volumes");
    let used = DiskError::ImageInUse { image: "x:1".into(), containers: vec!["foo".into()] };
    assert_eq!(used.to_string(), "image x:1 is used by container foo");
    let many =
        DiskError::ImageInUse { image: "x".into(), containers: (1..=6).map(|n| format!("c{n}")).collect() };
    assert_eq!(many.to_string(), "image x is used by containers c1, c2, c3, c4 and 2 more");
}

#[test]
fn engine_conflicts_become_actionable_errors() {
    let server = |status_code, message: &str| bollard::errors::Error::DockerResponseServerError {
        status_code,
        message: message.to_string(),
    };
    let busy = server(409, "a prune operation is already running");
    assert_eq!(DiskError::from_engine(busy, "images"), DiskError::PruneRunning);
    let df = server(500, "a disk usage operation is already running");
    assert_eq!(DiskError::from_engine(df, "disk usage"), DiskError::UsageRunning);
    let msg = "conflict: unable to delete 2a7679da4dd9 (cannot be forced) - image is being used by running container 8d2be67f2654";
    assert_eq!(
        DiskError::from_engine(server(409, msg), "busybox"),
        DiskError::ImageInUse { image: "busybox".into(), containers: vec!["8d2be67f2654".into()] }
    );
    let msg = "conflict: unable to remove repository reference \"x:1\" (must force) - container 41da34d82800 is using its referenced image b4302d83214e";
    assert!(matches!(DiskError::from_engine(server(409, msg), "x:1"), DiskError::ImageInUse { .. }));
    let vol = "remove v1: volume is in use - [41da34d82800]";
    assert_eq!(DiskError::from_engine(server(409, vol), "v1"), DiskError::Conflict(vol.into()));
    assert_eq!(DiskError::from_engine(server(404, "No such image: x"), "x"), DiskError::NotFound("x".into()));
}

#[test]
fn disk_space_names_used_free_and_reserved_so_the_figures_add_up() {
    // The walk's "80.0 GB free of 270.6 GB (18% used)": the rest is used, and some reserved.
    let fs = FsUsage { total: 270_600_000_000, free: 80_000_000_000, used: 176_700_000_000 };
    assert_eq!(fs.describe(), "176.7 GB used, 80 GB free, 13.9 GB reserved of 270.6 GB (69% full)");
    let plain = FsUsage { total: 500_000_000_000, free: 40_000_000_000, used: 460_000_000_000 };
    assert_eq!(plain.describe(), "460 GB used, 40 GB free of 500 GB (92% full)");
}
