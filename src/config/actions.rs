//! What keys can be bound to, and in which views each action works. Views declare the hints
//! they show as `Hint`s; the footer, the dialogs and the help screen render them through the
//! keymap, so a remapped key shows as remapped everywhere.

use serde::Deserialize;

/// A view that takes keys. One key may mean different things in different views (`n` starts a
/// launch on the main screen and jumps to the next match in the log view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Main,
    Help,
    /// A yes/no question: stop, remove, prune, remove an image.
    Confirm,
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
}

impl Scope {
    /// In the order the help screen lists them.
    pub const ALL: [Scope; 11] = [
        Scope::Main,
        Scope::Detail,
        Scope::GpuDetail,
        Scope::Processes,
        Scope::Logs,
        Scope::Disk,
        Scope::Images,
        Scope::Launch,
        Scope::Launching,
        Scope::Confirm,
        Scope::Help,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Scope::Main => "Main screen",
            Scope::Help => "This help",
            Scope::Confirm => "Questions (stop, remove, prune, signal)",
            Scope::Launch => "Launch form",
            Scope::Launching => "While launching",
            Scope::Logs => "Log view",
            Scope::Detail => "Container details",
            Scope::Disk => "Disk view",
            Scope::Images => "Image list",
            Scope::GpuDetail => "GPU detail view",
            Scope::Processes => "GPU processes",
        }
    }
}

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
    Processes,
    SigTerm,
    SigKill,
    SigInt,
}

impl Action {
    pub const ALL: [Action; 52] = [
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
        Action::Processes,
        Action::SigTerm,
        Action::SigKill,
        Action::SigInt,
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

    /// The views this action works in.
    pub fn scopes(self) -> &'static [Scope] {
        use Scope as S;
        match self {
            // Only the main screen quits; `q` elsewhere goes back (Ctrl-C always quits).
            Action::Quit => &[S::Main],
            Action::Up | Action::Down => {
                &[S::Main, S::Help, S::Detail, S::Logs, S::Disk, S::Images, S::GpuDetail, S::Processes]
            }
            Action::PageUp | Action::PageDown => &[S::Main, S::Detail, S::Logs, S::Images, S::Processes],
            Action::First | Action::Last => &[S::Main, S::Detail, S::Logs, S::Disk, S::Images, S::Processes],
            Action::Remove => &[S::Main, S::Images],
            Action::Back => &[S::Detail, S::Logs, S::Disk, S::Images, S::GpuDetail, S::Processes],
            Action::Logs => &[S::Main, S::Detail],
            Action::ShowEnv => &[S::Detail],
            Action::Filter | Action::SortNext | Action::SortReverse => &[S::Main, S::Processes],
            Action::SigTerm | Action::SigKill | Action::SigInt => &[S::Processes],
            Action::Confirm => &[S::Confirm],
            Action::Cancel => &[S::Launch, S::Launching],
            Action::Search
            | Action::OlderMatch
            | Action::NewerMatch
            | Action::Wrap
            | Action::Save
            | Action::SaveAll
            | Action::Left
            | Action::Right => &[S::Logs],
            Action::Preview | Action::NamedVolumes | Action::Images | Action::Refresh => &[S::Disk],
            Action::NextField
            | Action::PrevField
            | Action::Submit
            | Action::ClearField
            | Action::ChoiceNext
            | Action::ChoicePrev => &[S::Launch],
            Action::Help
            | Action::NextPanel
            | Action::PrevPanel
            | Action::NewContainer
            | Action::Stop
            | Action::Restart
            | Action::Kill
            | Action::DiskUsage
            | Action::Mouse
            | Action::Shell
            | Action::NextIdle
            | Action::Processes
            | Action::GpuUsers => &[S::Main],
            Action::GpuDetail => &[S::Main, S::GpuDetail],
            Action::AckAlerts => &[S::Main, S::GpuDetail],
        }
    }

    pub fn works_in(self, scope: Scope) -> bool {
        self.scopes().contains(&scope)
    }

    /// What the action does on the main screen; `describe` says it for any view.
    pub fn description(self) -> &'static str {
        self.describe(Scope::Main)
    }

    /// What the action does in `scope`, for the help screen.
    pub fn describe(self, scope: Scope) -> &'static str {
        use Scope as S;
        match (self, scope) {
            (Action::Quit, _) => "quit",
            (Action::Help, _) => "show / hide this help",
            (Action::Up, S::Main) => "move up",
            (Action::Down, S::Main) => "move down",
            (Action::Up, S::Help | S::Logs | S::Detail | S::GpuDetail) => "scroll up",
            (Action::Down, S::Help | S::Logs | S::Detail | S::GpuDetail) => "scroll down",
            (Action::Up, _) => "previous row",
            (Action::Down, _) => "next row",
            (Action::PageUp, _) => "page up",
            (Action::PageDown, _) => "page down",
            (Action::First, S::Logs) => "oldest line kept",
            (Action::Last, S::Logs) => "newest line, and follow new output",
            (Action::First, S::Detail) => "top of the text",
            (Action::Last, S::Detail) => "end of the text",
            (Action::First, _) => "first row",
            (Action::Last, _) => "last row",
            (Action::NextPanel, _) => "next panel",
            (Action::PrevPanel, _) => "previous panel",
            (Action::Filter, S::Processes) => {
                "filter by container, user, command or PID (Enter keeps, Esc clears)"
            }
            (Action::Filter, _) => "filter containers by name or image (Enter keeps, Esc clears)",
            (Action::SortNext, _) => "sort by the next column",
            (Action::SortReverse, _) => "reverse the sort order",
            (Action::NewContainer, _) => "launch a new container (form)",
            (Action::Stop, _) => "stop the selected container",
            (Action::Restart, _) => "restart the selected container",
            (Action::Remove, S::Images) => "remove the selected image (asks first)",
            (Action::Remove, _) => "remove the selected container",
            (Action::Kill, _) => "kill the selected container",
            (Action::Logs, S::Detail) => "follow this container's logs",
            (Action::Logs, _) => "follow the selected container's logs",
            (Action::DiskUsage, _) => "disk space: what Docker holds, prune it, images",
            (Action::GpuUsers, _) => {
                "in the GPU panel: list only the containers on that GPU (Esc clears); on a container: \
                 its details (charts, GPUs given and used, inspect)"
            }
            (Action::ShowEnv, _) => "show / hide the values of the environment variables",
            (Action::Back, _) => "back to the previous screen",
            (Action::Confirm, _) => "yes, do it (any other key cancels)",
            (Action::Cancel, S::Launching) => "cancel the launch",
            (Action::Cancel, _) => "close the form without launching",
            (Action::Search, _) => "search (Enter finds, Esc clears)",
            (Action::OlderMatch, _) => "older match",
            (Action::NewerMatch, _) => "newer match",
            (Action::Preview, _) => "preview what a prune of the row removes, then y prunes",
            (Action::NamedVolumes, _) => "include / keep named volumes in the volume prune",
            (Action::Images, _) => "list images by size",
            (Action::Refresh, _) => "ask the engine again",
            (Action::NextField, _) => "next field",
            (Action::PrevField, _) => "previous field",
            (Action::Submit, _) => "check the form and launch",
            (Action::ClearField, _) => "clear the field",
            (Action::ChoiceNext, _) => "next choice (preset, --rm, IPC, network)",
            (Action::ChoicePrev, _) => "previous choice",
            (Action::Wrap, _) => "wrap long lines, or cut them at the edge",
            (Action::Shell, _) => "a shell in the selected container (exit returns here)",
            (Action::GpuDetail, S::GpuDetail) => "next GPU",
            (Action::GpuDetail, _) => "the selected GPU's health: ECC, XIDs, throttling, PCIe, clocks, MIG",
            (Action::NextIdle, _) => "jump to the next container holding GPU memory idle",
            (Action::AckAlerts, _) => "mark the alerts in the header seen",
            (Action::Mouse, _) => "mouse on / off (off: the terminal selects text)",
            (Action::Save, _) => "save the lines kept here to a file in the current directory",
            (Action::SaveAll, _) => "save the container's whole log, from the engine, to a file",
            (Action::Left, _) => "scroll cut lines left",
            (Action::Right, _) => "scroll cut lines right",
            (Action::Processes, _) => {
                "GPU processes: every process on the GPUs (in the GPU panel: that GPU's)"
            }
            (Action::SigTerm, _) => "send SIGTERM to the selected process (asks first)",
            (Action::SigKill, _) => "send SIGKILL to the selected process (asks first)",
            (Action::SigInt, _) => "send SIGINT to the selected process (asks first)",
        }
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
    fn every_action_works_somewhere_and_all_is_complete() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            assert!(!a.scopes().is_empty(), "{a:?}");
            assert!(seen.insert(a), "{a:?} twice");
        }
    }
}
