//! The fleet's keys, in the same shape as the dashboard's views: one `ViewKey` list per view
//! (the node list, an open node, the help), resolved through the user's keymap.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{FleetCommand, FleetState};
use crate::app::text_input::{Edit, TextInput};
use crate::app::view::ViewKey;
use crate::config::Action;

pub const LIST_KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Open, "open the node: its GPUs and containers").hint(&[Action::Open], "open"),
    ViewKey::new(Action::SortNext, "cycle the sort: free GPUs, name, util, memory, power")
        .hint(&[Action::SortNext], "sort"),
    ViewKey::new(Action::Filter, "filter by node, container or owner name").hint(&[Action::Filter], "filter"),
    ViewKey::new(Action::Help, "show / hide this help").hint(&[Action::Help], "help"),
    ViewKey::new(Action::Quit, "quit").hint(&[Action::Quit], "quit"),
    // After quit: a narrow footer drops it first.
    ViewKey::new(Action::Users, "who holds what across the fleet: one row per owner")
        .hint(&[Action::Users], "users"),
    ViewKey::new(Action::Down, "next node"),
    ViewKey::new(Action::Up, "previous node"),
    ViewKey::new(Action::First, "first node"),
    ViewKey::new(Action::Last, "last node"),
    ViewKey::new(Action::Cancel, "clear the filter"),
];

pub const NODE_KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Dashboard, "the node's full dashboard (a Docker context or [[nodes]] entry)")
        .hint(&[Action::Dashboard], "dashboard"),
    ViewKey::new(Action::Cancel, "back to the node list").hint(&[Action::Cancel], "back"),
    ViewKey::new(Action::Help, "show / hide this help").hint(&[Action::Help], "help"),
    ViewKey::new(Action::Quit, "quit").hint(&[Action::Quit], "quit"),
    ViewKey::new(Action::SortNext, "cycle the node list's sort"),
];

/// The fleet's Users view: owners summed over the nodes.
pub const USERS_KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Cancel, "back to the node list").hint(&[Action::Cancel], "back"),
    ViewKey::new(Action::Help, "show / hide this help").hint(&[Action::Help], "help"),
    ViewKey::new(Action::Quit, "quit").hint(&[Action::Quit], "quit"),
];

/// The help closes on any key but quit, which still quits.
pub const HELP_KEYS: &[ViewKey] = &[ViewKey::new(Action::Quit, "quit")];

/// Every fleet view's list, for the keymap's conflict check and the help.
pub const ALL: [(&str, &[ViewKey]); 4] =
    [("Node list", LIST_KEYS), ("An open node", NODE_KEYS), ("Users", USERS_KEYS), ("This help", HELP_KEYS)];

impl FleetState {
    /// The key list of the fleet view on top.
    pub fn keys(&self) -> &'static [ViewKey] {
        if self.help {
            HELP_KEYS
        } else if self.users_open {
            USERS_KEYS
        } else if self.open.is_some() {
            NODE_KEYS
        } else {
            LIST_KEYS
        }
    }

    pub(super) fn key(&mut self, k: KeyEvent) -> Vec<FleetCommand> {
        // Ctrl-C always leaves, whatever the keymap.
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            return vec![FleetCommand::Quit];
        }
        if self.filtering {
            match TextInput(&mut self.filter).key(&k) {
                Edit::Enter => self.filtering = false,
                Edit::Esc => {
                    self.filtering = false;
                    self.filter.clear();
                }
                Edit::Changed | Edit::Ignored => {}
            }
            self.selected = 0;
            self.remember();
            return Vec::new();
        }
        let action = self.keymap.action_among(self.keys().iter().map(|v| v.action), &k);
        if self.help {
            if action == Some(Action::Quit) {
                return vec![FleetCommand::Quit];
            }
            self.help = false;
            return Vec::new();
        }
        let len = self.visible().len();
        let Some(action) = action else { return Vec::new() };
        match action {
            Action::Quit => return vec![FleetCommand::Quit],
            Action::Help => self.help = true,
            Action::Cancel if self.users_open => {
                self.users_open = false;
                self.users = None;
                return vec![FleetCommand::Users(false)];
            }
            Action::Users => {
                self.users_open = true;
                return vec![FleetCommand::Users(true)];
            }
            Action::Cancel if self.open.is_some() => {
                self.open = None;
                self.detail = None;
                return vec![FleetCommand::Focus(None)];
            }
            Action::Cancel => {
                self.filter.clear();
                self.follow();
            }
            Action::Filter => self.filtering = true,
            Action::SortNext => {
                self.sort = self.sort.next();
                self.follow();
            }
            Action::Down => {
                self.selected = (self.selected + 1).min(len.saturating_sub(1));
                self.remember();
            }
            Action::Up => {
                self.selected = self.selected.saturating_sub(1);
                self.remember();
            }
            Action::First => {
                self.selected = 0;
                self.remember();
            }
            Action::Last => {
                self.selected = len.saturating_sub(1);
                self.remember();
            }
            // On an open node: its full dashboard, with actions, on its own engine.
            Action::Dashboard => {
                self.notice = None;
                return self.open.clone().map(FleetCommand::Dashboard).into_iter().collect();
            }
            Action::Open => {
                if let Some(host) = self.selected_node().map(|n| n.hostname.clone()) {
                    self.open = Some(host.clone());
                    self.detail = None;
                    return vec![FleetCommand::Focus(Some(host))];
                }
            }
            // The list's keymap gives no other action here.
            _ => {}
        }
        Vec::new()
    }
}
