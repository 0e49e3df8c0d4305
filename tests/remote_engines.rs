//! Engines chosen the way the docker CLI chooses them: contexts in a docker config dir of our
//! own, against two real engines (GPUDOCK_TEST_DOCKER_HOST and GPUDOCK_TEST_DOCKER_HOST2), and
//! ssh:// through a loopback sshd where `.ci/run` set one up (GPUDOCK_TEST_SSH).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::engine::{ContainerAt, engine, engine2};
use gpudock::docker::context::{Choice, ContextStore};
use gpudock::docker::lister::Lister;
use gpudock::docker::{DockerHost, EngineEvent};
use gpudock::msg::Msg;
use sha2::{Digest, Sha256};

fn gpudock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gpudock"))
}

/// A docker config dir with one context per (name, host), removed when dropped.
struct ConfigDir(PathBuf);

impl ConfigDir {
    fn new(tag: &str, contexts: &[(&str, &str)]) -> ConfigDir {
        let dir = std::env::temp_dir().join(format!("gpudock-dockercfg-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (name, host) in contexts {
            let meta = dir.join("contexts/meta").join(format!("{:x}", Sha256::digest(name.as_bytes())));
            std::fs::create_dir_all(&meta).unwrap_or_else(|e| panic!("{e}"));
            let doc = serde_json::json!({
                "Name": name, "Metadata": {},
                "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}}
            });
            std::fs::write(meta.join("meta.json"), doc.to_string()).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        ConfigDir(dir)
    }
}

impl Drop for ConfigDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn names_at(host: &DockerHost) -> Vec<String> {
    let docker = gpudock::docker::connect(host).await.unwrap_or_else(|e| panic!("{host}: {e}"));
    let list = Lister::for_host(host).refresh(&docker).await.unwrap_or_else(|e| panic!("{host}: {e}"));
    list.into_iter().map(|c| c.name).collect()
}

/// Under CI the two-engine and ssh tests must run, never be skipped.
#[test]
fn remote_engine_tests_are_compiled_in_under_ci() {
    let (two, ssh, tls) = (cfg!(engine2_tests), cfg!(ssh_tests), cfg!(tls_tests));
    if std::env::var_os("CI").is_some() && !(two && ssh && tls) {
        panic!(
            "CI is set but GPUDOCK_TEST_DOCKER_HOST2 ({two}), GPUDOCK_TEST_SSH ({ssh}) or GPUDOCK_TEST_TLS ({tls}) \
             was not when the tests were built: the two-engine, ssh or TLS tests would be skipped"
        );
    }
}

#[test]
fn the_header_names_the_context() {
    let mut app = common::sample_app();
    let info = gpudock::docker::EngineInfo { context: Some("gpu-07".into()), ..common::engine_info() };
    app.update(Msg::Engine(EngineEvent::Connected(Box::new(info))));
    let wide = common::render(&app, 120, 30);
    let top = wide.lines().next().unwrap_or_default();
    assert!(top.contains("docker 20.10.24 (API 1.41) context gpu-07"), "{top}");
    let narrow = common::render(&app, 40, 12);
    assert!(narrow.lines().next().is_some_and(|l| l.contains("● docker gpu-07")), "{narrow}");
}

#[test]
fn an_unknown_context_exits_2_and_lists_the_known_ones() {
    let cfg = ConfigDir::new("unknown", &[("gpu-1", "ssh://gpu-1"), ("gpu-2", "ssh://gpu-2")]);
    let out = gpudock()
        .env("DOCKER_CONFIG", &cfg.0)
        .args(["--context", "gpu-9", "snapshot"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no Docker context named \"gpu-9\"") && err.contains("gpu-1, gpu-2"), "{err}");
    let out = gpudock()
        .env("DOCKER_CONFIG", &cfg.0)
        .args(["--context", "gpu-1", "--docker-host", "unix:///x.sock", "snapshot"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "--context and --docker-host together are refused");
}

#[cfg_attr(
    not(engine2_tests),
    ignore = "two-engine test: set GPUDOCK_TEST_DOCKER_HOST and GPUDOCK_TEST_DOCKER_HOST2 (.ci/run)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_naming_engine_2_lists_engine_2s_containers() {
    let one = engine().to_string();
    let two = engine2();
    let c1 = ContainerAt::run(&one, "ctx-one", &["sleep", "300"]);
    let c2 = ContainerAt::run(&two, "ctx-two", &["sleep", "300"]);
    let cfg = ConfigDir::new("two", &[("engine2", &two), ("engine1", &one)]);
    let store = ContextStore::new(&cfg.0);

    // --context beats DOCKER_HOST (engine 1), like the docker CLI.
    let choice = Choice { flag_context: Some("engine2"), env_host: Some(&one), ..Choice::default() };
    let host = choice.resolve(&store).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(host.context(), Some("engine2"));
    assert!(host.is_local(), "a context on a local unix socket is local: {host}");
    let names = names_at(&host).await;
    assert!(names.contains(&c2.name) && !names.contains(&c1.name), "{names:?}");

    // DOCKER_CONTEXT does not beat DOCKER_HOST; currentContext applies when nothing else is set.
    let choice = Choice { env_context: Some("engine2"), env_host: Some(&one), ..Choice::default() };
    let names = names_at(&choice.resolve(&store).unwrap_or_else(|e| panic!("{e}"))).await;
    assert!(names.contains(&c1.name) && !names.contains(&c2.name), "{names:?}");
    std::fs::write(cfg.0.join("config.json"), r#"{"currentContext":"engine2"}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let names = names_at(&Choice::default().resolve(&store).unwrap_or_else(|e| panic!("{e}"))).await;
    assert!(names.contains(&c2.name) && !names.contains(&c1.name), "{names:?}");

    // The binary: the snapshot names the context and shows engine 2's containers.
    let out = gpudock()
        .env("DOCKER_CONFIG", &cfg.0)
        .env("DOCKER_HOST", &one)
        .args(["--context", "engine2", "snapshot", "--json", "--nvml-lib", "/nonexistent/libnvidia-ml.so.1"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(doc["docker"]["host"], format!("{two} (context engine2)"));
    let listed = doc["containers"].to_string();
    assert!(listed.contains(&c2.name) && !listed.contains(&c1.name), "{listed}");
    // `doctor` names the context where it names the engine.
    let out = gpudock()
        .env("DOCKER_CONFIG", &cfg.0)
        .args(["--context", "engine2", "doctor", "--json", "--nvml-lib", "/nonexistent/libnvidia-ml.so.1"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("{two} (context engine2) answers: Docker")), "{text}");
}

/// gpudock runs `ssh -- user@host docker system dial-stdio`, one ssh process per HTTP
/// connection, at most `SSH_CONNECTIONS` at once. `.ci/run` starts a loopback sshd on port 22022
/// (scripts/start-test-sshd.sh) whose `docker` talks to engine 2, with a Host alias
/// `gpudock-ci-ssh` and an `ssh` wrapper in `$GPUDOCK_TEST_SSH/bin` that logs its calls.
#[cfg_attr(
    not(ssh_tests),
    ignore = "ssh test: needs the loopback sshd that .ci/run starts (GPUDOCK_TEST_SSH, both test engines)"
)]
#[test]
fn an_ssh_engine_lists_the_remote_engines_containers_with_few_ssh_processes() {
    let one = engine().to_string();
    let two = engine2();
    let c1 = ContainerAt::run(&one, "ssh-one", &["sleep", "300"]);
    let c2: Vec<ContainerAt> =
        (0..6).map(|i| ContainerAt::run(&two, &format!("ssh-two-{i}"), &["sleep", "300"])).collect();
    let dir =
        PathBuf::from(std::env::var("GPUDOCK_TEST_SSH").unwrap_or_else(|e| panic!("GPUDOCK_TEST_SSH: {e}")));
    let path = format!("{}:{}", dir.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    let calls = || std::fs::read_to_string(dir.join("ssh-calls.log")).unwrap_or_default().lines().count();
    let cfg = ConfigDir::new("ssh", &[("node", "ssh://root@gpudock-ci-ssh")]);
    let snapshot = |args: &[&str]| {
        let before = calls();
        let out = gpudock()
            .env("PATH", &path)
            .env("DOCKER_CONFIG", &cfg.0)
            .env("DOCKER_HOST", &one)
            .args(args)
            .args(["snapshot", "--json", "--nvml-lib", "/nonexistent/libnvidia-ml.so.1"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (doc, calls() - before)
    };
    let (doc, spawned) = snapshot(&["--context", "node"]);
    assert_eq!(doc["docker"]["connected"], true, "{doc}");
    assert_eq!(doc["docker"]["host"], "ssh://root@gpudock-ci-ssh (context node)");
    let listed = doc["containers"].to_string();
    assert!(c2.iter().all(|c| listed.contains(&c.name)) && !listed.contains(&c1.name), "{listed}");
    // Listing, 6 inspects and 2 × 6 stats: never more ssh processes than connections allowed.
    let most = gpudock::docker::ssh::SSH_CONNECTIONS;
    assert!((1..=most).contains(&spawned), "{spawned} ssh processes for one snapshot");
    // A remote engine's GPUs are not this machine's.
    assert_eq!(doc["gpus"], serde_json::json!([]), "{doc}");
    // A port in the URL is passed to ssh (`-p`).
    let (doc, _) = snapshot(&["--docker-host", "ssh://root@127.0.0.1:22022"]);
    assert!(doc["containers"].to_string().contains(&c2[0].name), "{doc}");
    // The ssh processes end with gpudock.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let left: Vec<String> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|p| std::fs::read(p.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("dial-stdio") && c.contains(&dir.display().to_string()))
        .collect();
    assert!(left.is_empty(), "ssh processes left behind: {left:?}");
}

/// `.ci/run` gives engine 2 a TLS listener on 127.0.0.1:22376 (`--tlsverify`) and puts the
/// client certificates in `$GPUDOCK_TEST_TLS` (scripts/make-test-certs.sh).
#[cfg_attr(
    not(tls_tests),
    ignore = "TLS test: needs engine 2's TLS listener that .ci/run starts (GPUDOCK_TEST_TLS, both test engines)"
)]
#[test]
fn a_tls_engine_is_reached_with_docker_tls_verify_and_a_tls_context() {
    let one = engine().to_string();
    let two = engine2();
    let c1 = ContainerAt::run(&one, "tls-one", &["sleep", "300"]);
    let c2 = ContainerAt::run(&two, "tls-two", &["sleep", "300"]);
    let certs =
        PathBuf::from(std::env::var("GPUDOCK_TEST_TLS").unwrap_or_else(|e| panic!("GPUDOCK_TEST_TLS: {e}")));
    let url = "tcp://127.0.0.1:22376";
    let snapshot = |cmd: &mut Command| {
        let out = cmd
            .args(["snapshot", "--json", "--nvml-lib", "/nonexistent/libnvidia-ml.so.1"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        doc
    };
    // DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, as the docker CLI; the system's CA list plays no
    // part, so one that is missing breaks nothing.
    let doc = snapshot(
        gpudock()
            .env("SSL_CERT_FILE", "/nonexistent/ca-certificates.crt")
            .env("DOCKER_HOST", url)
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", &certs)
            .env_remove("DOCKER_CONTEXT"),
    );
    assert_eq!(doc["docker"]["host"], format!("{url} (TLS)"), "{doc}");
    let listed = doc["containers"].to_string();
    assert!(listed.contains(&c2.name) && !listed.contains(&c1.name), "{doc}");
    // Without DOCKER_TLS_VERIFY the engine is not spoken to in the clear: it refuses plain HTTP.
    let doc = snapshot(
        gpudock().env("DOCKER_HOST", url).env_remove("DOCKER_TLS_VERIFY").env_remove("DOCKER_CONTEXT"),
    );
    assert_eq!(doc["docker"]["connected"], false, "{doc}");

    // A context with the certificates in its TLS dir, as `docker context create --docker
    // host=…,ca=…,cert=…,key=…` stores them.
    let cfg = ConfigDir::new("tls", &[("secure", url)]);
    let tls = cfg.0.join("contexts/tls").join(format!("{:x}", Sha256::digest(b"secure"))).join("docker");
    std::fs::create_dir_all(&tls).unwrap_or_else(|e| panic!("{e}"));
    for f in ["ca.pem", "cert.pem", "key.pem"] {
        std::fs::copy(certs.join(f), tls.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let doc = snapshot(
        gpudock().env("DOCKER_CONFIG", &cfg.0).env_remove("DOCKER_HOST").args(["--context", "secure"]),
    );
    assert_eq!(doc["docker"]["host"], format!("{url} (TLS) (context secure)"), "{doc}");
    assert!(doc["containers"].to_string().contains(&c2.name), "{doc}");
}
