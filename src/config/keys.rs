//! Key specifications ("ctrl-c", "G", "pageup") as written in the config file and matched
//! against key presses.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

/// One key with its modifiers, as written in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySpec {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl KeySpec {
    pub fn parse(text: &str) -> Result<KeySpec, String> {
        let lower = text.to_ascii_lowercase();
        let (mods, rest) = if let Some(r) = lower.strip_prefix("ctrl-") {
            (KeyModifiers::CONTROL, &text[text.len() - r.len()..])
        } else if let Some(r) = lower.strip_prefix("alt-") {
            (KeyModifiers::ALT, &text[text.len() - r.len()..])
        } else {
            (KeyModifiers::NONE, text)
        };
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "tab" => KeyCode::Tab,
                "backtab" | "shift-tab" => KeyCode::BackTab,
                "enter" => KeyCode::Enter,
                "esc" => KeyCode::Esc,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" => KeyCode::PageUp,
                "pagedown" => KeyCode::PageDown,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" => KeyCode::Delete,
                f if f.starts_with('f') && f.len() > 1 => match f[1..].parse::<u8>() {
                    Ok(n) if (1..=12).contains(&n) => KeyCode::F(n),
                    _ => return Err(format!("unknown key {text:?}")),
                },
                _ => return Err(format!("unknown key {text:?}")),
            },
        };
        Ok(KeySpec { code, mods })
    }

    /// Terminals report "G" as Char('G') with SHIFT on some and without on others; bindings are
    /// written without shift, so it is dropped from character keys before comparing.
    pub fn from_event(ev: &KeyEvent) -> KeySpec {
        let mut mods = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        if matches!(ev.code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods.remove(KeyModifiers::SHIFT);
        }
        let code = match (ev.code, mods.contains(KeyModifiers::CONTROL)) {
            // Ctrl+letter arrives lower-case on most terminals; normalise so "ctrl-C" matches too.
            (KeyCode::Char(c), true) => KeyCode::Char(c.to_ascii_lowercase()),
            (c, _) => c,
        };
        KeySpec { code, mods }
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            // "Ctrl-C", as terminals and README write it.
            KeyCode::Char(c) if self.mods.contains(KeyModifiers::CONTROL) => {
                write!(f, "{}", c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

impl<'de> Deserialize<'de> for KeySpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        KeySpec::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_keys() {
        for (text, shown) in [
            ("q", "q"),
            ("G", "G"),
            ("ctrl-c", "Ctrl-C"),
            ("pageup", "PgUp"),
            ("backtab", "Shift-Tab"),
            ("f1", "F1"),
            ("space", "Space"),
        ] {
            assert_eq!(KeySpec::parse(text).map(|k| k.to_string()), Ok(shown.to_string()));
        }
        assert!(KeySpec::parse("hyper-x").is_err());
        assert!(KeySpec::parse("f13").is_err());
    }
}
