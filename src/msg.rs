//! The app's message type (what background work and the terminal send to the app) and the
//! commands the app asks to be carried out. The engine layer publishes its own event and
//! outcome types; this is where they become the app's.

use crossterm::event::KeyEvent;

use crate::docker::actions::{ActionOutcome, ContainerAction};
use crate::docker::disk::{Category, DiskError, DiskItem, DiskUsage, ImageRow, PruneReport};
use crate::docker::explain::LaunchError;
use crate::docker::inspect::ContainerDetail;
use crate::docker::launch::{Launched, PullProgress};
use crate::docker::logs::LogChunk;
use crate::docker::{ContainerId, EngineError, EngineEvent, LaunchSpec};
use crate::gpu::GpuEvent;
use crate::signal::{Sent, Signal, SignalError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    Gpus,
    Containers,
}

/// What a mouse click landed on, as the screen's layout says (see `ui::hit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    Panel(Panel),
    /// A GPU by its position in the panel.
    GpuRow(usize),
    /// A container by its row in the table as shown.
    ContainerRow(usize),
    /// A column header: sort by it (again: reverse).
    SortBy(crate::config::SortKey),
}

/// What fits on screen as the last frame laid it out: the rows each scrolling view shows, so a
/// page key moves by exactly one visible page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pages {
    /// Container rows the table shows.
    pub table: usize,
    /// Text lines inside the log, detail and process views.
    pub log: usize,
    /// Lines of the help screen shown at once, and how far down it scrolls.
    pub help: u16,
    pub help_max: u16,
    /// The first row of the help that holds its search text, if any does.
    pub help_match: Option<u16>,
    /// Names of a prune preview shown at once (0: none fits, so `y` is refused).
    pub prune: usize,
}

impl Default for Pages {
    /// Before the first frame: a small terminal's figures; the help clamps its own scroll.
    fn default() -> Pages {
        Pages { table: 10, log: 14, help: 10, help_max: u16::MAX, help_match: None, prune: 10 }
    }
}

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// A key that was already waiting when the screen last changed: typed before the user saw
    /// what is on screen now, so it never answers a question.
    TypedAhead(KeyEvent),
    /// Text pasted into the terminal (bracketed paste): text for a text field, never keys.
    Paste(String),
    /// A left click, on what the layout says is there.
    Click(Hit),
    /// The wheel turned, over a panel of the main screen (None: elsewhere).
    Wheel {
        down: bool,
        over: Option<Panel>,
    },
    /// The terminal changed size; the next frame lays itself out anew.
    Resize(u16, u16),
    /// The frame just drawn holds these pages (see `ui::pages`).
    Layout(Pages),
    Engine(EngineEvent),
    Gpu(GpuEvent),
    Action(ActionMsg),
    /// SIGTERM / SIGHUP: leave as cleanly as on `q`.
    Quit,
}

impl From<EngineEvent> for Msg {
    fn from(e: EngineEvent) -> Msg {
        Msg::Engine(e)
    }
}

impl From<GpuEvent> for Msg {
    fn from(e: GpuEvent) -> Msg {
        Msg::Gpu(e)
    }
}

impl From<PullProgress> for Msg {
    fn from(p: PullProgress) -> Msg {
        Msg::Action(ActionMsg::PullProgress(p))
    }
}

impl From<LogChunk> for Msg {
    fn from(c: LogChunk) -> Msg {
        Msg::Action(ActionMsg::LogLines(c))
    }
}

/// Outcomes of commands the executor carried out: one per command (streams add progress).
#[derive(Debug, Clone)]
pub enum ActionMsg {
    /// A stop, restart, kill or remove finished.
    Container {
        id: ContainerId,
        name: String,
        action: ContainerAction,
        result: Result<ActionOutcome, EngineError>,
    },
    PullProgress(PullProgress),
    /// `free:N` picked again right before create moved to other GPUs: what changed, in words.
    LaunchRepicked(String),
    Launch(Result<Launched, LaunchError>),
    LogLines(LogChunk),
    /// The log stream ended: the container stopped (None) or the stream failed.
    LogsEnded {
        id: ContainerId,
        error: Option<EngineError>,
        /// How the container exited, when known.
        exit_code: Option<i64>,
    },
    DiskUsage(Result<Box<DiskUsage>, DiskError>),
    Pruned(Result<PruneReport, DiskError>),
    Images(Result<Vec<ImageRow>, DiskError>),
    /// Bytes freed, or why not.
    ImageRemoved {
        name: String,
        result: Result<u64, DiskError>,
    },
    /// This machine's files as the doctor reads them; None when the engine is elsewhere and
    /// they say nothing about it.
    NodeChecked(Option<Box<crate::probe::HostFiles>>),
    /// A shell ended: its exit code, or why it could not run.
    ShellEnded {
        name: String,
        result: Result<crate::docker::shell::ShellEnd, EngineError>,
    },
    /// What `docker inspect` says of a container, for its detail view.
    Inspected {
        id: ContainerId,
        result: Result<Box<ContainerDetail>, EngineError>,
    },
    /// A log was written: how many lines, or why not.
    Saved {
        path: std::path::PathBuf,
        result: Result<usize, String>,
    },
    /// A signal to a host process went out, or why not.
    Signal {
        pid: u32,
        signal: Signal,
        result: Result<Sent, SignalError>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Quit,
    /// Read what `gpudock doctor` reads from this machine (daemon.json, PATH, CDI specs).
    CheckNode {
        cdi_dirs: Vec<String>,
    },
    Container {
        id: ContainerId,
        name: String,
        action: ContainerAction,
    },
    Launch {
        spec: Box<LaunchSpec>,
    },
    CancelLaunch,
    /// Capture the mouse (or give it back to the terminal for selecting text).
    SetMouse(bool),
    /// Ring the terminal bell (a new alert, when `[alerts] bell = true`).
    Bell,
    /// Put text on the terminal's clipboard (OSC 52): the event loop writes it.
    Clipboard(String),
    /// Hand the terminal to a shell in the container until it exits (the event loop's to do).
    Shell {
        id: ContainerId,
        name: String,
        cmd: Vec<String>,
    },
    FollowLogs {
        id: ContainerId,
        tail: usize,
    },
    StopLogs,
    /// Describe the container in full, for its detail view.
    Inspect(ContainerId),
    DiskUsage,
    /// Remove exactly `items`, the preview the user confirmed.
    Prune {
        category: Category,
        items: Vec<DiskItem>,
    },
    ListImages,
    RemoveImage {
        id: String,
        name: String,
    },
    /// Write `lines` (the log view's) to a new file at `path`.
    SaveLines {
        path: std::path::PathBuf,
        lines: Vec<String>,
    },
    /// Write the container's whole log, read from the engine, to a new file at `path`.
    SaveLog {
        id: ContainerId,
        path: std::path::PathBuf,
    },
    /// Signal a host process, but only while `pid` is still the process that started at
    /// `start_time` (clock ticks since boot).
    Signal {
        pid: u32,
        start_time: u64,
        signal: Signal,
    },
}
