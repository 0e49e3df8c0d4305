//! Fixtures shared by the integration tests.
#![allow(dead_code)]

pub mod drive;
pub mod engine;
pub mod fake_nvml;
pub mod prom;

use std::collections::HashMap;

use gpudock::app::AppState;
use gpudock::config::Config;
use gpudock::docker::EngineEvent;
use gpudock::docker::gpus::GpuRequest;
use gpudock::docker::{
    ApiVersion, Container, ContainerId, ContainerState, ContainerStats, EngineInfo, Health,
};
use gpudock::msg::Msg;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub const NOW: i64 = 1_795_958_337;

pub fn id(n: usize) -> ContainerId {
    ContainerId::new(&format!("{n:x}{}", "0".repeat(63))[..64])
}

pub fn container(n: usize, name: &str, image: &str, state: ContainerState) -> Container {
    Container {
        id: id(n),
        name: name.into(),
        image: image.into(),
        state,
        created: NOW - 7200,
        started_at: Some(NOW - 3600 - n as i64 * 60),
        finished_at: (state == ContainerState::Exited).then_some(NOW - 300),
        exit_code: (state == ContainerState::Exited).then_some(0),
        health: None,
        pid: None,
        gpus: GpuRequest::None,
        launched_by: None,
        owner: Default::default(),
        pending: false,
        published: Vec::new(),
        host_network: false,
    }
}

pub fn engine_info() -> EngineInfo {
    EngineInfo {
        host: "unix:///var/run/docker.sock".into(),
        server_version: Some("20.10.24".into()),
        api_version: ApiVersion::parse("1.41"),
        runtimes: vec!["runc".into()],
        default_runtime: Some("runc".into()),
        ..Default::default()
    }
}

/// An app connected to an engine with a handful of typical containers and their figures.
pub fn sample_app() -> AppState {
    let mut app = AppState::new(&Config::default(), "unix:///var/run/docker.sock".into());
    app.update(Msg::Engine(EngineEvent::Connected(Box::new(engine_info()))));
    let mut list = vec![
        container(1, "llama-finetune", "nvcr.io/nvidia/pytorch:25.01-py3", ContainerState::Running),
        container(2, "jupyter-alice", "jupyter/scipy-notebook:latest", ContainerState::Running),
        container(3, "cuda-smoke", "nvidia/cuda:12.9.1-base-ubuntu24.04", ContainerState::Exited),
        container(4, "triton-server", "nvcr.io/nvidia/tritonserver:25.01-py3", ContainerState::Running),
        container(5, "old-build", "nvidia/cuda:12.4.1-devel-ubuntu22.04", ContainerState::Created),
    ];
    list[3].health = Some(Health::Healthy);
    app.update(Msg::Engine(EngineEvent::Containers(list)));
    let mut stats = HashMap::new();
    for (n, cpu, mem) in [(1, 387.5, 12u64 << 30), (2, 2.25, 900 << 20), (4, 35.0, 3 << 30)] {
        stats.insert(
            id(n),
            ContainerStats { cpu_percent: Some(cpu), mem_used: Some(mem), mem_limit: Some(64 << 30) },
        );
    }
    app.update(Msg::Engine(EngineEvent::Stats { at: NOW, stats }));
    app
}

pub fn render(app: &AppState, width: u16, height: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("{e}"));
    term.draw(|f| gpudock::ui::draw(f, app)).unwrap_or_else(|e| panic!("{e}"));
    term.backend().to_string()
}

/// A resize as the run loop sees it: the terminal's new size, then the pages of the frame
/// drawn at that size.
pub fn resize(app: &mut AppState, width: u16, height: u16) {
    app.update(Msg::Resize(width, height));
    render(app, width, height);
    app.update(Msg::Layout(gpudock::ui::pages(app, width, height)));
}

/// The cells of one frame, for tests of style where style carries meaning.
pub fn render_buffer(app: &AppState, width: u16, height: u16) -> ratatui::buffer::Buffer {
    let mut term = Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("{e}"));
    term.draw(|f| gpudock::ui::draw(f, app)).unwrap_or_else(|e| panic!("{e}"));
    term.backend().buffer().clone()
}
