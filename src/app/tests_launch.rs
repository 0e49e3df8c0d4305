//! The launch form around a launch: a failure goes back to the form as typed, with the error at
//! its field; cancelling does too; presets fill and unfill.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::launch::Field;
use super::*;
use crate::docker::explain::LaunchError;
use crate::msg::ActionMsg;

fn app() -> AppState {
    AppState::new(&Config::default(), "unix:///var/run/docker.sock".into())
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn type_text(a: &mut AppState, text: &str) {
    for c in text.chars() {
        a.update(key(KeyCode::Char(c)));
    }
}

fn launching(a: &mut AppState) {
    a.update(key(KeyCode::Char('n')));
    type_text(a, "nvidia/cuda:12.9.1-base-ubuntu24.04");
    a.update(key(KeyCode::Tab));
    type_text(a, "nvidia-smi");
    let cmds = a.update(key(KeyCode::Enter));
    assert!(matches!(cmds.as_slice(), [Command::Launch { .. }]), "{cmds:?}");
    assert!(matches!(a.mode, Mode::Launching(_)));
}

fn form(a: &AppState) -> &LaunchForm {
    match &a.mode {
        Mode::Launch(f) => f,
        other => panic!("not the form: {other:?}"),
    }
}

#[test]
fn a_failed_pull_goes_back_to_the_form_with_the_error_at_the_image() {
    let mut a = app();
    launching(&mut a);
    let e = LaunchError::pull(
        "nvidia/cuda:12.9.1-base-ubuntu24.04",
        "dial tcp: lookup registry-1.docker.io: no such host",
    );
    a.update(Msg::Action(ActionMsg::Launch(Err(e))));
    let f = form(&a);
    assert_eq!((f.image.as_str(), f.command.as_str()), ("nvidia/cuda:12.9.1-base-ubuntu24.04", "nvidia-smi"));
    assert_eq!(f.focus, Field::Image);
    assert!(f.errors.get(&Field::Image).is_some_and(|e| e.contains("unreachable")), "{:?}", f.errors);
}

#[test]
fn engine_refusals_land_at_their_fields_or_below_the_form() {
    for (message, field) in [
        ("could not select device driver \"\" with capabilities: [[gpu]]", Some(Field::Gpus)),
        ("Conflict. The container name \"/x\" is already in use by container \"abc\"", Some(Field::Name)),
        ("something odd (HTTP 400)", None),
    ] {
        let mut a = app();
        launching(&mut a);
        a.update(Msg::Action(ActionMsg::Launch(Err(LaunchError::engine(message)))));
        let f = form(&a);
        match field {
            Some(field) => assert!(f.errors.contains_key(&field), "{message}: {:?}", f.errors),
            None => assert!(f.failure.as_deref().is_some_and(|w| w.contains("odd")), "{message}"),
        }
    }
}

#[test]
fn esc_while_launching_and_on_a_warning_keeps_the_form() {
    let mut a = app();
    launching(&mut a);
    let cmds = a.update(key(KeyCode::Esc));
    assert_eq!(cmds, vec![Command::CancelLaunch]);
    assert_eq!(form(&a).command, "nvidia-smi");
    // A warning: Esc takes it back, the form stays.
    if let Mode::Launch(f) = &mut a.mode {
        f.warning = Some("needs CUDA 13".into());
    }
    a.update(key(KeyCode::Esc));
    assert_eq!(form(&a).warning, None);
    a.update(key(KeyCode::Esc));
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn choosing_no_preset_again_clears_what_the_preset_filled_in() {
    let mut a = app();
    a.update(key(KeyCode::Char('n')));
    for _ in 0..4 {
        a.update(key(KeyCode::Tab));
    }
    a.update(key(KeyCode::Char(' ')));
    assert!(!form(&a).image.is_empty(), "the first preset fills the image");
    a.update(key(KeyCode::Left));
    let f = form(&a);
    assert_eq!(f.preset, None);
    assert!(f.image.is_empty() && f.command.is_empty() && f.gpus.is_empty(), "{f:?}");
    assert!(f.auto_remove, "--rm stays on");
}

#[test]
fn a_start_that_beat_the_cancel_is_said_and_not_followed() {
    let mut a = app();
    launching(&mut a);
    assert_eq!(a.update(key(KeyCode::Esc)), vec![Command::CancelLaunch]);
    let launched = crate::docker::launch::Launched { id: ContainerId::new("abc123"), name: "smoke".into() };
    let cmds = a.update(Msg::Action(ActionMsg::Launch(Ok(launched))));
    assert_eq!(cmds, vec![Command::StopLogs]);
    let status = a.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.contains("smoke had already started") && status.contains("running"), "{status}");
    assert!(matches!(a.mode, Mode::Launch(_)), "the form stays: {:?}", a.mode);
}

#[test]
fn a_second_enter_typed_ahead_never_launches_past_the_warning() {
    let mut a = app();
    launching(&mut a);
    a.update(key(KeyCode::Esc));
    if let Mode::Launch(f) = &mut a.mode {
        f.warning = Some("needs CUDA 13".into());
    }
    let typed = Msg::TypedAhead(KeyEvent::from(KeyCode::Enter));
    assert_eq!(a.update(typed), Vec::new());
    assert_eq!(form(&a).warning.as_deref(), Some("needs CUDA 13"));
    // Seen, Enter answers it.
    assert!(matches!(a.update(key(KeyCode::Enter)).as_slice(), [Command::Launch { .. }]));
}
