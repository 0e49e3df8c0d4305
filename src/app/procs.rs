//! The GPU process view (`p`): every process on the host's GPUs with what NVML and /proc say of
//! it, sorted and filtered, and signals to the one under the cursor after a yes. The rows are
//! rebuilt from each GPU sample; the cursor follows its process (PID and start time), not its
//! row number.

mod rows;

use crossterm::event::KeyEvent;

use super::text_input::{Edit, TextInput};
use super::view::ViewKey;
use super::{AppState, Level, Mode, Outcome, Panel};
use crate::config::Action;
use crate::msg::Command;
use crate::signal::{Sent, Signal, SignalError};
pub use rows::{ProcRow, ProcSort, rows_from};

pub const KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Down, "next row").hint(&[Action::Down, Action::Up], "move"),
    ViewKey::new(Action::Up, "previous row"),
    ViewKey::new(Action::PageUp, "page up"),
    ViewKey::new(Action::PageDown, "page down"),
    ViewKey::new(Action::First, "first row"),
    ViewKey::new(Action::Last, "last row"),
    // Early: a narrow pane drops the last hints, and the way out must stay.
    ViewKey::new(Action::Alerts, super::alert_list::FROM_ANYWHERE),
    ViewKey::new(Action::Back, "back to the previous screen").hint(&[Action::Back], "back"),
    ViewKey::new(Action::Filter, "filter by container, user, command or PID (Enter keeps, Esc clears)")
        .hint(&[Action::Filter], "filter"),
    ViewKey::new(Action::SortNext, "sort by the next column").hint(&[Action::SortNext], "sort"),
    ViewKey::new(Action::SortReverse, "reverse the sort order"),
    ViewKey::new(Action::SigTerm, "send SIGTERM to the selected process (asks first)")
        .hint(&[Action::SigTerm], "SIGTERM"),
    ViewKey::new(Action::SigKill, "send SIGKILL to the selected process (asks first)")
        .hint(&[Action::SigKill], "SIGKILL"),
    ViewKey::new(Action::SigInt, "send SIGINT to the selected process (asks first)")
        .hint(&[Action::SigInt], "SIGINT"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessView {
    /// Only this GPU's processes (opened from the GPU panel).
    pub gpu: Option<u32>,
    pub filter: String,
    /// Typing into the filter.
    pub filtering: bool,
    pub sort: ProcSort,
    pub reverse: bool,
    /// Why there are no processes to show at all (NVML down, a remote engine).
    pub unavailable: Option<String>,
    all: Vec<ProcRow>,
    /// Indices into `all` as shown: filtered and sorted.
    shown: Vec<usize>,
    selected: usize,
}

impl ProcessView {
    pub fn new(gpu: Option<u32>) -> ProcessView {
        ProcessView {
            gpu,
            filter: String::new(),
            filtering: false,
            sort: ProcSort::GpuMemory,
            reverse: false,
            unavailable: None,
            all: Vec::new(),
            shown: Vec::new(),
            selected: 0,
        }
    }

    /// The rows of a new sample; the cursor stays on its process. Returns whether they differ.
    pub fn set_rows(&mut self, rows: Vec<ProcRow>, unavailable: Option<String>) -> bool {
        if rows == self.all && unavailable == self.unavailable {
            return false;
        }
        let keep = self.selected().map(ProcRow::key);
        self.all = rows;
        self.unavailable = unavailable;
        self.reshow(keep);
        true
    }

    pub fn rows(&self) -> impl Iterator<Item = &ProcRow> {
        self.shown.iter().filter_map(|i| self.all.get(*i))
    }

    /// Rows shown.
    pub fn len(&self) -> usize {
        self.shown.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }

    /// Processes on the GPU the view is about (all GPUs when unfiltered), before the text filter.
    pub fn total(&self) -> usize {
        self.all.iter().filter(|r| self.gpu.is_none_or(|g| r.gpu == g)).count()
    }

    pub fn selected_index(&self) -> Option<usize> {
        (!self.shown.is_empty()).then_some(self.selected)
    }

    pub fn selected(&self) -> Option<&ProcRow> {
        self.shown.get(self.selected).and_then(|i| self.all.get(*i))
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.shown.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize).saturating_add(delta).clamp(0, last.max(0)) as usize;
    }

    /// Filters and sorts anew, putting the cursor back on `keep` if it is still shown.
    fn reshow(&mut self, keep: Option<(u32, Option<u64>, u32)>) {
        let needle = self.filter.to_lowercase();
        let mut shown: Vec<usize> = (0..self.all.len())
            .filter(|i| {
                let r = &self.all[*i];
                self.gpu.is_none_or(|g| r.gpu == g) && r.matches(&needle)
            })
            .collect();
        shown.sort_by(|a, b| self.sort.compare(&self.all[*a], &self.all[*b], self.reverse));
        self.shown = shown;
        if let Some(at) = keep.and_then(|k| self.rows().position(|r| r.key() == k)) {
            self.selected = at;
        }
        self.move_by(0);
    }

    /// `action` is what the keymap made of `key` in `self.scope()`; `page` is rows per page.
    pub fn handle_key(
        &mut self,
        action: Option<Action>,
        key: KeyEvent,
        read_only: bool,
        page: usize,
    ) -> Outcome {
        if self.filtering {
            self.filter_key(key);
            return Outcome::stay();
        }
        let keep = self.selected().map(ProcRow::key);
        let page = page.max(1) as isize;
        match action {
            Some(Action::Back) => return Outcome::close(),
            Some(Action::Up) => self.move_by(-1),
            Some(Action::Down) => self.move_by(1),
            Some(Action::PageUp) => self.move_by(-page),
            Some(Action::PageDown) => self.move_by(page),
            Some(Action::First) => self.move_by(isize::MIN / 2),
            Some(Action::Last) => self.move_by(isize::MAX / 2),
            Some(Action::Filter) => self.filtering = true,
            Some(Action::SortNext) => {
                self.sort = self.sort.next();
                self.reverse = false;
                self.reshow(keep);
                return Outcome::stay().say(Level::Info, format!("sorted by {}", self.sort.label()));
            }
            Some(Action::SortReverse) => {
                self.reverse = !self.reverse;
                self.reshow(keep);
                let order = if self.reverse { "reversed" } else { "normal order" };
                return Outcome::stay()
                    .say(Level::Info, format!("sorted by {} ({order})", self.sort.label()));
            }
            Some(Action::SigTerm) => return self.ask(Signal::Term, read_only),
            Some(Action::SigKill) => return self.ask(Signal::Kill, read_only),
            Some(Action::SigInt) => return self.ask(Signal::Int, read_only),
            _ => {}
        }
        Outcome::stay()
    }

    /// The question before a signal, naming exactly which process gets it.
    fn ask(&mut self, signal: Signal, read_only: bool) -> Outcome {
        if read_only {
            return Outcome::stay()
                .say(Level::Error, format!("read-only mode: signals are disabled ({signal} not sent)"));
        }
        let Some(row) = self.selected() else {
            return Outcome::stay().say(Level::Error, "no process selected");
        };
        let Some(start_time) = row.start_time else {
            // Without its start time a PID that ended and was reused cannot be told apart.
            let text = format!(
                "PID {} is not in this machine's /proc (another PID namespace? run gpudock with --pid=host): nothing was sent",
                row.pid
            );
            return Outcome::stay().say(Level::Error, text);
        };
        let command = crate::fmt::truncate(row.command_line(), 80);
        let prompt = format!("Send {signal} to PID {} ({command}), {}?", row.pid, row.whereabouts());
        let command = Command::Signal { pid: row.pid, start_time, signal };
        Outcome::ask(prompt, command)
    }

    fn filter_key(&mut self, key: KeyEvent) {
        match TextInput(&mut self.filter).key(&key) {
            Edit::Esc => {
                self.filtering = false;
                self.filter.clear();
            }
            Edit::Enter => self.filtering = false,
            Edit::Changed => {}
            Edit::Ignored => return,
        }
        // Typing narrows the rows; keep the best match under the cursor.
        self.selected = 0;
        self.reshow(None);
    }

    /// Pasted text while the filter is typed goes into it.
    pub fn paste(&mut self, text: &str) {
        if self.filtering {
            TextInput(&mut self.filter).paste(text);
            self.selected = 0;
            self.reshow(None);
        }
    }
}

/// `p`: from the GPU panel, the selected GPU's processes; from the container panel, all.
pub fn open(app: &mut AppState) {
    let gpu =
        if app.focus == Panel::Gpus { app.gpu.ids().get(app.gpu.selected).map(|(i, _)| *i) } else { None };
    let mut view = ProcessView::new(gpu);
    let (rows, why) = rows_from(app);
    view.set_rows(rows, why);
    app.mode = Mode::Processes(Box::new(view));
}

/// A new GPU sample or container list: the open view shows it. Returns whether its rows changed.
pub fn refresh(app: &mut AppState) -> bool {
    if !matches!(app.mode, Mode::Processes(_)) {
        return false;
    }
    let (rows, why) = rows_from(app);
    match &mut app.mode {
        Mode::Processes(v) => v.set_rows(rows, why),
        _ => false,
    }
}

/// What came of a signal; the process list shows its effect with the next sample.
pub fn on_signal(app: &mut AppState, pid: u32, signal: Signal, result: Result<Sent, SignalError>) {
    match result {
        Ok(Sent { command: Some(cmd) }) => app
            .set_status(Level::Info, format!("sent {signal} to PID {pid} ({})", crate::sanitize::line(&cmd))),
        Ok(Sent { command: None }) => app.set_status(Level::Info, format!("sent {signal} to PID {pid}")),
        Err(e) => app.set_status(Level::Error, e.to_string()),
    }
}
