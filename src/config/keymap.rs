//! The keymap: action → keys after the user's overrides were laid over the defaults. A key is
//! looked up among the actions of the view on top (each view's list is in `app::view`), so one
//! key can mean different things in different views.

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;

use super::actions::{Action, Hint};
use super::keys::KeySpec;

/// Action → keys, after the user's overrides were laid over the defaults.
#[derive(Debug, Clone, Default)]
pub struct Keymap {
    bindings: BTreeMap<Action, Vec<KeySpec>>,
}

impl Keymap {
    pub fn new(bindings: BTreeMap<Action, Vec<KeySpec>>) -> Keymap {
        Keymap { bindings }
    }

    /// The action among `allowed` (a view's list, in its order) that `ev` triggers, if any.
    pub fn action_among(&self, allowed: impl IntoIterator<Item = Action>, ev: &KeyEvent) -> Option<Action> {
        let key = KeySpec::from_event(ev);
        allowed.into_iter().find(|a| self.keys(*a).contains(&key))
    }

    pub fn keys(&self, action: Action) -> &[KeySpec] {
        self.bindings.get(&action).map(Vec::as_slice).unwrap_or(&[])
    }

    /// "q/Ctrl-C" for the help screen.
    pub fn label(&self, action: Action) -> String {
        let keys = self.keys(action);
        if keys.is_empty() {
            return "unbound".to_string();
        }
        keys.iter().map(ToString::to_string).collect::<Vec<_>>().join("/")
    }

    /// The first key of each of the hint's actions, "j/k", or None when one is unbound.
    pub fn hint_keys(&self, hint: &Hint) -> Option<String> {
        let keys: Option<Vec<String>> =
            hint.actions.iter().map(|a| self.keys(*a).first().map(ToString::to_string)).collect();
        keys.map(|k| k.join("/"))
    }

    /// "j/k scroll · / search · Esc back": the hints of a view, as the keymap binds them.
    pub fn hint_line(&self, hints: &[Hint]) -> String {
        hints
            .iter()
            .filter_map(|h| Some(format!("{} {}", self.hint_keys(h)?, h.label)))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// As many of `hints` as fit in `width` columns, whole and in order: a hint cut in half
    /// reads as something else.
    pub fn hint_line_within(&self, hints: &[Hint], width: usize) -> String {
        let mut line = String::new();
        for h in hints {
            let Some(keys) = self.hint_keys(h) else { continue };
            let next = if line.is_empty() {
                format!("{keys} {}", h.label)
            } else {
                format!("{line} · {keys} {}", h.label)
            };
            if next.chars().count() > width {
                break;
            }
            line = next;
        }
        line
    }

    /// Two actions on one key in the same view would make one of them unreachable: the pairs,
    /// given each view's actions.
    pub fn conflicts_among(&self, views: &[Vec<Action>]) -> Vec<(KeySpec, Action, Action)> {
        let mut out = Vec::new();
        for view in views {
            let mut seen: Vec<(KeySpec, Action)> = Vec::new();
            for action in view {
                for key in self.keys(*action) {
                    match seen.iter().find(|(k, _)| k == key) {
                        Some((_, other)) if !out.contains(&(*key, *other, *action)) => {
                            out.push((*key, *other, *action))
                        }
                        Some(_) => {}
                        None => seen.push((*key, *action)),
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};

    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn spec(s: &str) -> KeySpec {
        KeySpec::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn matches_events_regardless_of_shift_reporting() {
        let mut map = BTreeMap::new();
        map.insert(Action::Last, vec![spec("G")]);
        map.insert(Action::Quit, vec![spec("ctrl-c")]);
        let km = Keymap::new(map);
        assert_eq!(
            km.action_among(Action::ALL, &ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Last)
        );
        assert_eq!(
            km.action_among(Action::ALL, &ev(KeyCode::Char('G'), KeyModifiers::NONE)),
            Some(Action::Last)
        );
        assert_eq!(km.action_among(Action::ALL, &ev(KeyCode::Char('g'), KeyModifiers::NONE)), None);
        assert_eq!(
            km.action_among(Action::ALL, &ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(km.action_among(Action::ALL, &ev(KeyCode::Char('c'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn hints_within_a_width_are_whole_and_in_order() {
        let mut map = BTreeMap::new();
        map.insert(Action::GpuUsers, vec![spec("enter")]);
        map.insert(Action::GpuDetail, vec![spec("i")]);
        let km = Keymap::new(map);
        let hints = [
            Hint::new(&[Action::GpuUsers], "containers"),
            Hint::new(&[Action::NextIdle], "unbound, left out"),
            Hint::new(&[Action::GpuDetail], "health"),
        ];
        let all = km.hint_line(&hints);
        assert_eq!(km.hint_line_within(&hints, 100), all);
        assert_eq!(km.hint_line_within(&hints, all.chars().count() - 1), km.hint_line(&hints[..1]));
        assert_eq!(km.hint_line_within(&hints, 3), "");
    }

    #[test]
    fn one_key_means_different_things_in_different_views() {
        let mut map = BTreeMap::new();
        map.insert(Action::NewContainer, vec![spec("n")]);
        map.insert(Action::OlderMatch, vec![spec("n")]);
        let km = Keymap::new(map);
        let n = ev(KeyCode::Char('n'), KeyModifiers::NONE);
        let (main, logs) =
            (vec![Action::NewContainer, Action::Quit], vec![Action::Search, Action::OlderMatch]);
        assert_eq!(km.action_among(main.clone(), &n), Some(Action::NewContainer));
        assert_eq!(km.action_among(logs.clone(), &n), Some(Action::OlderMatch));
        assert!(km.conflicts_among(&[main.clone(), logs.clone()]).is_empty());
        let mut map = BTreeMap::new();
        map.insert(Action::Search, vec![spec("n")]);
        map.insert(Action::OlderMatch, vec![spec("n")]);
        assert_eq!(
            Keymap::new(map).conflicts_among(&[main, logs]),
            vec![(spec("n"), Action::Search, Action::OlderMatch)]
        );
    }

    #[test]
    fn hints_follow_the_bindings() {
        let mut map = BTreeMap::new();
        map.insert(Action::Down, vec![spec("j"), spec("down")]);
        map.insert(Action::Up, vec![spec("k")]);
        map.insert(Action::Back, vec![spec("esc")]);
        let km = Keymap::new(map);
        let hints = [
            Hint { actions: &[Action::Down, Action::Up], label: "scroll" },
            Hint { actions: &[Action::Search], label: "search" },
            Hint { actions: &[Action::Back], label: "back" },
        ];
        assert_eq!(km.hint_line(&hints), "j/k scroll · Esc back");
    }
}
