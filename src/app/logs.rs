//! The log view: a bounded buffer of a container's output, scrolling, following and search.

use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::docker::LogLine;

#[derive(Debug, Clone, PartialEq)]
pub struct LogView {
    pub id: String,
    pub name: String,
    pub lines: VecDeque<LogLine>,
    /// Most lines kept: older ones are dropped, so a chatty container cannot eat memory.
    pub cap: usize,
    /// Lines dropped so far because of the cap.
    pub dropped: u64,
    /// Stick to the newest line as lines arrive.
    pub follow: bool,
    /// Index of the line at the bottom of the view when not following.
    pub bottom: usize,
    pub search: String,
    pub searching: bool,
    /// The last search or jump found nothing.
    pub no_match: bool,
    pub ended: Option<String>,
}

pub enum LogKey {
    Stay,
    Close,
}

impl LogView {
    pub fn new(id: String, name: String, cap: usize) -> LogView {
        LogView {
            id,
            name,
            lines: VecDeque::new(),
            cap,
            dropped: 0,
            follow: true,
            bottom: 0,
            search: String::new(),
            searching: false,
            no_match: false,
            ended: None,
        }
    }

    pub fn push(&mut self, lines: Vec<LogLine>) {
        for l in lines {
            if self.lines.len() == self.cap {
                self.lines.pop_front();
                self.dropped += 1;
                self.bottom = self.bottom.saturating_sub(1);
            }
            self.lines.push_back(l);
        }
        if self.follow {
            self.bottom = self.lines.len().saturating_sub(1);
        }
    }

    fn scroll(&mut self, delta: isize) {
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
            self.follow = false;
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent, page: usize) -> LogKey {
        if self.searching {
            match key.code {
                KeyCode::Esc => {
                    self.searching = false;
                    self.search.clear();
                }
                KeyCode::Enter => {
                    self.searching = false;
                    // Search starts from the newest line.
                    let keep = self.bottom;
                    self.bottom = self.lines.len();
                    self.jump(true);
                    if self.no_match {
                        self.bottom = keep;
                    }
                }
                KeyCode::Backspace => {
                    self.search.pop();
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => self.search.push(c),
                _ => {}
            }
            return LogKey::Stay;
        }
        let page = page.max(1) as isize;
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => return LogKey::Close,
            KeyCode::Char('j') | KeyCode::Down => self.scroll(1),
            KeyCode::Char('k') | KeyCode::Up => self.scroll(-1),
            KeyCode::PageDown => self.scroll(page),
            KeyCode::PageUp => self.scroll(-page),
            KeyCode::Char('g') | KeyCode::Home => {
                self.bottom = 0;
                self.follow = false;
            }
            KeyCode::Char('G') | KeyCode::End => {
                self.follow = true;
                self.bottom = self.lines.len().saturating_sub(1);
            }
            KeyCode::Char('/') => {
                self.searching = true;
                self.search.clear();
            }
            KeyCode::Char('n') => self.jump(true),
            KeyCode::Char('N') => self.jump(false),
            _ => {}
        }
        LogKey::Stay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        v.handle_key(KeyEvent::from(KeyCode::Char('k')), 10);
        assert!(!v.follow);
        v.push(vec![line("5")]);
        assert_eq!(v.lines.back().map(|l| l.text.as_str()), Some("5"));
        assert_eq!(v.bottom, 0, "a scrolled view stays on its line as old ones drop");
        v.handle_key(KeyEvent::from(KeyCode::Char('G')), 10);
        assert!(v.follow);
    }

    #[test]
    fn search_jumps_between_matches() {
        let mut v = LogView::new("id".into(), "c".into(), 100);
        v.push(vec![line("epoch 1 loss"), line("ok"), line("epoch 2 loss"), line("ok")]);
        v.handle_key(KeyEvent::from(KeyCode::Char('/')), 10);
        for c in "LOSS".chars() {
            v.handle_key(KeyEvent::from(KeyCode::Char(c)), 10);
        }
        v.handle_key(KeyEvent::from(KeyCode::Enter), 10);
        assert_eq!(v.bottom, 2);
        v.handle_key(KeyEvent::from(KeyCode::Char('n')), 10);
        assert_eq!(v.bottom, 0);
        v.handle_key(KeyEvent::from(KeyCode::Char('N')), 10);
        assert_eq!(v.bottom, 2);
    }
}
