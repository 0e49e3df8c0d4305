//! This node's readiness for GPU containers, judged by `gpudock doctor`'s own checks from what
//! the app already knows (the engine, the driver, the containers' GPU use) and the files the
//! executor read for it, so the help screen and the launch form say what the doctor says.

use super::{AppState, EngineStatus, GpuStatus};
use crate::docker::EngineError;
use crate::doctor::{self, Check, Driver, Facts, Finding, Level};
use crate::msg::Command;

/// Checks that decide whether `--gpus` can work at all.
const GPU_LAUNCH: [Check; 5] =
    [Check::Driver, Check::Toolkit, Check::NvidiaRuntime, Check::DefaultRuntime, Check::DaemonJson];
/// Checks that read this machine's files: meaningless before the files were read, or when the
/// engine runs elsewhere.
const FROM_FILES: [Check; 3] = [Check::Toolkit, Check::CdiSpecs, Check::DaemonJson];

/// Asks the executor to read the files again: the user may have just fixed one.
pub fn refresh(app: &AppState) -> Command {
    let info = match &app.engine {
        EngineStatus::Up(info) => Some(info),
        _ => None,
    };
    Command::CheckNode { cdi_dirs: doctor::cdi_dirs(info) }
}

/// Every finding the app can back with facts; None while the driver has not answered yet.
pub fn findings(app: &AppState) -> Option<Vec<Finding>> {
    let nvml = match (&app.gpu.status, &app.gpu.snapshot) {
        (GpuStatus::Up, Some(s)) => Driver::Up {
            driver: s.driver_version.clone().unwrap_or_else(|| "?".into()),
            cuda: s.cuda_version.clone().unwrap_or_else(|| "?".into()),
            gpus: s.gpus.len(),
        },
        (GpuStatus::Unavailable { reason, .. }, _) => Driver::Down(reason.clone()),
        // Another machine's engine: this machine's driver says nothing about it.
        (GpuStatus::Remote { .. }, _) => Driver::Remote,
        _ => return None,
    };
    let remote = matches!(app.gpu.status, GpuStatus::Remote { .. });
    let (host, engine) = match &app.engine {
        EngineStatus::Up(info) => (info.host.clone(), Ok(info.clone())),
        // The collector hands over the engine's words only: the doctor's permission-denied fix
        // needs the error's kind, which `gpudock doctor` itself has.
        EngineStatus::Down { host, reason, .. } => (host.clone(), Err(EngineError::Other(reason.clone()))),
        EngineStatus::Connecting { .. } => return None,
    };
    let files = app.node_files.clone().unwrap_or_default();
    let unasked = app
        .table
        .all()
        .iter()
        .filter(|c| c.gpus.is_none())
        .filter_map(|c| {
            let used = &app.gpu.usage.get(&c.id)?.gpus;
            (!used.is_empty()).then(|| (c.name.clone(), used.clone()))
        })
        .collect();
    let facts = Facts {
        nvml,
        engine_host: host,
        local: !remote,
        engine,
        daemon_json: files.daemon_json,
        toolkit: files.toolkit,
        cdi_specs: files.cdi_specs,
        // The header already warns about the disk, with the live figure.
        disk: None,
        disk_floor: app.disk_floor,
        unasked,
        // The same state the GPU panel shows, so the node view and `doctor` agree.
        gpus: app
            .gpu
            .snapshot
            .iter()
            .flat_map(|s| &s.gpus)
            .filter_map(|g| {
                let a = app.gpu.assessment(g.index)?;
                Some(doctor::GpuFact {
                    index: g.index,
                    name: g.name.clone(),
                    state: a.state,
                    faults: a.faults(),
                    warnings: a.warnings(),
                })
            })
            .collect(),
        // The unit is not asked about from here: no process runs on a render path.
        fabric: doctor::fabric_facts(app.gpu.snapshot.as_ref().map_or(&[][..], |s| s.gpus.as_slice()), None),
        // The dashboard watches XIDs as they happen; it reads no kernel log on a render path.
        past_xids: doctor::PastXids::NotRead,
    };
    let mut out = doctor::check(&facts);
    out.retain(|f| !(app.node_files.is_none() && FROM_FILES.contains(&f.check)));
    Some(out)
}

/// What stands between the launch form and a container that gets GPUs.
pub fn gpu_blockers(app: &AppState) -> Vec<Finding> {
    let mut out = findings(app).unwrap_or_default();
    out.retain(|f| f.level > Level::Info && GPU_LAUNCH.contains(&f.check));
    out
}
