//! The container detail view: opened by Enter on a container, fed by the inspect, closed by
//! Back; its history fed once per beat.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::detail::{DetailView, Inspect, MASK, TextLine};
use super::tests::container;
use super::*;
use crate::docker::inspect::ContainerDetail;
use crate::docker::{ContainerState, EngineError, EngineEvent};
use crate::gpu::{GpuEvent, GpuProcess, GpuSample, GpuSnapshot};
use crate::msg::ActionMsg;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// An app listing two running containers, `train` selected.
fn app() -> AppState {
    let mut a = AppState::new(&Config::default(), "unix:///var/run/docker.sock".into());
    let list = vec![
        container("1", "train", ContainerState::Running),
        container("2", "serve", ContainerState::Running),
    ];
    a.update(Msg::Engine(EngineEvent::Containers(list)));
    a.table.select(1);
    a
}

fn view(a: &AppState) -> &DetailView {
    match &a.mode {
        Mode::Detail(v) => v,
        other => panic!("not the detail view: {other:?}"),
    }
}

fn text(a: &AppState) -> String {
    view(a)
        .lines(a.now)
        .iter()
        .map(|l| match l {
            TextLine::Heading(t) | TextLine::Item(t) | TextLine::Dim(t) | TextLine::Error(t) => t.clone(),
            TextLine::Field { label, value } => format!("{label}: {value}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn inspected(a: &mut AppState, result: Result<Box<ContainerDetail>, EngineError>) {
    let id = view(a).id.clone();
    a.update(Msg::Action(ActionMsg::Inspected { id, result }));
}

#[test]
fn enter_on_a_container_opens_its_details_and_inspects_it() {
    let mut a = app();
    let id = a.table.selected().map(|c| c.id.clone()).unwrap_or_default();
    assert_eq!(a.focus, Panel::Containers);
    let cmds = a.update(code(KeyCode::Enter));
    assert_eq!(cmds, vec![Command::Inspect(id.clone())]);
    assert_eq!(view(&a).id, id);
    assert_eq!(view(&a).name, "train");
    assert_eq!(a.mode.scope(), crate::app::Scope::Detail);
    assert_eq!(text(&a), "inspecting…");
}

#[test]
fn enter_on_a_gpu_still_lists_its_containers() {
    let mut a = app();
    let id = a.table.selected().map(|c| c.id.clone());
    let p = GpuProcess { pid: 7, container_id: id, memory_used: Some(1 << 30), ..Default::default() };
    let gpus = vec![GpuSample { index: 0, processes: vec![p], ..Default::default() }];
    a.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { gpus, ..Default::default() })));
    a.update(code(KeyCode::Tab));
    let cmds = a.update(code(KeyCode::Enter));
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(a.mode, Mode::Normal);
    assert_eq!(a.table.gpu_filter(), Some(0));
    assert_eq!(a.table.rows().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["train"]);
}

#[test]
fn an_inspect_error_is_shown_and_one_for_another_container_ignored() {
    let mut a = app();
    a.update(code(KeyCode::Enter));
    let other =
        a.update(Msg::Action(ActionMsg::Inspected { id: "elsewhere".into(), result: Ok(Box::default()) }));
    assert!(other.is_empty());
    assert_eq!(view(&a).inspect, Inspect::Pending);
    inspected(&mut a, Err(EngineError::Status { status: 500, message: "boom".into() }));
    assert!(matches!(&view(&a).inspect, Inspect::Failed(e) if e.contains("boom")), "{:?}", view(&a).inspect);
    assert!(matches!(view(&a).lines(0).as_slice(), [TextLine::Error(e)] if e.contains("boom (HTTP 500)")));
    // Gone between the listing and the inspect: said in words.
    inspected(&mut a, Err(EngineError::Status { status: 404, message: "No such container".into() }));
    assert!(text(&a).contains("no longer knows this container"), "{}", text(&a));
}

#[test]
fn env_values_are_hidden_until_v_and_hidden_again() {
    let mut a = app();
    a.update(code(KeyCode::Enter));
    let d = ContainerDetail {
        image: "busybox".into(),
        env: vec![("TOKEN".into(), "s3cret".into()), ("PATH".into(), "/bin".into())],
        ..Default::default()
    };
    inspected(&mut a, Ok(Box::new(d)));
    let t = text(&a);
    assert!(t.contains("Env (2, values hidden)") && t.contains(&format!("TOKEN={MASK}")), "{t}");
    assert!(!t.contains("s3cret") && !t.contains("/bin"), "{t}");
    a.update(key('v'));
    let t = text(&a);
    assert!(t.contains("TOKEN=s3cret") && t.contains("PATH=/bin"), "{t}");
    a.update(key('v'));
    assert!(!text(&a).contains("s3cret"));
}

#[test]
fn back_closes_without_quitting_and_l_opens_the_logs() {
    let mut a = app();
    for close in [code(KeyCode::Esc), key('q')] {
        a.update(code(KeyCode::Enter));
        let cmds = a.update(close);
        assert!(cmds.is_empty(), "{cmds:?}");
        assert_eq!(a.mode, Mode::Normal);
    }
    a.update(code(KeyCode::Enter));
    let id = view(&a).id.clone();
    let cmds = a.update(key('l'));
    assert!(matches!(cmds.as_slice(), [Command::FollowLogs { id: got, .. }] if *got == id), "{cmds:?}");
    assert!(matches!(&a.mode, Mode::Logs(v) if v.id == id && v.name == "train"));
}

#[test]
fn the_text_scrolls_no_further_than_its_end() {
    let mut a = app();
    a.update(Msg::Resize(80, 20));
    a.update(code(KeyCode::Enter));
    let env = (0..40).map(|i| (format!("V{i}"), i.to_string())).collect();
    inspected(&mut a, Ok(Box::new(ContainerDetail { env, ..Default::default() })));
    let inner = u16::try_from(a.pages.log).unwrap_or(0);
    let max = view(&a).max_scroll(inner);
    assert!(max > 0);
    a.update(code(KeyCode::End));
    assert_eq!(view(&a).scroll, max);
    a.update(key('j'));
    assert_eq!(view(&a).scroll, max, "past the end");
    a.update(key('k'));
    assert_eq!(view(&a).scroll, max - 1, "one up moves at once");
    a.update(code(KeyCode::Home));
    assert_eq!(view(&a).scroll, 0);
    a.update(code(KeyCode::PageDown));
    assert_eq!(view(&a).scroll, detail::text_rows(inner));
}

#[test]
fn stats_and_a_gpu_snapshot_of_one_beat_make_one_sample() {
    let mut a = app();
    let id = a.table.selected().map(|c| c.id.clone()).unwrap_or_default();
    for beat in 0..3 {
        let stats = std::collections::HashMap::from([(id.clone(), crate::docker::ContainerStats::default())]);
        a.update(Msg::Engine(EngineEvent::Stats { at: 100 + beat, stats }));
        let snap = GpuSnapshot { at: 100 + beat, gpus: vec![GpuSample::default()], ..Default::default() };
        a.update(Msg::Gpu(GpuEvent::Snapshot(snap)));
    }
    assert_eq!(a.history.of(&id).map(|h| h.len()), Some(3));
    a.update(Msg::Engine(EngineEvent::Containers(Vec::new())));
    assert!(a.history.is_empty(), "gone containers keep no history");
}
