//! Plain data the Docker collector sends to the app: no engine types leak past this module.

use super::gpus::GpuRequest;
pub use super::id::{ApiVersion, ContainerId, short_id};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ContainerState {
    Running,
    Restarting,
    Paused,
    Created,
    Removing,
    Exited,
    Dead,
    #[default]
    Unknown,
}

impl ContainerState {
    pub fn parse(s: &str) -> ContainerState {
        match s {
            "running" => ContainerState::Running,
            "restarting" => ContainerState::Restarting,
            "paused" => ContainerState::Paused,
            "created" => ContainerState::Created,
            "removing" => ContainerState::Removing,
            "exited" => ContainerState::Exited,
            "dead" => ContainerState::Dead,
            _ => ContainerState::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Running => "running",
            ContainerState::Restarting => "restarting",
            ContainerState::Paused => "paused",
            ContainerState::Created => "created",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
            ContainerState::Unknown => "unknown",
        }
    }

    pub fn is_running(self) -> bool {
        matches!(self, ContainerState::Running | ContainerState::Restarting | ContainerState::Paused)
    }

    /// What a container prune removes.
    pub fn is_stopped(self) -> bool {
        matches!(self, ContainerState::Exited | ContainerState::Created | ContainerState::Dead)
    }
}

impl<'de> serde::Deserialize<'de> for ContainerState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ContainerState::parse(&s))
    }
}

/// A health check's verdict; containers without a health check have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    /// None for "none", "" and anything unknown: nothing worth showing.
    pub fn parse(s: &str) -> Option<Health> {
        match s {
            "starting" => Some(Health::Starting),
            "healthy" => Some(Health::Healthy),
            "unhealthy" => Some(Health::Unhealthy),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// One container as the table needs it. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Container {
    pub id: ContainerId,
    pub name: String,
    pub image: String,
    pub state: ContainerState,
    pub created: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub exit_code: Option<i64>,
    pub health: Option<Health>,
    /// Host PID of the container's init process while it runs.
    pub pid: Option<u32>,
    pub gpus: GpuRequest,
    /// Who launched it from gpudock (the `io.gpudock.launched-by` label); None for others.
    pub launched_by: Option<String>,
    /// Whose it is, and how that is known (see `docker::owner`).
    pub owner: super::owner::Owner,
    /// Known from the listing alone: its inspect (PID, GPU request, start time, health) has
    /// not come yet. The first listing of a session is shown before 500 inspects are back.
    pub pending: bool,
    /// Host ports it publishes, as the listing says (`docker ps`'s PORTS).
    pub published: Vec<super::ports::Published>,
    /// On the host's network (`--network host`): its ports are the node's.
    pub host_network: bool,
}

/// The label gpudock puts on the containers it launches, naming who launched them.
pub const LAUNCHED_BY_LABEL: &str = "io.gpudock.launched-by";

impl Container {
    pub fn short_id(&self) -> &str {
        self.id.short()
    }
}

/// CPU is in percent of one core (like `docker stats`); memory excludes the page cache
/// (`inactive_file`) the way `docker stats` does.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ContainerStats {
    pub cpu_percent: Option<f64>,
    pub mem_used: Option<u64>,
    pub mem_limit: Option<u64>,
}

impl ContainerStats {
    pub fn mem_percent(&self) -> Option<f64> {
        match (self.mem_used, self.mem_limit) {
            (Some(u), Some(l)) if l > 0 => Some(u as f64 * 100.0 / l as f64),
            _ => None,
        }
    }
}

/// What the engine said about itself when we connected.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngineInfo {
    pub host: String,
    pub server_version: Option<String>,
    pub api_version: Option<ApiVersion>,
    pub cgroup_driver: Option<String>,
    pub cgroup_version: Option<String>,
    pub runtimes: Vec<String>,
    pub default_runtime: Option<String>,
    pub docker_root_dir: Option<String>,
    pub cdi_spec_dirs: Vec<String>,
    /// Whether CPU/memory come from cgroup files (local engine) or the stats API.
    pub stats_source: StatsSource,
    /// The Docker context the engine was chosen through, if any.
    pub context: Option<String>,
    /// The machine the engine runs on: the node (boxed: the engine's state is passed around by
    /// value, and this is rarely read).
    pub machine: Option<Box<Machine>>,
}

/// The machine an engine runs on, as `docker info` describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Machine {
    /// `Name`: the node's host name.
    pub name: Option<String>,
    /// `NCPU`, `MemTotal`: what a container's CPU % and memory are measured against when it has
    /// no limit of its own.
    pub ncpu: Option<u64>,
    pub mem_total: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatsSource {
    #[default]
    Cgroup,
    Api,
}

/// Everything needed to create and start a container, already validated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaunchSpec {
    pub image: String,
    /// Empty: the image's default command.
    pub cmd: Vec<String>,
    pub name: Option<String>,
    pub gpus: GpuRequest,
    pub auto_remove: bool,
    pub env: Vec<String>,
    pub binds: Vec<String>,
    pub ipc_host: bool,
    pub shm_size: Option<i64>,
    /// None: the engine's default network.
    pub network: Option<String>,
    pub workdir: Option<String>,
    pub labels: Vec<(String, String)>,
    /// `-p` mappings.
    pub ports: Vec<super::ports::PortMap>,
    /// `--gpus free:N` as asked: `gpus` holds the pick made on submit, and the launch picks
    /// again right before create (a long pull may have let someone take a GPU).
    pub free: Option<u32>,
}

/// One line of a container's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stderr: bool,
    pub text: String,
}
