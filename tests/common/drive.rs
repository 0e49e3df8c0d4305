//! Driving the app against the real engine the way the dashboard does: keys → `AppState` →
//! `Command` → `Executor`, and the engine's listing fed back in as the collector would.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::AppState;
use gpudock::docker::{DockerHost, EngineEvent};
use gpudock::exec::Executor;
use gpudock::msg::{ActionMsg, Command, Msg};
use tokio::sync::mpsc;

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::from(KeyCode::Char(c)))
}

pub fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

pub fn type_text(app: &mut AppState, text: &str) {
    for c in text.chars() {
        app.update(key(c));
    }
}

/// Lists the engine's containers into the app, as the collector would.
pub async fn list_into(app: &mut AppState, host: &DockerHost) {
    let d = gpudock::docker::connect(host).await.unwrap_or_else(|e| panic!("{e}"));
    let mut lister = gpudock::docker::lister::Lister::default();
    let list = lister.refresh(&d).await.unwrap_or_else(|e| panic!("{e}"));
    app.update(Msg::Engine(EngineEvent::Containers(list)));
}

/// Selects the row of container `name` with the filter, and checks it is the one selected.
pub fn select(app: &mut AppState, name: &str) {
    app.update(key('/'));
    type_text(app, name);
    app.update(code(KeyCode::Enter));
    assert_eq!(app.table.selected().map(|c| c.name.as_str()), Some(name));
}

/// Runs the commands and waits (30 s at most) for the first action result that `pick` accepts.
pub async fn execute(
    exec: &mut Executor,
    rx: &mut mpsc::Receiver<Msg>,
    commands: Vec<Command>,
    mut pick: impl FnMut(&ActionMsg) -> bool,
) -> ActionMsg {
    for c in commands {
        exec.run(c);
    }
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(Msg::Action(a))) if pick(&a) => return a,
            Ok(Some(_)) => {}
            _ => panic!("no action result in time"),
        }
    }
}
