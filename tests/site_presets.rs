//! Site presets end to end: files in the site directory (`GPUDOCK_SITE_PRESETS`), the user's
//! config and the built-in presets, seen through `gpudock run --preset NAME --dry-run`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gpudock-site-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

fn dry_run(site: &Path, config: &Path, preset: &str) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gpudock"))
        .env("GPUDOCK_SITE_PRESETS", site)
        .env("GPUDOCK_NVML_LIB", "/nonexistent/libnvidia-ml.so.1")
        .env("USER", "alice")
        .arg("--config")
        .arg(config)
        .arg("--log-file")
        .arg(site.join("log"))
        .args(["run", "--dry-run", "--preset", preset])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn the_user_beats_the_site_and_the_site_beats_the_builtin() {
    let site = dir("d");
    std::fs::write(
        site.join("10-lab.toml"),
        r#"
[[presets]]
name = "cuda-12-smoke"
image = "registry.lab.example/cuda:12.9.1-base-ubuntu24.04"
command = "nvidia-smi -L"

[[presets]]
name = "lab-notebook"
image = "registry.lab.example/jupyter:1"
command = "jupyter lab"
volumes = "/datasets:/datasets:ro"
ports = "8888:8888"
env = "HF_HOME=/datasets/hf"
note = "Datasets are read-only under /datasets."
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(site.join("README"), "not a preset file").unwrap_or_else(|e| panic!("{e}"));
    let home = dir("home");
    let config = home.join("config.toml");
    std::fs::write(&config, "[[presets]]\nname = \"lab-notebook\"\nimage = \"me/notebook:2\"\n")
        .unwrap_or_else(|e| panic!("{e}"));

    // The site's preset replaces the built-in one of the same name.
    let (code, line, err) = dry_run(&site, &config, "cuda-12-smoke");
    assert_eq!(code, Some(0), "{err}");
    assert!(line.contains("registry.lab.example/cuda:12.9.1-base-ubuntu24.04 nvidia-smi -L"), "{line}");
    assert!(line.contains("io.gpudock.preset=cuda-12-smoke"), "{line}");
    // The user's replaces the site's.
    let (_, line, err) = dry_run(&site, &config, "lab-notebook");
    assert!(line.ends_with(" me/notebook:2"), "{line} {err}");
    // Without the user's, the site's with its mounts, env and ports.
    std::fs::write(&config, "theme = \"default\"\n").unwrap_or_else(|e| panic!("{e}"));
    let (_, line, err) = dry_run(&site, &config, "lab-notebook");
    assert!(
        line.contains("-e HF_HOME=/datasets/hf -v /datasets:/datasets:ro -p 8888:8888")
            && line.ends_with("registry.lab.example/jupyter:1 jupyter lab"),
        "{line} {err}"
    );
    // --dry-run changes nothing: read-only mode allows it.
    std::fs::write(&config, "read_only = true\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dry_run(&site, &config, "lab-notebook").0, Some(0));
    std::fs::write(&config, "theme = \"default\"\n").unwrap_or_else(|e| panic!("{e}"));
    // Built-in ones not replaced are still there; an unknown name lists the site's as such.
    assert_eq!(dry_run(&site, &config, "ngc-pytorch").0, Some(0));
    let (code, _, err) = dry_run(&site, &config, "nope");
    assert_eq!(code, Some(125));
    assert!(err.contains("lab-notebook (site)") && err.contains("ngc-pytorch"), "{err}");

    // A broken site file stops with its name, line and column.
    std::fs::write(site.join("20-broken.toml"), "[[presets]]\nname = \"x\"\nimage = 3\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = dry_run(&site, &config, "lab-notebook");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("20-broken.toml") && err.contains("line 3"), "{err}");
    let _ = std::fs::remove_dir_all(&site);
    let _ = std::fs::remove_dir_all(&home);
}
