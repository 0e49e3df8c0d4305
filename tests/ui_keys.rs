//! Keys live with their views: remapping a modal key in the config changes what the key does
//! and what the screen says about it.

mod common;

use std::path::Path;

use common::{render, resize, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::{AppState, Mode};
use gpudock::config::Config;
use gpudock::msg::{Command, Msg};

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

/// The sample app with `keys` laid over the defaults.
fn remapped(keys: &str) -> AppState {
    let config =
        Config::from_sources(Some(&format!("[keys]\n{keys}")), Some(Path::new("/tmp/gpudock-test.toml")))
            .unwrap_or_else(|e| panic!("{e}"));
    let mut app = sample_app();
    app.keymap = config.keymap;
    app
}

#[test]
fn remapping_back_in_the_log_view_changes_the_key_and_its_hint() {
    let mut app = remapped("back = [\"h\"]\nsearch = [\"f\"]\n");
    app.update(key(KeyCode::Char('l')));
    assert!(matches!(app.mode, Mode::Logs(_)));
    let screen = render(&app, 100, 20);
    assert!(screen.contains("f search · z wrap · w save · h back"), "{screen}");
    assert!(!screen.contains("Esc back"), "{screen}");
    // Esc is no longer bound in the log view: nothing happens.
    assert!(app.update(key(KeyCode::Esc)).is_empty());
    assert!(matches!(app.mode, Mode::Logs(_)));
    assert_eq!(app.update(key(KeyCode::Char('h'))), vec![Command::StopLogs]);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn remapping_confirm_changes_the_dialog_and_what_says_yes() {
    let mut app = remapped("confirm = [\"Z\"]\n");
    app.update(key(KeyCode::Char('s')));
    let screen = render(&app, 100, 30);
    assert!(screen.contains("Z confirm"), "{screen}");
    // The default yes key now cancels.
    assert!(app.update(key(KeyCode::Char('y'))).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    app.update(key(KeyCode::Char('s')));
    let cmds = app.update(key(KeyCode::Char('Z')));
    assert!(matches!(cmds.as_slice(), [Command::Container { .. }]), "{cmds:?}");
}

#[test]
fn remapping_a_form_key_changes_the_form_hint_and_the_default_key_types_text() {
    let mut app = remapped("next_field = [\"f2\"]\n");
    app.update(key(KeyCode::Char('n')));
    let screen = render(&app, 120, 30);
    assert!(screen.contains("F2/Shift-Tab move"), "{screen}");
    app.update(key(KeyCode::F(2)));
    let Mode::Launch(form) = &app.mode else { panic!("{:?}", app.mode) };
    assert_eq!(form.focus, gpudock::app::launch::Field::Command);
}

#[test]
fn the_help_screen_lists_modal_keys_by_view() {
    let mut app = remapped("preview = [\"p\"]\n");
    app.update(key(KeyCode::Char('?')));
    // A tall screen shows the whole help.
    let screen = render(&app, 100, 240);
    for needle in ["Log view", "Disk view", "Launch form", "older match", "y/Y", "preview what a prune"] {
        assert!(screen.contains(needle), "help lacks {needle}:\n{screen}");
    }
    let preview = screen.lines().find(|l| l.contains("preview what a prune")).unwrap_or_default();
    assert!(preview.contains(" p "), "{preview}");
    // Nothing below: no scroll hint. A short pane says how to scroll before any key closes it.
    assert!(!screen.contains("└ j/k scroll"), "{screen}");
    let short = render(&app, 100, 30);
    assert!(short.contains("└ j/k scroll · PgDn/PgUp page"), "{short}");
}

#[test]
fn one_key_in_two_actions_of_one_view_is_refused() {
    // The views own their key lists, so the app checks the keymap against them (main does, before
    // the terminal is touched).
    let config =
        Config::from_sources(Some("[keys]\nsearch = [\"n\"]\n"), None).unwrap_or_else(|e| panic!("{e}"));
    let err = gpudock::app::view::check_keymap(&config.keymap).err().unwrap_or_default();
    assert!(err.contains("key n is bound to both"), "{err}");
}

fn ahead(c: char) -> Msg {
    Msg::TypedAhead(KeyEvent::from(KeyCode::Char(c)))
}

#[test]
fn keys_typed_ahead_never_answer_a_question() {
    let mut app = sample_app();
    // `dyy` in one burst: d opens the question, the two y were already queued when it appeared.
    assert!(app.update(ahead('d')).is_empty());
    assert!(matches!(app.mode, Mode::Confirm(_)));
    assert!(app.update(ahead('y')).is_empty());
    assert!(app.update(ahead('y')).is_empty());
    assert!(matches!(app.mode, Mode::Confirm(_)), "still asking: {:?}", app.mode);
    let status = app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.contains("answer it now"), "{status}");
    // Keys pressed once the question is on screen answer it (a running container is asked
    // about twice).
    let mut cmds = app.update(key(KeyCode::Char('y')));
    if matches!(app.mode, Mode::Confirm(_)) {
        cmds = app.update(key(KeyCode::Char('y')));
    }
    assert!(matches!(cmds.as_slice(), [Command::Container { .. }]), "{cmds:?}");
}

#[test]
fn typed_words_do_not_restart_or_kill() {
    for word in ["registry", "Kyoto"] {
        let mut app = sample_app();
        let mut cmds = Vec::new();
        for c in word.chars() {
            cmds.extend(app.update(ahead(c)));
        }
        assert!(!cmds.iter().any(|c| matches!(c, Command::Container { .. })), "{word} ran {cmds:?}");
    }
}

#[test]
fn pasted_text_is_text_never_keys() {
    let mut app = sample_app();
    assert!(app.update(Msg::Paste("dyy".into())).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    app.update(key(KeyCode::Char('/')));
    app.update(Msg::Paste("jupyter\n".into()));
    assert_eq!(app.table.filter(), "jupyter ");
    app.update(key(KeyCode::Esc));
    app.update(key(KeyCode::Char('n')));
    app.update(Msg::Paste("nvidia/cuda:12.9.1-base-ubuntu24.04".into()));
    let Mode::Launch(form) = &app.mode else { panic!("{:?}", app.mode) };
    assert_eq!(form.image, "nvidia/cuda:12.9.1-base-ubuntu24.04");
}

/// `g` in the log view fills the pane from the oldest line down, in a small pane too: its page
/// is the log view's height, not the container table's.
#[test]
fn top_of_the_log_fills_the_pane() {
    use gpudock::docker::LogLine;
    use gpudock::docker::logs::LogChunk;
    let mut app = sample_app();
    resize(&mut app, 40, 12);
    app.update(key(KeyCode::Char('l')));
    let id = app.table.selected().map(|c| c.id.clone()).unwrap_or_default();
    let lines = (0..50).map(|i| LogLine { stderr: false, text: format!("line {i:02}") }).collect();
    app.update(Msg::from(LogChunk { id, lines }));
    app.update(key(KeyCode::Char('g')));
    let screen = render(&app, 40, 12);
    // Header, border, 8 lines, border, footer.
    for i in 0..8 {
        assert!(screen.contains(&format!("line {i:02}")), "line {i:02} missing:\n{screen}");
    }
    assert!(!screen.contains("line 08"), "{screen}");
}

#[test]
fn the_help_says_what_sm_percent_means() {
    let mut app = sample_app();
    resize(&mut app, 120, 200);
    app.update(key(KeyCode::Char('?')));
    let screen = render(&app, 120, 200);
    // The text wraps: compare it with its line breaks and borders taken out.
    let flat: String = screen
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '"' || c == '│' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ");
    let want = "SM%: a container's mean share over the GPUs it runs on (≤100; per GPU in its detail view); \
                n/a = no per-process share (MIG); - = none";
    assert!(flat.contains(want), "{screen}");
}
