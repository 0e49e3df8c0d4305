//! Engine tests create, kill and prune containers: they are compiled in only when
//! GPUDOCK_TEST_DOCKER_HOST names the engine they may use, and show as ignored (with the reason)
//! otherwise, so a plain `cargo test` on a GPU node never touches its production engine.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(engine_tests)");
    println!("cargo::rerun-if-env-changed=GPUDOCK_TEST_DOCKER_HOST");
    if std::env::var_os("GPUDOCK_TEST_DOCKER_HOST").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=engine_tests");
    }
}
