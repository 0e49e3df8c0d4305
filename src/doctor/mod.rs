//! `gpudock doctor`: is this node set up to run GPU containers, and if not, what exactly to do.
//! Reads typed facts from `probe` (the driver, the engine, `/etc/docker/daemon.json`, PATH and
//! the CDI spec dirs); the verdicts are in `checks`.

mod checks;
mod fabric;
mod gpu_health;

use std::path::Path;

pub use crate::probe::{DAEMON_JSON, DaemonJson, HostFiles, cdi_dirs, host_files};
pub use checks::{Check, Driver, Facts, Finding, GpuFact, Level, OF_THIS_MACHINE, check, exit_code};
pub use fabric::{FabricFacts, Service, check as fabric_check, facts as fabric_facts};
pub use gpu_health::PastXids;

use crate::docker::{DockerHost, convert, disk};
use crate::probe::{self, Nvml};

pub async fn gather(host: &DockerHost, lib: Option<&Path>, daemon_json: &Path, disk_floor: u64) -> Facts {
    // Doctor shows no owners.
    let probe = probe::collect(host, lib, &[]).await;
    let nvml = match &probe.nvml {
        Nvml::Up { snapshot, .. } => Driver::Up {
            driver: snapshot.driver_version.clone().unwrap_or_else(|| "?".into()),
            cuda: snapshot.cuda_version.clone().unwrap_or_else(|| "?".into()),
            gpus: snapshot.gpus.len(),
        },
        Nvml::Failed { reason, .. } | Nvml::Unavailable(reason) => Driver::Down(reason.clone()),
        Nvml::Remote { .. } => Driver::Remote,
    };
    let engine = match crate::docker::connect(host).await {
        Ok(d) => match tokio::try_join!(d.version(), d.info()) {
            Ok((v, i)) => Ok((convert::engine_info(host.to_string(), &v, &i, host.is_local()), d)),
            Err(e) => Err(crate::docker::EngineError::from(e)),
        },
        Err(e) => Err(e),
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
    let unasked = probe.unasked();
    let kernel = probe.kernel_xids();
    let past_xids = past(&probe);
    // One sample: the driver keeps no XID history, so only what the GPU reports now counts.
    let gpus = match &probe.nvml {
        Nvml::Up { snapshot, .. } => snapshot
            .gpus
            .iter()
            .map(|g| {
                let a = crate::gpu::state::assess(g, kernel.get(&g.index).into_iter().flatten().copied());
                GpuFact {
                    index: g.index,
                    name: g.name.clone(),
                    state: a.state,
                    faults: a.faults(),
                    warnings: a.warnings(),
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let samples = match &probe.nvml {
        Nvml::Up { snapshot, .. } => snapshot.gpus.as_slice(),
        _ => &[],
    };
    // The unit matters only where GPUs report fabric state, and only on this machine.
    let manager = if host.is_local() && samples.iter().any(|g| g.fabric.is_some()) {
        Some(fabric::fabric_manager().await)
    } else {
        None
    };
    let fabric = fabric::facts(samples, manager);
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
        gpus,
        fabric,
        past_xids,
    }
}

/// The kernel log's XIDs with the GPU at each one's bus, or why it could not be read.
fn past(probe: &probe::Probe) -> PastXids {
    use crate::gpu::kernel_xid::{KernelLog, gpu_at};
    if !matches!(probe.nvml, Nvml::Up { .. }) {
        return PastXids::NotRead;
    }
    let buses = probe.gpu_buses();
    match &probe.kernel {
        None => PastXids::NotRead,
        Some(KernelLog::Unreadable(why)) => PastXids::Unknown(why.iter().map(ToString::to_string).collect()),
        Some(KernelLog::Read { source, xids, .. }) => PastXids::Read {
            source: source.as_str(),
            xids: xids.iter().map(|x| (gpu_at(&x.bus, buses.iter().copied()), x.code)).collect(),
        },
    }
}

/// The findings as a person reads them.
pub fn text(findings: &[Finding]) -> String {
    let mut out = String::from("gpudock doctor: is this node ready for GPU containers?\n\n");
    for f in findings {
        let tag = match f.level {
            Level::Ok => "ok  ",
            Level::Info => "info",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        };
        out.push_str(&format!("{tag}  {:<26}{}\n", f.check.title(), f.detail));
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
