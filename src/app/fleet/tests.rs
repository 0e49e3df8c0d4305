use crossterm::event::{KeyCode, KeyEvent};

use super::*;
use crate::fleet::FleetSnapshot;

fn key(c: KeyCode) -> FleetMsg {
    FleetMsg::Key(KeyEvent::from(c))
}

pub fn node(host: &str, gpus: u32, busy: u32, fresh: bool) -> NodeSummary {
    NodeSummary {
        hostname: host.into(),
        fresh,
        last_seen: Some(if fresh { 1000.0 } else { 700.0 }),
        gpus,
        busy,
        ..Default::default()
    }
}

fn state(nodes: Vec<NodeSummary>) -> FleetState {
    let mut s = FleetState::new("http://prom:9090");
    let snap = FleetSnapshot { at: 1000.0, nodes, ..Default::default() };
    s.update(FleetMsg::Event(FleetEvent::Snapshot(Box::new(snap))));
    s
}

fn names(s: &FleetState) -> Vec<&str> {
    s.visible().iter().map(|n| n.hostname.as_str()).collect()
}

#[test]
fn sorted_by_free_gpus_stale_last_and_o_cycles() {
    let mut s = state(vec![
        node("a", 8, 8, true),
        node("b", 8, 2, true),
        node("c", 8, 0, false),
        node("d", 4, 0, true),
    ]);
    assert_eq!(names(&s), ["b", "d", "a", "c"]);
    s.update(key(KeyCode::Char('o')));
    assert_eq!(s.sort, FleetSort::Name);
    assert_eq!(names(&s), ["a", "b", "d", "c"], "stale rows stay last");
}

#[test]
fn filter_by_name_or_container() {
    let mut nodes = vec![node("gpu-a", 8, 0, true), node("gpu-b", 8, 0, true)];
    nodes[1].top = vec![("llama-train".into(), 1e9)];
    let mut s = state(nodes);
    for m in [key(KeyCode::Char('/')), key(KeyCode::Char('L')), key(KeyCode::Char('l'))] {
        s.update(m);
    }
    assert_eq!(names(&s), ["gpu-b"]);
    s.update(key(KeyCode::Enter));
    assert!(!s.filtering);
    s.update(key(KeyCode::Esc));
    assert_eq!(names(&s).len(), 2);
}

#[test]
fn a_stale_node_keeps_its_last_figures_and_age() {
    let mut s = state(vec![node("a", 8, 3, true)]);
    let mut gone = NodeSummary { hostname: "a".into(), ..Default::default() };
    gone.last_seen = None;
    let snap = FleetSnapshot { at: 1030.0, nodes: vec![gone], ..Default::default() };
    s.update(FleetMsg::Event(FleetEvent::Snapshot(Box::new(snap))));
    let n = &s.nodes[0];
    assert!(!n.fresh && s.stale(n));
    assert_eq!((n.gpus, n.busy, n.last_seen), (8, 3, Some(1000.0)));
    assert_eq!(n.age(s.at), Some(30.0));
}

#[test]
fn enter_opens_a_node_and_esc_goes_back() {
    let mut s = state(vec![node("a", 8, 0, true), node("b", 4, 0, true)]);
    s.update(key(KeyCode::Down));
    assert_eq!(s.update(key(KeyCode::Enter)), [FleetCommand::Focus(Some("b".into()))]);
    assert_eq!(s.open.as_deref(), Some("b"));
    // Enter again: the node's full dashboard.
    assert_eq!(s.update(key(KeyCode::Enter)), [FleetCommand::Dashboard("b".into())]);
    assert_eq!(s.update(key(KeyCode::Esc)), [FleetCommand::Focus(None)]);
    assert_eq!(s.update(key(KeyCode::Char('q'))), [FleetCommand::Quit]);
}

#[test]
fn prometheus_down_is_shown_and_cleared_and_redraws_only_on_change() {
    let mut s = state(vec![node("a", 8, 0, true)]);
    s.take_dirty();
    let down = || {
        FleetMsg::Event(FleetEvent::Down {
            reason: "refused".into(),
            retry_in: Duration::from_secs(5),
            at: 1000.0,
        })
    };
    s.update(down());
    assert!(s.take_dirty() && s.down.is_some());
    s.update(down());
    assert!(!s.take_dirty(), "the same message twice is one frame");
    let snap = FleetSnapshot { at: 1000.0, nodes: s.nodes.clone(), ..Default::default() };
    s.update(FleetMsg::Event(FleetEvent::Snapshot(Box::new(snap.clone()))));
    assert!(s.take_dirty() && s.down.is_none());
    s.update(FleetMsg::Event(FleetEvent::Snapshot(Box::new(snap))));
    assert!(!s.take_dirty(), "an unchanged snapshot draws nothing");
}

#[test]
fn the_cursor_stays_on_its_node_when_a_refresh_reorders_the_list() {
    let mut s = state(vec![node("a", 8, 8, true), node("b", 8, 2, true), node("d", 4, 0, true)]);
    assert_eq!(names(&s), ["b", "d", "a"]);
    s.update(key(KeyCode::Char('j')));
    assert_eq!(s.selected_node().map(|n| n.hostname.as_str()), Some("d"));
    // "a" frees its GPUs and moves to the top: the cursor moves with "d".
    let snap = FleetSnapshot {
        at: 1005.0,
        nodes: vec![node("a", 8, 0, true), node("b", 8, 2, true), node("d", 4, 0, true)],
        ..Default::default()
    };
    s.update(FleetMsg::Event(FleetEvent::Snapshot(Box::new(snap))));
    assert_eq!(names(&s), ["a", "b", "d"]);
    assert_eq!(s.selected_node().map(|n| n.hostname.as_str()), Some("d"));
    // A new sort keeps it too; Enter opens the node the user saw highlighted.
    s.update(key(KeyCode::Char('o')));
    assert_eq!(s.selected_node().map(|n| n.hostname.as_str()), Some("d"));
    let cmds = s.update(key(KeyCode::Enter));
    assert!(matches!(cmds.as_slice(), [FleetCommand::Focus(Some(h))] if h == "d"), "{cmds:?}");
    // Moving keys while a node is open leave the list's cursor alone.
    s.update(key(KeyCode::Char('g')));
    s.update(key(KeyCode::Esc));
    assert_eq!(s.selected_node().map(|n| n.hostname.as_str()), Some("d"));
}

#[test]
fn u_opens_the_users_view_which_asks_only_while_open() {
    let mut s = state(vec![node("a", 8, 2, true)]);
    assert_eq!(s.update(FleetMsg::Key(KeyEvent::from(KeyCode::Char('U')))), [FleetCommand::Users(true)]);
    assert!(s.users_open);
    let rows = vec![crate::fleet::OwnerRow { owner: "alice".into(), ..Default::default() }];
    let snap = FleetSnapshot {
        at: 1005.0,
        nodes: vec![node("a", 8, 2, true)],
        users: Some(rows.clone()),
        ..Default::default()
    };
    s.update(FleetMsg::Event(FleetEvent::Snapshot(Box::new(snap))));
    assert_eq!(s.users.as_deref(), Some(rows.as_slice()));
    assert_eq!(s.update(key(KeyCode::Esc)), [FleetCommand::Users(false)]);
    assert!(!s.users_open && s.users.is_none());
}
