//! The log view's notebook tunnel line: the URL and the ssh command, built from the parsed port,
//! the published host port and this node's hostname.

mod common;

use common::{render, render_buffer, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::Mode;
use gpudock::docker::LogLine;
use gpudock::docker::logs::LogChunk;
use gpudock::msg::{ActionMsg, Msg};

fn with_tensorboard() -> gpudock::app::AppState {
    let mut app = sample_app();
    app.hostname = "gpu-node-7".into();
    app.update(Msg::Key(KeyEvent::from(KeyCode::Char('l'))));
    let Mode::Logs(v) = &mut app.mode else { panic!("no log view: {:?}", app.mode) };
    v.reach.ports = gpudock::docker::ports::parse_field("16006:6006").unwrap_or_default();
    let id = v.id.clone();
    let lines = ["2024-01-15 starting", "TensorBoard 2.15.1 at http://0.0.0.0:6006/ (Press CTRL+C to quit)"]
        .map(|t| LogLine { stderr: true, text: t.into() })
        .to_vec();
    app.update(Msg::Action(ActionMsg::LogLines(LogChunk { id, lines })));
    app
}

#[test]
fn the_tunnel_line_sits_at_the_bottom_of_the_log_view() {
    let app = with_tensorboard();
    let screen = render(&app, 120, 40);
    let line = "TensorBoard at http://localhost:16006/ · tunnel: ssh -L 16006:localhost:16006 gpu-node-7";
    let row = screen.lines().position(|l| l.contains(line)).unwrap_or_else(|| panic!("{screen}"));
    assert!(screen.contains("y copy tunnel"), "{screen}");
    let buf = render_buffer(&app, 120, 40);
    let ok = buf[(1, row as u16)].fg;
    assert_ne!(ok, ratatui::style::Color::Reset, "the tunnel line is coloured as ready");
    insta::assert_snapshot!(screen);
}

#[test]
fn a_small_pane_still_shows_the_start_of_the_tunnel_line() {
    let app = with_tensorboard();
    let screen = render(&app, 40, 12);
    assert!(screen.contains("TensorBoard at http://localhost:16006/"), "{screen}");
    insta::assert_snapshot!(screen);
}
