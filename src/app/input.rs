//! Key presses → state changes. The keymap turns a key into an action of the view on screen;
//! each view answers with an `Outcome` that `AppState::apply` carries out.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::actions::{launch_key, launching_key};
use super::text_input::{Edit, TextInput};
use super::view::{Scope, ViewKey};
use super::{AppState, Level, Mode, Outcome, Panel};
use crate::config::{Action, Hint};

/// The main screen's keys. The hinted ones show in the footer, in this order: a narrow footer
/// drops the last.
pub const KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Quit, "quit").hint(&[Action::Quit], "quit"),
    ViewKey::new(Action::Help, "show / hide this help").hint(&[Action::Help], "help"),
    ViewKey::new(Action::NewContainer, "launch a new container (form)").hint(&[Action::NewContainer], "new"),
    ViewKey::new(Action::Logs, "follow the selected container's logs").hint(&[Action::Logs], "logs"),
    ViewKey::new(Action::Stop, "stop the selected container").hint(&[Action::Stop], "stop"),
    ViewKey::new(Action::DiskUsage, "disk space: what Docker holds, prune it, images")
        .hint(&[Action::DiskUsage], "disk"),
    ViewKey::new(Action::Filter, "filter containers by name or image (Enter keeps, Esc clears)")
        .hint(&[Action::Filter], "filter"),
    ViewKey::new(
        Action::Processes,
        "GPU processes: every process on the GPUs (in the GPU panel: that GPU's)",
    )
    .hint(&[Action::Processes], "procs"),
    ViewKey::new(Action::Users, "who holds what: GPU memory, GPUs and idle time per owner")
        .hint(&[Action::Users], "users"),
    ViewKey::new(Action::GpuDetail, "the selected GPU's health: ECC, XIDs, throttling, PCIe, clocks, MIG")
        .hint(&[Action::GpuDetail], "gpu health"),
    ViewKey::new(Action::SortNext, "sort by the next column").hint(&[Action::SortNext], "sort"),
    ViewKey::new(Action::NextPanel, "next panel").hint(&[Action::NextPanel], "panel"),
    ViewKey::new(Action::Mouse, "mouse on / off (off: the terminal selects text)")
        .hint(&[Action::Mouse], "mouse"),
    ViewKey::new(Action::Up, "move up"),
    ViewKey::new(Action::Down, "move down"),
    ViewKey::new(Action::PageUp, "page up"),
    ViewKey::new(Action::PageDown, "page down"),
    ViewKey::new(Action::First, "first row"),
    ViewKey::new(Action::Last, "last row"),
    ViewKey::new(Action::PrevPanel, "previous panel"),
    ViewKey::new(Action::SortReverse, "reverse the sort order"),
    ViewKey::new(Action::Restart, "restart the selected container"),
    ViewKey::new(Action::Remove, "remove the selected container"),
    ViewKey::new(Action::Kill, "kill the selected container"),
    ViewKey::new(
        Action::GpuUsers,
        "in the GPU panel: list only the containers on that GPU (Esc clears); on a container: its details \
         (charts, GPUs given and used, inspect)",
    ),
    ViewKey::new(Action::Shell, "a shell in the selected container (exit returns here)"),
    ViewKey::new(Action::NextIdle, "jump to the next container holding GPU memory idle"),
    ViewKey::new(Action::AckAlerts, "mark the alerts in the header seen"),
    ViewKey::new(
        Action::Topology,
        "GPU topology: NVLinks and PCIe paths between GPUs, CPU and NUMA affinity",
    ),
    ViewKey::new(Action::Alerts, super::alert_list::FROM_ANYWHERE),
];

/// Keys of the GPU panel, in its title while it has focus: keys of the main screen's list.
pub const GPU_PANEL_HINTS: &[Hint] = &[
    Hint::new(&[Action::GpuUsers], "containers"),
    Hint::new(&[Action::GpuDetail], "health"),
    Hint::new(&[Action::NextIdle], "next idle"),
];
use crate::msg::Command;

pub fn handle_key(app: &mut AppState, key: KeyEvent) -> Vec<Command> {
    // Ctrl-C always leaves, whatever mode or keymap.
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return vec![Command::Quit];
    }
    let action = super::view::action_in(&app.keymap, app.mode.scope(), &key);
    if action == Some(Action::Alerts) && super::alert_list::reachable(app) {
        if app.mode == Mode::Normal {
            app.status = None;
        }
        return app.apply(super::alert_list::open());
    }
    let inner = detail_inner(app);
    let out = match &mut app.mode {
        Mode::Normal => {
            app.status = None;
            return normal_key(app, action, key);
        }
        Mode::Filter => {
            filter_key(app, key);
            return Vec::new();
        }
        Mode::Help => super::help::handle_key(app, action, key),
        Mode::Confirm(c) => {
            let mut out = super::prune::key(c, action, app.pages.prune);
            super::disk::on_confirmed(&mut app.back, &out);
            super::actions::launch_confirmed(&mut app.back, &mut out);
            out
        }
        Mode::Launch(form) => launch_key(form, action, key, &app.presets, &app.gpu, &app.table, &app.user),
        Mode::Launching(l) => launching_key(l, action),
        Mode::Logs(view) => view.handle_key(action, key, app.pages.log, app.now),
        Mode::Detail(view) if action == Some(Action::Logs) => {
            let (id, name) = (view.id.clone(), view.name.clone());
            // The details stay under the logs: back from the logs returns to them.
            let details = std::mem::replace(&mut app.mode, Mode::Normal);
            app.back.push(details);
            return super::actions::open_logs(app, id, name);
        }
        Mode::Detail(view) => view.handle_key(action, inner),
        Mode::Disk(view) => view.handle_key(action, app.read_only, app.prune_until.as_deref(), app.now),
        Mode::GpuDetail(_) if action == Some(Action::AckAlerts) => {
            super::gpu_detail::ack_alerts(app);
            Outcome::stay()
        }
        Mode::GpuDetail(view) => view.handle_key(action, app.gpu.count()),
        Mode::Processes(view) => view.handle_key(action, key, app.read_only, app.pages.log.saturating_sub(1)),
        Mode::Users(view) if action == Some(Action::GpuUsers) => {
            let selected = view.selected;
            super::users::show_containers(app, selected)
        }
        Mode::Topology(view) => view.handle_key(action),
        Mode::Users(_) => {
            // Built only while the view is open.
            let rows = super::users::rows(app);
            let page = app.pages.log.saturating_sub(1);
            match &mut app.mode {
                Mode::Users(view) => view.handle_key(action, &rows, page),
                _ => Outcome::stay(),
            }
        }
        Mode::Alerts(_) if action == Some(Action::AckAlerts) => {
            super::gpu_detail::ack_alerts(app);
            Outcome::stay()
        }
        Mode::Alerts(view) => view.handle_key(action, app.alerts.list.len(), app.pages.log.saturating_sub(1)),
    };
    app.apply(out)
}

/// A click: a row selects (and focuses its panel), a column header sorts (again: reverses).
pub fn click(app: &mut AppState, hit: super::Hit) {
    use super::Hit;
    if app.mode != Mode::Normal {
        return;
    }
    match hit {
        Hit::Panel(p) => app.focus = p,
        Hit::GpuRow(i) => {
            app.focus = Panel::Gpus;
            app.gpu.selected = i.min(app.gpu.count().saturating_sub(1));
        }
        Hit::ContainerRow(i) => {
            app.focus = Panel::Containers;
            app.table.select(i);
        }
        Hit::SortBy(key) => {
            let reverse = app.table.sort == key && !app.table.reverse;
            app.with_table(|t, m| t.set_sort(key, reverse, m));
            let order = if reverse { " (reversed)" } else { "" };
            app.set_status(Level::Info, format!("sorted by {}{order}", key.label()));
        }
    }
}

/// The wheel scrolls what it is over: a panel of the main screen, or the log view.
pub fn wheel(app: &mut AppState, down: bool, over: Option<Panel>) {
    let step: isize = if down { 3 } else { -3 };
    let inner = detail_inner(app);
    match &mut app.mode {
        Mode::Normal => {
            if let Some(p) = over {
                app.focus = p;
            }
            app.move_by(step);
        }
        Mode::Logs(v) => v.scroll(step),
        Mode::Detail(v) => v.scroll_by(step, inner),
        Mode::Processes(v) => v.move_by(step),
        _ => {}
    }
}

/// A key typed before the screen showed what is on it now: `dyy` typed in one burst must not
/// force-remove a container, nor `registry` restart one. Questions drop such keys; everywhere
/// else typing ahead works as usual.
pub fn typed_ahead(app: &mut AppState, key: KeyEvent) -> Vec<Command> {
    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
    // The launch form's warning (an image needing a newer CUDA) is a question too: Enter
    // launches anyway.
    let warned = matches!(&app.mode, Mode::Launch(f) if f.warning.is_some());
    if (matches!(app.mode.scope(), Scope::Confirm | Scope::Prune) || warned) && !ctrl_c {
        app.set_status(Level::Info, "ignored keys typed before the question appeared: answer it now");
        return Vec::new();
    }
    handle_key(app, key)
}

/// Pasted text goes into the text field being typed in, if any; it is never taken as keys.
pub fn paste(app: &mut AppState, text: &str) {
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match &mut app.mode {
        Mode::Filter => {
            let mut filter = app.table.filter().to_string();
            TextInput(&mut filter).paste(&text);
            app.with_table(|t, m| t.set_filter(filter, m));
            app.table.select(0);
        }
        Mode::Launch(form) => form.paste(&text),
        Mode::Logs(view) if view.searching => TextInput(&mut view.search).paste(&text),
        Mode::Processes(view) => view.paste(&text),
        _ => {}
    }
}

fn normal_key(app: &mut AppState, action: Option<Action>, key: KeyEvent) -> Vec<Command> {
    let Some(action) = action else {
        if key.code == KeyCode::Esc {
            if !app.table.filter().is_empty() {
                app.with_table(|t, m| t.set_filter(String::new(), m));
            }
            if app.table.gpu_filter().is_some() {
                app.with_table(|t, m| t.set_gpu_filter(None, m));
            }
            if app.table.owner_filter().is_some() {
                app.with_table(|t, m| t.set_owner_filter(None, m));
            }
        }
        return Vec::new();
    };
    let page = app.pages.table as isize;
    match action {
        Action::Quit => return vec![Command::Quit],
        Action::Help => {
            app.mode = Mode::Help;
            return vec![super::node::refresh(app)];
        }
        Action::Up => app.move_by(-1),
        Action::Down => app.move_by(1),
        Action::PageUp => app.move_by(-page),
        Action::PageDown => app.move_by(page),
        Action::First => app.move_by(isize::MIN / 2),
        Action::Last => app.move_by(isize::MAX / 2),
        Action::NextPanel | Action::PrevPanel => {
            app.focus = match app.focus {
                Panel::Gpus => Panel::Containers,
                Panel::Containers => Panel::Gpus,
            }
        }
        Action::Filter => {
            app.mode = Mode::Filter;
            app.focus = Panel::Containers;
        }
        Action::SortNext => {
            let next = app.table.sort.next();
            app.with_table(|t, m| t.set_sort(next, false, m));
            app.set_status(Level::Info, format!("sorted by {}", next.label()));
        }
        Action::DiskUsage => return super::disk::open(app),
        Action::Mouse => {
            app.mouse = !app.mouse;
            let text = if app.mouse {
                "mouse on: click selects and sorts, the wheel scrolls"
            } else {
                "mouse off: select text with the terminal as usual; m turns it back on"
            };
            app.set_status(Level::Info, text);
            return vec![Command::SetMouse(app.mouse)];
        }
        Action::GpuUsers if app.focus == Panel::Containers => return super::detail::open(app),
        Action::GpuUsers => gpu_users(app),
        Action::GpuDetail => super::gpu_detail::open(app),
        Action::NextIdle => super::gpu_detail::next_idle(app),
        Action::AckAlerts => super::gpu_detail::ack_alerts(app),
        Action::Processes => super::procs::open(app),
        Action::Users => super::users::open(app),
        Action::Topology => super::topology::open(app),
        a if a.mutates() || a == Action::Logs => return super::actions::start(app, a),
        Action::SortReverse => {
            let (sort, rev) = (app.table.sort, !app.table.reverse);
            app.with_table(|t, m| t.set_sort(sort, rev, m));
            let order = if rev { "reversed" } else { "normal order" };
            app.set_status(Level::Info, format!("sorted by {} ({order})", sort.label()));
        }
        // Actions of other views: the keymap does not give them on the main screen.
        _ => {}
    }
    Vec::new()
}

/// Rows inside the detail view's border: the screen less the header, the footer and the
/// border, as for the log view.
fn detail_inner(app: &AppState) -> u16 {
    u16::try_from(app.pages.log).unwrap_or(u16::MAX)
}

/// "Who is on GPU N?": the containers given that GPU or running on it.
fn gpu_users(app: &mut AppState) {
    if app.focus != Panel::Gpus || app.gpu.count() == 0 {
        return;
    }
    let Some((index, uuid)) = app.gpu.ids().get(app.gpu.selected).map(|(i, u)| (*i, u.to_string())) else {
        return;
    };
    let lost = app.gpu.lost().iter().find(|g| g.index == index).and_then(|g| g.lost.clone());
    app.with_table(|t, m| t.set_gpu_filter(Some((index, uuid)), m));
    app.table.select(0);
    app.focus = super::Panel::Containers;
    let found = app.table.len();
    match lost {
        Some(why) => app.set_status(
            Level::Error,
            format!(
                "GPU {index} is lost ({why}): {found} {} given it; Esc shows all",
                if found == 1 { "container was" } else { "containers were" }
            ),
        ),
        None => {
            app.set_status(Level::Info, format!("containers on GPU {index} ({found} found; Esc shows all)"))
        }
    }
}

fn filter_key(app: &mut AppState, key: KeyEvent) {
    let mut text = app.table.filter().to_string();
    match TextInput(&mut text).key(&key) {
        Edit::Esc => {
            app.mode = Mode::Normal;
            app.with_table(|t, m| t.set_filter(String::new(), m));
            return;
        }
        Edit::Enter => {
            app.mode = Mode::Normal;
            app.table.select(0);
            return;
        }
        Edit::Changed => {}
        Edit::Ignored => return,
    }
    app.with_table(|t, m| t.set_filter(text, m));
    // Typing narrows the rows; keep the best match under the cursor.
    app.table.select(0);
}
