use std::time::Duration;

use super::state::{ExportMsg, State};
use crate::docker::gpus::GpuRequest;
use crate::docker::owner::{Owner, OwnerSource};
use crate::docker::{Container, ContainerId, ContainerState, EngineEvent};
use crate::gpu::{
    EccCounts, GpuEvent, GpuHealth, GpuProcess, GpuSample, GpuSnapshot, HostProcess, RemappedRows, XidError,
};

const NOW: i64 = 1_795_958_337;
const GIB: u64 = 1 << 30;

fn render(s: &State) -> String {
    super::metrics::render(&std::sync::Arc::new(s.clone()))
}

fn cid(n: u8) -> ContainerId {
    ContainerId::new(format!("{n:x}").repeat(64))
}

fn container(n: u8, name: &str, state: ContainerState) -> Container {
    Container {
        id: cid(n),
        name: name.into(),
        image: format!("img/{name}:1"),
        state,
        created: NOW - 100,
        started_at: Some(NOW - 50),
        finished_at: None,
        exit_code: None,
        health: None,
        pid: Some(1000 + u32::from(n)),
        gpus: GpuRequest::None,
        launched_by: None,
        owner: Default::default(),
        pending: false,
        published: Vec::new(),
        host_network: false,
    }
}

fn proc(pid: u32, container: Option<u8>, mem: u64, sm: Option<u32>, user: &str) -> GpuProcess {
    GpuProcess {
        pid,
        memory_used: Some(mem),
        sm_percent: sm,
        container_id: container.map(cid),
        user: Some(user.into()),
        host: Some(HostProcess { start_time: u64::from(pid), ..Default::default() }),
        ..Default::default()
    }
}

fn gpu(index: u32, processes: Vec<GpuProcess>) -> GpuSample {
    GpuSample {
        index,
        name: "NVIDIA H100 80GB HBM3".into(),
        uuid: format!("GPU-{index}"),
        memory_used: Some(10 * GIB),
        memory_total: Some(80 * GIB),
        util_gpu: Some(40),
        temperature_c: Some(45),
        power_watts: Some(123.5),
        power_limit_watts: Some(700.0),
        processes,
        ..Default::default()
    }
}

/// Two GPUs: `train` (running, request all) on both, host processes of alice and bob, a stale
/// process of an exited container; GPU 1 reports no temperature and no health.
fn state() -> State {
    let mut s = State::new("node-7".into(), Duration::from_secs(60));
    let mut train = container(1, "train", ContainerState::Running);
    train.gpus = GpuRequest::All;
    train.launched_by = Some("alice".into());
    train.owner = Owner::new("alice", OwnerSource::LaunchedBy).unwrap_or_default();
    let old = container(2, "old", ContainerState::Exited);
    let idle = container(3, "idle", ContainerState::Running);
    s.apply(EngineEvent::Connected(Box::default()).into());
    s.apply(EngineEvent::Containers(vec![train, old, idle]).into());
    let mut g0 = gpu(
        0,
        vec![
            proc(10, Some(1), 4 * GIB, Some(30), "root"),
            proc(11, Some(1), GIB, None, "root"),
            proc(20, None, GIB, Some(1), "alice"),
            proc(21, None, 2 * GIB, None, "alice"),
            proc(22, None, GIB, None, "bob"),
            proc(30, Some(2), 3 * GIB, None, "root"),
        ],
    );
    g0.health = GpuHealth {
        ecc_volatile: EccCounts { corrected: Some(3), uncorrected: Some(0) },
        ecc_aggregate: EccCounts { corrected: Some(120), uncorrected: None },
        retired_pages: Some(2),
        retired_pending: Some(false),
        remapped_rows: Some(RemappedRows { correctable: 1, uncorrectable: 0, pending: true, failed: false }),
        throttle_reasons: Some(0x44),
        pcie_gen: Some(4),
        pcie_width: Some(8),
        pcie_width_max: Some(16),
        ..Default::default()
    };
    let mut g1 = gpu(
        1,
        vec![
            proc(12, Some(1), 2 * GIB, Some(5), "root"),
            proc(40, Some(3), GIB, Some(0), "x"),
            // Holds no memory: neither idle nor busy.
            proc(41, Some(3), 0, Some(9), "x"),
        ],
    );
    g1.temperature_c = None;
    for at in [NOW - 120, NOW] {
        let snap = GpuSnapshot { at, gpus: vec![g0.clone(), g1.clone()], ..Default::default() };
        s.apply(GpuEvent::Snapshot(snap).into());
    }
    s
}

/// The sample lines of `name` (exactly that family member, not longer names).
fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.strip_prefix(name).is_some_and(|r| r.starts_with(['{', ' ']))).collect()
}

fn one<'a>(text: &'a str, name: &str, with: &[&str]) -> &'a str {
    let found: Vec<&str> =
        series(text, name).into_iter().filter(|l| with.iter().all(|w| l.contains(w))).collect();
    assert_eq!(found.len(), 1, "{name} {with:?}: {found:?}\n{text}");
    found[0]
}

fn value(line: &str) -> f64 {
    line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

#[test]
fn every_series_names_the_host_and_gpus_carry_dcgm_labels() {
    let text = render(&state());
    assert!(text.ends_with("# EOF\n"), "{text}");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.contains("Hostname=\"node-7\""), "{line}");
        assert!(!line.contains("pid="), "{line}");
    }
    assert_eq!(value(one(&text, "gpudock_up", &[])), 1.0);
    assert_eq!(value(one(&text, "gpudock_engine_up", &[])), 1.0);
    assert_eq!(value(one(&text, "gpudock_nvml_up", &[])), 1.0);
    let mem = one(&text, "gpudock_gpu_memory_used_bytes", &["gpu=\"0\""]);
    assert!(mem.contains("UUID=\"GPU-0\"") && mem.contains("modelName=\"NVIDIA H100 80GB HBM3\""), "{mem}");
    assert_eq!(value(mem), (10 * GIB) as f64);
    assert_eq!(value(one(&text, "gpudock_gpu_power_watts", &["gpu=\"0\""])), 123.5);
    assert_eq!(value(one(&text, "gpudock_gpu_utilization_percent", &["gpu=\"1\""])), 40.0);
}

#[test]
fn fields_a_gpu_does_not_report_have_no_series() {
    let text = render(&state());
    one(&text, "gpudock_gpu_temperature_celsius", &["gpu=\"0\""]);
    assert_eq!(series(&text, "gpudock_gpu_temperature_celsius").len(), 1, "GPU 1 reports none");
    let ecc = series(&text, "gpudock_gpu_ecc_errors");
    assert_eq!(ecc.len(), 3, "aggregate uncorrected is unknown: {ecc:?}");
    let agg = one(&text, "gpudock_gpu_ecc_errors", &["error=\"corrected\"", "counter=\"aggregate\""]);
    assert_eq!(value(agg), 120.0);
    assert_eq!(value(one(&text, "gpudock_gpu_reset_needed", &["gpu=\"0\""])), 1.0, "a remap is pending");
    assert_eq!(value(one(&text, "gpudock_gpu_remapped_rows", &["kind=\"correctable\""])), 1.0);
    assert_eq!(value(one(&text, "gpudock_gpu_clock_event_reasons", &[])), 68.0);
    assert_eq!(value(one(&text, "gpudock_gpu_pcie_link_width", &[])), 8.0);
    assert_eq!(value(one(&text, "gpudock_gpu_pcie_link_width_max", &[])), 16.0);
    assert_eq!(value(one(&text, "gpudock_gpu_pcie_link_gen", &[])), 4.0);
    assert_eq!(value(one(&text, "gpudock_gpu_retired_pages", &[])), 2.0);
    for name in ["gpudock_gpu_retired_pages", "gpudock_gpu_reset_needed", "gpudock_gpu_pcie_link_gen"] {
        assert!(!series(&text, name).iter().any(|l| l.contains("gpu=\"1\"")), "{name}");
    }
    // SM unknown for every process of a container on a GPU: no series, never a 0.
    let mut s = state();
    if let Some(snap) = s.gpu.as_mut() {
        snap.gpus[1].processes[0].sm_percent = None;
    }
    let text = render(&s);
    let train1 = ["container=\"train\"", "gpu=\"1\""];
    one(&text, "gpudock_container_gpu_memory_used_bytes", &train1);
    assert!(
        !series(&text, "gpudock_container_gpu_sm_percent")
            .iter()
            .any(|l| train1.iter().all(|w| l.contains(w)))
    );
}

#[test]
fn containers_join_their_gpus_and_only_running_ones_count() {
    let text = render(&state());
    let id = cid(1).to_string();
    let with = ["container=\"train\"", "gpu=\"0\"", "UUID=\"GPU-0\"", "image=\"img/train:1\""];
    let mem = one(&text, "gpudock_container_gpu_memory_used_bytes", &with);
    assert!(mem.contains(&format!("container_id=\"{id}\"")), "{mem}");
    assert_eq!(value(mem), (5 * GIB) as f64);
    assert_eq!(value(one(&text, "gpudock_container_gpu_sm_percent", &with)), 30.0);
    let on1 = ["container=\"train\"", "gpu=\"1\""];
    assert_eq!(value(one(&text, "gpudock_container_gpu_memory_used_bytes", &on1)), (2 * GIB) as f64);
    assert!(!text.contains("container=\"old\""), "an exited container's stale process is not counted");
    let req = one(&text, "gpudock_container_gpus_requested", &["container=\"train\""]);
    assert_eq!(value(req), 2.0, "all = every GPU");
    assert_eq!(value(one(&text, "gpudock_container_gpus_requested", &["container=\"idle\""])), 0.0);
    let info = one(&text, "gpudock_container_info", &["container=\"train\"", "launched_by=\"alice\""]);
    assert_eq!(value(info), 1.0);
    one(&text, "gpudock_container_info", &["container=\"idle\"", "launched_by=\"\""]);
    assert_eq!(series(&text, "gpudock_container_info").len(), 2);
}

#[test]
fn idle_held_processes_and_containers_after_idle_gpu_after() {
    let text = render(&state());
    let idle = one(&text, "gpudock_container_gpu_idle_seconds", &["container=\"idle\"", "gpu=\"1\""]);
    assert_eq!(value(idle), 120.0);
    assert_eq!(series(&text, "gpudock_container_gpu_idle_seconds").len(), 1, "busy containers have none");
    assert_eq!(value(one(&text, "gpudock_gpu_idle_held_processes", &["gpu=\"1\""])), 1.0);
    assert_eq!(value(one(&text, "gpudock_gpu_idle_held_processes", &["gpu=\"0\""])), 0.0);
    let mut s = state();
    s.idle_after = Duration::from_secs(600);
    let text = render(&s);
    assert!(series(&text, "gpudock_container_gpu_idle_seconds").is_empty(), "not held long enough yet");
}

#[test]
fn host_processes_are_summed_per_user_without_a_pid() {
    let text = render(&state());
    let alice =
        one(&text, "gpudock_host_gpu_memory_used_bytes", &["user=\"alice\"", "gpu=\"0\"", "UUID=\"GPU-0\""]);
    assert_eq!(value(alice), (3 * GIB) as f64);
    assert_eq!(value(one(&text, "gpudock_host_gpu_memory_used_bytes", &["user=\"bob\""])), GIB as f64);
    assert_eq!(
        series(&text, "gpudock_host_gpu_memory_used_bytes").len(),
        2,
        "container processes are not host"
    );
}

#[test]
fn a_removed_container_disappears_at_the_next_scrape() {
    let mut s = state();
    assert!(render(&s).contains("container=\"train\""));
    let rest: Vec<Container> = s.containers.iter().filter(|c| c.name != "train").cloned().collect();
    s.apply(ExportMsg::Engine(EngineEvent::Containers(rest)));
    let text = render(&s);
    assert!(!text.contains("container=\"train\""), "{text}");
    one(&text, "gpudock_container_info", &["container=\"idle\""]);
    // The engine going away takes every container series with it.
    let down =
        EngineEvent::Down { host: "h".into(), reason: "gone".into(), retry_in: Duration::ZERO, attempt: 1 };
    s.apply(down.into());
    let text = render(&s);
    assert!(series(&text, "gpudock_container_info").is_empty());
    assert_eq!(value(one(&text, "gpudock_engine_up", &[])), 0.0);
}

#[test]
fn xids_count_per_gpu_and_nvml_loss_drops_the_gpus() {
    let mut s = state();
    let state_of = |text: &str, gpu: &str| -> Vec<String> {
        series(text, "gpudock_gpu_state")
            .into_iter()
            .filter(|l| l.contains(&format!("gpu=\"{gpu}\"")) && value(l) == 1.0)
            .filter_map(|l| l.split("state=\"").nth(1)?.split('"').next().map(String::from))
            .collect()
    };
    let text = render(&s);
    assert_eq!(state_of(&text, "0"), ["broken"], "a row remap waits for a reset");
    assert_eq!(state_of(&text, "1"), ["busy"]);
    assert_eq!(series(&text, "gpudock_gpu_state").len(), 8, "a state set: one series per state");
    // 13 is the application's own error: no GPU action, the GPU stays as it is.
    for xid in [13, 79, 48] {
        s.apply(GpuEvent::Xid(XidError { gpu_index: 1, gpu_uuid: "GPU-1".into(), xid, at: NOW }).into());
    }
    assert_eq!((s.xids["GPU-1"].total, s.xids["GPU-1"].last), (3, 48));
    assert_eq!(s.xids["GPU-1"].fatal.codes(), [79, 48]);
    let text = render(&s);
    assert_eq!(state_of(&text, "1"), ["broken"], "a fatal XID breaks the GPU");
    assert_eq!(value(one(&text, "gpudock_gpu_xid_errors_total", &["gpu=\"1\""])), 3.0);
    assert_eq!(value(one(&text, "gpudock_gpu_xid_errors_total", &["gpu=\"0\""])), 0.0);
    assert_eq!(value(one(&text, "gpudock_gpu_last_xid", &["gpu=\"1\""])), 48.0);
    assert_eq!(series(&text, "gpudock_gpu_last_xid").len(), 1);
    assert_eq!(value(one(&text, "gpudock_gpu_last_xid_timestamp_seconds", &["gpu=\"1\""])), NOW as f64);
    s.apply(GpuEvent::Unavailable { reason: "gone".into(), retry_in: Duration::ZERO }.into());
    let text = render(&s);
    assert_eq!(value(one(&text, "gpudock_nvml_up", &[])), 0.0);
    assert!(series(&text, "gpudock_gpu_memory_used_bytes").is_empty());
    assert!(series(&text, "gpudock_container_gpu_memory_used_bytes").is_empty());
}

#[test]
fn label_values_from_outside_cannot_break_the_exposition() {
    let mut s = state();
    let mut g = gpu(0, vec![proc(50, None, GIB, None, "ev\"il\\\n")]);
    g.name = "GPU\u{1b}]52;x".into();
    s.apply(GpuEvent::Snapshot(GpuSnapshot { at: NOW, gpus: vec![g], ..Default::default() }).into());
    let text = render(&s);
    let line = one(&text, "gpudock_host_gpu_memory_used_bytes", &[]);
    // The newline shows as `\n`, whose backslash is escaped like the other.
    assert!(line.contains(r#"user="ev\"il\\\\n""#), "{line}");
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
}

#[test]
fn only_get_and_head_on_metrics() {
    use hyper::{Method, StatusCode};
    let s = std::sync::Mutex::new(std::sync::Arc::new(state()));
    let ok = super::server::respond(&Method::GET, "/metrics", &s);
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["content-type"], super::metrics::CONTENT_TYPE);
    assert_eq!(super::server::respond(&Method::HEAD, "/metrics", &s).status(), StatusCode::OK);
    assert_eq!(super::server::respond(&Method::GET, "/other", &s).status(), StatusCode::NOT_FOUND);
    assert_eq!(super::server::respond(&Method::GET, "/", &s).status(), StatusCode::NOT_FOUND);
    let post = super::server::respond(&Method::POST, "/metrics", &s);
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
}

#[test]
fn owners_label_container_series_and_add_up_per_owner() {
    let text = render(&state());
    let with = ["container=\"train\"", "gpu=\"0\"", "owner=\"alice\""];
    one(&text, "gpudock_container_gpu_memory_used_bytes", &with);
    one(
        &text,
        "gpudock_container_info",
        &["container=\"train\"", "owner=\"alice\"", "owner_source=\"label\""],
    );
    one(&text, "gpudock_container_info", &["container=\"idle\"", "owner=\"\"", "owner_source=\"unknown\""]);
    // alice: train's 4+1 GiB on GPU 0 and 2 GiB on GPU 1, plus her host processes' 1+2 GiB on GPU 0.
    let alice = one(&text, "gpudock_owner_gpu_memory_used_bytes", &["owner=\"alice\""]);
    assert_eq!(value(alice), (10 * GIB) as f64);
    assert_eq!(value(one(&text, "gpudock_owner_gpus_held", &["owner=\"alice\""])), 2.0);
    assert_eq!(value(one(&text, "gpudock_owner_gpu_memory_used_bytes", &["owner=\"bob\""])), GIB as f64);
    // The unowned `idle` container holds 1 GiB on GPU 1; the exited one's stale process counts nothing.
    assert_eq!(value(one(&text, "gpudock_owner_gpu_memory_used_bytes", &["owner=\"\""])), GIB as f64);
    assert_eq!(series(&text, "gpudock_owner_gpus_held").len(), 3, "one series per owner, no PIDs");
}

#[test]
fn a_process_in_another_pid_namespace_is_named_so_not_unknown() {
    let mut s = state();
    let mut hidden = proc(60, None, 2 * GIB, Some(0), "ignored");
    hidden.user = None;
    hidden.host = None;
    hidden.presence = crate::gpu::model::Presence::NotVisible;
    let g = gpu(0, vec![hidden]);
    s.apply(GpuEvent::Snapshot(GpuSnapshot { at: NOW, gpus: vec![g], ..Default::default() }).into());
    let text = render(&s);
    let line = one(&text, "gpudock_host_gpu_memory_used_bytes", &[]);
    assert!(line.contains(r#"user="(not visible here: other PID namespace)""#), "{line}");
}
