//! The topology view (`t`): how the node's GPUs reach each other, as `nvidia-smi topo -m`
//! shows it. The matrix itself is `gpu::topology`'s; this view only scrolls.

use super::view::ViewKey;
use super::{AppState, Level, Mode, Outcome};
use crate::config::Action;

pub const KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Down, "scroll down").hint(&[Action::Down, Action::Up], "scroll"),
    ViewKey::new(Action::Up, "scroll up"),
    ViewKey::new(Action::Back, "back to the previous screen").hint(&[Action::Back], "back"),
    ViewKey::new(Action::Alerts, super::alert_list::FROM_ANYWHERE),
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopologyView {
    pub scroll: u16,
}

impl TopologyView {
    pub fn handle_key(&mut self, action: Option<Action>) -> Outcome {
        match action {
            Some(Action::Down) => self.scroll = self.scroll.saturating_add(1),
            Some(Action::Up) => self.scroll = self.scroll.saturating_sub(1),
            Some(Action::Back) => return Outcome::close(),
            _ => {}
        }
        Outcome::stay()
    }
}

/// `t`: the topology of the node's GPUs; a status line where there are none.
pub fn open(app: &mut AppState) {
    if app.gpu.count() == 0 {
        app.set_status(Level::Info, "no GPU topology to show: NVML reports no GPUs (or is not loaded)");
        return;
    }
    app.mode = Mode::Topology(TopologyView::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolls_within_bounds() {
        let mut v = TopologyView::default();
        v.handle_key(Some(Action::Down));
        v.handle_key(Some(Action::Down));
        v.handle_key(Some(Action::Up));
        assert_eq!(v.scroll, 1);
    }
}
