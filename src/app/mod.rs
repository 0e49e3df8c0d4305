//! The app: owns all state the screen shows and turns messages into state changes and commands.
//! Nothing here does I/O, so every behaviour is testable without a terminal or an engine.

mod actions;
pub mod alert_list;
pub mod alerts;
pub mod detail;
pub mod disk;
mod engine;
pub mod fleet;
pub mod gpu;
pub mod gpu_detail;
pub mod help;
pub mod history;
mod input;
pub mod launch;
pub mod logs;
pub mod node;
mod outcome;
pub mod procs;
pub mod prune;
mod status;
pub mod table;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_detail;
#[cfg(test)]
mod tests_launch;
#[cfg(test)]
mod tests_launch_gpus;
#[cfg(test)]
mod tests_procs;
pub mod text_input;
pub mod topology;
pub mod tunnel;
pub mod users;
pub mod view;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Config, Keymap, Preset, Theme};
use crate::docker::actions::ContainerAction;
use crate::docker::{ContainerId, ContainerStats, EngineEvent, EngineInfo};
use crate::gpu::GpuEvent;
use crate::msg::{Command, Msg};
pub use crate::msg::{Hit, Pages, Panel};
pub use actions::{CONFIRM_KEYS, LAUNCHING_KEYS};
pub use gpu::{GpuState, GpuStatus};
pub use input::GPU_PANEL_HINTS;
pub use launch::LaunchForm;
pub use logs::LogView;
pub use outcome::{Next, Outcome};
pub use table::ContainerTable;
use table::Metrics;
pub use view::{Scope, ViewKey};

#[derive(Debug, Clone, PartialEq)]
pub enum EngineStatus {
    Connecting { host: String },
    Up(EngineInfo),
    Down { host: String, reason: String, retry_in: Duration, attempt: u32 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    /// Typing into the `/` filter.
    Filter,
    Help,
    /// A destructive action waits for `y`.
    Confirm(Confirm),
    Launch(Box<LaunchForm>),
    /// The launch was sent: pulling, creating, starting.
    Launching(Launching),
    Logs(Box<LogView>),
    /// One container in full (Enter on a container).
    Detail(Box<detail::DetailView>),
    /// Docker's disk usage and pruning (`c`).
    Disk(Box<disk::DiskView>),
    GpuDetail(gpu_detail::GpuDetailView),
    /// The GPU processes of the host (`p`).
    Processes(Box<procs::ProcessView>),
    /// Who holds what, per owner (`U`).
    Users(users::UsersView),
    /// How the GPUs reach each other (`t`).
    Topology(topology::TopologyView),
    /// Every alert of the session (`A`).
    Alerts(alert_list::AlertsView),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub prompt: String,
    pub command: Command,
    /// A second question before the command (removing a running container).
    pub then: Option<Box<Confirm>>,
    /// Why a yes does nothing (nothing to prune, read-only): said instead of running `command`.
    pub refused: Option<StatusLine>,
    /// What the question shows: its prompt, or a prune's exact list.
    pub shows: Shows,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Shows {
    #[default]
    Prompt,
    /// Exactly what the prune removes, fixed when the question opened: `y` removes these and
    /// nothing that appeared since. Err: why there is no list (a bad `prune_until`).
    Prune {
        category: crate::docker::disk::Category,
        items: Result<Vec<crate::docker::disk::DiskItem>, String>,
        /// About how many bytes they free, as the row said.
        bytes: u64,
        /// The first name shown: the list scrolls where it does not fit.
        scroll: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Launching {
    pub image: String,
    pub done: u64,
    pub total: u64,
    pub status: String,
    /// What `free:N` picked and why (again just before create, if that changed it).
    pub pick: Option<String>,
    /// The form as typed: a failed or cancelled launch goes back to it.
    pub form: Box<LaunchForm>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub text: String,
    pub level: Level,
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub keymap: Keymap,
    pub theme: Theme,
    pub refresh: Duration,
    pub config_path: Option<PathBuf>,
    pub read_only: bool,
    pub stop_timeout: u32,
    pub log_lines: usize,
    pub presets: Vec<Preset>,
    /// The command `e` runs in a container.
    pub shell: Vec<String>,
    /// Who launches: recorded in the io.gpudock.launched-by label.
    pub user: String,
    /// This node's name as a laptop's ssh reaches it: the notebook tunnel's host.
    pub hostname: String,
    /// The newest notebook server each listed container's output announced, kept for when its
    /// log view opens again.
    pub notebooks: HashMap<ContainerId, tunnel::Seen>,
    /// `until` filter applied to every prune (from the config), e.g. "24h".
    pub prune_until: Option<String>,
    pub disk_floor: u64,
    /// Warning about the filesystem under the engine's data root, shown on every screen.
    pub disk_warning: Option<String>,
    pub engine: EngineStatus,
    pub table: ContainerTable,
    pub stats: HashMap<ContainerId, ContainerStats>,
    pub gpu: GpuState,
    /// Recent figures of every listed container, for the detail view's charts.
    pub history: history::History,
    pub focus: Panel,
    /// The view on top of the screen.
    pub mode: Mode,
    /// The views under it, nearest last: back (`Esc`) returns to the one it came from, and the
    /// main screen is under them all.
    pub back: Vec<Mode>,
    /// Unix seconds of the latest sample; uptimes are shown relative to it.
    pub now: i64,
    pub status: Option<StatusLine>,
    /// When `status` was set: it expires (`status.rs`).
    status_stamp: status::Stamp,
    /// First line of the help overlay shown (it scrolls in small panes).
    pub help_scroll: u16,
    /// The help's `/` search: the text, and whether it is being typed.
    pub help_search: Option<(String, bool)>,
    /// Whether a container listing has arrived since the engine (re)connected.
    pub listed: bool,
    /// What fits on one page of each scrolling view, as the last frame was laid out.
    pub pages: Pages,
    /// This machine's files as the doctor reads them (None: not read yet, or a remote engine).
    pub node_files: Option<crate::probe::HostFiles>,
    /// Whether the mouse is captured (clicks and wheel go to gpudock, not to text selection).
    pub mouse: bool,
    /// GPU memory held at 0 % SM this long marks the holder idle.
    pub idle_after: Duration,
    pub alert_rules: crate::config::Alerts,
    pub alerts: alerts::AlertState,
    /// GPU-hours held per owner this session, for the Users view.
    pub users_clock: users::SessionClock,
    /// Containers whose stop is under way: their rows read `stopping` until it ends.
    pub stopping: std::collections::HashSet<ContainerId>,
    dirty: bool,
}

impl AppState {
    pub fn new(config: &Config, host: String) -> AppState {
        AppState {
            keymap: config.keymap.clone(),
            theme: config.theme,
            refresh: config.refresh,
            config_path: config.path.clone(),
            read_only: config.read_only,
            stop_timeout: config.stop_timeout,
            log_lines: config.log_lines,
            presets: config.presets.clone(),
            shell: config.shell.clone().unwrap_or_else(crate::docker::shell::default_command),
            user: "unknown".into(),
            hostname: String::new(),
            notebooks: HashMap::new(),
            prune_until: config.prune_until.clone(),
            disk_floor: config.disk_free_floor,
            disk_warning: None,
            engine: EngineStatus::Connecting { host },
            table: ContainerTable::new(config.sort),
            idle_after: config.idle_gpu_after,
            alert_rules: config.alerts.clone(),
            alerts: alerts::AlertState::default(),
            users_clock: users::SessionClock::default(),
            stopping: Default::default(),
            stats: HashMap::new(),
            gpu: GpuState::default(),
            history: history::History::default(),
            focus: Panel::Containers,
            mode: Mode::Normal,
            back: Vec::new(),
            now: 0,
            status: None,
            status_stamp: status::Stamp::default(),
            pages: Pages::default(),
            mouse: config.mouse,
            node_files: None,
            listed: false,
            help_scroll: 0,
            help_search: None,
            dirty: true,
        }
    }

    /// Whether anything visible changed since the last call; the loop draws only then.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Key(key) => {
                self.dirty = true;
                let before = (self.mode.scope(), self.status_stamp.seq);
                let out = input::handle_key(self, key);
                self.status_after_key(before);
                out
            }
            Msg::TypedAhead(key) => {
                self.dirty = true;
                let before = (self.mode.scope(), self.status_stamp.seq);
                let out = input::typed_ahead(self, key);
                self.status_after_key(before);
                out
            }
            Msg::Click(hit) => {
                self.dirty = true;
                input::click(self, hit);
                Vec::new()
            }
            Msg::Wheel { down, over } => {
                self.dirty = true;
                input::wheel(self, down, over);
                Vec::new()
            }
            Msg::Paste(text) => {
                self.dirty = true;
                input::paste(self, &text);
                Vec::new()
            }
            Msg::Resize(..) => {
                self.dirty = true;
                Vec::new()
            }
            Msg::Layout(pages) => {
                // Only a change redraws: the loop reports the layout after every frame.
                if pages != self.pages {
                    self.pages = pages;
                    self.dirty = true;
                }
                Vec::new()
            }
            Msg::Engine(m) => {
                let back = matches!(m, EngineEvent::Connected(_));
                self.on_engine(m);
                if back { disk::on_engine_back(self) } else { Vec::new() }
            }
            Msg::Gpu(m) => {
                let changed = match m {
                    GpuEvent::Snapshot(snap) => {
                        self.now = self.now.max(snap.at);
                        let changed = self.gpu.apply(snap) | self.gpu.idle_changed(self.idle_after);
                        if self.table.sort == crate::config::SortKey::GpuMemory
                            || self.table.gpu_filter().is_some()
                        {
                            self.with_table(|t, m| t.rebuild(m));
                        }
                        self.record(history::Source::Gpu);
                        self.tick_users_clock();
                        changed
                    }
                    GpuEvent::Unavailable { reason, retry_in } => self.gpu.unavailable(reason, retry_in),
                    GpuEvent::Xid(x) => {
                        let alert = self.alerts.xid(&self.alert_rules, &x);
                        self.gpu.xid(x);
                        self.dirty = true;
                        return self.bell(usize::from(alert));
                    }
                    GpuEvent::PastXids(past) => return self.past_xids(&past),
                };
                let listed = procs::refresh(self);
                self.dirty |= changed || listed;
                let raised = self.evaluate_alerts();
                self.bell(raised)
            }
            Msg::Action(m) => {
                self.dirty = true;
                actions::on_result(self, m)
            }
            Msg::Quit => vec![Command::Quit],
        }
    }

    /// Runs `f` on the container table with the figures its filters and sorts need.
    pub fn with_table<R>(&mut self, f: impl FnOnce(&mut ContainerTable, &Metrics) -> R) -> R {
        let m = Metrics { stats: &self.stats, gpu: &self.gpu.usage };
        f(&mut self.table, &m)
    }

    /// Moves the cursor of the focused panel.
    pub fn move_by(&mut self, delta: isize) {
        match self.focus {
            Panel::Containers => self.table.move_by(delta),
            Panel::Gpus => {
                let max = self.gpu.count().saturating_sub(1) as isize;
                self.gpu.selected =
                    (self.gpu.selected as isize).saturating_add(delta).clamp(0, max.max(0)) as usize;
            }
        }
    }

    /// Carries out a view's answer to a key.
    pub fn apply(&mut self, out: Outcome) -> Vec<Command> {
        if let Some(s) = out.status {
            self.set_status(s.level, s.text);
        }
        match out.next {
            Next::Stay => {}
            Next::Close => self.mode = self.back.pop().unwrap_or(Mode::Normal),
            Next::Open(mode) => self.mode = mode,
            Next::Push(mode) => {
                let under = std::mem::replace(&mut self.mode, mode);
                self.back.push(under);
            }
        }
        self.dirty = true;
        for c in &out.commands {
            if let Command::Container { id, action: ContainerAction::Stop { .. }, .. } = c {
                self.stopping.insert(id.clone());
            }
        }
        out.commands
    }

    /// Adds the latest GPU sample's interval to each owner's GPU-hours held.
    fn tick_users_clock(&mut self) {
        let Some(snap) = &self.gpu.snapshot else { return };
        // A gap of more than a few samples (NVML down) is not counted as held.
        let max_gap = (self.refresh.as_secs_f64() * 5.0).ceil() as i64;
        self.users_clock.tick(&snap.gpus, snap.at, max_gap);
    }

    pub fn set_status(&mut self, level: Level, text: impl Into<String>) {
        self.status = Some(StatusLine { text: text.into(), level });
        self.stamp_status();
        self.dirty = true;
    }
}
