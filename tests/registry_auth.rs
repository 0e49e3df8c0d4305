//! Pulls that need a login, against a real registry: Debian's `docker-registry` (the
//! distribution registry) on loopback with htpasswd auth, an image pushed to it through the
//! private test engine with `docker login`, removed locally, then pulled by `gpudock run`
//! (a) with the login stored in a config file, (b) with it held by a credential helper, and
//! (c) without one: refused, with the `docker login` to run. The secret never shows in
//! gpudock's output or its log.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use common::engine::{IMAGE, docker, docker_cmd, engine};

struct Registry {
    child: Child,
    port: u16,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    l.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"))
}

fn start_registry(dir: &Path, user: &str, pass: &str) -> Registry {
    let ht = Command::new("htpasswd")
        .args(["-Bbn", user, pass])
        .output()
        .unwrap_or_else(|e| panic!("htpasswd (apache2-utils) is needed: {e}"));
    assert!(ht.status.success());
    std::fs::write(dir.join("htpasswd"), &ht.stdout).unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: gpudock-test\n    path: {}\n",
        dir.join("data").display(),
        dir.join("htpasswd").display()
    );
    std::fs::write(dir.join("config.yml"), config).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("docker-registry (Debian package docker-registry) is needed: {e}"));
    let reg = Registry { child, port };
    // Up when it answers; a bounded number of tries, not a timing.
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return reg;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("docker-registry did not start on port {port}");
}

fn gpudock(config_dir: &Path, path_dir: Option<&Path>, log: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gpudock"));
    let host = std::env::var(common::engine::HOST_VAR).unwrap_or_default();
    let path = match path_dir {
        Some(d) => format!("{}:{}", d.display(), std::env::var("PATH").unwrap_or_default()),
        None => std::env::var("PATH").unwrap_or_default(),
    };
    c.env("DOCKER_CONFIG", config_dir)
        .env("PATH", path)
        .env("GPUDOCK_LOG", "trace")
        .env("GPUDOCK_NVML_LIB", "/nonexistent/libnvidia-ml.so.1")
        .env_remove("DOCKER_HOST")
        .arg("--docker-host")
        .arg(host)
        .arg("--log-file")
        .arg(log);
    c
}

fn rmi(image: &str) {
    let _ = docker_cmd().args(["rmi", "-f", image]).stdout(Stdio::null()).stderr(Stdio::null()).status();
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gpudock-registry-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

#[cfg_attr(not(engine_tests), ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST (README: Set up)")]
#[test]
fn pulls_with_a_stored_login_or_a_helper_and_says_which_login_is_missing() {
    engine();
    let root = dir("root");
    let (user, pass) = ("gpudock", format!("s3cret-{}", std::process::id()));
    let reg = start_registry(&root, user, &pass);
    let registry = format!("127.0.0.1:{}", reg.port);
    let image = format!("{registry}/gpudock-test/auth-{}:1", std::process::id());

    // Push with the docker CLI's own login, in a config dir of the test's.
    let push_cfg = dir("push");
    let mut login = docker_cmd();
    login.arg("--config").arg(&push_cfg).args(["login", "-u", user, "--password-stdin", &registry]);
    let mut child = login
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, pass.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "docker login: {}", String::from_utf8_lossy(&out.stderr));
    docker(&["tag", IMAGE, &image]);
    let out = docker_cmd()
        .arg("--config")
        .arg(&push_cfg)
        .args(["push", &image])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "docker push: {}", String::from_utf8_lossy(&out.stderr));
    rmi(&image);

    let secret_b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let no_secret = |what: &str, text: &str| {
        assert!(!text.contains(&pass) && !text.contains(&secret_b64), "{what} shows the secret: {text}");
    };
    let run = |cfg: &Path, path_dir: Option<&Path>, tag: &str| {
        let log = root.join(format!("{tag}.log"));
        let out = gpudock(cfg, path_dir, &log)
            .args(["run", "--network", "none", &image, "echo", "pulled"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        no_secret("stderr", &stderr);
        no_secret("the log", &std::fs::read_to_string(&log).unwrap_or_default());
        rmi(&image);
        (out.status.code(), stdout, stderr)
    };

    // (a) a login stored in config.json, as `docker login` writes it without a store.
    let stored = dir("stored");
    std::fs::write(
        stored.join("config.json"),
        format!(r#"{{"auths":{{"{registry}":{{"auth":"{secret_b64}"}}}}}}"#),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) = run(&stored, None, "stored");
    assert_eq!((code, stdout.as_str()), (Some(0), "pulled\n"), "{stderr}");
    // Not a terminal: the pull's progress as plain status lines.
    assert!(stderr.contains(&format!("gpudock: pulling {image}: ")) && !stderr.contains('\r'), "{stderr}");

    // (b) a login held by a credential helper.
    let helper = dir("helper");
    let bin = helper.join("bin");
    std::fs::create_dir_all(&bin).unwrap_or_else(|e| panic!("{e}"));
    let script = bin.join("docker-credential-gpudocktest");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n[ \"$server\" = {registry} ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{pass}\"}}' \"$server\"\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        helper.join("config.json"),
        format!(r#"{{"credHelpers":{{"{registry}":"gpudocktest"}}}}"#),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) = run(&helper, Some(&bin), "helper");
    assert_eq!((code, stdout.as_str()), (Some(0), "pulled\n"), "{stderr}");

    // (c) no login: refused, with the login to run.
    let none = dir("none");
    let (code, _, stderr) = run(&none, None, "none");
    assert_eq!(code, Some(125), "{stderr}");
    assert!(stderr.contains(&format!("docker login {registry}")), "{stderr}");

    // The same helper as the store for every registry (`credsStore`).
    std::fs::write(helper.join("config.json"), r#"{"credsStore":"gpudocktest"}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, _, stderr) = run(&helper, Some(&bin), "store");
    assert_eq!(code, Some(0), "credsStore is used for every registry: {stderr}");

    for d in [&root, &push_cfg, &stored, &helper, &none] {
        let _ = std::fs::remove_dir_all(d);
    }
}
