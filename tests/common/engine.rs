//! The real Docker engine for integration tests. Containers are made with the docker CLI (they
//! are "started outside gpudock"), labelled, and removed when the guard drops, even on failure.

use std::process::{Command, Stdio};
use std::sync::Once;

use gpudock::docker::DockerHost;

pub const IMAGE: &str = "gpudock-test/busybox:latest";
pub const LABEL: &str = "io.gpudock.test=1";

/// The engine to test against, or None (with the reason printed) when there is none and CI is
/// not set. Under CI a missing engine is a failure, never a silent skip.
pub fn engine() -> Option<DockerHost> {
    let host = DockerHost::resolve(None, std::env::var("DOCKER_HOST").ok().as_deref())
        .unwrap_or_else(|e| panic!("{e}"));
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let why = format!("no Docker engine answers at {host} (start dockerd, see .ci/run)");
        if std::env::var_os("CI").is_some() {
            panic!("CI is set and {why}");
        }
        eprintln!("skipping engine test: {why}");
        return None;
    }
    static IMAGE_ONCE: Once = Once::new();
    IMAGE_ONCE.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-test-image.sh");
        let status = Command::new("bash").arg(script).arg(IMAGE).status();
        assert!(status.is_ok_and(|s| s.success()), "building {IMAGE} failed");
    });
    Some(host)
}

pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap_or_else(|e| panic!("docker {args:?}: {e}"));
    assert!(out.status.success(), "docker {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A container that is force-removed when this guard drops.
pub struct TestContainer {
    pub id: String,
    pub name: String,
}

impl TestContainer {
    /// `docker run -d` with network none and the test label; `cmd` runs in busybox.
    pub fn run(name_hint: &str, cmd: &[&str]) -> TestContainer {
        let name = format!("gpudock-test-{name_hint}-{}", std::process::id());
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
        let mut args = vec!["run", "-d", "--network", "none", "--label", LABEL, "--name", &name, IMAGE];
        args.extend_from_slice(cmd);
        let id = docker(&args);
        TestContainer { id, name }
    }

    pub fn pid(&self) -> u32 {
        docker(&["inspect", "-f", "{{.State.Pid}}", &self.id]).parse().unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
