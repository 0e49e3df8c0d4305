//! The detail view's inspect against a real engine: a container made with labels, env, a bind
//! mount, two kinds of tmpfs, a restart policy and no network, described back field by field.

mod common;

use common::engine::{IMAGE, LABEL, TestContainer, docker, engine};
use gpudock::docker::gpus::GpuRequest;
use gpudock::docker::inspect::{self, Mount, MountKind};
use gpudock::docker::{self as engine_api, ContainerId, ContainerState};

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_describes_labels_env_mounts_and_settings() {
    let host = engine();
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let bind = format!("{}:/data:ro", dir.display());
    let name = format!("gpudock-test-inspect-{}", std::process::id());
    let _ = docker(&["rm", "-f", &name]);
    let id = docker(&[
        "run",
        "-d",
        "--network",
        "none",
        "--label",
        LABEL,
        "--label",
        "io.gpudock.preset=smoke",
        "--label",
        "team=llm",
        "-e",
        "HF_TOKEN=s3cret",
        "-v",
        &bind,
        "--tmpfs",
        "/scratch",
        "--mount",
        "type=tmpfs,destination=/fast",
        "--restart",
        "on-failure:2",
        "--name",
        &name,
        IMAGE,
        "sleep",
        "300",
    ]);
    // Removed when the test ends, also when an assertion fails.
    let _guard = TestContainer { id: id.clone(), name: name.clone() };

    let d = engine_api::connect(&host).await.unwrap_or_else(|e| panic!("{e}"));
    let got = inspect::inspect(&d, &ContainerId::from(id.as_str())).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.name, name);
    assert_eq!(got.image, IMAGE);
    assert_eq!(got.command, ["sleep", "300"]);
    assert_eq!(got.state, ContainerState::Running);
    assert!(got.created.is_some() && got.started_at.is_some(), "{got:?}");
    assert_eq!((got.restart_count, got.restart_policy.as_str()), (0, "on-failure:2"));
    let keys: Vec<&str> = got.labels.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["io.gpudock.preset", "io.gpudock.test", "team"], "gpudock's own labels first");
    assert!(got.env.contains(&("HF_TOKEN".into(), "s3cret".into())), "{:?}", got.env);
    assert!(got.env.contains(&("PATH".into(), "/bin".into())), "the image's env too: {:?}", got.env);
    let tmpfs = |dest: &str| Mount {
        kind: MountKind::Tmpfs,
        source: String::new(),
        destination: dest.into(),
        read_write: true,
    };
    // `--mount type=tmpfs` is among the engine's mounts, `--tmpfs` only in the host config.
    assert_eq!(
        got.mounts,
        [
            Mount {
                kind: MountKind::Bind,
                source: dir.display().to_string(),
                destination: "/data".into(),
                read_write: false
            },
            tmpfs("/fast"),
            tmpfs("/scratch"),
        ]
    );
    assert_eq!(got.network_mode, "none");
    assert_eq!(got.runtime, "runc");
    assert_eq!(got.gpus, GpuRequest::None);
    assert_eq!(got.health, None);
    assert!(!got.oom_killed && got.error.is_none(), "{got:?}");

    // A container that is gone is a not-found error, not an empty description.
    docker(&["rm", "-f", &id]);
    let gone = inspect::inspect(&d, &ContainerId::from(id.as_str())).await;
    assert!(gone.as_ref().is_err_and(|e| e.is_not_found()), "{gone:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
