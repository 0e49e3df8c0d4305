//! `gpudock doctor`: is this node set up to run GPU containers, and if not, what exactly to do.
//! Gathers facts from the driver, the engine, `/etc/docker/daemon.json`, PATH and the CDI spec
//! dirs; the verdicts are in `checks`.

mod checks;

use std::path::Path;

pub use checks::{DaemonJson, Facts, Finding, GpuFact, Level, OF_THIS_MACHINE, check, exit_code};

use crate::docker::{DockerHost, convert, disk};
use crate::snapshot;

/// The programs of the NVIDIA Container Toolkit that dockerd or the user runs.
const TOOLKIT: [&str; 2] = ["nvidia-container-runtime", "nvidia-ctk"];
const DEFAULT_CDI_DIRS: [&str; 2] = ["/etc/cdi", "/var/run/cdi"];
pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";

/// What the checks read from this machine's files and PATH: about the engine only when the
/// engine runs here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostFiles {
    pub daemon_json: (String, Option<Result<DaemonJson, String>>),
    pub toolkit: Vec<(&'static str, Option<String>)>,
    pub cdi_specs: Vec<String>,
}

/// Blocking file reads: run it off the render loop.
pub fn host_files(daemon_json: &Path, cdi_dirs: &[String]) -> HostFiles {
    HostFiles {
        daemon_json: (daemon_json.display().to_string(), read_daemon_json(daemon_json)),
        toolkit: TOOLKIT.iter().map(|t| (*t, on_path(t))).collect(),
        cdi_specs: cdi_specs(cdi_dirs),
    }
}

/// The CDI spec dirs the engine reports, else the toolkit's defaults.
pub fn cdi_dirs(info: Option<&crate::docker::EngineInfo>) -> Vec<String> {
    match info {
        Some(info) if !info.cdi_spec_dirs.is_empty() => info.cdi_spec_dirs.clone(),
        _ => DEFAULT_CDI_DIRS.iter().map(|d| d.to_string()).collect(),
    }
}

pub async fn gather(host: &DockerHost, lib: Option<&Path>, daemon_json: &Path, disk_floor: u64) -> Facts {
    let snap = snapshot::collect(host, lib).await;
    let nvml = match (&snap.nvml.error, snap.nvml.available) {
        (None, true) => Ok((
            snap.nvml.driver_version.clone().unwrap_or_else(|| "?".into()),
            snap.nvml.cuda_driver_version.clone().unwrap_or_else(|| "?".into()),
            snap.gpus.len(),
        )),
        (e, _) => Err(e.clone().unwrap_or_else(|| "NVML did not answer".into())),
    };
    let engine = match crate::docker::connect(host).await {
        Ok(d) => match tokio::try_join!(d.version(), d.info()) {
            Ok((v, i)) => Ok((convert::engine_info(host.to_string(), &v, &i, host.is_local()), d)),
            Err(e) => Err(crate::docker::EngineError::from(e).to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    let disk = match &engine {
        Ok((info, d)) if host.is_local() => match info.docker_root_dir.clone() {
            Some(dir) => {
                let fs = disk::statvfs(&dir);
                let reclaimable = disk::usage(d, true).await.ok().map(|u| u.reclaimable_total());
                fs.map(|fs| (dir, fs, reclaimable))
            }
            None => None,
        },
        _ => None,
    };
    let files = host_files(daemon_json, &cdi_dirs(engine.as_ref().ok().map(|(info, _)| info)));
    let unasked = snap
        .containers
        .iter()
        .filter(|c| c.gpu_request.is_none())
        .filter_map(|c| Some((c.name.clone(), c.gpus.clone()?.trim_end_matches('*').to_string())))
        .collect();
    Facts {
        nvml,
        engine_host: host.to_string(),
        local: host.is_local(),
        engine: engine.map(|(info, _)| info),
        daemon_json: files.daemon_json,
        toolkit: files.toolkit,
        cdi_specs: files.cdi_specs,
        disk,
        disk_floor,
        unasked,
        gpus: snap
            .gpus
            .iter()
            .map(|g| GpuFact {
                index: g.index,
                name: g.name.clone(),
                state: g.state,
                faults: g.faults.clone(),
                warnings: g.warnings.clone(),
            })
            .collect(),
    }
}

fn read_daemon_json(path: &Path) -> Option<Result<DaemonJson, String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(serde_json::from_str(&text).map_err(|e| e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(Err(e.to_string())),
    }
}

fn on_path(program: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

/// Spec files in the CDI dirs that describe NVIDIA GPUs.
fn cdi_specs(dirs: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            let spec = p.extension().is_some_and(|x| x == "yaml" || x == "json");
            if spec && std::fs::read_to_string(&p).is_ok_and(|t| t.contains("nvidia.com/gpu")) {
                out.push(p.display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// The findings as a person reads them.
pub fn text(findings: &[Finding]) -> String {
    let mut out = String::from("gpudock doctor: is this node ready for GPU containers?\n\n");
    for f in findings {
        let tag = match f.level {
            Level::Ok => "ok  ",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        };
        out.push_str(&format!("{tag}  {:<26}{}\n", f.check, f.detail));
        if let Some(fix) = &f.fix {
            out.push_str(&format!("      {:<26}fix: {fix}\n", ""));
        }
    }
    let (warns, fails) = (
        findings.iter().filter(|f| f.level == Level::Warn).count(),
        findings.iter().filter(|f| f.level == Level::Fail).count(),
    );
    out.push_str(&match (fails, warns) {
        (0, 0) => "\nAll good.\n".to_string(),
        (0, w) => format!("\n{w} warning{}.\n", if w == 1 { "" } else { "s" }),
        (f, w) => format!(
            "\n{f} failure{}, {w} warning{}.\n",
            if f == 1 { "" } else { "s" },
            if w == 1 { "" } else { "s" }
        ),
    });
    out
}

/// Runs the doctor and prints its findings; returns the exit code (0 ok, 1 warnings, 2 failures).
pub async fn print(
    host: &DockerHost,
    lib: Option<&Path>,
    daemon_json: &Path,
    disk_floor: u64,
    json: bool,
) -> anyhow::Result<u8> {
    use std::io::Write;
    let facts = gather(host, lib, daemon_json, disk_floor).await;
    let findings = check(&facts);
    let code = exit_code(&findings);
    let out = if json {
        let doc = serde_json::json!({ "findings": findings, "exit_code": code });
        crate::sanitize::json(&serde_json::to_string_pretty(&doc)?).into_owned() + "\n"
    } else {
        crate::sanitize::lines(&text(&findings)).into_owned()
    };
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    Ok(code)
}

#[cfg(test)]
mod tests;
