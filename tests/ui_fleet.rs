//! The fleet view rendered into a test terminal at 120x40, 60x20 and 40x12: nodes, a stale node
//! dimmed with its age, Prometheus down, and a node opened.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::fleet::{FleetMsg, FleetState};
use gpudock::fleet::{ContainerRow, FleetEvent, FleetSnapshot, GpuRow, NodeDetail, NodeSummary, Source};
use gpudock::gpu::state::State;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};

const GIB: f64 = (1u64 << 30) as f64;
const NOW: f64 = 1_795_958_337.0;

fn node(host: &str, gpus: u32, busy: u32, idle: u32, used: f64, fresh: bool) -> NodeSummary {
    NodeSummary {
        hostname: host.into(),
        fresh,
        last_seen: Some(if fresh { NOW - 2.0 } else { NOW - 400.0 }),
        gpus,
        busy,
        held: idle,
        broken: 0,
        idle_held: idle,
        mem_used: used * GIB,
        mem_total: f64::from(gpus) * 80.0 * GIB,
        power: f64::from(busy) * 600.0 + f64::from(gpus - busy) * 70.0,
        util_history: (0..21)
            .map(|i| if i < 3 { None } else { Some(f64::from((i * 7 + busy * 10) % 100)) })
            .collect(),
        fabric_degraded: 0,
        top: if busy > 0 {
            vec![("llama-finetune".into(), 60.0 * GIB), ("jupyter-alice".into(), 8.0 * GIB)]
        } else {
            Vec::new()
        },
    }
}

fn fleet() -> FleetState {
    let mut s = FleetState::new("http://prometheus:9090");
    let mut a01 = node("gpu-a01", 8, 6, 1, 400.0, true);
    a01.broken = 1;
    let nodes = vec![
        a01,
        node("gpu-a02", 8, 0, 0, 0.0, true),
        node("gpu-b01", 4, 2, 2, 200.0, true),
        node("gpu-c01", 2, 1, 0, 30.0, false),
    ];
    let snap = FleetSnapshot { at: NOW, nodes, queries: 4, bytes: 4000, detail: None, users: None };
    s.update(FleetMsg::Event(FleetEvent::Snapshot(Box::new(snap))));
    s
}

fn render(s: &FleetState, w: u16, h: u16) -> (String, ratatui::buffer::Buffer) {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap_or_else(|e| panic!("{e}"));
    term.draw(|f| gpudock::ui::fleet::draw(f, s)).unwrap_or_else(|e| panic!("{e}"));
    (term.backend().to_string(), term.backend().buffer().clone())
}

#[test]
fn fleet_at_120x40() {
    let (text, buf) = render(&fleet(), 120, 40);
    insta::assert_snapshot!(text);
    // gpu-a01: 8 GPUs, 6 busy, 1 held, 1 broken: none free, and the broken one is counted.
    assert!(text.contains("nodes 3/4 up") && text.contains("free GPUs 8/20  broken 1"), "{text}");
    assert!(text.contains("8/6/1/1"), "{text}");
    // Sorted by free GPUs; the stale node last, dimmed, with its age.
    let a02 = text.find("gpu-a02").unwrap_or(usize::MAX);
    assert!(a02 < text.find("gpu-a01").unwrap_or(0), "{text}");
    assert!(text.contains("stale 6m"), "{text}");
    let row =
        (0..40).find(|y| (0..120).map(|x| buf[(x, *y)].symbol()).collect::<String>().contains("gpu-c01"));
    let row = row.unwrap_or_else(|| panic!("no stale row"));
    assert_eq!(buf[(0, row)].fg, Color::DarkGray, "stale rows are dimmed");
    let first =
        (0..40).find(|y| (0..120).map(|x| buf[(x, *y)].symbol()).collect::<String>().contains("gpu-a02"));
    assert!(buf[(0, first.unwrap_or(0))].modifier.contains(Modifier::REVERSED), "the selected row");
}

#[test]
fn fleet_at_60x20_and_40x12() {
    let s = fleet();
    let (mid, _) = render(&s, 60, 20);
    insta::assert_snapshot!("fleet_60x20", mid);
    let (small, _) = render(&s, 40, 12);
    insta::assert_snapshot!("fleet_40x12", small);
    for host in ["gpu-a01", "gpu-a02", "gpu-b01", "gpu-c01"] {
        assert!(small.contains(host), "{host} at 40x12:\n{small}");
    }
}

#[test]
fn prometheus_down_says_why() {
    let mut s = fleet();
    let reason = "cannot reach Prometheus at http://prometheus:9090: Connection refused (os error 111)";
    let down = |at: f64| FleetEvent::Down { reason: reason.into(), retry_in: Duration::from_secs(5), at };
    s.update(FleetMsg::Event(down(NOW + 5.0)));
    s.update(FleetMsg::Event(down(NOW + 65.0)));
    let (text, _) = render(&s, 120, 40);
    assert!(text.contains("Prometheus down since"), "{text}");
    assert!(text.contains("(1m ago) (retrying every 5 s): cannot reach"), "{text}");
    // Nothing shown is current: every row is stale, with the age of its data.
    for host in ["gpu-a01", "gpu-a02", "gpu-b01"] {
        let row = text.lines().find(|l| l.contains(host)).unwrap_or_default();
        assert!(row.contains("stale 1m"), "{host}: {row}");
    }
    assert!(text.contains("nodes 0/4 up"), "{text}");
    let (small, _) = render(&s, 40, 12);
    // Wrapped, not cut: the whole reason is on screen.
    let joined: String = small.lines().map(|l| l.trim_matches('"').trim_end()).collect::<Vec<_>>().join(" ");
    assert!(joined.contains("Prometheus down") && joined.contains("(os error 111)"), "{small}");
}

#[test]
fn a_node_opened_shows_its_gpus_and_containers() {
    let mut s = fleet();
    s.update(FleetMsg::Key(KeyEvent::from(KeyCode::Down)));
    s.update(FleetMsg::Key(KeyEvent::from(KeyCode::Enter)));
    assert_eq!(s.open.as_deref(), Some("gpu-a01"));
    let gpu = |i: u32, util: f64, source| GpuRow {
        index: Some(i),
        uuid: format!("GPU-{i}"),
        model: "NVIDIA H100 80GB HBM3".into(),
        mem_used: Some(50.0 * GIB),
        mem_total: Some(80.0 * GIB),
        util: Some(util),
        temp: Some(60.0),
        power: Some(500.0),
        power_limit: Some(700.0),
        idle_held: Some(0.0),
        xid: Some(0.0),
        dcgm_problems: Vec::new(),
        source,
        state: Some(if i == 1 { State::Broken } else { State::Busy }),
    };
    let detail = NodeDetail {
        hostname: "gpu-a01".into(),
        engine_up: Some(true),
        nvml_up: Some(true),
        driver: None,
        gpus: vec![gpu(0, 97.0, Source::Gpudock), gpu(1, 40.0, Source::Both)],
        containers: vec![ContainerRow {
            name: "llama-finetune".into(),
            id: "aaaa".into(),
            image: "nvcr.io/nvidia/pytorch:25.01-py3".into(),
            gpu: "0".into(),
            mem_used: Some(50.0 * GIB),
            sm_percent: Some(95.0),
            launched_by: "bob".into(),
            owner: "alice".into(),
        }],
    };
    let snap = FleetSnapshot {
        at: NOW,
        nodes: s.nodes.clone(),
        queries: 6,
        bytes: 6000,
        detail: Some(detail),
        users: None,
    };
    s.update(FleetMsg::Event(FleetEvent::Snapshot(Box::new(snap))));
    let (text, _) = render(&s, 120, 40);
    insta::assert_snapshot!("fleet_node_120x40", text);
    assert!(text.contains("llama-finetune") && text.contains("engine up") && text.contains("both"), "{text}");
    assert!(text.contains("1   broken 50G"), "the health column: {text}");
    let (mid, _) = render(&s, 60, 20);
    insta::assert_snapshot!("fleet_node_60x20", mid);
    let (small, _) = render(&s, 40, 12);
    assert!(small.contains("llama-finetune"), "{small}");
    s.update(FleetMsg::Key(KeyEvent::from(KeyCode::Char('?'))));
    let (help, _) = render(&s, 60, 20);
    assert!(help.contains("cycle the sort"), "{help}");
}

/// `[keys]` reaches the fleet: a remapped sort key is the one that sorts, and the footer and
/// the help say so.
#[test]
fn remapping_sort_next_changes_the_fleets_key_hint_and_help() {
    let config = gpudock::config::Config::from_sources(Some("[keys]\nsort_next = [\"S\"]\n"), None);
    let mut s = fleet();
    s.keymap = config.unwrap_or_else(|e| panic!("{e}")).keymap;
    let (text, _) = render(&s, 120, 40);
    let footer = text.lines().last().unwrap_or_default().to_string();
    assert!(footer.contains("S sort") && !footer.contains("o sort"), "{footer}");
    let before = s.sort;
    s.update(FleetMsg::Key(KeyEvent::from(KeyCode::Char('o'))));
    assert_eq!(s.sort, before, "o is no longer bound");
    s.update(FleetMsg::Key(KeyEvent::from(KeyCode::Char('S'))));
    assert_ne!(s.sort, before);
    s.update(FleetMsg::Key(KeyEvent::from(KeyCode::Char('?'))));
    let (help, _) = render(&s, 100, 30);
    let line = help.lines().find(|l| l.contains("cycle the sort")).unwrap_or_default();
    assert!(line.contains(" S ") && !line.contains(" o "), "{line}\n{help}");
}

#[test]
fn the_users_view_sums_owners_over_the_fleet() {
    use gpudock::fleet::OwnerRow;
    let mut s = fleet();
    s.update(FleetMsg::Key(KeyEvent::from(KeyCode::Char('U'))));
    let (screen, _) = render(&s, 120, 20);
    assert!(screen.contains("asking Prometheus"), "{screen}");
    let users = vec![
        OwnerRow {
            owner: "alice".into(),
            nodes: 2,
            containers: 3,
            gpus_held: 5,
            mem_used: 200.0 * GIB,
            idle_mem: 0.0,
            sm_percent: Some(71.0),
        },
        OwnerRow {
            owner: String::new(),
            nodes: 1,
            containers: 1,
            gpus_held: 1,
            mem_used: 2.0 * GIB,
            idle_mem: 2.0 * GIB,
            sm_percent: None,
        },
    ];
    let snap = FleetSnapshot {
        at: NOW,
        nodes: s.nodes.clone(),
        queries: 5,
        bytes: 5000,
        detail: None,
        users: Some(users),
    };
    s.update(FleetMsg::Event(FleetEvent::Snapshot(Box::new(snap))));
    let (screen, _) = render(&s, 120, 20);
    let row = |n: &str| screen.lines().find(|l| l.contains(n)).unwrap_or_default().to_string();
    assert!(screen.contains("Users across the fleet") && screen.contains("IDLE-HELD"), "{screen}");
    assert!(row("alice").contains("71") && row("alice").split_whitespace().any(|w| w == "5"), "{screen}");
    assert!(row("- (unknown)").contains("n/a"), "{screen}");
    assert!(screen.contains("Esc back"), "its own keys in the footer:\n{screen}");
    let (narrow, _) = render(&s, 40, 12);
    assert!(narrow.contains("alice") && !narrow.contains("IDLE-HELD"), "{narrow}");
}

#[test]
fn the_header_counts_nodes_with_a_degraded_fabric() {
    let mut s = FleetState::new("http://prometheus:9090");
    let mut sick = node("dgx-01", 8, 2, 0, 100.0, true);
    sick.fabric_degraded = 3;
    let nodes = vec![sick, node("dgx-02", 8, 0, 0, 0.0, true)];
    let snap = FleetSnapshot { at: NOW, nodes, queries: 4, bytes: 4000, detail: None, users: None };
    s.update(FleetMsg::Event(FleetEvent::Snapshot(Box::new(snap))));
    let (text, buf) = render(&s, 120, 20);
    let header = text.lines().next().unwrap_or_default();
    assert!(header.contains("fabric degraded 1"), "{header}");
    let col = header[..header.find("fabric degraded").unwrap_or(0)].chars().count() as u16;
    assert_eq!(buf[(col, 0)].fg, Color::Red, "degraded is an error");
    // None degraded: the header says nothing of the fabric.
    assert!(!render(&fleet(), 120, 40).0.lines().next().unwrap_or_default().contains("fabric"));
}
