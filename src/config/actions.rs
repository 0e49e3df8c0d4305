//! What keys can be bound to: the action names `[keys]` takes. Which views an action works in,
//! and what it does there, each view says in its own key list (`app::view`).

use serde::Deserialize;

/// Everything a key can be bound to. An action exists here only once some view's key list has it.
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
    Back,
    Confirm,
    Cancel,
    Search,
    OlderMatch,
    NewerMatch,
    Preview,
    NamedVolumes,
    Images,
    Refresh,
    NextField,
    PrevField,
    Submit,
    ClearField,
    ChoiceNext,
    ChoicePrev,
    Wrap,
    Left,
    Right,
    Save,
    SaveAll,
    Mouse,
    Shell,
    ShowEnv,
    GpuDetail,
    NextIdle,
    AckAlerts,
    /// Every alert of the session, from anywhere.
    Alerts,
    Processes,
    /// Who holds what: GPU use per owner.
    Users,
    /// How the GPUs reach each other: NVLink and PCIe.
    Topology,
    SigTerm,
    SigKill,
    SigInt,
    /// The fleet: open the node under the cursor.
    Open,
    /// The fleet: the open node's full dashboard.
    Dashboard,
    /// The log view: copy the notebook's ssh tunnel command (OSC 52).
    CopyTunnel,
}

impl Action {
    pub const ALL: [Action; 58] = [
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
        Action::Back,
        Action::Confirm,
        Action::Cancel,
        Action::Search,
        Action::OlderMatch,
        Action::NewerMatch,
        Action::Preview,
        Action::NamedVolumes,
        Action::Images,
        Action::Refresh,
        Action::NextField,
        Action::PrevField,
        Action::Submit,
        Action::ClearField,
        Action::ChoiceNext,
        Action::ChoicePrev,
        Action::Wrap,
        Action::Left,
        Action::Right,
        Action::Save,
        Action::SaveAll,
        Action::Mouse,
        Action::Shell,
        Action::ShowEnv,
        Action::GpuDetail,
        Action::NextIdle,
        Action::AckAlerts,
        Action::Alerts,
        Action::Processes,
        Action::Users,
        Action::Topology,
        Action::SigTerm,
        Action::SigKill,
        Action::SigInt,
        Action::Open,
        Action::Dashboard,
        Action::CopyTunnel,
    ];

    /// Its name in `[keys]`, as the user writes it ("gpu_users").
    pub fn config_name(self) -> String {
        let debug = format!("{self:?}");
        let mut out = String::with_capacity(debug.len() + 4);
        for (i, c) in debug.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    /// Actions that change something on the node; refused in read-only mode.
    pub fn mutates(self) -> bool {
        matches!(
            self,
            Action::NewContainer
                | Action::Stop
                | Action::Restart
                | Action::Remove
                | Action::Kill
                | Action::Shell
                | Action::SigTerm
                | Action::SigKill
                | Action::SigInt
        )
    }
}

/// One entry of a view's key hints: the first key of each action, then the label ("j/k scroll").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    pub actions: &'static [Action],
    pub label: &'static str,
}

impl Hint {
    pub const fn new(actions: &'static [Action], label: &'static str) -> Hint {
        Hint { actions, label }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_are_the_snake_case_ones_serde_reads() {
        for a in Action::ALL {
            let parsed: Result<Action, _> =
                serde_json::from_value(serde_json::Value::String(a.config_name()));
            assert_eq!(parsed.ok(), Some(a), "{}", a.config_name());
        }
        assert_eq!(Action::GpuUsers.config_name(), "gpu_users");
    }

    #[test]
    fn all_is_complete() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            assert!(seen.insert(a), "{a:?} twice");
        }
    }
}
