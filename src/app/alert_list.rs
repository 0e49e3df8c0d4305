//! The alert list (`A`, from anywhere): every alert of the session, those whose condition still
//! holds first, each with when it started, when it ended, its GPU and its container. The list
//! itself is `alerts::AlertState::session`; this view only scrolls it.

use super::view::ViewKey;
use super::{AppState, Mode, Outcome};
use crate::config::Action;

pub const KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Down, "move down").hint(&[Action::Down, Action::Up], "move"),
    ViewKey::new(Action::Up, "move up"),
    ViewKey::new(Action::PageDown, "page down"),
    ViewKey::new(Action::PageUp, "page up"),
    ViewKey::new(Action::First, "first alert"),
    ViewKey::new(Action::Last, "last alert"),
    ViewKey::new(Action::AckAlerts, "mark every alert seen (clears the header)")
        .hint(&[Action::AckAlerts], "seen"),
    ViewKey::new(Action::Alerts, "back to the previous screen"),
    ViewKey::new(Action::Back, "back to the previous screen").hint(&[Action::Back], "back"),
];

/// What the other views say `A` does there.
pub const FROM_ANYWHERE: &str = "every alert of the session: active first, with times, GPU and container";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertsView {
    pub selected: usize,
}

impl AlertsView {
    pub fn handle_key(&mut self, action: Option<Action>, count: usize, page: usize) -> Outcome {
        let last = count.saturating_sub(1);
        let step = page.max(1);
        match action {
            Some(Action::Down) => self.selected = (self.selected + 1).min(last),
            Some(Action::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Action::PageDown) => self.selected = (self.selected + step).min(last),
            Some(Action::PageUp) => self.selected = self.selected.saturating_sub(step),
            Some(Action::First) => self.selected = 0,
            Some(Action::Last) => self.selected = last,
            Some(Action::Back | Action::Alerts) => return Outcome::close(),
            _ => {}
        }
        Outcome::stay()
    }
}

/// `A` from any view: the list opens over it, and `Esc` returns there.
pub fn open() -> Outcome {
    Outcome::push(Mode::Alerts(AlertsView::default()))
}

/// Whether `A` pressed in the view on top opens the list: not while a text field takes keys.
pub fn reachable(app: &AppState) -> bool {
    match &app.mode {
        Mode::Normal
        | Mode::Detail(_)
        | Mode::Disk(_)
        | Mode::GpuDetail(_)
        | Mode::Users(_)
        | Mode::Topology(_) => true,
        Mode::Logs(v) => !v.searching,
        Mode::Processes(v) => !v.filtering,
        Mode::Filter
        | Mode::Help
        | Mode::Confirm(_)
        | Mode::Launch(_)
        | Mode::Launching(_)
        | Mode::Alerts(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Next;

    #[test]
    fn moves_within_the_list_and_closes_on_back_or_its_own_key() {
        let mut v = AlertsView::default();
        v.handle_key(Some(Action::Last), 5, 3);
        assert_eq!(v.selected, 4);
        v.handle_key(Some(Action::Down), 5, 3);
        assert_eq!(v.selected, 4);
        v.handle_key(Some(Action::PageUp), 5, 3);
        assert_eq!(v.selected, 1);
        assert!(matches!(v.handle_key(Some(Action::Back), 5, 3).next, Next::Close));
        assert!(matches!(v.handle_key(Some(Action::Alerts), 5, 3).next, Next::Close));
    }
}
