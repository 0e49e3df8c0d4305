//! The log view: a bounded buffer of a container's output, scrolling, following and search.

use std::collections::VecDeque;

use crossterm::event::KeyEvent;

use super::text_input::{Edit, TextInput};
use super::view::ViewKey;
use super::{Command, Outcome};
use crate::config::{Action, Hint};
use crate::docker::{ContainerId, LogLine};

/// Most bytes of output kept while viewing a log, whatever `log_lines` allows.
pub const MAX_BYTES: usize = 32 << 20;

pub const KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Down, "scroll down").hint(&[Action::Down, Action::Up], "scroll"),
    ViewKey::new(Action::Up, "scroll up"),
    ViewKey::new(Action::PageUp, "page up"),
    ViewKey::new(Action::PageDown, "page down"),
    ViewKey::new(Action::First, "oldest line kept"),
    ViewKey::new(Action::Last, "newest line, and follow new output")
        .hint(&[Action::First, Action::Last], "top/follow"),
    ViewKey::new(Action::OlderMatch, "older match").hint(&[Action::OlderMatch], "older"),
    ViewKey::new(Action::NewerMatch, "newer match").hint(&[Action::NewerMatch], "newer"),
    ViewKey::new(Action::Search, "search (Enter finds, Esc clears)").hint(&[Action::Search], "search"),
    ViewKey::new(Action::Wrap, "wrap long lines, or cut them at the edge").hint(&[Action::Wrap], "wrap"),
    ViewKey::new(Action::Left, "scroll cut lines left"),
    ViewKey::new(Action::Right, "scroll cut lines right"),
    ViewKey::new(Action::Save, "save the lines kept here to a file in the current directory")
        .hint(&[Action::Save], "save"),
    ViewKey::new(Action::SaveAll, "save the container's whole log, from the engine, to a file"),
    ViewKey::new(Action::CopyTunnel, "copy the notebook's ssh tunnel command (OSC 52)")
        .hint(&[Action::CopyTunnel], "copy tunnel"),
    ViewKey::new(Action::Alerts, super::alert_list::FROM_ANYWHERE),
    ViewKey::new(Action::Back, "back to the previous screen").hint(&[Action::Back], "back"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct LogView {
    pub id: ContainerId,
    pub name: String,
    pub lines: VecDeque<LogLine>,
    /// Most lines kept: older ones are dropped, so a chatty container cannot eat memory.
    pub cap: usize,
    /// Lines dropped so far because of the cap.
    pub dropped: u64,
    /// Bytes of text kept: capped too, since a few long lines can weigh more than many short.
    pub bytes: usize,
    /// Stick to the newest line as lines arrive.
    pub follow: bool,
    /// Index of the line at the bottom of the view when not following.
    pub bottom: usize,
    pub search: String,
    pub searching: bool,
    /// The last search or jump found nothing.
    pub no_match: bool,
    pub ended: Option<String>,
    /// The line the last search jump landed on: marked apart from the other matches.
    pub current: Option<usize>,
    /// Long lines wrap (default) or are cut at the edge and scrolled sideways.
    pub wrap: bool,
    /// Columns scrolled to the right while lines are cut.
    pub hscroll: usize,
    /// Lines of history asked for when the view opened: more may exist before them.
    pub tail: Option<usize>,
    /// Lines received since the view opened.
    pub received: u64,
    /// How the container's ports reach the node, for a notebook's tunnel.
    pub reach: super::tunnel::Reach,
    /// The newest notebook server its output announced.
    pub notebook: Option<super::tunnel::Seen>,
}

impl LogView {
    pub fn new(id: ContainerId, name: String, cap: usize) -> LogView {
        LogView {
            id,
            name,
            lines: VecDeque::new(),
            cap,
            dropped: 0,
            bytes: 0,
            follow: true,
            bottom: 0,
            search: String::new(),
            searching: false,
            no_match: false,
            ended: None,
            current: None,
            wrap: true,
            hscroll: 0,
            tail: None,
            received: 0,
            reach: Default::default(),
            notebook: None,
        }
    }

    /// A view of an existing container's log, of which the last `tail` lines were asked for.
    pub fn with_tail(mut self, tail: usize) -> LogView {
        self.tail = Some(tail);
        self
    }

    /// Whether the engine may have had more output than the lines asked for when the view
    /// opened. "May": the history and what came after arrive as one stream, so a quiet
    /// container that printed `tail` lines since is counted too.
    pub fn older_not_loaded(&self) -> bool {
        self.tail.is_some_and(|t| self.received >= t as u64)
    }

    /// (position of the current match, number of matches), for "3 of 18".
    pub fn match_position(&self) -> Option<(usize, usize)> {
        if self.search.is_empty() {
            return None;
        }
        let needle = self.search.to_lowercase();
        let hit = |l: &LogLine| l.text.to_lowercase().contains(&needle);
        let total = self.lines.iter().filter(|l| hit(l)).count();
        let pos = self.current.map_or(0, |c| self.lines.iter().take(c + 1).filter(|l| hit(l)).count());
        Some((pos, total))
    }

    pub fn push(&mut self, lines: Vec<LogLine>) {
        self.received += lines.len() as u64;
        for l in lines {
            self.bytes += l.text.len();
            self.lines.push_back(l);
            while self.lines.len() > self.cap || (self.bytes > MAX_BYTES && self.lines.len() > 1) {
                if let Some(old) = self.lines.pop_front() {
                    self.bytes -= old.text.len();
                }
                self.dropped += 1;
                self.bottom = self.bottom.saturating_sub(1);
                self.current = self.current.and_then(|c| c.checked_sub(1));
            }
        }
        if self.follow {
            self.bottom = self.lines.len().saturating_sub(1);
        }
    }

    pub fn scroll(&mut self, delta: isize) {
        let max = self.lines.len().saturating_sub(1) as isize;
        self.bottom = (self.bottom as isize + delta).clamp(0, max.max(0)) as usize;
        self.follow = self.bottom as isize >= max;
    }

    pub fn matches(&self, line: &LogLine) -> bool {
        !self.search.is_empty() && line.text.to_lowercase().contains(&self.search.to_lowercase())
    }

    /// Moves the view to the nearest matching line before (older) or after the current one.
    fn jump(&mut self, older: bool) {
        let found = if older {
            (0..self.bottom).rev().find(|&i| self.matches(&self.lines[i]))
        } else {
            (self.bottom + 1..self.lines.len()).find(|&i| self.matches(&self.lines[i]))
        };
        self.no_match = found.is_none();
        if let Some(i) = found {
            self.bottom = i;
            self.current = Some(i);
            self.follow = false;
        }
    }

    /// The stream ended: the container stopped (with `exit_code` when known) or the stream
    /// failed. The lines stay on screen, also after a `--rm` container is gone.
    pub fn follow_end(&mut self, error: Option<String>, exit_code: Option<i64>) {
        self.ended = Some(match (error, exit_code) {
            (Some(e), _) => e,
            (None, Some(code)) => format!("the container exited with code {code}"),
            (None, None) => "the container stopped; no more output".into(),
        });
    }

    /// The keys the view offers now: match jumps once there is a search.
    pub fn hints(&self) -> Vec<Hint> {
        let matches = !(self.search.is_empty() || self.searching);
        let jumps = [Action::OlderMatch, Action::NewerMatch];
        let shown = |a: Action| {
            if a == Action::CopyTunnel {
                // Offered only once there is a tunnel to copy.
                self.notebook.as_ref().is_some_and(|s| s.tunnel.is_some())
            } else if matches {
                jumps.contains(&a) || a == Action::Search || a == Action::Back
            } else {
                !jumps.contains(&a)
            }
        };
        KEYS.iter().filter(|k| shown(k.action)).filter_map(|k| k.hint).collect()
    }

    /// While the search is typed, keys are text (Enter finds, Esc clears); otherwise `action` is
    /// what the keymap made of the key in the log view.
    /// `<container>-<UTC time>.log` in the current directory: named so it sorts and says what
    /// it holds.
    /// `<container>-<UTC>.log` for the lines kept, `<container>-<UTC>-all.log` for the whole
    /// log: `w` then `W` in the same second must not collide.
    pub fn save_path(&self, now: i64, whole: bool) -> std::path::PathBuf {
        let name: String = self
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' })
            .collect();
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(now).unwrap_or(0));
        let stamp: String = humantime::format_rfc3339_seconds(at)
            .to_string()
            .chars()
            .filter(|c| *c != '-' && *c != ':')
            .collect();
        let all = if whole { "-all" } else { "" };
        std::path::PathBuf::from(format!("{name}-{stamp}{all}.log"))
    }

    pub fn handle_key(&mut self, action: Option<Action>, key: KeyEvent, page: usize, now: i64) -> Outcome {
        if self.searching {
            match TextInput(&mut self.search).key(&key) {
                Edit::Esc => {
                    self.searching = false;
                    self.search.clear();
                    self.current = None;
                }
                Edit::Enter => {
                    self.searching = false;
                    // Search starts from the newest line.
                    let keep = self.bottom;
                    self.bottom = self.lines.len();
                    self.jump(true);
                    if self.no_match {
                        self.bottom = keep;
                    }
                }
                Edit::Changed | Edit::Ignored => {}
            }
            return Outcome::stay();
        }
        let page = page.max(1) as isize;
        match action {
            Some(Action::Back) => return Outcome::close().run(Command::StopLogs),
            Some(Action::Down) => self.scroll(1),
            Some(Action::Up) => self.scroll(-1),
            Some(Action::PageDown) => self.scroll(page),
            Some(Action::PageUp) => self.scroll(-page),
            // The oldest lines as a full page, not one line above blank rows.
            Some(Action::First) => {
                self.bottom = (page as usize).saturating_sub(1).min(self.lines.len().saturating_sub(1));
                self.follow = false;
            }
            Some(Action::Wrap) => {
                self.wrap = !self.wrap;
                self.hscroll = 0;
            }
            Some(Action::Save) => {
                let lines = self.lines.iter().map(|l| l.text.clone()).collect();
                let path = self.save_path(now, false);
                return Outcome::stay().run(Command::SaveLines { path, lines });
            }
            Some(Action::CopyTunnel) => return self.copy_tunnel(),
            Some(Action::SaveAll) => {
                let path = self.save_path(now, true);
                return Outcome::stay().run(Command::SaveLog { id: self.id.clone(), path });
            }
            Some(Action::Right) if !self.wrap => self.hscroll += 8,
            Some(Action::Left) if !self.wrap => self.hscroll = self.hscroll.saturating_sub(8),
            Some(Action::Last) => {
                self.follow = true;
                self.bottom = self.lines.len().saturating_sub(1);
            }
            Some(Action::Search) => {
                self.searching = true;
                self.search.clear();
                self.current = None;
            }
            Some(Action::OlderMatch) => self.jump(true),
            Some(Action::NewerMatch) => self.jump(false),
            _ => {}
        }
        Outcome::stay()
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyCode;

    use super::*;

    /// A key as the default keymap reads it in the log view.
    fn press(v: &mut LogView, key: KeyEvent) {
        let km = crate::config::Config::default().keymap;
        let action = crate::app::view::action_in(&km, crate::app::Scope::Logs, &key);
        v.handle_key(action, key, 10, 0);
    }

    fn line(t: &str) -> LogLine {
        LogLine { stderr: false, text: t.into() }
    }

    #[test]
    fn buffer_is_bounded_and_follows() {
        let mut v = LogView::new("id".into(), "c".into(), 3);
        v.push((0..5).map(|i| line(&i.to_string())).collect());
        assert_eq!(v.lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["2", "3", "4"]);
        assert_eq!(v.dropped, 2);
        assert_eq!(v.bottom, 2);
        press(&mut v, KeyEvent::from(KeyCode::Char('k')));
        assert!(!v.follow);
        v.push(vec![line("5")]);
        assert_eq!(v.lines.back().map(|l| l.text.as_str()), Some("5"));
        assert_eq!(v.bottom, 0, "a scrolled view stays on its line as old ones drop");
        press(&mut v, KeyEvent::from(KeyCode::Char('G')));
        assert!(v.follow);
    }

    #[test]
    fn the_buffer_is_capped_in_bytes_too() {
        let mut v = LogView::new("id".into(), "c".into(), 10_000);
        let mb = "x".repeat(1 << 20);
        for _ in 0..300 {
            v.push(vec![line(&mb)]);
        }
        assert!(v.bytes <= MAX_BYTES, "{} bytes kept", v.bytes);
        assert_eq!(v.bytes, v.lines.iter().map(|l| l.text.len()).sum::<usize>());
        assert_eq!(v.lines.len(), 32);
        assert_eq!(v.dropped, 268);
    }

    #[test]
    fn search_says_which_match_of_how_many_and_none() {
        let mut v = LogView::new("id".into(), "c".into(), 100);
        v.push((0..30).map(|i| line(&format!("step {i}"))).collect());
        press(&mut v, KeyEvent::from(KeyCode::Char('/')));
        for c in "step 2".chars() {
            press(&mut v, KeyEvent::from(KeyCode::Char(c)));
        }
        press(&mut v, KeyEvent::from(KeyCode::Enter));
        assert_eq!(v.match_position(), Some((11, 11)));
        assert_eq!(v.current, Some(29));
        press(&mut v, KeyEvent::from(KeyCode::Char('n')));
        assert_eq!(v.match_position(), Some((10, 11)));
        press(&mut v, KeyEvent::from(KeyCode::Char('/')));
        for c in "nothing".chars() {
            press(&mut v, KeyEvent::from(KeyCode::Char(c)));
        }
        press(&mut v, KeyEvent::from(KeyCode::Enter));
        assert_eq!(v.match_position(), Some((0, 0)));
        assert!(v.no_match);
    }

    #[test]
    fn top_shows_a_full_page_and_wrap_toggles() {
        let mut v = LogView::new("id".into(), "c".into(), 100);
        v.push((0..30).map(|i| line(&i.to_string())).collect());
        press(&mut v, KeyEvent::from(KeyCode::Char('g')));
        assert_eq!(v.bottom, 9, "a page of 10 lines from the oldest");
        assert!(v.wrap);
        press(&mut v, KeyEvent::from(KeyCode::Char('z')));
        press(&mut v, KeyEvent::from(KeyCode::Right));
        assert_eq!((v.wrap, v.hscroll), (false, 8));
        press(&mut v, KeyEvent::from(KeyCode::Char('z')));
        assert_eq!((v.wrap, v.hscroll), (true, 0));
    }

    #[test]
    fn search_jumps_between_matches() {
        let mut v = LogView::new("id".into(), "c".into(), 100);
        v.push(vec![line("epoch 1 loss"), line("ok"), line("epoch 2 loss"), line("ok")]);
        press(&mut v, KeyEvent::from(KeyCode::Char('/')));
        for c in "LOSS".chars() {
            press(&mut v, KeyEvent::from(KeyCode::Char(c)));
        }
        press(&mut v, KeyEvent::from(KeyCode::Enter));
        assert_eq!(v.bottom, 2);
        press(&mut v, KeyEvent::from(KeyCode::Char('n')));
        assert_eq!(v.bottom, 0);
        press(&mut v, KeyEvent::from(KeyCode::Char('N')));
        assert_eq!(v.bottom, 2);
    }
}
