//! Key specifications ("ctrl-c", "G", "pageup") and the keymap that turns key presses into actions.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

/// Everything a key can be bound to. The help screen is generated from this list, so an action
/// only exists here once it does something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Help,
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    NextPanel,
    PrevPanel,
    Filter,
    SortNext,
    SortReverse,
    NewContainer,
    Stop,
    Restart,
    Remove,
    Kill,
    Logs,
    DiskUsage,
    GpuUsers,
}

impl Action {
    pub const ALL: [Action; 21] = [
        Action::Quit,
        Action::Help,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::First,
        Action::Last,
        Action::NextPanel,
        Action::PrevPanel,
        Action::Filter,
        Action::SortNext,
        Action::SortReverse,
        Action::NewContainer,
        Action::Stop,
        Action::Restart,
        Action::Remove,
        Action::Kill,
        Action::Logs,
        Action::DiskUsage,
        Action::GpuUsers,
    ];

    pub fn description(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "show / hide this help",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::First => "first row",
            Action::Last => "last row",
            Action::NextPanel => "next panel",
            Action::PrevPanel => "previous panel",
            Action::Filter => "filter containers by name or image (Enter keeps, Esc clears)",
            Action::SortNext => "sort by the next column",
            Action::SortReverse => "reverse the sort order",
            Action::NewContainer => "launch a new container (form)",
            Action::Stop => "stop the selected container",
            Action::Restart => "restart the selected container",
            Action::Remove => "remove the selected container",
            Action::Kill => "kill the selected container",
            Action::Logs => "follow the selected container's logs",
            Action::DiskUsage => "disk space: what Docker holds, prune it, images",
            Action::GpuUsers => "in the GPU panel: list only the containers on that GPU (Esc clears)",
        }
    }

    /// Actions that change something on the node; refused in read-only mode.
    pub fn mutates(self) -> bool {
        matches!(self, Action::NewContainer | Action::Stop | Action::Restart | Action::Remove | Action::Kill)
    }
}

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

/// Action → keys, after the user's overrides were laid over the defaults.
#[derive(Debug, Clone, Default)]
pub struct Keymap {
    bindings: BTreeMap<Action, Vec<KeySpec>>,
}

impl Keymap {
    pub fn new(bindings: BTreeMap<Action, Vec<KeySpec>>) -> Keymap {
        Keymap { bindings }
    }

    pub fn action_for(&self, ev: &KeyEvent) -> Option<Action> {
        let key = KeySpec::from_event(ev);
        self.bindings.iter().find(|(_, keys)| keys.contains(&key)).map(|(action, _)| *action)
    }

    pub fn keys(&self, action: Action) -> &[KeySpec] {
        self.bindings.get(&action).map(Vec::as_slice).unwrap_or(&[])
    }

    /// "q/Ctrl-c" for the help screen and the footer hints.
    pub fn label(&self, action: Action) -> String {
        let keys = self.keys(action);
        if keys.is_empty() {
            return "unbound".to_string();
        }
        keys.iter().map(ToString::to_string).collect::<Vec<_>>().join("/")
    }

    /// Two actions on one key would make one of them unreachable.
    pub fn conflicts(&self) -> Vec<(KeySpec, Action, Action)> {
        let mut seen: Vec<(KeySpec, Action)> = Vec::new();
        let mut out = Vec::new();
        for (action, keys) in &self.bindings {
            for key in keys {
                if let Some((_, other)) = seen.iter().find(|(k, _)| k == key) {
                    out.push((*key, *other, *action));
                } else {
                    seen.push((*key, *action));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn parses_and_prints_keys() {
        for (text, shown) in [
            ("q", "q"),
            ("G", "G"),
            ("ctrl-c", "Ctrl-c"),
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

    #[test]
    fn matches_events_regardless_of_shift_reporting() {
        let mut map = BTreeMap::new();
        map.insert(Action::Last, vec![KeySpec::parse("G").unwrap_or_else(|e| panic!("{e}"))]);
        map.insert(Action::Quit, vec![KeySpec::parse("ctrl-c").unwrap_or_else(|e| panic!("{e}"))]);
        let km = Keymap::new(map);
        assert_eq!(km.action_for(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)), Some(Action::Last));
        assert_eq!(km.action_for(&ev(KeyCode::Char('G'), KeyModifiers::NONE)), Some(Action::Last));
        assert_eq!(km.action_for(&ev(KeyCode::Char('g'), KeyModifiers::NONE)), None);
        assert_eq!(km.action_for(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(km.action_for(&ev(KeyCode::Char('c'), KeyModifiers::NONE)), None);
    }
}
