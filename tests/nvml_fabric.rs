//! The DGX fabric through the real NVML path (nvml-wrapper → dlopen) against the fake driver:
//! NVLinks with their peers and counters, Fabric Manager state, and the topology.

mod common;

use common::fake_nvml::{DgxGpu, FakeConfig, Variant, dgx_node, gpu_line, lib, lock};
use gpudock::clock::unix_now;
use gpudock::gpu::fabric::{self, FabricProblem, FabricState, LinkPeer, Severity};
use gpudock::gpu::nvml::NvmlBackend;
use gpudock::gpu::topology::{self, TopoLevel};
use gpudock::gpu::{GpuSnapshot, health};

fn open() -> NvmlBackend {
    NvmlBackend::open(Some(&lib(Variant::Full))).unwrap_or_else(|e| panic!("{e}"))
}

fn sample(b: &mut NvmlBackend) -> GpuSnapshot {
    b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"))
}

/// Samples until the slow counters (links, fabric) have been read again.
fn next_slow(b: &mut NvmlBackend) -> GpuSnapshot {
    for _ in 1..health::SLOW_EVERY {
        sample(b);
    }
    sample(b)
}

#[test]
fn a_healthy_nvswitch_node_reads_every_link_and_a_finished_fabric() {
    let _g = lock();
    let cfg = FakeConfig::new("fabric-healthy", &dgx_node(|_| DgxGpu::default()));
    cfg.activate();
    let s = sample(&mut open());
    assert_eq!(s.gpus.len(), 8);
    for g in &s.gpus {
        let links = g.nvlink.as_ref().unwrap_or_else(|| panic!("GPU {} has no links", g.index));
        assert_eq!((links.up(), links.present(), links.version()), (18, 18, Some(4)));
        assert!(links.links.iter().all(|l| l.peer == Some(LinkPeer::NvSwitch)));
        assert_eq!(links.total(fabric::LinkCounter::CrcFlit), Some(0));
        assert_eq!(g.fabric.as_ref().map(|f| (f.state, f.ready())), Some((FabricState::Completed, true)));
        assert!(fabric::problems(g, &s.gpus).is_empty());
    }
    let t = s.topology.as_ref().expect("topology");
    assert_eq!(t.place(0).and_then(|p| p.bus_id.clone()).as_deref(), Some("00000000:18:00.0"));
    assert_eq!(t.place(5).and_then(|p| p.cpus.clone()).as_deref(), Some("56-63"));
    assert_eq!(t.place(5).and_then(|p| p.numa), Some(1));
    assert_eq!(t.level(0, 1), Some(TopoLevel::Single));
    assert_eq!(t.level(0, 2), Some(TopoLevel::Node));
    assert_eq!(t.level(0, 4), Some(TopoLevel::System));
    assert_eq!(topology::cell(t, &s.gpus, 0, 7).as_deref(), Some("NV18"));
    assert_eq!(topology::islands(&s.gpus), vec![(0..8).collect::<Vec<u32>>()]);
}

#[test]
fn a_link_down_and_a_rising_crc_count_are_warnings() {
    let _g = lock();
    let cfg = FakeConfig::new("fabric-link", &dgx_node(|_| DgxGpu::default()));
    cfg.activate();
    let mut b = open();
    sample(&mut b);
    cfg.set(&dgx_node(|i| match i {
        3 => DgxGpu { down: &[7], ..Default::default() },
        5 => DgxGpu { crc_flit: 40, ..Default::default() },
        _ => DgxGpu::default(),
    }));
    let s = next_slow(&mut b);
    let g3 = &s.gpus[3];
    assert_eq!(fabric::problems(g3, &s.gpus), vec![FabricProblem::LinksDown { up: 17, expected: 18 }]);
    assert_eq!(fabric::marker(g3, &s.gpus).as_deref(), Some("NVLink 17/18"));
    assert_eq!(
        topology::cell(s.topology.as_ref().expect("topology"), &s.gpus, 3, 0).as_deref(),
        Some("NV17")
    );
    let g5 = &s.gpus[5];
    assert_eq!(fabric::problems(g5, &s.gpus), vec![FabricProblem::ErrorsRising { link: 0 }]);
    assert_eq!(fabric::worst(g5, &s.gpus), Some(Severity::Warning));
    let l0 = &g5.nvlink.as_ref().expect("links").links[0];
    assert_eq!((l0.counters.crc_flit, l0.since_start.crc_flit), (Some(40), Some(40)));
    // A count that stops growing is no longer rising, but stays counted since start.
    let s = next_slow(&mut b);
    assert!(fabric::problems(&s.gpus[5], &s.gpus).is_empty());
    assert_eq!(s.gpus[5].nvlink.as_ref().expect("links").links[0].since_start.crc_flit, Some(40));
}

#[test]
fn an_unfinished_fabric_makes_every_gpu_broken() {
    let _g = lock();
    for (state, want) in [(1, FabricState::NotStarted), (2, FabricState::InProgress)] {
        let cfg = FakeConfig::new(
            "fabric-state",
            &dgx_node(|_| DgxGpu { fabric_state: state, ..Default::default() }),
        );
        cfg.activate();
        let s = sample(&mut open());
        for g in &s.gpus {
            assert_eq!(fabric::problems(g, &s.gpus), vec![FabricProblem::FabricNotReady(want)]);
            assert_eq!(fabric::worst(g, &s.gpus), Some(Severity::Broken));
        }
    }
}

#[test]
fn a_pcie_only_node_has_no_fabric_at_all() {
    let _g = lock();
    let cfg = FakeConfig::new("fabric-pcie", &format!("{}{}", gpu_line(0, ""), gpu_line(1, "")));
    cfg.activate();
    let s = sample(&mut open());
    for g in &s.gpus {
        assert_eq!((g.nvlink.as_ref(), g.fabric.as_ref()), (None, None));
        assert!(fabric::problems(g, &s.gpus).is_empty());
    }
    assert_eq!(s.topology, None);
}

/// `gpudock doctor`'s fabric findings on the same snapshots: exit 2 when the fabric is not
/// ready, 1 on a degraded link, the unit's state and fix, and nothing on PCIe GPUs.
#[test]
fn doctor_judges_the_fabric_and_its_manager() {
    use gpudock::doctor::{Check, Level, Service, exit_code, fabric_check, fabric_facts};
    let _g = lock();
    let driver = Some("550.54.15");
    let cfg = FakeConfig::new("fabric-doctor", &dgx_node(|_| DgxGpu::default()));
    cfg.activate();
    let s = sample(&mut open());
    let ok = fabric_check(&fabric_facts(&s.gpus, Some(Service::Active)), driver);
    assert_eq!(
        ok.iter().map(|f| (f.check, f.level)).collect::<Vec<_>>(),
        [(Check::Fabric, Level::Ok), (Check::FabricManager, Level::Ok)]
    );
    assert_eq!(ok[0].detail, "fabric completed, 144 NVLinks up on 8 GPUs");
    assert_eq!(exit_code(&ok), 0);

    cfg.set(&dgx_node(
        |i| if i == 3 { DgxGpu { down: &[7], ..Default::default() } } else { DgxGpu::default() },
    ));
    let s = sample(&mut open());
    let degraded = fabric_check(&fabric_facts(&s.gpus, Some(Service::Active)), driver);
    assert_eq!(degraded[0].level, Level::Warn);
    assert!(degraded[0].detail.starts_with("GPU 3: NVLink 17/18 up"), "{}", degraded[0].detail);
    assert_eq!(exit_code(&degraded), 1);

    cfg.set(&dgx_node(|_| DgxGpu { fabric_state: 2, ..Default::default() }));
    let s = sample(&mut open());
    let stopped = Some(Service::NotActive("inactive".into()));
    let not_ready = fabric_check(&fabric_facts(&s.gpus, stopped), driver);
    assert_eq!(not_ready[0].level, Level::Fail);
    assert!(
        not_ready[0].detail.starts_with("GPUs 0-7: Fabric Manager has not finished (fabric in progress)"),
        "{}",
        not_ready[0].detail
    );
    let fix = not_ready[0].fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("systemctl enable --now nvidia-fabricmanager")
            && fix.contains("nvidia-fabricmanager-550")
    );
    assert_eq!((not_ready[1].check, not_ready[1].level), (Check::FabricManager, Level::Fail));
    assert_eq!(exit_code(&not_ready), 2);

    // No systemctl is not a failure.
    let unchecked =
        fabric_check(&fabric_facts(&s.gpus, Some(Service::NotChecked("no systemctl".into()))), driver);
    assert_eq!(unchecked[1].level, Level::Ok);

    cfg.set(&format!("{}{}", gpu_line(0, ""), gpu_line(1, "")));
    let s = sample(&mut open());
    assert!(fabric_check(&fabric_facts(&s.gpus, None), driver).is_empty(), "PCIe: nothing");
}

/// `gpudock export`'s fabric series from the same snapshots, under the dcgm-style labels.
#[test]
fn export_writes_links_errors_and_fabric_state() {
    use gpudock::export::{metrics, state::State};
    let render = |s: GpuSnapshot| {
        let mut st = State::new("dgx-1".into(), std::time::Duration::from_secs(60));
        st.apply(gpudock::gpu::GpuEvent::Snapshot(s).into());
        metrics::render(&std::sync::Arc::new(st))
    };
    let _g = lock();
    let cfg = FakeConfig::new(
        "fabric-export",
        &dgx_node(|i| match i {
            3 => DgxGpu { down: &[7], crc_flit: 5, ..Default::default() },
            5 => DgxGpu { fabric_state: 2, ..Default::default() },
            _ => DgxGpu::default(),
        }),
    );
    cfg.activate();
    let text = render(sample(&mut open()));
    let line = |prefix: &str, with: &[&str]| -> String {
        let found: Vec<&str> =
            text.lines().filter(|l| l.starts_with(prefix) && with.iter().all(|w| l.contains(w))).collect();
        assert_eq!(found.len(), 1, "{prefix} {with:?}: {found:?}\n{text}");
        found[0].to_string()
    };
    let g3 = "gpu=\"3\"";
    assert!(line("gpudock_gpu_nvlink_links{", &[g3, "state=\"up\""]).ends_with(" 17"));
    assert!(line("gpudock_gpu_nvlink_links{", &[g3, "state=\"down\""]).ends_with(" 1"));
    let crc = line("gpudock_gpu_nvlink_errors_total{", &[g3, "counter=\"crc_flit\""]);
    assert!(
        crc.ends_with(" 5") && crc.contains("UUID=\"GPU-00000003") && crc.contains("Hostname=\"dgx-1\""),
        "{crc}"
    );
    assert!(
        line("gpudock_gpu_fabric_state{", &["gpu=\"5\"", "state=\"in_progress\"", "status=\"success\""])
            .ends_with(" 2")
    );
    assert!(line("gpudock_gpu_fabric_state{", &["gpu=\"0\"", "state=\"completed\""]).ends_with(" 3"));

    cfg.set(&format!("{}{}", gpu_line(0, ""), gpu_line(1, "")));
    let text = render(sample(&mut open()));
    assert!(!text.contains("nvlink") && !text.contains("fabric"), "PCIe: no fabric series\n{text}");
}

/// `gpudock snapshot --json` and `gpudock doctor --json`, run as a user runs them.
#[test]
fn snapshot_and_doctor_binaries_report_the_fabric() {
    let text = dgx_node(|i| {
        if i == 3 {
            DgxGpu { down: &[7], ..Default::default() }
        } else {
            DgxGpu { fabric_state: 2, ..Default::default() }
        }
    });
    let cfg = FakeConfig::new("fabric-bin", &text);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gpudock"))
            .args(args)
            .args(["--docker-host", "unix:///nonexistent/docker.sock", "--nvml-lib"])
            .arg(lib(Variant::Full))
            .env("FAKE_NVML_CONFIG", &cfg.path)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
        (out.status.code(), doc)
    };
    let (code, doc) = run(&["snapshot", "--json"]);
    assert_eq!(code, Some(0));
    let g3 = &doc["gpus"][3];
    assert_eq!(
        (g3["nvlink"]["links_up"].as_u64(), g3["nvlink"]["links_present"].as_u64()),
        (Some(17), Some(18))
    );
    assert_eq!(g3["nvlink"]["links"][7]["up"], false);
    assert_eq!(g3["nvlink"]["links"][7]["peer"], "NVSwitch");
    assert_eq!(g3["fabric"]["state"], "completed");
    assert_eq!(g3["fabric"]["problems"][0]["severity"], "warning");
    assert_eq!(doc["gpus"][0]["fabric"]["state"], "in_progress");
    assert_eq!(doc["gpus"][0]["fabric"]["problems"][0]["severity"], "broken");
    assert_eq!(doc["topology"]["matrix"][0][3], "NV17");
    assert_eq!(doc["topology"]["matrix"][0][0], "X");
    assert_eq!(doc["topology"]["gpus"][4]["numa_node"], 1);
    assert_eq!(doc["topology"]["nvlink_islands"], serde_json::json!([[0, 1, 2, 3, 4, 5, 6, 7]]));

    let (code, doc) = run(&["doctor", "--json"]);
    assert_eq!(code, Some(2));
    let findings = doc["findings"].as_array().cloned().unwrap_or_default();
    let fabric = findings.iter().find(|f| f["check"] == "NVLink fabric").unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(fabric["level"], "fail");
    assert!(
        fabric["detail"].as_str().unwrap_or_default().contains("Fabric Manager has not finished"),
        "{fabric}"
    );
    assert!(findings.iter().any(|f| f["check"] == "nvidia-fabricmanager"), "{doc}");

    cfg.set(&format!("{}{}", gpu_line(0, ""), gpu_line(1, "")));
    let (_, doc) = run(&["snapshot", "--json"]);
    assert_eq!((doc["gpus"][0]["nvlink"].is_null(), doc["gpus"][0]["fabric"].is_null()), (true, true));
    assert!(doc["topology"].is_null(), "{doc}");
    let (_, doc) = run(&["doctor", "--json"]);
    assert!(!doc.to_string().contains("fabric"), "{doc}");
}
