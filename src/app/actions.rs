//! Container actions: the confirmations in front of them, the launch form and log view as
//! modes, and what their results do to the state.

use crossterm::event::{KeyCode, KeyEvent};

use super::launch::{Context, FormAction, LaunchForm};
use super::logs::{LogKey, LogView};
use super::{AppState, Confirm, Launching, Level, Mode};
use crate::config::Action;
use crate::msg::{ActionMsg, Command};

/// Lines of history shown when the log view opens.
const LOG_TAIL: usize = 1000;

pub fn start(app: &mut AppState, action: Action) -> Vec<Command> {
    if app.read_only && action.mutates() {
        app.set_status(Level::Error, format!("read-only mode: {} is disabled", action.description()));
        return Vec::new();
    }
    if action == Action::NewContainer {
        app.mode = Mode::Launch(Box::default());
        return Vec::new();
    }
    let Some(c) = app.table.selected() else {
        app.set_status(Level::Error, "no container selected");
        return Vec::new();
    };
    let (id, name, running) = (c.id.clone(), c.name.clone(), c.state.is_running());
    let timeout = app.stop_timeout;
    let confirm = |prompt: String, command: Command| Confirm { prompt, command, then: None };
    let pending = match action {
        Action::Logs => {
            app.mode = Mode::Logs(Box::new(LogView::new(id.clone(), name, app.log_lines)));
            return vec![Command::FollowLogs { id, tail: LOG_TAIL }];
        }
        Action::Stop if !running => return not_running(app, &name, "stop"),
        Action::Kill if !running => return not_running(app, &name, "kill"),
        Action::Stop => confirm(
            format!("Stop {name}? It gets {timeout}s to exit, then it is killed."),
            Command::Stop { id, name, timeout },
        ),
        Action::Restart => confirm(format!("Restart {name}?"), Command::Restart { id, name, timeout }),
        Action::Kill => {
            confirm(format!("Kill {name} (SIGKILL, no grace period)?"), Command::Kill { id, name })
        }
        Action::Remove if running => Confirm {
            prompt: format!("Remove {name}? It is running."),
            command: Command::Remove { id: id.clone(), name: name.clone(), force: true },
            then: Some(Box::new(confirm(
                format!("{name} is running: force-remove it (it is killed, its data is gone)?"),
                Command::Remove { id, name, force: true },
            ))),
        },
        Action::Remove => confirm(format!("Remove {name}?"), Command::Remove { id, name, force: false }),
        _ => return Vec::new(),
    };
    app.mode = Mode::Confirm(pending);
    Vec::new()
}

fn in_progress(command: &Command, timeout: u32) -> Option<String> {
    Some(match command {
        Command::Stop { name, .. } => format!("stopping {name} (up to {timeout}s)…"),
        Command::Restart { name, .. } => format!("restarting {name} (up to {timeout}s)…"),
        Command::Kill { name, .. } => format!("killing {name}…"),
        Command::Remove { name, .. } => format!("removing {name}…"),
        _ => return None,
    })
}

fn not_running(app: &mut AppState, name: &str, what: &str) -> Vec<Command> {
    app.set_status(Level::Error, format!("{name} is not running: nothing to {what}"));
    Vec::new()
}

/// Keys while a dialog, the form, a launch or the log view is up.
pub fn modal_key(app: &mut AppState, key: KeyEvent) -> Vec<Command> {
    let mode = std::mem::replace(&mut app.mode, Mode::Normal);
    match mode {
        Mode::Confirm(c) => {
            if key.code == KeyCode::Char('y') || key.code == KeyCode::Char('Y') {
                if let Some(next) = c.then {
                    app.mode = Mode::Confirm(*next);
                    return Vec::new();
                }
                // A stop can take the whole grace period: say at once that it is under way.
                if let Some(text) = in_progress(&c.command, app.stop_timeout) {
                    app.set_status(Level::Info, text);
                }
                return vec![c.command];
            }
            app.set_status(Level::Info, "cancelled");
            Vec::new()
        }
        Mode::Launch(mut form) => launch_key(app, &mut form, key).unwrap_or_else(|| {
            app.mode = Mode::Launch(form);
            Vec::new()
        }),
        Mode::Launching(l) => {
            if key.code == KeyCode::Esc {
                app.set_status(Level::Info, format!("launch of {} cancelled", l.image));
                return vec![Command::CancelLaunch];
            }
            app.mode = Mode::Launching(l);
            Vec::new()
        }
        Mode::Disk(view) => super::disk::handle_key(app, view, key),
        Mode::Logs(mut view) => match view.handle_key(key, app.page) {
            LogKey::Close => vec![Command::StopLogs],
            LogKey::Stay => {
                app.mode = Mode::Logs(view);
                Vec::new()
            }
        },
        other => {
            app.mode = other;
            Vec::new()
        }
    }
}

/// Returns Some(commands) when the form closes.
fn launch_key(app: &mut AppState, form: &mut LaunchForm, key: KeyEvent) -> Option<Vec<Command>> {
    match form.handle_key(key, &app.presets) {
        FormAction::None => None,
        FormAction::Cancel => Some(Vec::new()),
        FormAction::Submit => {
            let ids = app.gpu.ids();
            let names: Vec<&str> = app.table.all().iter().map(|c| c.name.as_str()).collect();
            let cuda = app.gpu.snapshot.as_ref().and_then(|s| s.cuda_version.clone());
            let ctx = Context {
                presets: &app.presets,
                gpus: (!ids.is_empty()).then_some(ids.as_slice()),
                taken_names: &names,
                driver_cuda: cuda.as_deref(),
                user: &app.user,
            };
            let spec = form.validate(&ctx)?;
            if form.warning.is_none()
                && let Some(w) = form.preflight_warning(&ctx)
            {
                form.warning = Some(w);
                return None;
            }
            let image = spec.image.clone();
            app.mode = Mode::Launching(Launching {
                image,
                status: "checking the image".into(),
                ..Default::default()
            });
            Some(vec![Command::Launch { spec: Box::new(spec), driver_cuda: cuda }])
        }
    }
}

pub fn on_result(app: &mut AppState, msg: ActionMsg) -> Vec<Command> {
    match msg {
        ActionMsg::Done { text } => app.set_status(Level::Info, text),
        ActionMsg::Failed { text } => app.set_status(Level::Error, text),
        ActionMsg::PullProgress { image, done, total, status } => {
            if let Mode::Launching(l) = &mut app.mode
                && l.image == image
            {
                l.done = done;
                l.total = total;
                l.status = status;
            }
        }
        ActionMsg::Launched { id, name } => {
            if matches!(app.mode, Mode::Launching(_)) {
                app.mode = Mode::Normal;
            }
            app.set_status(Level::Info, format!("started {name} ({})", id.get(..12).unwrap_or(&id)));
            // Put the cursor on the new container once the events stream lists it.
            app.table.select_when_listed(name);
        }
        ActionMsg::LaunchFailed { text } => {
            if matches!(app.mode, Mode::Launching(_)) {
                app.mode = Mode::Normal;
            }
            app.set_status(Level::Error, text);
        }
        ActionMsg::DiskUsage(res) => super::disk::on_usage(app, res),
        ActionMsg::Pruned(res) => return super::disk::on_pruned(app, res),
        ActionMsg::Images(res) => super::disk::on_images(app, res),
        ActionMsg::ImageRemoved(res) => return super::disk::on_image_removed(app, res),
        ActionMsg::LogLines { id, lines } => {
            if let Mode::Logs(v) = &mut app.mode
                && v.id == id
            {
                v.push(lines);
            }
        }
        ActionMsg::LogsEnded { id, reason } => {
            if let Mode::Logs(v) = &mut app.mode
                && v.id == id
            {
                v.ended = Some(reason.unwrap_or_else(|| "the container stopped; no more output".into()));
            }
        }
    }
    Vec::new()
}
