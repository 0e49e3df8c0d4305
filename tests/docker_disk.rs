//! Disk usage and prunes against the real engine. Other tests share the engine, so every prune
//! here carries a label only this test's objects have (never an unlabeled prune), and the base
//! image `gpudock-test/busybox:latest` must survive everything.

mod common;

use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use common::engine::{IMAGE, LABEL, TestContainer, docker, docker_cmd, engine};
use gpudock::docker::ApiVersion;
use gpudock::docker::disk::{self, Category, DiskError, DiskItem, DiskUsage, PruneOptions};

const DISK_LABEL: &str = "io.gpudock.test.disk";

/// Containers, images and volumes made for one test, all carrying `DISK_LABEL=<unique>`, and
/// removed when this guard drops, even on failure.
struct Scene {
    unique: String,
}

impl Scene {
    fn new(hint: &str) -> Scene {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        Scene { unique: format!("{hint}-{}-{nanos}", std::process::id()) }
    }

    fn label(&self) -> String {
        format!("{DISK_LABEL}={}", self.unique)
    }

    /// Prune options that reach only this scene's objects.
    fn opts(&self) -> PruneOptions {
        PruneOptions { label: Some(self.label()), ..Default::default() }
    }

    fn name(&self, what: &str) -> String {
        format!("gpudock-test-{what}-{}", self.unique)
    }

    fn image_name(&self, what: &str) -> String {
        format!("gpudock-test/disk-{what}:{}", self.unique)
    }

    /// A container that ran `script` and exited.
    fn ran(&self, what: &str, script: &str, extra: &[&str]) -> String {
        let (name, label) = (self.name(what), self.label());
        let mut args = vec!["run", "--network", "none", "--label", LABEL, "--label", &label, "--name", &name];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[IMAGE, "sh", "-c", script]);
        docker(&args);
        name
    }

    /// A container left running `cmd` (`docker run -d`), labelled like the rest of the scene.
    fn running(&self, what: &str, extra: &[&str], cmd: &[&str]) -> String {
        let (name, label) = (self.name(what), self.label());
        let mut args =
            vec!["run", "-d", "--network", "none", "--label", LABEL, "--label", &label, "--name", &name];
        args.extend_from_slice(extra);
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        docker(&args);
        name
    }

    fn created(&self, what: &str, image: &str) -> String {
        let (name, label) = (self.name(what), self.label());
        docker(&[
            "create",
            "--network",
            "none",
            "--label",
            LABEL,
            "--label",
            &label,
            "--name",
            &name,
            image,
            "true",
        ]);
        name
    }

    /// An image with `kib` KiB of its own, labelled, tagged `tag` or left untagged (dangling).
    fn image(&self, what: &str, kib: u32, tag: Option<&str>) -> String {
        let src = self.ran(
            &format!("{what}-src"),
            &format!("dd if=/dev/zero of=/{what}.bin bs=1k count={kib}"),
            &[],
        );
        let change = format!("LABEL {}", self.label());
        let mut args = vec!["commit", "-c", &change, &src];
        args.extend(tag);
        let id = docker(&args);
        docker(&["rm", &src]);
        id
    }

    fn volume(&self, name: Option<&str>, kib: u32) -> String {
        let label = self.label();
        let mut args = vec!["volume", "create", "--label", &label];
        args.extend(name);
        let vol = docker(&args);
        if kib > 0 {
            let mount = format!("{vol}:/data");
            let fill = format!("dd if=/dev/zero of=/data/d.bin bs=1k count={kib}");
            docker(&[
                "run",
                "--rm",
                "--network",
                "none",
                "--label",
                LABEL,
                "-v",
                &mount,
                IMAGE,
                "sh",
                "-c",
                &fill,
            ]);
        }
        vol
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let quiet = |args: &[&str]| {
            docker_cmd().args(args).stdout(Stdio::piped()).stderr(Stdio::null()).output().ok()
        };
        let listed = |args: &[&str]| -> Vec<String> {
            quiet(args)
                .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().map(str::to_string).collect())
                .unwrap_or_default()
        };
        let filter = format!("label={}", self.label());
        for id in listed(&["ps", "-aq", "--filter", &filter]) {
            quiet(&["rm", "-f", "-v", &id]);
        }
        // Only images that carry this scene's label: never the base image.
        for id in listed(&["images", "-aq", "--filter", &filter]) {
            quiet(&["rmi", "-f", &id]);
        }
        for v in listed(&["volume", "ls", "-q", "--filter", &filter]) {
            quiet(&["volume", "rm", "-f", &v]);
        }
    }
}

/// One thing of every kind a prune row covers, plus a running container that must survive.
struct Kinds {
    running: TestContainer,
    stopped: String,
    created: String,
    dangling: String,
    tag: String,
    anon: String,
    named: String,
}

impl Scene {
    fn one_of_each(&self, running: &str) -> Kinds {
        let running = TestContainer::run(running, &["sleep", "300"]);
        let stopped = self.ran("stopped", "dd if=/dev/zero of=/big.bin bs=1k count=200", &[]);
        let created = self.created("created", IMAGE);
        let dangling = self.image("dangling", 100, None);
        let tag = self.image_name("unused");
        self.image("unused", 150, Some(&tag));
        let anon = self.volume(None, 50);
        let named = self.name("named");
        self.volume(Some(&named), 20);
        Kinds { running, stopped, created, dangling, tag, anon, named }
    }
}

async fn connect() -> (bollard::Docker, ApiVersion) {
    let host = engine();
    let d = gpudock::docker::connect(&host).await.unwrap_or_else(|e| panic!("{e}"));
    let api = ApiVersion::from(d.client_version());
    (d, api)
}

fn exists(kind: &str, name: &str) -> bool {
    docker_cmd()
        .args([kind, "inspect", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn short(id: &str) -> String {
    disk::short_id(id)
}

fn item_names(usage: &DiskUsage, c: Category) -> Vec<String> {
    usage.category(c).map(|r| r.items.iter().map(|i| i.name.clone()).collect()).unwrap_or_default()
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_lists_each_kind_and_the_engine_filesystem() {
    let (d, _) = connect().await;
    let s = Scene::new("usage");
    let Kinds { running, stopped, created, dangling, tag, anon, named } = s.one_of_each("disk-usage");

    let u = disk::usage(&d, true).await.unwrap_or_else(|e| panic!("{e}"));
    let containers = u.category(Category::StoppedContainers).unwrap_or_else(|| panic!("no containers row"));
    let mine =
        containers.items.iter().find(|i| i.name == stopped).unwrap_or_else(|| panic!("{stopped} missing"));
    assert!(mine.size >= 200 * 1024, "{mine:?}");
    assert_eq!(mine.detail, IMAGE);
    assert!(item_names(&u, Category::StoppedContainers).contains(&created));
    assert!(!item_names(&u, Category::StoppedContainers).contains(&running.name));
    assert!(containers.count >= 3 && containers.reclaimable_bytes >= 200 * 1024);

    assert!(item_names(&u, Category::DanglingImages).contains(&short(&dangling)));
    assert!(!item_names(&u, Category::DanglingImages).contains(&tag));
    let unused = item_names(&u, Category::UnusedImages);
    assert!(unused.contains(&tag) && unused.contains(&short(&dangling)), "{unused:?}");
    assert!(!unused.iter().any(|n| n == IMAGE), "the base image is in use");

    let vols = u.category(Category::Volumes).unwrap_or_else(|| panic!("no volumes row"));
    let find = |name: &str| vols.items.iter().find(|i| i.id == name).map(|i| (i.detail.clone(), i.size));
    // A 64-hex volume made by `docker volume create --label` is deliberate: an engine before
    // API 1.42 marks nothing, so the label keeps it out of default prunes (a prune limited to
    // that very label still takes it, below).
    assert_eq!(find(&anon), Some(("named".to_string(), 50 * 1024)));
    assert_eq!(find(&named), Some(("named".to_string(), 20 * 1024)));

    assert!(u.root_dir.as_deref().is_some_and(|r| r.starts_with('/')), "{:?}", u.root_dir);
    let fs = u.fs.unwrap_or_else(|| panic!("no filesystem figures for a local engine"));
    assert!(fs.total > 0 && fs.free <= fs.total);
    let remote = disk::usage(&d, false).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(remote.fs, None);
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_prune_removes_exactly_its_kind() {
    let (d, api) = connect().await;
    let s = Scene::new("prune");
    let Kinds { running, stopped, created, dangling, tag, anon, named } = s.one_of_each("disk-prune");
    let used_vol = s.name("used");
    s.volume(Some(&used_vol), 0);
    let user = s.ran("volume-user", "true", &["-v", &format!("{used_vol}:/data")]);
    let opts = s.opts();

    let r = disk::prune(&d, Category::StoppedContainers, &opts, api).await.unwrap_or_else(|e| panic!("{e}"));
    let mut removed = r.removed.clone();
    removed.sort();
    let mut expected = vec![stopped.clone(), created.clone(), user.clone()];
    expected.sort();
    assert_eq!(removed, expected);
    assert!(r.reclaimed >= 200 * 1024, "{r:?}");
    assert!(exists("container", &running.id), "a running container was pruned");
    assert!(exists("image", &dangling) && exists("image", &tag), "a container prune touched images");
    // The volume's only user is gone now; it is an unused named volume like the other.

    let r = disk::prune(&d, Category::DanglingImages, &opts, api).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.removed, [short(&dangling)]);
    assert!(r.reclaimed >= 100 * 1024, "{r:?}");
    assert!(!exists("image", &dangling) && exists("image", &tag));

    let r = disk::prune(&d, Category::UnusedImages, &opts, api).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.removed, std::slice::from_ref(&tag));
    assert!(r.reclaimed >= 150 * 1024, "{r:?}");
    assert!(!exists("image", &tag));

    // Default: anonymous volumes only (one by one on API 1.41, where the engine's prune would
    // take named ones too), the bytes from /system/df.
    let r = disk::prune(&d, Category::Volumes, &opts, api).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.removed, [short(&anon)]);
    assert_eq!(r.reclaimed, 50 * 1024);
    assert!(exists("volume", &named) && exists("volume", &used_vol));

    let all = PruneOptions { include_named_volumes: true, ..s.opts() };
    let r = disk::prune(&d, Category::Volumes, &all, api).await.unwrap_or_else(|e| panic!("{e}"));
    let mut removed = r.removed.clone();
    removed.sort();
    let mut expected = vec![named.clone(), used_vol.clone()];
    expected.sort();
    assert_eq!(removed, expected);
    assert!(r.reclaimed >= 20 * 1024, "{r:?}");

    assert!(exists("container", &running.id) && exists("image", IMAGE), "the base survives");
    let again =
        disk::prune(&d, Category::StoppedContainers, &opts, api).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.summary(), "Nothing to remove: no stopped containers");
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_in_use_and_young_things_stay() {
    let (d, api) = connect().await;
    let s = Scene::new("until");
    let running = TestContainer::run("disk-until", &["sleep", "300"]);
    let used = s.volume(None, 10);
    // Keeps `used` in use.
    s.running("keeper", &["-v", &format!("{used}:/data")], &["sleep", "300"]);
    let stopped = s.ran("stopped", "true", &[]);
    let young = PruneOptions { until: Some("24h".into()), include_named_volumes: true, ..s.opts() };

    for c in [Category::StoppedContainers, Category::Volumes] {
        let r = disk::prune(&d, c, &young, api).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(r.removed.is_empty(), "{c:?} removed something younger than a day: {r:?}");
    }
    assert!(exists("container", &stopped));
    let r = disk::prune(&d, Category::Volumes, &s.opts(), api).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(r.removed.is_empty(), "a mounted volume was removed: {r:?}");
    assert!(exists("volume", &used) && exists("container", &running.id));

    // Unix seconds a minute ahead: everything created before then, this container included.
    let soon = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) + 60;
    let now = PruneOptions { until: Some(soon.to_string()), ..s.opts() };
    let r = disk::prune(&d, Category::StoppedContainers, &now, api).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.removed, [stopped]);
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_image_prune_never_untags_an_image_in_use() {
    let (d, api) = connect().await;
    let s = Scene::new("untag");
    // An image with two tags and a (stopped) container: the engine's "all unused" prune would
    // drop one of its tags (it only protects the last reference).
    let (first, second) = (s.image_name("used-a"), s.image_name("used-b"));
    s.image("used", 10, Some(&first));
    docker(&["tag", &first, &second]);
    let user = s.created("user", &first);
    let spare = s.image_name("spare");
    s.image("spare", 30, Some(&spare));
    let dangling = s.image("dangling", 20, None);

    let r = disk::prune(&d, Category::UnusedImages, &s.opts(), api).await.unwrap_or_else(|e| panic!("{e}"));
    let mut removed = r.removed.clone();
    removed.sort();
    let mut expected = vec![spare.clone(), short(&dangling)];
    expected.sort();
    assert_eq!(removed, expected);
    assert!(r.reclaimed >= 50 * 1024, "{r:?}");
    assert!(exists("image", &first) && exists("image", &second), "a tag of a used image went");
    assert!(exists("container", &user));
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_image_refuses_while_used_and_reports_freed_bytes() {
    let (d, _) = connect().await;
    let s = Scene::new("rmi");
    let tag = s.image_name("kept");
    let id = s.image("kept", 120, Some(&tag));
    let user = s.created("user", &tag);

    let err = disk::remove_image(&d, &tag).await.err().unwrap_or_else(|| panic!("removed an image in use"));
    assert_eq!(err, DiskError::ImageInUse { image: tag.clone(), containers: vec![user.clone()] });
    assert!(err.to_string().contains(&user), "{err}");
    assert!(exists("image", &id));

    let rows = disk::images(&d).await.unwrap_or_else(|e| panic!("{e}"));
    let row = rows.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{tag} not listed"));
    assert_eq!((row.name.as_str(), row.containers.as_slice()), (tag.as_str(), [user.clone()].as_slice()));
    assert!(rows.windows(2).all(|w| w[0].size >= w[1].size), "not largest first");
    let base = rows.iter().find(|r| r.tags.iter().any(|t| t == IMAGE));
    assert!(base.is_some_and(|b| b.size > 0), "base image missing from the list");

    docker(&["rm", &user]);
    let freed = disk::remove_image(&d, &tag).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(freed >= 120 * 1024, "freed {freed}");
    assert!(!exists("image", &id));

    // By id, an image with two tags goes entirely (the engine alone would refuse).
    let (a, b) = (s.image_name("two-a"), s.image_name("two-b"));
    let two = s.image("two", 10, Some(&a));
    docker(&["tag", &a, &b]);
    let freed = disk::remove_image(&d, &short(&two)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(freed >= 10 * 1024, "freed {freed}");
    assert!(!exists("image", &a) && !exists("image", &b) && !exists("image", &two));

    let missing = disk::remove_image(&d, "gpudock-test/no-such-image:nope").await;
    assert!(matches!(missing, Err(DiskError::NotFound(_))), "{missing:?}");
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_cache_prune_works_on_this_engine_and_refuses_labels() {
    let (d, api) = connect().await;
    let labelled = PruneOptions { label: Some(format!("{DISK_LABEL}=x")), ..Default::default() };
    let r = disk::prune(&d, Category::BuildCache, &labelled, api).await;
    assert_eq!(r, Err(DiskError::LabelUnsupported));
    // The same request shape `prune` sends (all=true with filters), scoped to a record id that
    // cannot exist, so nothing of anyone else's goes.
    let filters =
        std::collections::HashMap::from([("id".to_string(), vec!["gpudock-no-such-record".to_string()])]);
    let opts = bollard::query_parameters::PruneBuildOptions {
        all: Some(true),
        filters: Some(filters),
        ..Default::default()
    };
    let res = d.prune_build(Some(opts)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(res.caches_deleted.unwrap_or_default().is_empty());
    assert_eq!(res.space_reclaimed, Some(0));
}

/// The stopped-containers preview listed some containers; one more exited while the preview was
/// open and one of the listed started again. `y` must remove exactly the previewed ones that
/// are still stopped, never the newcomer, and say what it left alone.
#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prune_removes_exactly_what_its_preview_showed() {
    let (d, _) = connect().await;
    let s = Scene::new("exact");
    // Each exits at once the first time and stays up when started again.
    let script = "if [ -f /ran ]; then sleep 30; fi; touch /ran";
    let shown: Vec<String> = (0..3).map(|i| s.ran(&format!("shown{i}"), script, &[])).collect();
    // Running while the preview is taken; it exits right after.
    let late = s.running("late", &[], &["sleep", "2"]);

    let u = disk::usage(&d, true).await.unwrap_or_else(|e| panic!("{e}"));
    let row = u.category(Category::StoppedContainers).unwrap_or_else(|| panic!("no row"));
    let preview: Vec<DiskItem> = row
        .selected(&PruneOptions::default(), gpudock::clock::unix_now())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|i| shown.contains(&i.name))
        .cloned()
        .collect();
    assert_eq!(preview.len(), 3, "{preview:?}");
    assert!(!row.items.iter().any(|i| i.name == late), "the late container was still running");

    // While the question is open: the late one exits, the first shown one runs again.
    docker(&["wait", &late]);
    docker(&["start", &shown[0]]);
    let r =
        disk::prune_items(&d, Category::StoppedContainers, &preview).await.unwrap_or_else(|e| panic!("{e}"));
    let mut removed = r.removed.clone();
    removed.sort();
    assert_eq!(removed, shown[1..].to_vec());
    assert_eq!(r.skipped.len(), 1, "{r:?}");
    assert!(r.skipped[0].starts_with(&shown[0]), "{r:?}");
    assert!(exists("container", &late), "a container the preview never showed was removed");
    assert!(exists("container", &shown[0]));
    assert!(r.summary().contains("left alone"), "{}", r.summary());

    // Images and volumes go by ID the same way; a volume mounted since the preview stays.
    let tag = s.image_name("exact");
    s.image("exact", 64, Some(&tag));
    let named = s.name("vol");
    s.volume(Some(&named), 8);
    let kept = s.name("vol-kept");
    s.volume(Some(&kept), 0);
    let u = disk::usage(&d, true).await.unwrap_or_else(|e| panic!("{e}"));
    let pick = |c: Category, opts: &PruneOptions, names: &[&str]| -> Vec<DiskItem> {
        let row = u.category(c).unwrap_or_else(|| panic!("no {c:?} row"));
        let now = gpudock::clock::unix_now();
        let items = row.selected(opts, now).unwrap_or_else(|e| panic!("{e}"));
        items.into_iter().filter(|i| names.contains(&i.name.as_str())).cloned().collect()
    };
    let images = pick(Category::UnusedImages, &PruneOptions::default(), &[&tag]);
    let r = disk::prune_items(&d, Category::UnusedImages, &images).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.removed, std::slice::from_ref(&tag));
    assert!(r.reclaimed >= 64 * 1024 && !exists("image", &tag), "{r:?}");
    let all = PruneOptions { include_named_volumes: true, ..Default::default() };
    let vols = pick(Category::Volumes, &all, &[&named, &kept]);
    assert_eq!(vols.len(), 2, "{vols:?}");
    let mount = format!("{kept}:/data");
    let user = s.ran("vol-user", "true", &["-v", &mount]);
    let r = disk::prune_items(&d, Category::Volumes, &vols).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.removed, std::slice::from_ref(&named));
    assert!(r.skipped.iter().any(|x| x.starts_with(&kept)), "{r:?}");
    assert!(!exists("volume", &named) && exists("volume", &kept));
    docker(&["rm", &user]);
}
