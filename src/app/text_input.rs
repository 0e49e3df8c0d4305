//! One text field's editing, for every field that takes text: the main filter, the log search,
//! the process filter, the launch form's fields and the fleet's filter. Enter and Esc are the
//! caller's to give meaning to; the rest is the same everywhere.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The most characters a field holds: typed or pasted text is bounded like everything else read.
pub const MAX_CHARS: usize = 4096;

/// What a key did to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The text changed.
    Changed,
    /// Enter: keep the text.
    Enter,
    /// Esc: the caller decides (clear, close, take a warning back).
    Esc,
    /// A key that means nothing to a text field.
    Ignored,
}

/// Editing over a field's text: typing, Backspace, Ctrl-U (clear) and paste.
pub struct TextInput<'a>(pub &'a mut String);

impl TextInput<'_> {
    pub fn key(&mut self, key: &KeyEvent) -> Edit {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Enter => Edit::Enter,
            KeyCode::Esc => Edit::Esc,
            KeyCode::Backspace => {
                self.0.pop();
                Edit::Changed
            }
            KeyCode::Char('u') if ctrl => {
                self.0.clear();
                Edit::Changed
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                if self.0.chars().count() < MAX_CHARS {
                    self.0.push(c);
                }
                Edit::Changed
            }
            _ => Edit::Ignored,
        }
    }

    /// Pasted text, without control characters or line breaks, up to the field's bound.
    pub fn paste(&mut self, text: &str) {
        let room = MAX_CHARS.saturating_sub(self.0.chars().count());
        self.0.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(room));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::from(code)
    }

    #[test]
    fn typing_editing_and_the_bound() {
        let mut s = String::new();
        let mut t = TextInput(&mut s);
        assert_eq!(t.key(&k(KeyCode::Char('a'))), Edit::Changed);
        t.key(&k(KeyCode::Char('b')));
        t.key(&k(KeyCode::Backspace));
        t.paste("x\ny");
        assert_eq!(t.0, "ax y");
        assert_eq!(t.key(&KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)), Edit::Changed);
        assert_eq!(t.0, "");
        assert_eq!(t.key(&KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL)), Edit::Ignored);
        assert_eq!(t.key(&k(KeyCode::Enter)), Edit::Enter);
        assert_eq!(t.key(&k(KeyCode::Esc)), Edit::Esc);
        t.paste(&"z".repeat(MAX_CHARS + 10));
        t.key(&k(KeyCode::Char('q')));
        assert_eq!(t.0.chars().count(), MAX_CHARS);
    }
}
