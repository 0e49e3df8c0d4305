//! The interactive event loop: terminal input, background messages and signals in, one state
//! update per message, a redraw only when something visible changed.

use std::path::PathBuf;

use crossterm::event::{Event, EventStream, KeyEventKind, MouseButton, MouseEventKind};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::app::AppState;
use crate::config::Config;
use crate::docker::{DockerCollector, DockerHost};
use crate::exec::Executor;
use crate::gpu::{GpuSampler, XidWatcher};
use crate::msg::{Command, Msg};
use crate::{tui, ui};

/// Big enough to absorb a burst while a frame is drawn; collectors wait when it is full.
const CHANNEL: usize = 256;
/// How long a background message waits for the rest of its burst before the frame is drawn.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(20);

pub async fn run(config: Config, host: DockerHost, nvml_lib: Option<PathBuf>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Before any thread or task exists: a panic in any of them must end the program.
    tui::install_panic_hook();
    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL);
    let mut app = AppState::new(&config, host.to_string());
    app.user = current_user();
    app.hostname = crate::snapshot::hostname();
    // Idle times survive a restart; the keeper writes them back on every way out of here.
    let (mut idle_keeper, saved) = crate::gpu::idle_store::Keeper::open("idle-dashboard");
    app.gpu.idle.restore(&saved);
    // The `free:N` candidates of the latest sample, for a launch to pick again before create.
    let (picks, picks_rx) = tokio::sync::watch::channel(None);
    let mut executor = Executor::new(host.clone(), tx.clone()).with_picks(picks_rx);
    let shell_host = host.clone();
    // NVML describes this machine: beside a remote engine's containers it would be wrong.
    if host.is_local() {
        XidWatcher { lib: nvml_lib.clone(), tx: tx.clone(), kernel_log: Some(Default::default()) }.spawn()?;
        GpuSampler { lib: nvml_lib, refresh: config.refresh, tx: tx.clone(), beat: None }.spawn()?;
    } else {
        app.gpu.remote(host.to_string());
    }
    tokio::spawn(
        DockerCollector::new(host, config.refresh, tx.clone())
            .with_owner_labels(config.owner_labels.clone())
            .run(),
    );

    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut guard = tui::enter(app.mouse)?;
    let size = guard.terminal.size()?;
    app.update(Msg::Resize(size.width, size.height));
    let mut events = EventStream::new();
    let mut first_full_frame = true;
    let mut details_drawn = false;
    // Input that was already queued when the last frame went up: typed before the user saw it.
    let mut queued = false;

    loop {
        if app.take_dirty() {
            // The terminal went away (SSH dropped, tmux pane killed): nothing to draw on and
            // nobody to tell; leave quietly.
            let mut drawn = None;
            if let Err(e) = guard.terminal.draw(|f| {
                ui::draw(f, &app);
                drawn = Some(f.area());
            }) {
                return terminal_gone(e);
            }
            // Page keys move by what this frame showed; a change redraws (once: the same
            // layout again changes nothing).
            if let Some(area) = drawn {
                app.update(Msg::Layout(ui::pages(&app, area.width, area.height)));
            }
            queued = true;
            if first_full_frame && app.listed {
                first_full_frame = false;
                let containers = app.table.all().len();
                tracing::info!(ms = started.elapsed().as_millis(), containers, "first full frame drawn");
            }
            if !details_drawn && app.listed && !app.table.all().iter().any(|c| c.pending) {
                details_drawn = true;
                let ms = started.elapsed().as_millis();
                tracing::info!(ms, "every container's inspect details drawn");
            }
        }
        let msg = if queued {
            // Whatever the terminal already holds is read without waiting. The synchronous
            // calls share the stream's reader; polling the stream itself here would leave its
            // wake-up registered with a waker that wakes nobody.
            match crossterm::event::poll(std::time::Duration::ZERO) {
                Ok(true) => match crossterm::event::read() {
                    Ok(ev) => match user_msg(&app, ev, true) {
                        Some(m) => m,
                        None => continue,
                    },
                    Err(e) => return terminal_gone(e),
                },
                Ok(false) => {
                    queued = false;
                    continue;
                }
                Err(e) => return terminal_gone(e),
            }
        } else {
            tokio::select! {
                ev = events.next() => match ev {
                    Some(Ok(ev)) => match user_msg(&app, ev, false) {
                        Some(m) => m,
                        None => continue,
                    },
                    Some(Err(e)) => return terminal_gone(e),
                    None => return Ok(()),
                },
                Some(m) = rx.recv() => m,
                () = tui::PANIC_WAKE.notified() => {
                    let what = tui::panicked().unwrap_or("a background task panicked");
                    return Err(anyhow::anyhow!("{what}"));
                }
                _ = sigterm.recv() => Msg::Quit,
                _ = sighup.recv() => Msg::Quit,
            }
        };
        let from_user = matches!(
            msg,
            Msg::Key(_)
                | Msg::TypedAhead(_)
                | Msg::Paste(_)
                | Msg::Click(_)
                | Msg::Wheel { .. }
                | Msg::Resize(..)
        );
        let mut commands = app.update(msg);
        // Samplers tick together; give the rest of a burst a moment to arrive so it costs one
        // frame. Keys are drawn at once.
        if !from_user {
            let until = tokio::time::Instant::now() + COALESCE;
            while let Ok(Some(m)) = tokio::time::timeout_at(until, rx.recv()).await {
                commands.extend(app.update(m));
            }
        }
        while let Ok(m) = rx.try_recv() {
            commands.extend(app.update(m));
        }
        idle_keeper.tick(&app.gpu.idle);
        // Only while a launch is under way: the executor reads them just before create, and a
        // dashboard left open all day must not build them three times a tick for nobody. The
        // launch command goes out below, after this, so its first reading is already fresh.
        let launching = matches!(app.mode, crate::app::Mode::Launching(_));
        picks.send_if_modified(|now| {
            if !launching {
                // Nothing stale for the next launch to read: it publishes its own first.
                return now.take().is_some();
            }
            let latest = crate::app::launch::gpus::candidates(&app.gpu, &app.table);
            let changed = *now != latest;
            if changed {
                *now = latest;
            }
            changed
        });
        for command in commands {
            match command {
                Command::Quit => return Ok(()),
                Command::SetMouse(on) => {
                    if let Err(e) = tui::set_mouse(on) {
                        return terminal_gone(e);
                    }
                }
                Command::Bell => tui::bell(),
                Command::Clipboard(text) => tui::clipboard(&text),
                Command::Shell { id, name, cmd } => {
                    // The event stream must stop reading the terminal while the shell has it.
                    drop(events);
                    let result = shell(&shell_host, &id, &name, cmd).await;
                    if matches!(result, Ok(crate::docker::shell::ShellEnd::TerminalGone)) {
                        tracing::info!("terminal gone during the shell; exiting");
                        return Ok(());
                    }
                    match tui::resume(app.mouse) {
                        Ok(terminal) => *guard.terminal = terminal,
                        Err(e) => return terminal_gone(e),
                    }
                    events = EventStream::new();
                    app.update(Msg::Action(crate::msg::ActionMsg::ShellEnded { name, result }));
                }
                other => executor.run(other),
            }
        }
    }
}

/// Runs a shell in container `id` on this terminal until it exits.
async fn shell(
    host: &DockerHost,
    id: &crate::docker::ContainerId,
    name: &str,
    cmd: Vec<String>,
) -> Result<crate::docker::shell::ShellEnd, crate::docker::EngineError> {
    use std::io::Write;
    if let Err(e) = tui::suspend() {
        return Err(crate::docker::EngineError::Other(e.to_string()));
    }
    let mut out = std::io::stdout();
    // Raw mode: lines need their carriage return.
    let _ = write!(out, "\r\n── shell in {name}: `exit` returns to gpudock ──\r\n");
    let _ = out.flush();
    let docker = crate::docker::connect(host).await?;
    crate::docker::shell::run(&docker, id, cmd).await
}

/// The terminal failed under us: logged once, not printed (there is nowhere to print to).
fn terminal_gone(e: std::io::Error) -> anyhow::Result<()> {
    tracing::info!(error = %e, "terminal gone; exiting");
    Ok(())
}

/// A terminal event as a message; `queued`: it was waiting before the last frame was drawn.
/// Mouse events are placed on the layout the last frame was drawn with.
fn user_msg(app: &crate::app::AppState, ev: Event, queued: bool) -> Option<Msg> {
    match ev {
        Event::Mouse(m) => {
            // Capture reports every move; only clicks and the wheel are worth a layout.
            let wanted = matches!(
                m.kind,
                MouseEventKind::Down(MouseButton::Left)
                    | MouseEventKind::ScrollDown
                    | MouseEventKind::ScrollUp
            );
            if !wanted {
                return None;
            }
            let (w, h) = crossterm::terminal::size().ok()?;
            let hit = ui::hit(app, w, h, m.column, m.row);
            let over = match hit {
                Some(crate::app::Hit::GpuRow(_) | crate::app::Hit::Panel(crate::app::Panel::Gpus)) => {
                    Some(crate::app::Panel::Gpus)
                }
                Some(_) => Some(crate::app::Panel::Containers),
                None => None,
            };
            match m.kind {
                MouseEventKind::Down(MouseButton::Left) => hit.map(Msg::Click),
                MouseEventKind::ScrollDown => Some(Msg::Wheel { down: true, over }),
                MouseEventKind::ScrollUp => Some(Msg::Wheel { down: false, over }),
                _ => None,
            }
        }
        Event::Key(k) if k.kind == KeyEventKind::Release => None,
        Event::Key(k) if queued => Some(Msg::TypedAhead(k)),
        Event::Key(k) => Some(Msg::Key(k)),
        Event::Paste(text) => Some(Msg::Paste(text)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

/// The login name for the launched-by label: $USER, else the account name of our uid (cron,
/// systemd and `docker exec` leave USER unset), else the number.
pub fn current_user() -> String {
    // SAFETY: getuid has no preconditions and cannot fail.
    launched_by(std::env::var("USER").ok(), unsafe { libc::getuid() })
}

fn launched_by(user: Option<String>, uid: u32) -> String {
    user.filter(|u| !u.is_empty())
        .unwrap_or_else(|| crate::procfs::user_name(uid).unwrap_or_else(|| uid.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launched_by_is_a_name_even_without_user() {
        assert_eq!(launched_by(Some("alice".into()), 0), "alice");
        assert_eq!(launched_by(None, 0), "root", "uid 0 is root in /etc/passwd");
        assert_eq!(launched_by(Some(String::new()), 0), "root");
        assert_eq!(launched_by(None, 4_000_000), "4000000", "an uid without an account stays a number");
    }
}
