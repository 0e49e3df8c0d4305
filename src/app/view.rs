//! The view seam: every view declares its keys in one list of `ViewKey`s. The keymap resolves a
//! key against the list of the view on top, and the footer, the view's own hint line, the
//! dialogs and the help screen all draw from that same list, so a hint can never name a key the
//! view ignores, nor the help a key that does nothing there.

use super::Mode;
use crate::config::{Action, Hint, KeySpec, Keymap};

/// One key of a view: the action, what it does here (help), and its footer hint, if shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewKey {
    pub action: Action,
    /// What the action does in this view, for the help screen.
    pub help: &'static str,
    /// The hint that shows it ("j/k scroll"); None: listed in the help only.
    pub hint: Option<Hint>,
}

impl ViewKey {
    pub const fn new(action: Action, help: &'static str) -> ViewKey {
        ViewKey { action, help, hint: None }
    }

    /// Shown in the view's hints as `actions` (this one among them) with `label`.
    pub const fn hint(self, actions: &'static [Action], label: &'static str) -> ViewKey {
        ViewKey { hint: Some(Hint::new(actions, label)), ..self }
    }

    /// Whether the key is offered: read-only mode refuses, so it never offers, what would change
    /// the node.
    pub fn enabled(&self, read_only: bool) -> bool {
        !(read_only && self.action.mutates())
    }
}

/// A view that takes keys. One key may mean different things in different views (`n` starts a
/// launch on the main screen and jumps to the next match in the log view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Main,
    Help,
    /// A yes/no question: stop, remove, remove an image, signal a process.
    Confirm,
    /// The prune preview: exactly what goes, scrollable, then `y`.
    Prune,
    Launch,
    /// A launch is pulling, creating, starting.
    Launching,
    Logs,
    /// One container in full (Enter on a container).
    Detail,
    Disk,
    Images,
    /// One GPU's health, clocks, MIG instances and XIDs.
    GpuDetail,
    /// The GPU processes of the host (`p`).
    Processes,
    /// GPU use per owner (`U`).
    Users,
    /// The GPU topology (`t`).
    Topology,
    /// Every alert of the session (`A`).
    Alerts,
}

impl Scope {
    /// In the order the help screen lists them.
    pub const ALL: [Scope; 15] = [
        Scope::Main,
        Scope::Detail,
        Scope::GpuDetail,
        Scope::Processes,
        Scope::Users,
        Scope::Topology,
        Scope::Alerts,
        Scope::Logs,
        Scope::Disk,
        Scope::Images,
        Scope::Launch,
        Scope::Launching,
        Scope::Confirm,
        Scope::Prune,
        Scope::Help,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Scope::Main => "Main screen",
            Scope::Help => "This help",
            Scope::Confirm => "Questions (stop, remove, signal)",
            Scope::Prune => "Prune preview",
            Scope::Launch => "Launch form",
            Scope::Launching => "While launching",
            Scope::Logs => "Log view",
            Scope::Detail => "Container details",
            Scope::Disk => "Disk view",
            Scope::Images => "Image list",
            Scope::GpuDetail => "GPU detail view",
            Scope::Processes => "GPU processes",
            Scope::Users => "Users (who holds what)",
            Scope::Topology => "GPU topology",
            Scope::Alerts => "Alert list",
        }
    }

    /// The view's one key list.
    pub fn keys(self) -> &'static [ViewKey] {
        match self {
            Scope::Main => super::input::KEYS,
            Scope::Help => super::help::KEYS,
            Scope::Confirm => super::actions::CONFIRM_KEYS,
            Scope::Prune => super::prune::KEYS,
            Scope::Launch => super::launch::KEYS,
            Scope::Launching => super::actions::LAUNCHING_KEYS,
            Scope::Logs => super::logs::KEYS,
            Scope::Detail => super::detail::KEYS,
            Scope::Disk => super::disk::ROW_KEYS,
            Scope::Images => super::disk::IMAGE_KEYS,
            Scope::GpuDetail => super::gpu_detail::KEYS,
            Scope::Processes => super::procs::KEYS,
            Scope::Users => super::users::KEYS,
            Scope::Topology => super::topology::KEYS,
            Scope::Alerts => super::alert_list::KEYS,
        }
    }

    /// What `action` does in this view, if it does anything here.
    pub fn help(self, action: Action) -> Option<&'static str> {
        self.keys().iter().find(|k| k.action == action).map(|k| k.help)
    }

    pub fn has(self, action: Action) -> bool {
        self.keys().iter().any(|k| k.action == action)
    }
}

impl Mode {
    /// The view on top, whose key list the keymap resolves keys against.
    pub fn scope(&self) -> Scope {
        match self {
            Mode::Normal | Mode::Filter => Scope::Main,
            Mode::Help => Scope::Help,
            Mode::Confirm(c) if matches!(c.shows, super::Shows::Prune { .. }) => Scope::Prune,
            Mode::Confirm(_) => Scope::Confirm,
            Mode::Launch(_) => Scope::Launch,
            Mode::Launching(_) => Scope::Launching,
            Mode::Logs(_) => Scope::Logs,
            Mode::Detail(_) => Scope::Detail,
            Mode::Disk(v) => v.scope(),
            Mode::GpuDetail(_) => Scope::GpuDetail,
            Mode::Processes(_) => Scope::Processes,
            Mode::Users(_) => Scope::Users,
            Mode::Topology(_) => Scope::Topology,
            Mode::Alerts(_) => Scope::Alerts,
        }
    }
}

/// The action `ev` triggers in `scope`, resolved against that view's list only.
pub fn action_in(keymap: &Keymap, scope: Scope, ev: &crossterm::event::KeyEvent) -> Option<Action> {
    keymap.action_among(scope.keys().iter().map(|k| k.action), ev)
}

/// The hints of `keys` that are offered, in list order.
pub fn hints(keys: &[ViewKey], read_only: bool) -> Vec<Hint> {
    keys.iter().filter(|k| k.enabled(read_only)).filter_map(|k| k.hint).collect()
}

/// Two actions on one key in the same view would make one of them unreachable.
pub fn conflicts(keymap: &Keymap) -> Vec<(KeySpec, Action, Action)> {
    let dashboard = Scope::ALL.iter().map(|s| s.keys());
    let fleet = super::fleet::keys::ALL.iter().map(|(_, keys)| *keys);
    let views: Vec<Vec<Action>> =
        dashboard.chain(fleet).map(|keys| keys.iter().map(|k| k.action).collect()).collect();
    keymap.conflicts_among(&views)
}

/// The keymap as `[keys]` left it, refused when one key means two things in one view.
pub fn check_keymap(keymap: &Keymap) -> Result<(), String> {
    match conflicts(keymap).first() {
        Some((key, a, b)) => Err(format!(
            "key {key} is bound to both {} and {} in the same view: [keys] takes one action per key",
            a.config_name(),
            b.config_name()
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn every_hint_shown_is_in_its_views_list_and_every_listed_action_is_bound() {
        let keymap = Config::default().keymap;
        let mut listed = std::collections::HashSet::new();
        for scope in Scope::ALL {
            let actions: Vec<Action> = scope.keys().iter().map(|k| k.action).collect();
            for key in scope.keys() {
                listed.insert(key.action);
                assert!(!keymap.keys(key.action).is_empty(), "{scope:?}: {:?} has no key", key.action);
                for a in key.hint.iter().flat_map(|h| h.actions) {
                    assert!(actions.contains(a), "{scope:?} hints {a:?}, which it does not handle");
                }
            }
        }
        let main: Vec<Action> = Scope::Main.keys().iter().map(|k| k.action).collect();
        for a in super::super::GPU_PANEL_HINTS.iter().flat_map(|h| h.actions) {
            assert!(main.contains(a), "the GPU panel hints {a:?}, which the main screen does not handle");
        }
        for (view, keys) in crate::app::fleet::keys::ALL {
            let actions: Vec<Action> = keys.iter().map(|k| k.action).collect();
            for key in keys {
                listed.insert(key.action);
                assert!(!keymap.keys(key.action).is_empty(), "fleet {view}: {:?} has no key", key.action);
                for a in key.hint.iter().flat_map(|h| h.actions) {
                    assert!(actions.contains(a), "fleet {view} hints {a:?}, which it does not handle");
                }
            }
        }
        for a in Action::ALL {
            assert!(listed.contains(&a), "{a:?} is in no view's list: it would do nothing");
        }
    }

    #[test]
    fn a_key_bound_twice_in_one_view_is_refused_but_across_views_is_fine() {
        let clash = Config::from_sources(Some("[keys]\nquit = [\"j\"]\n"), None);
        let clash = clash.unwrap_or_else(|e| panic!("{e}"));
        let err = check_keymap(&clash.keymap).err().unwrap_or_default();
        assert!(err.contains("key j is bound to both"), "{err}");
        let clash = Config::from_sources(Some("[keys]\ngpu_users = [\"q\"]\n"), None);
        let err = check_keymap(&clash.unwrap_or_else(|e| panic!("{e}")).keymap).err().unwrap_or_default();
        assert!(err.contains("quit") && err.contains("gpu_users") && !err.contains("GpuUsers"), "{err}");
        assert_eq!(check_keymap(&Config::default().keymap), Ok(()));
    }
}
