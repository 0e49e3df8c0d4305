//! The doctor's verdicts on facts like this machine's and on fixture `daemon.json` files
//! (as `nvidia-ctk runtime configure` writes them).

use super::checks::*;
use crate::docker::disk::FsUsage;
use crate::docker::{EngineError, EngineInfo};
use crate::probe::DaemonJson;

fn engine(runtimes: &[&str], default: &str) -> EngineInfo {
    EngineInfo {
        host: "unix:///var/run/docker.sock".into(),
        server_version: Some("20.10.24".into()),
        runtimes: runtimes.iter().map(|r| r.to_string()).collect(),
        default_runtime: Some(default.into()),
        cgroup_version: Some("1".into()),
        cgroup_driver: Some("cgroupfs".into()),
        ..Default::default()
    }
}

fn daemon(text: &str) -> Option<Result<DaemonJson, String>> {
    Some(serde_json::from_str(text).map_err(|e| e.to_string()))
}

/// This machine as it is: no driver, an engine without the nvidia runtime, no toolkit.
fn bare() -> Facts {
    Facts {
        nvml: Driver::Down(
            "NVML not available: libnvidia-ml.so.1 not found — no NVIDIA driver on this host?".into(),
        ),
        engine_host: "unix:///var/run/docker.sock".into(),
        local: true,
        engine: Ok(engine(&["io.containerd.runc.v2", "runc"], "runc")),
        daemon_json: ("/etc/docker/daemon.json".into(), None),
        toolkit: vec![("nvidia-container-runtime", None), ("nvidia-ctk", None)],
        cdi_specs: Vec::new(),
        disk: Some((
            "/var/lib/docker".into(),
            FsUsage { total: 1_000_000_000_000, free: 500_000_000_000, used: 500_000_000_000 },
            Some(0),
        )),
        disk_floor: 20_000_000_000,
        unasked: Vec::new(),
        gpus: Vec::new(),
        fabric: Default::default(),
        past_xids: Default::default(),
    }
}

fn find(f: &[Finding], check: Check) -> &Finding {
    f.iter().find(|x| x.check == check).unwrap_or_else(|| panic!("no {check} finding in {f:?}"))
}

#[test]
fn a_node_without_the_nvidia_runtime_fails_and_says_how_to_fix_it() {
    let f = check(&bare());
    let rt = find(&f, Check::NvidiaRuntime);
    assert_eq!(rt.level, Level::Fail);
    assert!(rt.detail.contains("no `nvidia` runtime"), "{rt:?}");
    assert!(rt.fix.as_deref().is_some_and(|x| x.contains("nvidia-ctk runtime configure --runtime=docker")));
    assert_eq!(find(&f, Check::Driver).level, Level::Fail);
    assert_eq!(find(&f, Check::Toolkit).level, Level::Fail);
    assert_eq!(find(&f, Check::CdiSpecs).level, Level::Warn);
    assert_eq!(find(&f, Check::DiskSpace).level, Level::Ok);
    assert_eq!(exit_code(&f), 2);
}

#[test]
fn daemon_json_edited_but_dockerd_not_restarted() {
    let mut facts = bare();
    facts.daemon_json.1 = daemon(include_str!("../../tests/fixtures/daemon-nvidia-default.json"));
    let f = check(&facts);
    let rt = find(&f, Check::NvidiaRuntime);
    assert!(rt.detail.contains("edited but not restarted"), "{rt:?}");
    assert_eq!(rt.fix.as_deref(), Some("sudo systemctl restart docker"));
    let default = find(&f, Check::DefaultRuntime);
    assert_eq!(default.level, Level::Warn);
    assert!(default.detail.contains("default-runtime nvidia") && default.detail.contains("uses runc"));
}

#[test]
fn a_ready_node_is_all_good() {
    let mut facts = bare();
    facts.nvml = Driver::Up { driver: "550.54.15".into(), cuda: "12.4".into(), gpus: 8 };
    facts.engine = Ok(engine(&["nvidia", "runc"], "runc"));
    facts.daemon_json.1 = daemon(include_str!("../../tests/fixtures/daemon-nvidia.json"));
    facts.toolkit = vec![
        ("nvidia-container-runtime", Some("/usr/bin/nvidia-container-runtime".into())),
        ("nvidia-ctk", None),
    ];
    facts.cdi_specs = vec!["/etc/cdi/nvidia.yaml".into()];
    let f = check(&facts);
    assert!(f.iter().all(|x| x.level == Level::Ok), "{f:#?}");
    assert_eq!(exit_code(&f), 0);
    assert!(find(&f, Check::Driver).detail.contains("8 GPUs"));
}

#[test]
fn warnings_alone_exit_1() {
    let mut facts = bare();
    facts.nvml = Driver::Up { driver: "550.54.15".into(), cuda: "12.4".into(), gpus: 1 };
    facts.engine = Ok(engine(&["nvidia", "runc"], "runc"));
    facts.toolkit = vec![("nvidia-ctk", Some("/usr/bin/nvidia-ctk".into()))];
    facts.unasked = vec![("sneaky".into(), vec![3])];
    facts.disk = Some((
        "/var/lib/docker".into(),
        FsUsage { total: 100_000_000_000, free: 5_000_000_000, used: 95_000_000_000 },
        Some(9_100_000_000),
    ));
    let f = check(&facts);
    assert_eq!(find(&f, Check::Unasked).detail, "sneaky on GPU 3");
    let disk = find(&f, Check::DiskSpace);
    assert!(disk.level == Level::Warn && disk.detail.contains("pruning could free 9.1 GB"), "{disk:?}");
    assert_eq!(exit_code(&f), 1);
}

#[test]
fn an_unreadable_daemon_json_and_a_locked_socket_say_what_to_do() {
    let mut facts = bare();
    facts.daemon_json.1 = daemon("{ not json");
    // The error's kind decides the fix, not its words.
    facts.engine = Err(EngineError::PermissionDenied("Permission denied (os error 13)".into()));
    let f = check(&facts);
    let engine = find(&f, Check::Engine);
    assert!(engine.fix.as_deref().is_some_and(|x| x.contains("usermod -aG docker")), "{engine:?}");
    // A refused connection, even one whose words mention the docker group, is not a permission fix.
    facts.engine = Err(EngineError::Other("is your user in the docker group?".into()));
    let f = check(&facts);
    assert!(find(&f, Check::Engine).fix.as_deref().is_some_and(|x| x.contains("start dockerd")));
    // The runtime checks need the engine: they are left out rather than guessed.
    assert!(f.iter().all(|x| x.check != Check::NvidiaRuntime));
    let mut facts = bare();
    facts.daemon_json.1 = daemon("{ not json");
    let f = check(&facts);
    assert_eq!(find(&f, Check::DaemonJson).level, Level::Fail);
}

#[test]
fn a_remote_engine_is_not_judged_by_this_machines_driver_and_files() {
    let mut facts = bare();
    facts.local = false;
    facts.daemon_json.1 = daemon(include_str!("../../tests/fixtures/daemon-nvidia-default.json"));
    let f = check(&facts);
    for local in crate::doctor::OF_THIS_MACHINE {
        assert!(f.iter().all(|x| x.check != local), "{local} judged on the wrong machine: {f:?}");
    }
    // The engine's own report still counts: no nvidia runtime there, whatever this daemon.json says.
    let rt = find(&f, Check::NvidiaRuntime);
    assert!(rt.level == Level::Fail && !rt.detail.contains("edited"), "{rt:?}");
}

#[test]
fn a_broken_gpu_fails_with_what_is_wrong_and_throttling_warns() {
    use crate::gpu::state::State;
    let gpu = |index, state, faults: &[&str], warnings: &[&str]| GpuFact {
        index,
        name: "NVIDIA H100 80GB HBM3".into(),
        state,
        faults: faults.iter().map(|s| s.to_string()).collect(),
        warnings: warnings.iter().map(|s| s.to_string()).collect(),
    };
    let mut facts = bare();
    facts.nvml = Driver::Up { driver: "550.54.15".into(), cuda: "12.4".into(), gpus: 3 };
    let health = |f: &Facts| check(f).into_iter().find(|x| x.check == Check::GpuHealth);
    facts.gpus = vec![gpu(0, State::Free, &[], &[]), gpu(1, State::Busy, &[], &[])];
    assert_eq!(health(&facts).map(|f| (f.level, f.detail)), Some((Level::Ok, "2 GPUs healthy".into())));
    facts.gpus.push(gpu(2, State::Held, &[], &["throttled: hw thermal"]));
    let warn = health(&facts).unwrap_or_else(|| panic!("no GPU health finding"));
    assert_eq!(warn.level, Level::Warn);
    assert_eq!(warn.detail, "GPU 2 (NVIDIA H100 80GB HBM3): throttled: hw thermal");
    facts.gpus.push(gpu(3, State::Broken, &["ECC uncorrected 2", "reset needed"], &[]));
    let fail = health(&facts).unwrap_or_else(|| panic!("no GPU health finding"));
    assert_eq!(fail.level, Level::Fail);
    assert!(
        fail.detail.starts_with(
            "broken, unfit for new work: GPU 3 (NVIDIA H100 80GB HBM3): ECC uncorrected 2, reset needed"
        ),
        "{}",
        fail.detail
    );
    assert!(fail.detail.contains("warnings: GPU 2"), "{}", fail.detail);
    // Exit 2 for a broken GPU, 1 for warnings alone (the rest of this node's checks aside).
    assert_eq!(exit_code(&[fail]), 2);
    assert_eq!(exit_code(&[warn]), 1);
}

/// What a one-shot run cannot see is information: it never turns a clean node's exit code.
#[test]
fn unknown_past_xids_are_information_not_a_warning() {
    let mut facts = bare();
    facts.nvml = Driver::Up { driver: "550.54.15".into(), cuda: "12.4".into(), gpus: 1 };
    facts.past_xids = super::PastXids::Unknown(vec!["dmesg exited with status 1".into()]);
    let f = super::gpu_health::past_xids(&facts).unwrap_or_else(|| panic!("no finding"));
    assert_eq!(f.level, Level::Info);
    assert!(f.detail.starts_with("one-shot: XIDs before this run are not visible"), "{}", f.detail);
    assert_eq!(exit_code(&[f]), 0);
    facts.past_xids = super::PastXids::NotRead;
    assert_eq!(super::gpu_health::past_xids(&facts), None);
}
