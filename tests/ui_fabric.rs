//! The DGX fabric on screen, from snapshots read through the real NVML path off the fake
//! driver: the GPU row's marker, the GPU detail view's links, and the topology view.

mod common;

use common::fake_nvml::{DgxGpu, FakeConfig, Variant, dgx_node, gpu_line, lib, lock};
use common::{render, render_buffer, sample_app};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gpudock::app::AppState;
use gpudock::clock::unix_now;
use gpudock::gpu::nvml::NvmlBackend;
use gpudock::gpu::{GpuEvent, GpuSnapshot, health};
use gpudock::msg::Msg;
use gpudock::ui::theme::Styles;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// The snapshot the sampler sends for `text`, after `slow_reads` reads of the slow counters.
fn snapshot_of(name: &str, text: &str, then: Option<&str>) -> GpuSnapshot {
    let _g = lock();
    let cfg = FakeConfig::new(name, text);
    cfg.activate();
    let mut b = NvmlBackend::open(Some(&lib(Variant::Full))).unwrap_or_else(|e| panic!("{e}"));
    let mut s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
    if let Some(t) = then {
        cfg.set(t);
        for _ in 0..health::SLOW_EVERY {
            s = b.sample(unix_now()).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    s
}

fn app_with(snap: GpuSnapshot) -> AppState {
    let mut app = sample_app();
    app.update(Msg::Gpu(GpuEvent::Snapshot(snap)));
    app
}

/// The screen line that holds `needle`.
fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no {needle:?} in:\n{screen}"))
}

fn style_at(app: &AppState, w: u16, h: u16, needle: &str) -> ratatui::style::Style {
    let buf = render_buffer(app, w, h);
    let screen = render(app, w, h);
    let (y, line) =
        screen.lines().enumerate().find(|(_, l)| l.contains(needle)).unwrap_or_else(|| panic!("{needle}"));
    let x = line[..line.find(needle).unwrap_or(0)].chars().count();
    buf[(x as u16, y as u16)].style()
}

#[test]
fn a_healthy_nvswitch_node_shows_no_marker_and_every_link_in_the_detail_view() {
    let app = app_with(snapshot_of("ui-healthy", &dgx_node(|_| DgxGpu::default()), None));
    let screen = render(&app, 120, 40);
    assert!(!screen.contains("NVLink") && !screen.contains("fabric"), "{screen}");
    let mut app = app;
    app.update(key('i'));
    let screen = render(&app, 120, 80);
    for want in [
        "fabric            completed",
        "NVLink            18/18 up · version 4 · rates since gpudock started",
        "  link 0          up   · NVSwitch · replay 0 · recovery 0 · CRC flit 0 · CRC data 0",
        "  link 17         up   · NVSwitch",
    ] {
        assert!(screen.contains(want), "missing {want:?}:\n{screen}");
    }
    assert!(!screen.contains("fabric problem"), "{screen}");
}

#[test]
fn a_link_down_marks_the_row_and_the_link() {
    let healthy = dgx_node(|_| DgxGpu::default());
    let down = dgx_node(|i| {
        if i == 0 { DgxGpu { down: &[7], crc_flit: 12, ..Default::default() } } else { DgxGpu::default() }
    });
    let mut app = app_with(snapshot_of("ui-down", &healthy, Some(&down)));
    let screen = render(&app, 120, 40);
    let row = line_with(&screen, "⚠NVLink 17/18 NVLink errors");
    assert!(row.trim_start().starts_with("│ 0 ") || row.contains(" 0 H100"), "{row}");
    let st = Styles::new(app.theme);
    assert_eq!(style_at(&app, 120, 40, "⚠NVLink 17/18").fg, st.warn().fg, "a warning, not broken");
    app.update(key('i'));
    let screen = render(&app, 120, 80);
    for want in [
        "fabric problem    NVLink 17/18 up: multi-GPU jobs on it run slower",
        "fabric problem    NVLink 0: replay/CRC errors rising",
        "NVLink            17/18 up · version 4",
        "  link 7          DOWN · NVSwitch",
        "CRC flit 12 (+12",
    ] {
        assert!(screen.contains(want), "missing {want:?}:\n{screen}");
    }
    assert_eq!(style_at(&app, 120, 80, "DOWN · NVSwitch").fg, st.error().fg);
}

#[test]
fn a_fabric_in_progress_or_not_started_is_broken_on_the_row_and_in_words() {
    for (state, words) in [(1, "not started"), (2, "in progress")] {
        let text = dgx_node(|_| DgxGpu { fabric_state: state, ..Default::default() });
        let mut app = app_with(snapshot_of("ui-fabric", &text, None));
        let screen = render(&app, 120, 40);
        let marker = format!("⚠fabric: {words}");
        assert!(screen.contains(&marker), "{screen}");
        let st = Styles::new(app.theme);
        assert_eq!(style_at(&app, 120, 40, &marker).fg, st.error().fg, "broken is an error");
        app.update(key('i'));
        let screen = render(&app, 120, 80);
        assert!(screen.contains(&format!("fabric            {words}")), "{screen}");
        assert!(
            screen.contains("Fabric Manager has not finished") && screen.contains("multi-GPU jobs will hang"),
            "{screen}"
        );
    }
}

#[test]
fn a_pcie_only_node_shows_nothing_of_the_fabric() {
    let text = format!("{}{}", gpu_line(0, ""), gpu_line(1, ""));
    let mut app = app_with(snapshot_of("ui-pcie", &text, None));
    assert!(!render(&app, 120, 40).contains("NVLink"));
    app.update(key('i'));
    let screen = render(&app, 120, 60);
    assert!(!screen.contains("NVLink") && !screen.contains("fabric"), "{screen}");
}

#[test]
fn the_topology_view_is_the_topo_matrix_at_120x40() {
    let text =
        dgx_node(|i| if i == 3 { DgxGpu { down: &[7], ..Default::default() } } else { DgxGpu::default() });
    let mut app = app_with(snapshot_of("ui-topo", &text, None));
    app.update(key('t'));
    let screen = render(&app, 120, 40);
    insta::assert_snapshot!("topology_matrix_120x40", screen);
    assert!(line_with(&screen, "GPU0  X     NV18").contains("0-55"), "{screen}");
    let st = Styles::new(app.theme);
    // GPU 3 lost a link: its pairs are NV17, marked as fewer than the rest.
    assert_eq!(style_at(&app, 120, 40, "NV17").fg, st.warn().fg);
    assert_eq!(style_at(&app, 120, 40, "NV18").fg, st.ok().fg);
    app.update(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    assert!(!render(&app, 120, 40).contains("GPU topology"), "Esc goes back");
}

#[test]
fn the_topology_view_is_a_list_per_gpu_at_60x20() {
    let text =
        dgx_node(|i| if i == 3 { DgxGpu { down: &[7], ..Default::default() } } else { DgxGpu::default() });
    let mut app = app_with(snapshot_of("ui-topo-narrow", &text, None));
    app.update(key('t'));
    let screen = render(&app, 60, 20);
    insta::assert_snapshot!("topology_list_60x20", screen);
    assert!(screen.contains("GPU0 · NUMA 0 · CPUs 0-55"), "{screen}");
    assert!(screen.contains("NV18 → 1,2,4,5,6,7  NV17 → 3"), "{screen}");
}

#[test]
fn the_topology_view_of_a_pcie_node_without_topology_says_so() {
    let text = format!("{}{}", gpu_line(0, ""), gpu_line(1, ""));
    let mut app = app_with(snapshot_of("ui-topo-pcie", &text, None));
    app.update(key('t'));
    let screen = render(&app, 120, 40);
    assert!(screen.contains("NVML reports no topology for these GPUs"), "{screen}");
}
