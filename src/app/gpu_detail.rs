//! The GPU detail view (`i`): one GPU's health, clocks, PCIe link, MIG instances and XIDs, and
//! the keys that reach it from the main screen (next idle holder, marking alerts seen).

use super::view::ViewKey;
use super::{AppState, Level, Mode, Outcome, Panel};
use crate::config::Action;

/// The view's key hints, in its title.
pub const KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Down, "scroll down").hint(&[Action::Down, Action::Up], "scroll"),
    ViewKey::new(Action::Up, "scroll up"),
    ViewKey::new(Action::GpuDetail, "next GPU").hint(&[Action::GpuDetail], "next GPU"),
    ViewKey::new(Action::AckAlerts, "mark the alerts in the header seen")
        .hint(&[Action::AckAlerts], "alerts seen"),
    ViewKey::new(Action::Alerts, super::alert_list::FROM_ANYWHERE),
    ViewKey::new(Action::Back, "back to the previous screen").hint(&[Action::Back], "back"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuDetailView {
    /// The GPU by position in the panel (its NVML index may differ after a GPU is lost).
    pub position: usize,
    pub scroll: u16,
}

impl GpuDetailView {
    pub fn handle_key(&mut self, action: Option<Action>, gpus: usize) -> Outcome {
        match action {
            Some(Action::Down) => self.scroll = self.scroll.saturating_add(1),
            Some(Action::Up) => self.scroll = self.scroll.saturating_sub(1),
            Some(Action::GpuDetail) if gpus > 0 => {
                self.position = (self.position + 1) % gpus;
                self.scroll = 0;
            }
            Some(Action::Back) => return Outcome::close(),
            _ => {}
        }
        Outcome::stay()
    }
}

/// `i`: the detail view of the GPU under the GPU panel's cursor.
pub fn open(app: &mut AppState) {
    if app.gpu.count() == 0 {
        app.set_status(Level::Info, "no GPU to show: NVML reports none (or is not loaded)");
        return;
    }
    app.mode = Mode::GpuDetail(GpuDetailView { position: app.gpu.selected, scroll: 0 });
}

/// `I`: the cursor to the next container (after the selected one, wrapping) that holds GPU
/// memory at 0 % SM for at least `idle_gpu_after`.
pub fn next_idle(app: &mut AppState) {
    let rows: Vec<(crate::docker::ContainerId, String)> =
        app.table.rows().map(|c| (c.id.clone(), c.name.clone())).collect();
    let start = app.table.selected_index().map_or(0, |s| s + 1);
    let found = (0..rows.len())
        .map(|k| (start + k) % rows.len().max(1))
        .find_map(|i| app.gpu.container_idle_text(&rows[i].0).map(|text| (i, text)));
    match found {
        Some((i, text)) => {
            app.focus = Panel::Containers;
            app.table.select(i);
            let name = &rows[i].1;
            app.set_status(Level::Info, format!("{name} holds GPU memory at 0% SM for {text}"));
        }
        None => {
            let after = humantime::format_duration(app.idle_after);
            let text = format!("no container shown holds GPU memory idle for {after} (idle_gpu_after)");
            app.set_status(Level::Info, text);
        }
    }
}

/// `!`: the header stops showing the alerts.
pub fn ack_alerts(app: &mut AppState) {
    if app.alerts.ack() {
        let list = app.keymap.label(Action::Alerts);
        app.set_status(Level::Info, format!("alerts marked seen ({list} lists every alert of the session)"));
    } else {
        app.set_status(Level::Info, "no new alerts");
    }
}
