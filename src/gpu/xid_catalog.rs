//! NVIDIA's XID codes and what each asks of the operator, from `assets/xid.toml` (its header
//! names the sources). Built into the binary and parsed once.

use std::sync::LazyLock;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// What the operator should do after an XID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    None,
    RestartApp,
    ResetGpu,
    RebootNode,
    Drain,
}

impl Action {
    /// Until this is done the GPU is unfit for new work.
    pub fn breaks_gpu(self) -> bool {
        matches!(self, Action::ResetGpu | Action::RebootNode | Action::Drain)
    }

    pub fn words(self) -> &'static str {
        match self {
            Action::None => "no GPU action (an application error)",
            Action::RestartApp => "restart the application",
            Action::ResetGpu => "reset the GPU",
            Action::RebootNode => "reboot the node",
            Action::Drain => "drain the node and report the hardware",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::RestartApp => "restart_app",
            Action::ResetGpu => "reset_gpu",
            Action::RebootNode => "reboot_node",
            Action::Drain => "drain",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Entry {
    pub code: u64,
    pub meaning: String,
    pub severity: Severity,
    pub action: Action,
}

#[derive(Deserialize)]
struct File {
    xid: Vec<Entry>,
}

static CATALOGUE: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    match toml::from_str::<File>(include_str!("../../assets/xid.toml")) {
        Ok(f) => f.xid,
        // A unit test parses the file, so a broken catalogue never ships; should it, XIDs are
        // still shown, by code.
        Err(e) => {
            tracing::error!(error = %e, "assets/xid.toml does not parse");
            Vec::new()
        }
    }
});

/// The catalogue's entry for `code`; None for a code it does not list.
pub fn lookup(code: u64) -> Option<&'static Entry> {
    CATALOGUE.iter().find(|e| e.code == code)
}

/// Whether XID `code` leaves the GPU unfit for new work until an operator acts.
pub fn breaks_gpu(code: u64) -> bool {
    lookup(code).is_some_and(|e| e.action.breaks_gpu())
}

/// Every catalogued code that leaves a GPU unfit for new work, ascending.
pub fn breaking_codes() -> impl Iterator<Item = u64> {
    CATALOGUE.iter().filter(|e| e.action.breaks_gpu()).map(|e| e.code)
}

/// " (meaning; what to do)" for an XID, or "" for a code the catalogue does not list.
pub fn describe(code: u64) -> String {
    lookup(code).map_or_else(String::new, |e| format!(" ({}; {})", e.meaning, e.action.words()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_parses_and_names_the_codes_operators_meet() {
        let file: File =
            toml::from_str(include_str!("../../assets/xid.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert!(file.xid.len() >= 20);
        let action = |c| lookup(c).map(|e| e.action);
        assert_eq!(action(13), Some(Action::None));
        assert_eq!(action(31), Some(Action::None));
        assert_eq!(action(48), Some(Action::ResetGpu));
        assert_eq!(action(64), Some(Action::Drain));
        assert_eq!(action(79), Some(Action::RebootNode));
        for code in [63, 92, 94, 95, 119, 120] {
            assert!(lookup(code).is_some(), "{code}");
        }
        assert!(breaks_gpu(79) && breaks_gpu(95) && !breaks_gpu(13) && !breaks_gpu(94) && !breaks_gpu(1));
        assert_eq!(describe(79), " (GPU has fallen off the bus; reboot the node)");
        assert_eq!(describe(1), "");
    }
}
