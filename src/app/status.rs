//! The status line's lifetime: a message is about what just happened, so it goes after a few
//! seconds (an error after a little longer), or when the user moves to another view, unless
//! that move is what it reports.

use super::view::Scope;
use super::{AppState, Level};

/// How long an informational message stays, in seconds.
pub const INFO_SECS: i64 = 5;
/// How long an error stays: long enough to read a sentence with a fix in it.
pub const ERROR_SECS: i64 = 15;

/// When the status line was last set: a count of messages (to tell whether a key set a new one)
/// and the sample clock at the first sample after it. Not the clock when it was set: that can be
/// long stale (the terminal was handed to a shell, the engine was down), and the first sample
/// after would expire the message before anyone read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stamp {
    pub seq: u64,
    pub at: Option<i64>,
}

impl AppState {
    /// Drops a message older than its lifetime; called when the clock moves.
    pub(super) fn expire_status(&mut self) {
        let Some(s) = &self.status else { return };
        let life = if s.level == Level::Error { ERROR_SECS } else { INFO_SECS };
        let Some(at) = self.status_stamp.at else {
            self.status_stamp.at = Some(self.now);
            return;
        };
        if self.now.saturating_sub(at) >= life {
            self.status = None;
            self.dirty = true;
        }
    }

    /// After a key: a message set before it goes when the key changed the view.
    pub(super) fn status_after_key(&mut self, before: (Scope, u64)) {
        if self.mode.scope() != before.0 && self.status_stamp.seq == before.1 {
            self.status = None;
        }
    }

    pub(super) fn stamp_status(&mut self) {
        self.status_stamp = Stamp { seq: self.status_stamp.seq.wrapping_add(1), at: None };
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crossterm::event::{KeyCode, KeyEvent};

    use super::*;
    use crate::config::Config;
    use crate::docker::EngineEvent;
    use crate::msg::Msg;

    fn tick(a: &mut AppState, at: i64) {
        a.update(Msg::Engine(EngineEvent::Stats { at, stats: HashMap::new() }));
    }

    fn text(a: &AppState) -> Option<&str> {
        a.status.as_ref().map(|s| s.text.as_str())
    }

    #[test]
    fn a_message_expires_after_a_few_seconds_an_error_later() {
        let mut a = AppState::new(&Config::default(), "unix:///nowhere.sock".into());
        tick(&mut a, 1000);
        a.set_status(Level::Info, "sorted by name");
        // The first sample after starts its life: a clock that was stale when it was set (a
        // shell had the terminal for a minute) does not expire it unread.
        tick(&mut a, 1000);
        tick(&mut a, 1000 + INFO_SECS - 1);
        assert_eq!(text(&a), Some("sorted by name"));
        tick(&mut a, 1000 + INFO_SECS);
        assert_eq!(text(&a), None);
        a.set_status(Level::Error, "stop x: no such container");
        tick(&mut a, 1000 + INFO_SECS + 60);
        assert!(text(&a).is_some(), "a minute without samples does not count");
        tick(&mut a, 1000 + INFO_SECS + 60 + INFO_SECS * 2);
        assert!(text(&a).is_some(), "an error stays longer");
        tick(&mut a, 1000 + INFO_SECS + 60 + ERROR_SECS);
        assert_eq!(text(&a), None);
    }

    #[test]
    fn a_message_goes_when_the_view_changes_unless_the_change_set_it() {
        let mut a = AppState::new(&Config::default(), "unix:///nowhere.sock".into());
        a.update(Msg::Key(KeyEvent::from(KeyCode::Char('p'))));
        a.set_status(Level::Info, "sent SIGTERM to PID 7");
        a.update(Msg::Key(KeyEvent::from(KeyCode::Char('j'))));
        assert_eq!(text(&a), Some("sent SIGTERM to PID 7"), "same view: kept");
        a.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
        assert_eq!(text(&a), None, "another view: gone");
        // A key that changes the view and says so keeps its own message.
        a.update(Msg::Key(KeyEvent::from(KeyCode::Char('p'))));
        a.update(Msg::Key(KeyEvent::from(KeyCode::Char('A'))));
        a.update(Msg::Key(KeyEvent::from(KeyCode::Char('!'))));
        assert_eq!(text(&a), Some("no new alerts"));
    }
}
