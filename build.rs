//! Build facts: the commit for `--version`, and whether the engine tests are compiled in.
//!
//! Engine tests create, kill and prune containers: they are compiled in only when
//! GPUDOCK_TEST_DOCKER_HOST names the engine they may use, and show as ignored (with the reason)
//! otherwise, so a plain `cargo test` on a GPU node never touches its production engine. Tests
//! that need two engines also need GPUDOCK_TEST_DOCKER_HOST2.

fn main() {
    // `gpudock --version` names the commit it was built from, when built from a git checkout.
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty());
    match commit {
        Some(c) => println!("cargo::rustc-env=GPUDOCK_VERSION={} (commit {c})", env!("CARGO_PKG_VERSION")),
        None => println!("cargo::rustc-env=GPUDOCK_VERSION={}", env!("CARGO_PKG_VERSION")),
    }
    // A new commit changes the name. Only paths that exist are watched: cargo runs a build
    // script again on every build while a watched path is missing, which in a git worktree
    // (where `.git` is a file) or an unpacked tarball recompiled gpudock on every cargo call.
    let git = |what: &str| {
        std::process::Command::new("git")
            .args(["rev-parse", what])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
    };
    let watched: Vec<std::path::PathBuf> = [
        git("--git-dir").map(|d| d.join("HEAD")),
        git("--git-common-dir").map(|d| d.join("refs/heads")),
        git("--git-common-dir").map(|d| d.join("packed-refs")),
    ]
    .into_iter()
    .flatten()
    .filter(|p| p.exists())
    .collect();
    for p in &watched {
        println!("cargo::rerun-if-changed={}", p.display());
    }
    if watched.is_empty() {
        println!("cargo::rerun-if-changed=build.rs");
    }
    println!("cargo::rustc-check-cfg=cfg(engine_tests)");
    println!("cargo::rerun-if-env-changed=GPUDOCK_TEST_DOCKER_HOST");
    let set = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    if set("GPUDOCK_TEST_DOCKER_HOST") {
        println!("cargo::rustc-cfg=engine_tests");
    }
    // A second engine (`.ci/run` starts one) for tests that must tell two engines apart.
    println!("cargo::rustc-check-cfg=cfg(engine2_tests)");
    println!("cargo::rerun-if-env-changed=GPUDOCK_TEST_DOCKER_HOST2");
    if set("GPUDOCK_TEST_DOCKER_HOST") && set("GPUDOCK_TEST_DOCKER_HOST2") {
        println!("cargo::rustc-cfg=engine2_tests");
    }
    // A loopback sshd whose `docker` talks to the second engine (scripts/start-test-sshd.sh):
    // GPUDOCK_TEST_SSH names its directory.
    println!("cargo::rustc-check-cfg=cfg(ssh_tests)");
    println!("cargo::rerun-if-env-changed=GPUDOCK_TEST_SSH");
    if set("GPUDOCK_TEST_DOCKER_HOST") && set("GPUDOCK_TEST_DOCKER_HOST2") && set("GPUDOCK_TEST_SSH") {
        println!("cargo::rustc-cfg=ssh_tests");
    }
    // The second engine's TLS listener (tcp://127.0.0.1:22376) and the client certificates'
    // directory (scripts/make-test-certs.sh): GPUDOCK_TEST_TLS names the directory.
    println!("cargo::rustc-check-cfg=cfg(tls_tests)");
    println!("cargo::rerun-if-env-changed=GPUDOCK_TEST_TLS");
    if set("GPUDOCK_TEST_DOCKER_HOST") && set("GPUDOCK_TEST_DOCKER_HOST2") && set("GPUDOCK_TEST_TLS") {
        println!("cargo::rustc-cfg=tls_tests");
    }
}
