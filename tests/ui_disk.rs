//! Snapshot tests of the disk view, the prune preview and the result line, from the engine
//! answer captured in tests/fixtures/df_v1.41.json.

mod common;

use common::{render, render_buffer, sample_app};
use crossterm::event::{KeyCode, KeyEvent};
use gpudock::app::AppState;
use gpudock::docker::EngineEvent;
use gpudock::docker::disk::{Category, DiskUsage, FsUsage, PruneReport, parse_df};
use gpudock::msg::{ActionMsg, Command, Msg};

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

fn usage() -> DiskUsage {
    let text = include_str!("fixtures/df_v1.41.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    DiskUsage {
        categories: parse_df(&json).unwrap_or_else(|e| panic!("{e}")),
        root_dir: Some("/var/lib/docker".into()),
        fs: Some(FsUsage { total: 500_000_000_000, free: 40_000_000_000, used: 460_000_000_000 }),
    }
}

fn disk_app() -> AppState {
    let mut app = sample_app();
    let cmds = app.update(key(KeyCode::Char('c')));
    assert_eq!(cmds, vec![Command::DiskUsage]);
    app.update(Msg::Action(ActionMsg::DiskUsage(Ok(Box::new(usage())))));
    app
}

#[test]
fn disk_view_rows() {
    insta::assert_snapshot!(render(&disk_app(), 120, 24));
}

/// At 40 columns every figure of the data root's line is there, wrapped at words, and the
/// hint line holds whole hints only.
#[test]
fn the_disk_view_at_40x12_wraps_its_figures_and_cuts_no_hint() {
    let mut app = disk_app();
    common::resize(&mut app, 40, 12);
    let screen = render(&app, 40, 12);
    let lines: Vec<&str> = screen.lines().collect();
    assert!(lines[2].contains("/var/lib/docker:"), "{screen}");
    let inside = |l: &str| l.trim_matches(|c| c == '"' || c == '│' || c == ' ').to_string();
    assert_eq!(inside(lines[3]), "460 GB used, 40 GB free", "{screen}");
    assert_eq!(inside(lines[4]), "of 500 GB (92% full)", "{screen}");
    assert!(screen.contains("Reclaimable, all rows:"), "{screen}");
    let bottom = lines[10];
    let hints = bottom.trim_matches(|c| c == '"' || c == '└' || c == '┘' || c == '─' || c == ' ');
    for hint in hints.split(" · ") {
        assert!(hint.split_once(' ').is_some_and(|(k, what)| !k.is_empty() && what.len() > 2), "{bottom}");
    }
    insta::assert_snapshot!(screen);
}

#[test]
fn prune_preview_lists_what_goes_and_needs_y() {
    let mut app = disk_app();
    app.update(key(KeyCode::Enter));
    insta::assert_snapshot!(render(&app, 120, 24));
    // Anything but y cancels.
    assert!(app.update(key(KeyCode::Char('n'))).is_empty());
    app.update(key(KeyCode::Enter));
    let cmds = app.update(key(KeyCode::Char('y')));
    assert!(
        matches!(cmds.as_slice(), [Command::Prune { category: Category::StoppedContainers, .. }]),
        "{cmds:?}"
    );
}

#[test]
fn volume_preview_warns_and_named_volumes_are_opt_in() {
    let mut app = disk_app();
    for _ in 0..4 {
        app.update(key(KeyCode::Char('j')));
    }
    app.update(key(KeyCode::Enter));
    let screen = render(&app, 120, 24);
    assert!(screen.contains("destroys it"), "{screen}");
    assert!(screen.contains("anonymous only"), "{screen}");
    // The engine (API 1.41) marks no volume anonymous: the preview says how it is decided.
    assert!(screen.contains("This engine (API 1.41) does not mark anonymous volumes"), "{screen}");
    // Both unused volumes of the fixture are named (one by its label): nothing goes by default,
    // and nothing is offered.
    assert!(screen.contains("Nothing to remove") && !screen.contains("y prune"), "{screen}");
    assert!(app.update(key(KeyCode::Char('y'))).is_empty());
    app.update(key(KeyCode::Char('a')));
    app.update(key(KeyCode::Enter));
    let screen = render(&app, 120, 24);
    assert!(screen.contains("anonymous AND named") && screen.contains("y prune"), "{screen}");
    let cmds = app.update(key(KeyCode::Char('y')));
    let [Command::Prune { items, .. }] = cmds.as_slice() else { panic!("{cmds:?}") };
    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    assert!(names.contains(&"gdfix-named"), "{names:?}");
}

#[test]
fn result_line_after_a_prune() {
    let mut app = disk_app();
    app.update(key(KeyCode::Enter));
    app.update(key(KeyCode::Char('y')));
    let cmds = app.update(Msg::Action(ActionMsg::Pruned(Ok(PruneReport {
        category: Category::StoppedContainers,
        removed: vec!["a".into(), "b".into(), "c".into()],
        reclaimed: 12_400_000_000,
        skipped: Vec::new(),
    }))));
    assert_eq!(cmds, vec![Command::DiskUsage], "the view refreshes after a prune");
    let screen = render(&app, 120, 24);
    assert!(screen.contains("Reclaimed 12.4 GB — 3 containers"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn read_only_mode_only_views() {
    let mut app = sample_app();
    app.read_only = true;
    app.update(key(KeyCode::Char('c')));
    app.update(Msg::Action(ActionMsg::DiskUsage(Ok(Box::new(usage())))));
    app.update(key(KeyCode::Enter));
    assert!(app.update(key(KeyCode::Char('y'))).is_empty());
    assert!(app.status.as_ref().is_some_and(|s| s.text.contains("read-only")));
}

#[test]
fn low_disk_warning_shows_on_the_main_screen() {
    let mut app = sample_app();
    app.update(Msg::Engine(EngineEvent::RootFs {
        dir: "/var/lib/docker".into(),
        fs: FsUsage { total: 100_000_000_000, free: 8_000_000_000, used: 92_000_000_000 },
    }));
    let screen = render(&app, 140, 12);
    assert!(screen.contains("⚠ /var/lib/docker: 92% full, 8 GB free"), "{screen}");
}

fn image(id: &str, tags: &[&str], size: u64) -> gpudock::docker::disk::ImageRow {
    gpudock::docker::disk::ImageRow {
        id: format!("sha256:{id:0<64}"),
        name: tags.first().map(|t| t.to_string()).unwrap_or_else(|| id.into()),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        size,
        shared_size: None,
        created: common::NOW - 3600,
        containers: Vec::new(),
    }
}

/// A refresh between `d` and `y` once removed whichever image had moved under the cursor.
#[test]
fn image_removal_is_bound_to_the_image_chosen_at_d() {
    let mut app = disk_app();
    assert_eq!(app.update(key(KeyCode::Char('i'))), vec![Command::ListImages]);
    let big = image("aaa", &["trainer:v3", "trainer:latest"], 9_000_000_000);
    let small = image("bbb", &["tool:1"], 1_000_000);
    app.update(Msg::Action(ActionMsg::Images(Ok(vec![big.clone(), small.clone()]))));
    let list = render(&app, 120, 24);
    assert!(list.contains("trainer:v3, trainer:latest"), "the image list shows every tag:\n{list}");
    assert!(app.update(key(KeyCode::Char('d'))).is_empty());
    let screen = render(&app, 120, 24);
    assert!(screen.contains("All 2 of its") && screen.contains("trainer:v3, trainer:latest."), "{screen}");
    // The list changes under the question: another image is now first.
    app.update(Msg::Action(ActionMsg::Images(Ok(vec![small, big.clone()]))));
    let cmds = app.update(key(KeyCode::Char('y')));
    assert_eq!(cmds, vec![Command::RemoveImage { id: big.id, name: big.name }]);
}

/// `u` and `i` pressed again while the engine is still answering once queued request after
/// request (`/system/df` can take many seconds on a big node).
#[test]
fn refresh_and_image_list_are_not_asked_twice_at_once() {
    let mut app = disk_app();
    assert_eq!(app.update(key(KeyCode::Char('u'))), vec![Command::DiskUsage]);
    assert!(app.update(key(KeyCode::Char('u'))).is_empty(), "a second disk-usage request while one runs");
    app.update(Msg::Action(ActionMsg::DiskUsage(Ok(Box::new(usage())))));
    assert_eq!(app.update(key(KeyCode::Char('u'))), vec![Command::DiskUsage]);
    app.update(Msg::Action(ActionMsg::DiskUsage(Ok(Box::new(usage())))));
    assert_eq!(app.update(key(KeyCode::Char('i'))), vec![Command::ListImages]);
    app.update(key(KeyCode::Esc));
    assert!(app.update(key(KeyCode::Char('i'))).is_empty(), "a second image listing while one runs");
    app.update(Msg::Action(ActionMsg::Images(Ok(Vec::new()))));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.update(key(KeyCode::Char('i'))), vec![Command::ListImages]);
}

/// A row's COUNT and RECLAIMABLE and its preview say the same, under `prune_until` too.
#[test]
fn row_figures_and_the_preview_agree() {
    let mut app = disk_app();
    // Everything in the fixture is younger than ten years: an old-only prune removes nothing.
    app.prune_until = Some("3650d".into());
    let screen = render(&app, 120, 24);
    let row = screen.lines().find(|l| l.contains("stopped containers")).unwrap_or_default();
    assert!(row.contains("0 of") && row.trim_end_matches(['│', ' ', '"']).ends_with("0 B"), "{row}");
    app.update(key(KeyCode::Enter));
    let screen = render(&app, 120, 24);
    assert!(screen.contains("Nothing to remove"), "{screen}");
}

/// With the engine down the disk view says so at once (it used to wait on a request for
/// 25 s), and asks again when the engine is back.
#[test]
fn the_disk_view_says_at_once_when_the_engine_is_down_and_retries() {
    let mut app = sample_app();
    app.update(Msg::Engine(EngineEvent::Down {
        host: "unix:///var/run/docker.sock".into(),
        reason: "connection refused — is dockerd running?".into(),
        retry_in: std::time::Duration::from_secs(2),
        attempt: 1,
    }));
    assert!(app.update(key(KeyCode::Char('c'))).is_empty(), "no request to a dead engine");
    let screen = render(&app, 120, 24);
    assert!(screen.contains("unreachable") && screen.contains("retrying"), "{screen}");
    let cmds = app.update(Msg::Engine(EngineEvent::Connected(Box::new(common::engine_info()))));
    assert_eq!(cmds, vec![Command::DiskUsage]);
}

/// The volume preview's warning is red and its frame the warning colour; the way out is dim.
#[test]
fn the_volume_previews_warning_is_coloured() {
    let mut app = disk_app();
    for _ in 0..4 {
        app.update(key(KeyCode::Char('j')));
    }
    app.update(key(KeyCode::Enter));
    let buf = render_buffer(&app, 120, 24);
    let st = gpudock::ui::theme::Styles::new(app.theme);
    let at = |needle: &str| -> (u16, u16) {
        (0..buf.area.height)
            .find_map(|y| {
                let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect();
                line.find(needle).map(|i| (line[..i].chars().count() as u16, y))
            })
            .unwrap_or_else(|| panic!("{needle:?} not on screen"))
    };
    let (x, y) = at("Volumes hold data");
    assert_eq!(Some(buf[(x, y)].fg), st.error().fg);
    let (x, y) = at(" Prune ");
    // The frame left of the title is the warning colour.
    assert_eq!(Some(buf[(x - 1, y)].fg), st.warn().fg);
    let (x, y) = at("any key goes back");
    assert_eq!(buf[(x, y)].fg, st.dim().fg.unwrap_or_default());
    assert!(st.error().fg.is_some() && st.warn().fg.is_some());
}

/// The prune question is the one `Confirm` view, over the disk view: keys typed before it
/// appeared never answer it, and any other key cancels back to the rows.
#[test]
fn the_prune_preview_is_the_confirm_view_over_the_disk_view() {
    use gpudock::app::Mode;
    let mut app = disk_app();
    app.update(key(KeyCode::Enter));
    assert!(matches!(app.mode, Mode::Confirm(_)), "{:?}", app.mode);
    assert!(matches!(app.back.last(), Some(Mode::Disk(_))), "{:?}", app.back);
    assert!(app.update(Msg::TypedAhead(KeyEvent::from(KeyCode::Char('y')))).is_empty());
    assert!(matches!(app.mode, Mode::Confirm(_)), "a typed-ahead y does not answer");
    assert!(app.update(key(KeyCode::Esc)).is_empty());
    assert!(matches!(app.mode, Mode::Disk(_)), "{:?}", app.mode);
    assert_eq!(app.status.as_ref().map(|s| s.text.as_str()), Some("prune cancelled"));
    app.update(key(KeyCode::Enter));
    let cmds = app.update(key(KeyCode::Char('y')));
    assert!(matches!(cmds.as_slice(), [Command::Prune { .. }]), "{cmds:?}");
    let screen = render(&app, 120, 24);
    assert!(screen.contains("Pruning stopped containers…"), "{screen}");
}

/// The fixture with twelve stopped containers: more names than a small pane shows.
fn many_stopped() -> AppState {
    let mut u = usage();
    let row = u.categories.iter_mut().find(|c| c.category == Category::StoppedContainers);
    let row = row.unwrap_or_else(|| panic!("no stopped containers row"));
    let model = row.items[0].clone();
    row.items = (0..12)
        .map(|i| gpudock::docker::disk::DiskItem {
            id: format!("{:0>64}", i),
            name: format!("old-run-{i:02}"),
            size: 1_000_000 * (12 - i),
            ..model.clone()
        })
        .collect();
    row.count = 12;
    let mut app = sample_app();
    app.update(key(KeyCode::Char('c')));
    app.update(Msg::Action(ActionMsg::DiskUsage(Ok(Box::new(u)))));
    app
}

/// At 40x12 the preview once showed no name at all and still offered y: now it shows as many
/// as fit, says which, and scrolls.
#[test]
fn prune_preview_at_40x12_lists_names_and_scrolls() {
    let mut app = many_stopped();
    app.update(key(KeyCode::Enter));
    common::resize(&mut app, 40, 12);
    let screen = render(&app, 40, 12);
    insta::assert_snapshot!("prune_preview_40x12", screen);
    assert!(screen.contains("old-run-00") && screen.contains("y prune"), "{screen}");
    assert!(screen.contains(&format!("1–{} of 12", app.pages.prune)), "{screen}");
    assert!(app.pages.prune > 0 && app.pages.prune < 12, "{:?}", app.pages);
    assert!(app.update(key(KeyCode::Char('j'))).is_empty());
    let screen = render(&app, 40, 12);
    assert!(!screen.contains("old-run-00") && screen.contains("old-run-01"), "{screen}");
    app.update(key(KeyCode::PageDown));
    app.update(key(KeyCode::PageDown));
    let screen = render(&app, 40, 12);
    assert!(screen.contains("old-run-11") && screen.contains("of 12"), "{screen}");
    app.update(key(KeyCode::PageUp));
    app.update(key(KeyCode::PageUp));
    app.update(key(KeyCode::Char('k')));
    assert!(render(&app, 40, 12).contains("old-run-00"));
    // Scrolling is not an answer: the question is still open, and y prunes all twelve.
    let cmds = app.update(key(KeyCode::Char('y')));
    let [Command::Prune { items, .. }] = cmds.as_slice() else { panic!("{cmds:?}") };
    assert_eq!(items.len(), 12);
}

#[test]
fn prune_preview_at_120x40_lists_every_name_without_a_scroll_line() {
    let mut app = many_stopped();
    app.update(key(KeyCode::Enter));
    common::resize(&mut app, 120, 40);
    let screen = render(&app, 120, 40);
    insta::assert_snapshot!("prune_preview_120x40", screen);
    assert!(screen.contains("old-run-00") && screen.contains("old-run-11"), "{screen}");
    assert!(!screen.contains("1–") && screen.contains("y prune"), "{screen}");
    assert_eq!(app.pages.prune, 12);
}

/// A preview that shows no name may neither offer y nor take it.
#[test]
fn y_does_nothing_while_no_name_of_the_prune_fits() {
    let mut app = many_stopped();
    app.update(key(KeyCode::Enter));
    common::resize(&mut app, 40, 7);
    assert_eq!(app.pages.prune, 0);
    let screen = render(&app, 40, 7);
    assert!(!screen.contains("y prune"), "{screen}");
    assert!(app.update(key(KeyCode::Char('y'))).is_empty());
    assert!(matches!(app.mode, gpudock::app::Mode::Confirm(_)), "the question stays open");
    let said = app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(said.contains("not pruned") && said.contains("enlarge"), "{said}");
    // Once the names show, y prunes.
    common::resize(&mut app, 40, 12);
    let cmds = app.update(key(KeyCode::Char('y')));
    assert!(matches!(cmds.as_slice(), [Command::Prune { .. }]), "{cmds:?}");
}
