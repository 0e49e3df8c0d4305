//! What colour means, cell by cell, beside the text snapshots: GPU badges, header alerts, the
//! launch form's errors, the confirm dialog (the disk view's warnings are in `ui_disk.rs`).

mod common;

use common::{NOW, render_buffer, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::{AppState, Mode};
use gpudock::config::Theme;
use gpudock::gpu::{GpuEvent, GpuSample, GpuSnapshot, XidError};
use gpudock::msg::Msg;
use gpudock::ui::theme::Styles;
use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

/// The cells of the first `needle` on screen, on a line that also holds `row`.
fn cells<'a>(buf: &'a Buffer, row: &str, needle: &str) -> Vec<&'a Cell> {
    for y in 0..buf.area.height {
        let line: Vec<&Cell> = (0..buf.area.width).map(|x| &buf[(x, y)]).collect();
        let text: String = line.iter().map(|c| c.symbol()).collect();
        if !text.contains(row) {
            continue;
        }
        // Cells, not bytes: count the symbols before the match.
        if let Some(i) = text.find(needle) {
            let at = text[..i].chars().count();
            return line[at..at + needle.chars().count()].to_vec();
        }
    }
    panic!("{needle:?} is not on screen on a line with {row:?}")
}

fn fg_of(buf: &Buffer, row: &str, needle: &str) -> Color {
    let found = cells(buf, row, needle);
    let fg = found[0].fg;
    assert!(found.iter().all(|c| c.fg == fg), "{needle:?} changes colour midway");
    fg
}

fn styles(app: &AppState) -> Styles {
    let st = Styles::new(app.theme);
    // Colour themes only: in these tests a colour must mean something.
    assert!(st.error().fg.is_some() && st.key().fg.is_some(), "{:?}", app.theme);
    st
}

fn gpus(app: &mut AppState, n: u32) {
    let gpus = (0..n)
        .map(|index| GpuSample {
            index,
            name: "NVIDIA H100 80GB HBM3".into(),
            uuid: format!("GPU-{index:08}"),
            memory_used: Some(1 << 30),
            memory_total: Some(80 << 30),
            util_gpu: Some(0),
            ..Default::default()
        })
        .collect();
    app.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { at: NOW, gpus, ..Default::default() })));
}

#[test]
fn an_xid_is_red_in_the_header_and_on_its_gpus_badge() {
    for theme in [Theme::Default, Theme::HighContrast] {
        let mut app = sample_app();
        app.theme = theme;
        gpus(&mut app, 2);
        let xid = XidError { gpu_index: 1, gpu_uuid: "GPU-00000001".into(), xid: 79, at: NOW };
        app.update(Msg::Gpu(GpuEvent::Xid(xid)));
        let buf = render_buffer(&app, 120, 40);
        let st = styles(&app);
        // The header's alert, and the key that marks it seen in the key colour.
        assert_eq!(fg_of(&buf, "gpudock", "⚠ GPU 1 XID 79"), st.error().fg.unwrap_or_default());
        assert_eq!(fg_of(&buf, "XID 79", "seen:"), Color::Reset, "{theme:?}");
        assert_eq!(cells(&buf, "gpudock", "!")[0].fg, st.key().fg.unwrap_or_default());
        // The GPU row's badge.
        assert_eq!(fg_of(&buf, "⚠XID 79", "⚠XID 79"), st.error().fg.unwrap_or_default(), "{theme:?}");
    }
}

#[test]
fn a_lost_gpu_is_red_in_the_header() {
    let mut app = sample_app();
    let mut lost =
        GpuSample { index: 0, uuid: "GPU-0".into(), name: "NVIDIA H100".into(), ..Default::default() };
    lost.lost = Some("GPU is lost".into());
    app.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { at: NOW, gpus: vec![lost], ..Default::default() })));
    let buf = render_buffer(&app, 120, 30);
    assert_eq!(fg_of(&buf, "gpudock", "⚠ GPU 0 lost"), styles(&app).error().fg.unwrap_or_default());
    assert_eq!(fg_of(&buf, "gpudock", "gpudock"), styles(&app).title().fg.unwrap_or_default());
}

#[test]
fn the_launch_forms_errors_are_red_under_their_field() {
    let mut app = sample_app();
    app.update(key(KeyCode::Char('n')));
    // Enter with no image: the image field gets its error.
    app.update(key(KeyCode::Enter));
    let Mode::Launch(form) = &app.mode else { panic!("{:?}", app.mode) };
    let err = form.errors.values().next().cloned().unwrap_or_else(|| panic!("no error: {form:?}"));
    let buf = render_buffer(&app, 120, 40);
    let st = styles(&app);
    let marked = format!("✖ {}", err.chars().take(20).collect::<String>());
    assert_eq!(fg_of(&buf, &marked, &marked), st.error().fg.unwrap_or_default());
    // The focused field's label is in the key colour; the others plain.
    assert_eq!(fg_of(&buf, "Image", "Image"), st.key().fg.unwrap_or_default());
    assert_eq!(fg_of(&buf, "Command", "Command"), Color::Reset);
}

#[test]
fn the_confirm_dialog_marks_its_keys_and_leaves_the_question_plain() {
    let mut app = sample_app();
    app.update(key(KeyCode::Char('s')));
    assert!(matches!(app.mode, Mode::Confirm(_)), "{:?}", app.mode);
    let buf = render_buffer(&app, 100, 30);
    let st = styles(&app);
    let key_fg = st.key().fg.unwrap_or_default();
    assert_eq!(fg_of(&buf, "confirm", "y"), key_fg);
    assert_eq!(fg_of(&buf, "confirm", "any other key"), key_fg);
    assert_eq!(fg_of(&buf, "confirm", " confirm"), Color::Reset);
    assert_eq!(fg_of(&buf, "Stop", "Stop"), Color::Reset, "the question itself is plain text");
    assert!(!cells(&buf, "confirm", "y")[0].modifier.contains(Modifier::REVERSED));
}
