//! gpudock against peers that misbehave on purpose (`tests/hostile/`): what it reads from them is
//! bounded, and it trusts only what it was told to trust.

#[path = "hostile/mod.rs"]
mod hostile;

use std::process::Command;
use std::sync::atomic::Ordering;

use hostile::{EndlessEngine, RogueTls};

/// Far past any cap, so a client without one fails the test instead of hanging it.
const GIVE_UP: u64 = 1 << 30;

fn snapshot(cmd: &mut Command) -> serde_json::Value {
    let out = cmd
        .args(["snapshot", "--json", "--nvml-lib", "/nonexistent/libnvidia-ml.so.1"])
        .env_remove("DOCKER_CONTEXT")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn an_endless_listing_is_cut_at_the_cap_and_named() {
    for endless in ["/containers/json", "/version"] {
        let engine = EndlessEngine::start(endless, GIVE_UP);
        let doc = snapshot(
            Command::new(env!("CARGO_BIN_EXE_gpudock"))
                .env_remove("DOCKER_TLS_VERIFY")
                .args(["--docker-host", &engine.url]),
        );
        let sent = engine.sent.load(Ordering::Relaxed);
        let error = doc["docker"]["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(&format!("GET {endless}")) && error.contains("MiB"), "{endless}: {doc}");
        // The cap (64 MiB) plus what the sockets buffer.
        assert!(sent < 80 << 20, "{endless}: read {sent} bytes of an endless answer");
    }
}

#[test]
fn tls_trusts_only_the_given_ca_never_the_system_s() {
    let trusted = hostile::certs("trusted");
    let rogue = hostile::certs("rogue");
    let engine = RogueTls::start(&rogue);
    // The rogue CA is one the system trusts (`SSL_CERT_FILE`); DOCKER_CERT_PATH names another.
    let doc = snapshot(
        Command::new(env!("CARGO_BIN_EXE_gpudock"))
            .env("DOCKER_HOST", &engine.url)
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", &trusted)
            .env("SSL_CERT_FILE", rogue.join("ca.pem"))
            .env("SSL_CERT_DIR", &rogue),
    );
    let error = doc["docker"]["error"].as_str().unwrap_or_default().to_lowercase();
    assert_eq!(doc["docker"]["connected"], false, "{doc}");
    assert!(error.contains("invalid peer certificate"), "{doc}");
    let _ = std::fs::remove_dir_all(trusted);
    let _ = std::fs::remove_dir_all(rogue);
}

/// `W` on a container whose engine sends a log that never ends in a newline: the save fails
/// with the stream's limit, and no partial file is left behind.
#[tokio::test]
async fn a_failed_log_save_removes_its_partial_file() {
    let engine = EndlessEngine::start("/logs", GIVE_UP);
    let host = gpudock::docker::DockerHost::parse(&engine.url).unwrap_or_else(|e| panic!("{e}"));
    let docker = gpudock::docker::connect(&host).await.unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("endless.log");
    let id = gpudock::docker::ContainerId::new("a".repeat(64));
    let r = gpudock::docker::logs::save_whole(&docker, &id, &path).await;
    let err = r.err().unwrap_or_default();
    assert!(err.contains("passed 4 MiB") && err.contains("partial file was removed"), "{err}");
    assert!(!path.exists(), "the partial file is still there");
    assert!(engine.sent.load(Ordering::Relaxed) < 64 << 20);
}

/// An engine that stops answering (SIGSTOP, a hung dockerd) while its event stream stays open:
/// the dashboard's collector says it is down within a health interval or two, not after the
/// next listing's timeout (about 55 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_engine_is_reported_down_within_a_health_interval() {
    use gpudock::docker::{DockerCollector, EngineEvent};
    let engine = EndlessEngine::start("", GIVE_UP);
    let host = gpudock::docker::DockerHost::parse(&engine.url).unwrap_or_else(|e| panic!("{e}"));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<EngineEvent>(64);
    let task = tokio::spawn(DockerCollector::new(host, std::time::Duration::from_secs(1), tx).run());
    loop {
        match next(&mut rx, 10).await {
            Some(EngineEvent::Connected(_)) => break,
            Some(_) => {}
            None => panic!("never connected"),
        }
    }
    engine.frozen.store(true, Ordering::Relaxed);
    // Two health intervals (ping, then its deadline), and slack for a loaded machine; the old
    // collector needed the 30 s reconcile plus the 30 s request timeout.
    let limit = 2 * gpudock::docker::collector::HEALTH.as_secs() + 8;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(limit);
    let down = loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(EngineEvent::Down { reason, .. })) => break reason,
            Ok(Some(_)) => {}
            _ => panic!("a frozen engine was not reported down within {limit} s"),
        }
    };
    assert!(down.contains("ping"), "{down}");
    task.abort();
}

async fn next<T>(rx: &mut tokio::sync::mpsc::Receiver<T>, secs: u64) -> Option<T> {
    tokio::time::timeout(std::time::Duration::from_secs(secs), rx.recv()).await.ok().flatten()
}
