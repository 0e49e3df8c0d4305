//! Container actions: the confirmations in front of them, the launch form and its progress as
//! views, and what the executor's outcomes do to the state.

use crossterm::event::KeyEvent;

use super::launch::{Context, Field, FormAction, LaunchForm};
use super::logs::LogView;
use super::table::ContainerTable;
use super::view::ViewKey;
use super::{AppState, Confirm, GpuState, Launching, Level, Mode, Outcome};
use crate::config::{Action, Preset};

pub const CONFIRM_KEYS: &[ViewKey] =
    &[ViewKey::new(Action::Confirm, "yes, do it (any other key cancels)")
        .hint(&[Action::Confirm], "confirm")];

pub const LAUNCHING_KEYS: &[ViewKey] =
    &[ViewKey::new(Action::Cancel, "cancel the launch").hint(&[Action::Cancel], "cancels")];
use crate::docker::ContainerId;
use crate::docker::actions::{ActionOutcome, ContainerAction};
use crate::docker::explain::LaunchError;
use crate::msg::{ActionMsg, Command};

/// Lines of history shown when the log view opens.
const LOG_TAIL: usize = 1000;

pub fn start(app: &mut AppState, action: Action) -> Vec<Command> {
    if app.read_only && action.mutates() {
        app.set_status(
            Level::Error,
            format!(
                "read-only mode: {} is disabled",
                super::view::Scope::Main.help(action).unwrap_or("that")
            ),
        );
        return Vec::new();
    }
    if action == Action::NewContainer {
        app.mode = Mode::Launch(Box::default());
        return vec![super::node::refresh(app)];
    }
    let Some(c) = app.table.selected() else {
        app.set_status(Level::Error, "no container selected");
        return Vec::new();
    };
    let (id, name, running) = (c.id.clone(), c.name.clone(), c.state.is_running());
    let timeout = app.stop_timeout;
    let ask = |prompt: String, action: ContainerAction| Confirm {
        refused: None,
        shows: super::Shows::Prompt,
        prompt,
        command: Command::Container { id: id.clone(), name: name.clone(), action },
        then: None,
    };
    let pending = match action {
        Action::Logs => return open_logs(app, id, name),
        Action::Shell if !running => return not_running(app, &name, "open a shell in"),
        Action::Shell => return vec![Command::Shell { id, name, cmd: app.shell.clone() }],
        Action::Stop if !running => return not_running(app, &name, "stop"),
        Action::Kill if !running => return not_running(app, &name, "kill"),
        Action::Stop => ask(
            format!("Stop {name}? It gets {timeout}s to exit, then it is killed."),
            ContainerAction::Stop { timeout },
        ),
        Action::Restart => ask(format!("Restart {name}?"), ContainerAction::Restart { timeout }),
        Action::Kill => ask(format!("Kill {name} (SIGKILL, no grace period)?"), ContainerAction::Kill),
        Action::Remove if running => {
            let mut first =
                ask(format!("Remove {name}? It is running."), ContainerAction::Remove { force: true });
            first.then = Some(Box::new(ask(
                format!("{name} is running: force-remove it (it is killed, its data is gone)?"),
                ContainerAction::Remove { force: true },
            )));
            first
        }
        Action::Remove => ask(format!("Remove {name}?"), ContainerAction::Remove { force: false }),
        _ => return Vec::new(),
    };
    app.mode = Mode::Confirm(pending);
    Vec::new()
}

/// Opens the log view on a container, its recent history first.
pub fn open_logs(app: &mut AppState, id: ContainerId, name: String) -> Vec<Command> {
    let mut view = LogView::new(id.clone(), name, app.log_lines).with_tail(LOG_TAIL);
    // A notebook in its output gets a tunnel through what the listing says it publishes.
    if let Some(c) = app.table.all().iter().find(|c| c.id == id) {
        view.reach = super::tunnel::Reach::of(c);
    }
    view.notebook = app.notebooks.get(&id).cloned();
    app.mode = Mode::Logs(Box::new(view));
    vec![Command::FollowLogs { id, tail: LOG_TAIL }]
}

/// What the status line says while an action runs: a stop can take the whole grace period.
fn in_progress(command: &Command) -> Option<String> {
    let (name, action) = match command {
        Command::Container { name, action, .. } => (name, action),
        Command::Signal { pid, signal, .. } => return Some(format!("sending {signal} to PID {pid}…")),
        _ => return None,
    };
    Some(match action {
        ContainerAction::Stop { timeout } => format!("stopping {name} (up to {timeout}s)…"),
        ContainerAction::Restart { timeout } => format!("restarting {name} (up to {timeout}s)…"),
        ContainerAction::Kill => format!("killing {name}…"),
        ContainerAction::Remove { .. } => format!("removing {name}…"),
    })
}

fn not_running(app: &mut AppState, name: &str, what: &str) -> Vec<Command> {
    app.set_status(Level::Error, format!("{name} is not running: nothing to {what}"));
    Vec::new()
}

/// A key while a question waits: the confirm key says yes, any other key no.
pub fn confirm_key(c: &mut Confirm, action: Option<Action>) -> Outcome {
    if action != Some(Action::Confirm) {
        let text = match c.command {
            Command::Signal { .. } => "cancelled: no signal sent",
            Command::Prune { .. } => "prune cancelled",
            _ => "cancelled",
        };
        return Outcome::close().say(Level::Info, text);
    }
    if let Some(why) = c.refused.take() {
        return Outcome::close().say(why.level, why.text);
    }
    if let Some(next) = c.then.take() {
        return Outcome::open(Mode::Confirm(*next));
    }
    let out = Outcome::close().run(c.command.clone());
    match in_progress(&c.command) {
        Some(text) => out.say(Level::Info, text),
        None => out,
    }
}

pub fn launching_key(l: &Launching, action: Option<Action>) -> Outcome {
    if action == Some(Action::Cancel) {
        return Outcome::open(Mode::Launch(l.form.clone()))
            .run(Command::CancelLaunch)
            .say(Level::Info, format!("cancelling the launch of {}…", l.image));
    }
    Outcome::stay()
}

/// A key in the launch form; Enter checks every field and sends the launch when they are valid.
pub fn launch_key(
    form: &mut LaunchForm,
    action: Option<Action>,
    key: KeyEvent,
    presets: &[Preset],
    gpu: &GpuState,
    table: &ContainerTable,
    user: &str,
) -> Outcome {
    match form.handle_key(action, key, presets) {
        FormAction::None => Outcome::stay(),
        FormAction::Cancel => Outcome::close(),
        FormAction::Submit => {
            super::launch::with_context(presets, gpu, table, user, |ctx| submit(form, ctx, gpu))
        }
    }
}

/// Enter in the form: every field checked, a question first where one is due, then the launch.
fn submit(form: &mut LaunchForm, ctx: &Context, gpu: &GpuState) -> Outcome {
    let Some(spec) = form.validate(ctx) else { return Outcome::stay() };
    if form.warning.is_none()
        && let Some(w) = form.preflight_warning(ctx)
    {
        form.warning = Some(w);
        return Outcome::stay();
    }
    form.failure = None;
    let picked = super::launch::validate::free_count(&form.gpus).is_some();
    let broken = super::launch::gpus::broken_named(&spec.gpus, gpu);
    if !picked && !broken.is_empty() {
        let which: Vec<String> = broken.iter().map(|(i, why)| format!("GPU {i} is broken ({why})")).collect();
        let prompt = format!("{}: launch on it anyway?", which.join("; "));
        return Outcome::push(Mode::Confirm(Confirm {
            prompt,
            command: Command::Launch { spec: Box::new(spec) },
            then: None,
            refused: None,
            shows: super::Shows::Prompt,
        }));
    }
    // The same candidates validate picked from, so the same pick, with its reason.
    let pick = super::launch::validate::free_count(&form.gpus)
        .and_then(Result::ok)
        .and_then(|n| Some((n, ctx.candidates?.pick(n).ok()?)))
        .map(|(n, p)| format!("free:{n} picks {p}"));
    let out = Outcome::open(launching(form.clone(), &spec, pick.clone()));
    let out = match pick {
        Some(text) => out.say(Level::Info, text),
        None => out,
    };
    out.run(Command::Launch { spec: Box::new(spec) })
}

/// The progress view of a launch from `form`; `pick` says what `free:N` picked and why.
fn launching(form: LaunchForm, spec: &crate::docker::LaunchSpec, pick: Option<String>) -> Mode {
    Mode::Launching(Launching {
        image: spec.image.clone(),
        status: "checking the image".into(),
        form: Box::new(form),
        pick,
        ..Default::default()
    })
}

/// A yes to launching on a broken GPU: the form under the question gives way to the launch's
/// progress (a no closes the question, back to the form as typed).
pub fn launch_confirmed(back: &mut Vec<Mode>, out: &mut Outcome) {
    let Some(Command::Launch { spec }) = out.commands.first() else { return };
    if !matches!(out.next, super::outcome::Next::Close) || !matches!(back.last(), Some(Mode::Launch(_))) {
        return;
    }
    if let Some(Mode::Launch(form)) = back.pop() {
        out.next = super::outcome::Next::Open(launching(*form, spec, None));
    }
}

/// The form field a launch failure is about, if any.
fn failed_field(e: &LaunchError) -> Option<Field> {
    use crate::docker::explain::LaunchFailure as F;
    match e {
        LaunchError::Pull { .. } => Some(Field::Image),
        LaunchError::Engine { why, .. } => match why {
            F::NameTaken => Some(Field::Name),
            F::NoGpuDriver | F::NoNvidiaRuntime | F::NoFreeGpus => Some(Field::Gpus),
            F::CudaTooOld { .. } | F::NoSuchImage => Some(Field::Image),
            F::NoCommand => Some(Field::Command),
            F::Other => None,
        },
        LaunchError::Cancelled { .. } => None,
    }
}

/// What a stop, restart, kill or remove did, in words that match it.
fn on_container(
    app: &mut AppState,
    id: ContainerId,
    name: String,
    action: ContainerAction,
    result: Result<ActionOutcome, crate::docker::EngineError>,
) {
    // The stop is over, whichever way: the row shows what the engine says again.
    app.stopping.remove(&id);
    match result {
        Ok(ActionOutcome::Killed { after_secs }) => app.set_status(
            Level::Error,
            format!("killed {name} after {after_secs} s (exit 137): it did not exit on SIGTERM"),
        ),
        Ok(ActionOutcome::AlreadyStopped) => {
            app.set_status(Level::Info, format!("{name} was already stopped"))
        }
        Ok(ActionOutcome::Done) if matches!(action, ContainerAction::Remove { .. }) => {
            app.set_status(Level::Info, format!("removed {name} ({})", id.short()))
        }
        Ok(ActionOutcome::Done) => app.set_status(Level::Info, format!("{} {name}", action.past())),
        Err(e) => {
            let text = match (action, e.message()) {
                // A restart starts the container again: it fails as a launch's start does
                // (no GPU runtime, a CUDA too new), and is explained the same way.
                (ContainerAction::Restart { .. }, Some(m)) => {
                    let cuda = app.gpu.snapshot.as_ref().and_then(|s| s.cuda_version.clone());
                    LaunchError::engine(m).explain(cuda.as_deref())
                }
                _ => e.to_string(),
            };
            app.set_status(Level::Error, format!("{} {name}: {text}", action.verb()))
        }
    }
}

pub fn on_result(app: &mut AppState, msg: ActionMsg) -> Vec<Command> {
    match msg {
        ActionMsg::Container { id, name, action, result } => on_container(app, id, name, action, result),
        ActionMsg::PullProgress(p) => {
            if let Mode::Launching(l) = &mut app.mode
                && l.image == p.image
            {
                l.done = p.done;
                l.total = p.total;
                l.status = p.status;
            }
        }
        ActionMsg::LaunchRepicked(text) => {
            if let Mode::Launching(l) = &mut app.mode {
                l.pick = Some(text.clone());
            }
            app.set_status(Level::Info, text);
        }
        ActionMsg::Launch(Ok(launched)) => {
            // Its output, from the start: a short `--rm` run (nvidia-smi, a smoke test) is gone
            // before anyone could open its logs.
            let waited = matches!(app.mode, Mode::Launching(_));
            if let Mode::Launching(l) = &app.mode {
                let mut view = LogView::new(launched.id.clone(), launched.name.clone(), app.log_lines);
                view.reach = super::tunnel::Reach {
                    ports: crate::docker::ports::parse_field(&l.form.ports).unwrap_or_default(),
                    host_network: super::launch::NETWORKS.get(l.form.network) == Some(&"host"),
                };
                app.mode = Mode::Logs(Box::new(view));
                app.set_status(Level::Info, format!("started {} ({})", launched.name, launched.id.short()));
            } else {
                // Esc came after the start: the container runs, and the user must hear so.
                app.set_status(
                    Level::Error,
                    format!(
                        "{} had already started when the launch was cancelled: it is running",
                        launched.name
                    ),
                );
            }
            // Put the cursor on the new container once the events stream lists it.
            app.table.select_when_listed(launched.name);
            // Nobody watches its output: stop following it (unless another log view is open,
            // whose follower is the executor's only one).
            if !waited && !matches!(app.mode, Mode::Logs(_)) {
                return vec![Command::StopLogs];
            }
        }
        ActionMsg::Launch(Err(e @ LaunchError::Cancelled { .. })) => {
            app.set_status(Level::Info, e.to_string())
        }
        ActionMsg::Launch(Err(e)) => {
            let cuda = app.gpu.snapshot.as_ref().and_then(|s| s.cuda_version.clone());
            let text = e.explain(cuda.as_deref());
            // Back to the form as typed, the error at the field it belongs to.
            if let Mode::Launching(l) = &mut app.mode {
                let mut form = std::mem::take(&mut l.form);
                form.fail(failed_field(&e), text);
                app.mode = Mode::Launch(form);
                app.set_status(Level::Error, "the launch failed: see the form");
            } else {
                app.set_status(Level::Error, text);
            }
        }
        ActionMsg::DiskUsage(res) => super::disk::on_usage(app, res),
        ActionMsg::Pruned(res) => return super::disk::on_pruned(app, res),
        ActionMsg::Images(res) => super::disk::on_images(app, res),
        ActionMsg::ImageRemoved { name, result } => return super::disk::on_image_removed(app, &name, result),
        ActionMsg::Inspected { id, result } => super::detail::on_inspected(app, id, result),
        ActionMsg::NodeChecked(files) => app.node_files = files.map(|f| *f),
        ActionMsg::ShellEnded { name, result } => match result {
            Ok(end) => app.set_status(Level::Info, end.sentence(&name)),
            Err(e) => app.set_status(Level::Error, format!("no shell in {name}: {e}")),
        },
        ActionMsg::Saved { path, result } => match result {
            Ok(n) => app.set_status(
                Level::Info,
                format!("saved {n} {} to {}", if n == 1 { "line" } else { "lines" }, path.display()),
            ),
            Err(e) => app.set_status(Level::Error, format!("cannot save {}: {e}", path.display())),
        },
        ActionMsg::Signal { pid, signal, result } => super::procs::on_signal(app, pid, signal, result),
        ActionMsg::LogLines(chunk) => {
            if let Mode::Logs(v) = &mut app.mode
                && v.id == chunk.id
                && let Some(said) = v.take_lines(chunk.lines, &app.hostname)
            {
                if let Some(seen) = v.notebook.clone() {
                    // One per container, and only for containers still listed.
                    let listed = |id: &ContainerId| app.table.all().iter().any(|c| c.id == *id);
                    app.notebooks.retain(|id, _| listed(id));
                    app.notebooks.insert(v.id.clone(), seen);
                }
                app.set_status(Level::Info, said);
            }
        }
        ActionMsg::LogsEnded { id, error, exit_code } => {
            if let Mode::Logs(v) = &mut app.mode
                && v.id == id
            {
                v.follow_end(error.map(|e| e.to_string()), exit_code);
            }
        }
    }
    Vec::new()
}
