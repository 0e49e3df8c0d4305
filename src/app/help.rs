//! The help screen as a view: it scrolls by line, page and end, and only its own keys (`?`,
//! `Esc`, `q`) close it, so paging through it never drops the reader back on the dashboard.

use crossterm::event::KeyEvent;

use super::text_input::{Edit, TextInput};
use super::view::ViewKey;
use super::{AppState, Level, Outcome};
use crate::config::Action;

pub const KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Down, "scroll down").hint(&[Action::Down, Action::Up], "scroll"),
    ViewKey::new(Action::Up, "scroll up"),
    ViewKey::new(Action::PageDown, "page down").hint(&[Action::PageDown, Action::PageUp], "page"),
    ViewKey::new(Action::PageUp, "page up"),
    ViewKey::new(Action::First, "top"),
    ViewKey::new(Action::Last, "end"),
    ViewKey::new(Action::Search, "search (Enter jumps to the first match, Esc clears)")
        .hint(&[Action::Search], "search"),
    ViewKey::new(Action::Help, "close this help").hint(&[Action::Help], "close"),
    ViewKey::new(Action::Back, "close this help"),
];

pub fn handle_key(app: &mut AppState, action: Option<Action>, key: KeyEvent) -> Outcome {
    // While the search is typed, keys are text.
    if let Some((text, typing @ true)) = &mut app.help_search {
        match TextInput(text).key(&key) {
            Edit::Enter => {
                *typing = false;
                match app.pages.help_match {
                    Some(row) => app.help_scroll = row.min(app.pages.help_max),
                    None => {
                        return Outcome::stay().say(Level::Info, format!("\"{text}\" is not in the help"));
                    }
                }
            }
            Edit::Esc => app.help_search = None,
            Edit::Changed | Edit::Ignored => {}
        }
        return Outcome::stay();
    }
    let page = app.pages.help.max(1);
    let max = app.pages.help_max;
    let by = |s: u16, d: i32| u16::try_from((i32::from(s) + d).clamp(0, i32::from(max))).unwrap_or(max);
    let s = app.help_scroll.min(max);
    app.help_scroll = match action {
        Some(Action::Down) => by(s, 1),
        Some(Action::Up) => by(s, -1),
        Some(Action::PageDown) => by(s, i32::from(page)),
        Some(Action::PageUp) => by(s, -i32::from(page)),
        Some(Action::First) => 0,
        Some(Action::Last) => max,
        Some(Action::Search) => {
            app.help_search = Some((String::new(), true));
            s
        }
        Some(Action::Help | Action::Back) => {
            app.help_scroll = 0;
            app.help_search = None;
            return Outcome::close();
        }
        _ => s,
    };
    Outcome::stay()
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent};

    use super::*;
    use crate::app::Mode;
    use crate::msg::{Command, Msg};

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::from(KeyCode::Char(c)))
    }

    fn code(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::from(c))
    }

    #[test]
    fn help_pages_and_only_its_own_keys_close_it() {
        let mut a = AppState::new(&crate::config::Config::default(), "test".into());
        a.update(key('?'));
        assert_eq!(a.mode, Mode::Help);
        a.update(Msg::Layout(crate::msg::Pages { help: 10, help_max: 25, ..Default::default() }));
        // j/k scroll a help that does not fit; they do not close it.
        a.update(key('j'));
        a.update(key('j'));
        a.update(key('k'));
        assert_eq!((a.mode.clone(), a.help_scroll), (Mode::Help, 1));
        // The page keys and the ends move it, and stop at the last page; none of them closes it.
        a.update(code(KeyCode::PageDown));
        assert_eq!((a.mode.clone(), a.help_scroll), (Mode::Help, 11));
        a.update(code(KeyCode::PageDown));
        a.update(code(KeyCode::PageDown));
        assert_eq!(a.help_scroll, 25);
        a.update(code(KeyCode::PageUp));
        assert_eq!(a.help_scroll, 15);
        a.update(key('g'));
        assert_eq!(a.help_scroll, 0);
        a.update(key('G'));
        assert_eq!(a.help_scroll, 25);
        a.update(code(KeyCode::Home));
        a.update(code(KeyCode::End));
        assert_eq!((a.mode.clone(), a.help_scroll), (Mode::Help, 25));
        // Keys of other views do nothing here.
        assert!(a.update(key('x')).is_empty());
        assert!(a.update(key('n')).is_empty());
        assert_eq!(a.mode, Mode::Help);
        // ?, Esc and q close it.
        for close in [key('?'), code(KeyCode::Esc), key('q')] {
            if a.mode != Mode::Help {
                a.update(key('?'));
            }
            assert!(a.update(close).iter().all(|c| *c != Command::Quit));
            assert_eq!((a.mode.clone(), a.help_scroll), (Mode::Normal, 0));
        }
    }
}
