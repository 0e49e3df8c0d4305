//! The Users view (`U`): who holds what, one row per owner (host users included), from the one
//! per-owner sum in `gpu::owners`. `Enter` narrows the main table to that owner's containers.
//! The only cost while the view is closed is the session clock: one pass over the GPU
//! processes per sample, to add up GPU-hours held.

use std::collections::HashMap;

use super::view::ViewKey;
use super::{AppState, Level, Mode, Outcome};
use crate::config::Action;
use crate::docker::owner::Owner;
use crate::docker::{Container, ContainerId};
use crate::gpu::GpuSample;
use crate::gpu::owners::{OwnerUsage, by_owner};

pub const KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Down, "move down").hint(&[Action::Down, Action::Up], "move"),
    ViewKey::new(Action::Up, "move up"),
    ViewKey::new(Action::PageDown, "page down"),
    ViewKey::new(Action::PageUp, "page up"),
    ViewKey::new(Action::First, "first owner"),
    ViewKey::new(Action::Last, "last owner"),
    ViewKey::new(Action::GpuUsers, "the main screen with only this owner's containers (Esc there shows all)")
        .hint(&[Action::GpuUsers], "their containers"),
    ViewKey::new(Action::Alerts, super::alert_list::FROM_ANYWHERE),
    ViewKey::new(Action::Back, "back to the previous screen").hint(&[Action::Back], "back"),
];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsersView {
    pub selected: usize,
}

/// One row of the view: what the owner holds now, and GPU-hours held this session.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub usage: OwnerUsage,
    pub session_gpu_hours: f64,
}

/// GPU-seconds held per owner since gpudock started: each sample adds its interval for every
/// distinct GPU where the owner's processes hold memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionClock {
    held: HashMap<String, f64>,
    /// Owners of the running containers, as of the last listing (not rebuilt per sample).
    owners: HashMap<ContainerId, String>,
    last: Option<i64>,
    /// Unix seconds of the first sample counted.
    pub since: Option<i64>,
}

impl SessionClock {
    /// Counts the sample at `at`. A gap longer than `max_gap` (NVML down, the machine asleep)
    /// counts as `max_gap`: nobody saw what was held then.
    /// A new container listing: whose each running container is.
    pub fn containers(&mut self, list: &[Container]) {
        self.owners = list
            .iter()
            .filter(|c| c.state.is_running())
            .map(|c| (c.id.clone(), c.owner.key().to_string()))
            .collect();
    }

    pub fn tick(&mut self, gpus: &[GpuSample], at: i64, max_gap: i64) {
        let dt = self.last.map_or(0, |l| (at - l).clamp(0, max_gap.max(1)));
        self.last = Some(at);
        self.since.get_or_insert(at);
        if dt == 0 {
            return;
        }
        let mut held: Vec<(String, u32)> = Vec::new();
        for g in gpus {
            for p in g.processes.iter().filter(|p| p.memory_used.is_some_and(|m| m > 0)) {
                let owner = match &p.container_id {
                    // A stale process of a container that no longer runs holds nothing.
                    Some(id) => match self.owners.get(id) {
                        Some(o) => o.clone(),
                        None => continue,
                    },
                    // Named as `gpu::owners` names it, so the two add up to the same rows.
                    None => Owner::host_user(p.user.as_deref()).key().to_string(),
                };
                if !held.iter().any(|(o, i)| *o == owner && *i == g.index) {
                    held.push((owner, g.index));
                }
            }
        }
        for (owner, _) in held {
            *self.held.entry(owner).or_default() += dt as f64;
        }
    }

    pub fn gpu_hours(&self, owner: &str) -> f64 {
        self.held.get(owner).copied().unwrap_or(0.0) / 3600.0
    }
}

impl UsersView {
    pub fn handle_key(&mut self, action: Option<Action>, rows: &[UserRow], page: usize) -> Outcome {
        let last = rows.len().saturating_sub(1);
        let step = page.max(1);
        match action {
            Some(Action::Down) => self.selected = (self.selected + 1).min(last),
            Some(Action::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Action::PageDown) => self.selected = (self.selected + step).min(last),
            Some(Action::PageUp) => self.selected = self.selected.saturating_sub(step),
            Some(Action::First) => self.selected = 0,
            Some(Action::Last) => self.selected = last,
            Some(Action::Back) => return Outcome::close(),
            _ => {}
        }
        Outcome::stay()
    }
}

/// Every owner, most GPU memory first, with the session's GPU-hours.
pub fn rows(app: &AppState) -> Vec<UserRow> {
    let samples = app.gpu.snapshot.as_ref().map_or(&[][..], |s| s.gpus.as_slice());
    let idle = |gpu, p: &_| app.gpu.idle_held(gpu, p, app.idle_after);
    by_owner(samples, app.table.all(), idle)
        .into_iter()
        .map(|usage| {
            let session_gpu_hours = app.users_clock.gpu_hours(usage.owner.key());
            UserRow { usage, session_gpu_hours }
        })
        .collect()
}

/// `U`: the Users view.
pub fn open(app: &mut AppState) {
    app.mode = Mode::Users(UsersView::default());
}

/// `Enter` in the Users view: the main screen, narrowed to the owner under the cursor.
pub fn show_containers(app: &mut AppState, selected: usize) -> Outcome {
    let Some(row) = rows(app).into_iter().nth(selected) else { return Outcome::stay() };
    let owner = row.usage.owner;
    let shown = owner.shown().into_owned();
    app.with_table(|t, m| t.set_owner_filter(Some(owner.key().to_string()), m));
    app.table.select(0);
    app.back.clear();
    Outcome::open(Mode::Normal).say(Level::Info, format!("containers of {shown} (Esc shows all)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::ContainerState;
    use crate::docker::EngineEvent;
    use crate::docker::owner::OwnerSource;
    use crate::gpu::{GpuEvent, GpuProcess, GpuSnapshot};
    use crate::msg::Msg;
    use crossterm::event::KeyCode;

    fn running(id: &str, owner: &str) -> Container {
        Container {
            id: ContainerId::from(id),
            state: ContainerState::Running,
            owner: Owner::new(owner, OwnerSource::LaunchedBy).unwrap_or_default(),
            ..Default::default()
        }
    }

    fn gpu(index: u32, procs: &[(Option<&str>, Option<&str>, u64)]) -> GpuSample {
        let processes = procs
            .iter()
            .map(|(c, user, mem)| GpuProcess {
                container_id: c.map(ContainerId::from),
                user: user.map(str::to_string),
                memory_used: Some(*mem),
                ..Default::default()
            })
            .collect();
        GpuSample { index, processes, ..Default::default() }
    }

    #[test]
    fn the_session_clock_counts_distinct_gpus_per_owner_and_not_the_gaps() {
        let mut clock = SessionClock::default();
        clock.containers(&[running("a1", "alice"), running("a2", "alice")]);
        let gpus = vec![
            // Two of alice's containers on GPU 0 count once; GPU 1 once more.
            gpu(0, &[(Some("a1"), None, 10), (Some("a2"), None, 10), (None, Some("bob"), 5)]),
            gpu(1, &[(Some("a1"), None, 10), (None, Some("bob"), 0), (Some("gone"), None, 99)]),
        ];
        clock.tick(&gpus, 1000, 5);
        assert_eq!(clock.gpu_hours("alice"), 0.0, "the first sample only starts the clock");
        clock.tick(&gpus, 1360, 3600);
        assert_eq!(clock.gpu_hours("alice"), 2.0 * 360.0 / 3600.0);
        assert_eq!(clock.gpu_hours("bob"), 360.0 / 3600.0, "memory 0 holds nothing");
        assert_eq!(clock.gpu_hours(""), 0.0, "a container not running holds nothing");
        // NVML was away for an hour: only the allowed gap counts.
        clock.tick(&gpus, 5000, 5);
        assert_eq!(clock.gpu_hours("bob"), 365.0 / 3600.0);
        assert_eq!(clock.since, Some(1000));
    }

    fn named(id: &str, name: &str) -> Container {
        Container {
            id: format!("{id:0<64}").into(),
            name: name.into(),
            state: ContainerState::Running,
            ..Default::default()
        }
    }

    fn key(code: crossterm::event::KeyCode) -> crate::msg::Msg {
        crate::msg::Msg::Key(crossterm::event::KeyEvent::from(code))
    }

    #[test]
    fn the_users_view_lists_owners_and_enter_shows_their_containers() {
        let mut a = AppState::new(&crate::config::Config::default(), "unix:///var/run/docker.sock".into());
        let mut list = vec![named("a", "train"), named("b", "notebook")];
        list[0].owner = Owner::new("alice", OwnerSource::LaunchedBy).unwrap_or_default();
        list[1].owner = Owner::new("carol", OwnerSource::HomeMount).unwrap_or_default();
        a.update(Msg::Engine(EngineEvent::Containers(list)));
        let proc = |c: &str, mem: u64| crate::gpu::GpuProcess {
            container_id: Some(ContainerId::from(c)),
            memory_used: Some(mem),
            sm_percent: Some(50),
            ..Default::default()
        };
        let gpus = vec![crate::gpu::GpuSample {
            index: 0,
            processes: vec![proc(&format!("{:0<64}", "a"), 8 << 30), proc(&format!("{:0<64}", "b"), 1 << 30)],
            ..Default::default()
        }];
        a.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { gpus, ..Default::default() })));
        a.update(key(KeyCode::Char('U')));
        assert!(matches!(a.mode, Mode::Users(_)), "{:?}", a.mode);
        let rows = rows(&a);
        let names: Vec<String> = rows.iter().map(|r| r.usage.owner.shown().into_owned()).collect();
        assert_eq!(names, ["alice", "carol?"], "most GPU memory first");
        a.update(key(KeyCode::Down));
        a.update(key(KeyCode::Enter));
        assert_eq!(a.mode, Mode::Normal);
        let shown: Vec<&str> = a.table.rows().map(|c| c.name.as_str()).collect();
        assert_eq!(shown, ["notebook"], "only carol's containers");
        a.update(key(KeyCode::Esc));
        assert_eq!(a.table.len(), 2, "Esc shows all again");
        // Esc in the Users view goes back where it came from.
        a.update(key(KeyCode::Char('U')));
        a.update(key(KeyCode::Esc));
        assert_eq!(a.mode, Mode::Normal);
    }
}
