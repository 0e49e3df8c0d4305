//! Snapshot tests of the container panel and the engine-down view.

mod common;

use std::time::Duration;

use common::{render, sample_app};
use gpudock::app::AppState;
use gpudock::config::Config;
use gpudock::docker::ContainerState;
use gpudock::docker::EngineEvent;
use gpudock::docker::gpus::GpuRequest;
use gpudock::msg::Msg;

#[test]
fn container_panel_120x30() {
    insta::assert_snapshot!(render(&sample_app(), 120, 30));
}

#[test]
fn container_panel_40x10() {
    insta::assert_snapshot!(render(&sample_app(), 40, 10));
}

#[test]
fn filtered_panel_shows_match_count_and_prompt() {
    let mut app = sample_app();
    for c in "/nvcr".chars() {
        app.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(c))));
    }
    insta::assert_snapshot!(render(&app, 120, 12));
}

#[test]
fn engine_down_view() {
    let mut app = AppState::new(&Config::default(), "unix:///var/run/docker.sock".into());
    app.update(Msg::Engine(EngineEvent::Down {
        host: "unix:///var/run/docker.sock".into(),
        reason: "connection refused — is dockerd running?".into(),
        retry_in: Duration::from_secs(2),
        attempt: 3,
    }));
    insta::assert_snapshot!(render(&app, 120, 12));
    insta::assert_snapshot!("engine_down_view_40x10", render(&app, 40, 10));
}

#[test]
fn help_lists_every_bound_key() {
    let mut app = sample_app();
    app.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('?'))));
    let screen = render(&app, 100, 30);
    for needle in ["q/Ctrl-C", "quit", "j/↓", "sort by the next column", "Shift-Tab"] {
        assert!(screen.contains(needle), "help lacks {needle}:\n{screen}");
    }
}

#[test]
fn tiny_terminals_do_not_panic() {
    let app = sample_app();
    for (w, h) in [(1, 1), (5, 2), (10, 3), (20, 4), (40, 5)] {
        render(&app, w, h);
    }
}

/// The first listing of a session is drawn before its inspects: what only the inspect knows
/// (start times, exit codes, GPU requests) reads "…", never a guess.
#[test]
fn a_listing_before_its_inspects_shows_what_is_pending() {
    let mut app = AppState::new(&Config::default(), "unix:///var/run/docker.sock".into());
    app.update(Msg::Engine(EngineEvent::Connected(Box::default())));
    let mut list = vec![
        common::container(1, "llama-finetune", "nvcr.io/nvidia/pytorch:25.01-py3", ContainerState::Running),
        common::container(3, "cuda-smoke", "nvidia/cuda:12.9.1-base-ubuntu24.04", ContainerState::Exited),
    ];
    for c in &mut list {
        (c.pending, c.started_at, c.finished_at, c.exit_code, c.pid) = (true, None, None, None, None);
        c.gpus = GpuRequest::None;
    }
    app.update(Msg::Engine(EngineEvent::Containers(list.clone())));
    let screen = render(&app, 120, 14);
    insta::assert_snapshot!(screen);
    assert!(screen.contains("Up …") && screen.contains("Exited …"), "{screen}");
    assert!(!screen.contains("Up ?") && !screen.contains("Exited (0)"), "{screen}");
    // The inspected list replaces it.
    for c in &mut list {
        (c.pending, c.started_at) = (false, Some(common::NOW - 120));
    }
    app.update(Msg::Engine(EngineEvent::Containers(list)));
    let screen = render(&app, 120, 14);
    assert!(!screen.contains("Up …") && !screen.contains("Exited …"), "{screen}");
}

#[test]
fn the_owner_column_says_how_sure_it_is() {
    use gpudock::docker::owner::{Owner, OwnerSource};
    let mut app = sample_app();
    let mut list = app.table.all().to_vec();
    let set = |name: &str, owner: Option<Owner>, list: &mut Vec<gpudock::docker::Container>| {
        if let Some(c) = list.iter_mut().find(|c| c.name == name) {
            c.owner = owner.unwrap_or_default();
        }
    };
    set("llama-finetune", Owner::new("bob", OwnerSource::LaunchedBy), &mut list);
    set("jupyter-alice", Owner::new("alice", OwnerSource::HomeMount), &mut list);
    set(
        "triton-server",
        Owner::new("a-very-long-team-name", OwnerSource::OwnerLabel("team".into())),
        &mut list,
    );
    app.update(Msg::Engine(EngineEvent::Containers(list)));
    let screen = render(&app, 120, 14);
    let row = |name: &str| screen.lines().find(|l| l.contains(name)).unwrap_or_default().to_string();
    assert!(screen.contains("OWNER"), "{screen}");
    assert!(row("llama-finetune").contains(" bob "), "{screen}");
    assert!(row("jupyter-alice").contains(" alice? "), "a home mount is a guess:\n{screen}");
    assert!(row("triton-server").contains(" a-very-l… "), "{screen}");
    assert!(row("cuda-smoke").contains(" - "), "{screen}");
    // In a narrow pane the owner goes before the figures do.
    let narrow = render(&app, 60, 12);
    assert!(!narrow.contains("OWNER") && narrow.contains("GPU MEM"), "{narrow}");
}
