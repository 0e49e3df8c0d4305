//! The real Docker engine for integration tests: only the one named in GPUDOCK_TEST_DOCKER_HOST,
//! never the user's engine by default. Containers are made with the docker CLI (they are
//! "started outside gpudock"), pointed at that engine, labelled, and removed when the guard
//! drops, even on failure.

use std::process::{Command, Stdio};
use std::sync::Once;

use gpudock::docker::DockerHost;

pub const IMAGE: &str = "gpudock-test/busybox:latest";
pub const LABEL: &str = "io.gpudock.test=1";
pub const HOST_VAR: &str = "GPUDOCK_TEST_DOCKER_HOST";

fn host_text() -> String {
    let text = std::env::var(HOST_VAR).ok().filter(|h| !h.trim().is_empty()).unwrap_or_else(|| {
        panic!("{HOST_VAR} is not set: engine tests only run against the engine it names (see README)")
    });
    refuse_default_socket(&text);
    text
}

/// The tests create, stop and prune on the engine they use: never a developer's own
/// (`scripts/test-engine.sh` starts a private one).
fn refuse_default_socket(text: &str) {
    let path = text.trim().strip_prefix("unix://").unwrap_or(text.trim());
    let default = std::fs::canonicalize(gpudock::docker::host::DEFAULT_SOCKET).ok();
    let mine = std::fs::canonicalize(path).ok();
    assert!(
        path != gpudock::docker::host::DEFAULT_SOCKET && (mine.is_none() || mine != default),
        "{text} is the default Docker socket: tests only use a private engine (bash scripts/test-engine.sh 1)"
    );
}

/// The docker CLI, talking to the test engine.
pub fn docker_cmd() -> Command {
    let mut c = Command::new("docker");
    c.env("DOCKER_HOST", host_text()).env_remove("DOCKER_CONTEXT");
    c
}

/// The engine to test against. Engine tests are ignored unless GPUDOCK_TEST_DOCKER_HOST was set
/// when they were built; once they run, an engine that does not answer is a failure.
pub fn engine() -> DockerHost {
    let text = host_text();
    let host = DockerHost::parse(&text).unwrap_or_else(|e| panic!("{HOST_VAR}: {e}"));
    let ok = docker_cmd()
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "no Docker engine answers at {host} ({HOST_VAR}); start dockerd, see .ci/run");
    static IMAGE_ONCE: Once = Once::new();
    IMAGE_ONCE.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-test-image.sh");
        let status = Command::new("bash").arg(script).arg(IMAGE).env("DOCKER_HOST", &text).status();
        assert!(status.is_ok_and(|s| s.success()), "building {IMAGE} failed");
    });
    host
}

pub fn docker(args: &[&str]) -> String {
    let out = docker_cmd().args(args).output().unwrap_or_else(|e| panic!("docker {args:?}: {e}"));
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
        let _ = docker_cmd().args(["rm", "-f", &name]).output();
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
        let _ =
            docker_cmd().args(["rm", "-f", &self.id]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

pub const HOST2_VAR: &str = "GPUDOCK_TEST_DOCKER_HOST2";

/// The second test engine's address (GPUDOCK_TEST_DOCKER_HOST2), answering and with the test
/// image; tests that need it are ignored unless it was set at build time.
pub fn engine2() -> String {
    let text = std::env::var(HOST2_VAR).ok().filter(|h| !h.trim().is_empty()).unwrap_or_else(|| {
        panic!("{HOST2_VAR} is not set: two-engine tests only run against the engines it names (.ci/run)")
    });
    refuse_default_socket(&text);
    let ok = Command::new("docker")
        .env("DOCKER_HOST", &text)
        .env_remove("DOCKER_CONTEXT")
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "no Docker engine answers at {text} ({HOST2_VAR}); see .ci/run");
    static IMAGE2_ONCE: Once = Once::new();
    IMAGE2_ONCE.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-test-image.sh");
        let status = Command::new("bash").arg(script).arg(IMAGE).env("DOCKER_HOST", &text).status();
        assert!(status.is_ok_and(|s| s.success()), "building {IMAGE} on {text} failed");
    });
    text
}

/// A labelled, network-less container on the engine at `host` (a DOCKER_HOST value), removed
/// when the guard drops.
pub struct ContainerAt {
    pub host: String,
    pub id: String,
    pub name: String,
}

impl ContainerAt {
    pub fn run(host: &str, name_hint: &str, cmd: &[&str]) -> ContainerAt {
        let name = format!("gpudock-test-{name_hint}-{}", std::process::id());
        let docker = || {
            let mut c = Command::new("docker");
            c.env("DOCKER_HOST", host).env_remove("DOCKER_CONTEXT");
            c
        };
        let _ = docker().args(["rm", "-f", &name]).output();
        let mut args = vec!["run", "-d", "--network", "none", "--label", LABEL, "--name", &name, IMAGE];
        args.extend_from_slice(cmd);
        let out = docker().args(&args).output().unwrap_or_else(|e| panic!("docker {args:?}: {e}"));
        assert!(out.status.success(), "docker {args:?} at {host}: {}", String::from_utf8_lossy(&out.stderr));
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        ContainerAt { host: host.into(), id, name }
    }
}

impl Drop for ContainerAt {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .env("DOCKER_HOST", &self.host)
            .env_remove("DOCKER_CONTEXT")
            .args(["rm", "-f", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
