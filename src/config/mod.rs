//! Settings: the defaults embedded from `assets/default-config.toml`, overlaid by the user's file.

mod actions;
mod alerts;
mod keymap;
mod keys;
mod presets;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use actions::{Action, Hint};
pub use alerts::Alerts;
pub use keymap::Keymap;
pub use keys::KeySpec;
pub use presets::{Preset, SITE_PRESETS_DIR, SITE_PRESETS_ENV};

pub(crate) const DEFAULTS: &str = include_str!("../../assets/default-config.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// toml's message already carries "at line L, column C" and the offending line.
    #[error("malformed config file {path}:\n{message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    #[default]
    Default,
    Light,
    HighContrast,
    Mono,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[default]
    State,
    Name,
    Image,
    Cpu,
    Memory,
    Uptime,
    GpuMemory,
}

impl SortKey {
    /// Sorts by a figure that every stats tick brings.
    pub fn uses_stats(self) -> bool {
        matches!(self, SortKey::Cpu | SortKey::Memory)
    }

    /// The order `o` cycles through: GPU memory right after the default, since "who holds the
    /// GPU memory" is the question asked most on a GPU node.
    pub const ALL: [SortKey; 7] = [
        SortKey::State,
        SortKey::GpuMemory,
        SortKey::Cpu,
        SortKey::Memory,
        SortKey::Name,
        SortKey::Image,
        SortKey::Uptime,
    ];

    pub fn next(self) -> SortKey {
        let i = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::State => "state",
            SortKey::Name => "name",
            SortKey::Image => "image",
            SortKey::Cpu => "cpu",
            SortKey::Memory => "memory",
            SortKey::Uptime => "uptime",
            SortKey::GpuMemory => "gpu memory",
        }
    }
}

/// The shape of a config file: everything optional, so a user file can hold just one line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    refresh_seconds: Option<f64>,
    theme: Option<Theme>,
    sort: Option<SortKey>,
    read_only: Option<bool>,
    stop_timeout_seconds: Option<u32>,
    log_lines: Option<usize>,
    prune_until: Option<String>,
    disk_free_floor_gb: Option<f64>,
    mouse: Option<bool>,
    shell: Option<String>,
    keys: Option<HashMap<Action, Vec<KeySpec>>>,
    presets: Option<Vec<Preset>>,
    idle_gpu_after: Option<String>,
    owner_labels: Option<Vec<String>>,
    alerts: Option<alerts::AlertsFile>,
    prometheus_url: Option<String>,
    prometheus_user: Option<String>,
    prometheus_password_file: Option<PathBuf>,
    nodes: Option<Vec<NodeEngine>>,
}

/// `[[nodes]]`: how to reach a fleet node's engine, for the fleet view's Enter on a node. A
/// node without an entry is reached through the Docker context of the same name, if any.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEngine {
    /// The node's `Hostname` as the fleet view shows it.
    pub name: String,
    /// `ssh://user@host`, `tcp://host:2376` (with DOCKER_TLS_VERIFY), `unix:///path`.
    #[serde(default)]
    pub docker_host: Option<String>,
    /// A Docker context name.
    #[serde(default)]
    pub context: Option<String>,
}

/// Settings after merging, with every value present and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub refresh: Duration,
    pub theme: Theme,
    pub sort: SortKey,
    pub keymap: Keymap,
    pub read_only: bool,
    pub stop_timeout: u32,
    pub log_lines: usize,
    pub presets: Vec<Preset>,
    pub prune_until: Option<String>,
    /// Bytes.
    pub disk_free_floor: u64,
    pub mouse: bool,
    /// The command `e` runs in a container (None: bash, else sh).
    pub shell: Option<Vec<String>>,
    /// Where the user's file was looked for; shown in the help screen.
    pub path: Option<PathBuf>,
    /// GPU memory held at 0 % SM this long marks the holder idle.
    pub idle_gpu_after: Duration,
    /// Labels that name a container's owner, after gpudock's own `io.gpudock.launched-by`.
    pub owner_labels: Vec<String>,
    pub alerts: Alerts,
    /// Where `gpudock fleet` asks.
    pub prometheus: PrometheusConfig,
    pub nodes: Vec<NodeEngine>,
}

/// `prometheus_url`, `prometheus_user`, `prometheus_password_file`.
#[derive(Debug, Clone, Default)]
pub struct PrometheusConfig {
    pub url: Option<String>,
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        // The embedded defaults are checked by a unit test, so this cannot fail in a build that passed.
        Config::from_sources(None, None).unwrap_or_else(|e| panic!("built-in defaults: {e}"))
    }
}

impl Config {
    /// `$XDG_CONFIG_HOME/gpudock/config.toml`, falling back to `~/.config`.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "gpudock").map(|d| d.config_dir().join("config.toml"))
    }

    /// Loads `path` (a missing file at the default path is fine; one named explicitly is not).
    /// The site's presets come from `$GPUDOCK_SITE_PRESETS`, else /etc/gpudock/presets.d.
    pub fn load(path: Option<&Path>, explicit: bool) -> Result<Config, ConfigError> {
        let site = presets::load_site(&presets::site_dir())?;
        let Some(path) = path else {
            return Config::from_sources_with_site(None, None, site);
        };
        match read_capped(path) {
            Ok(text) => Config::from_sources_with_site(Some(&text), Some(path), site),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                let mut cfg = Config::from_sources_with_site(None, None, site)?;
                cfg.path = Some(path.to_path_buf());
                Ok(cfg)
            }
            Err(source) => Err(ConfigError::Read { path: path.to_path_buf(), source }),
        }
    }

    /// Merges `user` (the text of a config file read from `path`) over the embedded defaults.
    pub fn from_sources(user: Option<&str>, path: Option<&Path>) -> Result<Config, ConfigError> {
        Config::from_sources_with_site(user, path, Vec::new())
    }

    /// As `from_sources`, with the site's presets (`presets::load_site`) between the built-in
    /// ones and the user's.
    pub fn from_sources_with_site(
        user: Option<&str>,
        path: Option<&Path>,
        site: Vec<Preset>,
    ) -> Result<Config, ConfigError> {
        let builtin = PathBuf::from("<built-in defaults>");
        let defaults = parse(DEFAULTS, &builtin)?;
        let user_path = path.map(Path::to_path_buf).unwrap_or(builtin);
        let user = match user {
            Some(text) => parse(text, &user_path)?,
            None => FileConfig::default(),
        };
        let invalid = |message: String| ConfigError::Invalid { path: user_path.clone(), message };

        let refresh = user.refresh_seconds.or(defaults.refresh_seconds).unwrap_or(1.0);
        if !(0.2..=60.0).contains(&refresh) {
            return Err(invalid(format!("refresh_seconds = {refresh}: must be between 0.2 and 60")));
        }
        let mut bindings: BTreeMap<Action, Vec<KeySpec>> =
            defaults.keys.unwrap_or_default().into_iter().collect();
        for (action, keys) in user.keys.unwrap_or_default() {
            bindings.insert(action, keys);
        }
        let keymap = Keymap::new(bindings);
        let log_lines = user.log_lines.or(defaults.log_lines).unwrap_or(10_000);
        if !(100..=1_000_000).contains(&log_lines) {
            return Err(invalid(format!("log_lines = {log_lines}: must be between 100 and 1000000")));
        }
        let presets = presets::merge(presets::builtin()?, site, user.presets.unwrap_or_default());
        let prune_until = user.prune_until.or(defaults.prune_until).filter(|u| !u.trim().is_empty());
        if let Some(u) = &prune_until {
            crate::docker::disk::cutoff(u, crate::clock::unix_now())
                .map_err(|e| invalid(format!("prune_until = {u:?}: {e}")))?;
        }
        let shell = match user.shell.or(defaults.shell).filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(shell_words::split(&s).map_err(|e| invalid(format!("shell = {s:?}: {e}")))?),
            None => None,
        };
        let stop_timeout = user.stop_timeout_seconds.or(defaults.stop_timeout_seconds).unwrap_or(10);
        if stop_timeout > MAX_STOP_TIMEOUT {
            return Err(invalid(format!(
                "stop_timeout_seconds = {stop_timeout}: must be between 0 and {MAX_STOP_TIMEOUT}"
            )));
        }
        let floor = user.disk_free_floor_gb.or(defaults.disk_free_floor_gb).unwrap_or(20.0);
        if !(0.0..=1_000_000.0).contains(&floor) {
            return Err(invalid(format!("disk_free_floor_gb = {floor}: must be between 0 and 1000000")));
        }
        let idle = user.idle_gpu_after.or(defaults.idle_gpu_after).unwrap_or_else(|| "30m".into());
        let idle_gpu_after = alerts::idle_after(&idle).map_err(invalid)?;
        let alerts = alerts::AlertsFile::merge(user.alerts, defaults.alerts).map_err(invalid)?;
        let owner_labels = user.owner_labels.or(defaults.owner_labels).unwrap_or_default();
        if owner_labels.len() > 32 || owner_labels.iter().any(|l| l.trim().is_empty() || l.len() > 256) {
            return Err(invalid(
                "owner_labels: at most 32 label keys, none empty or over 256 characters".to_string(),
            ));
        }
        let prometheus = PrometheusConfig {
            url: user.prometheus_url.or(defaults.prometheus_url).filter(|u| !u.trim().is_empty()),
            user: user.prometheus_user.or(defaults.prometheus_user),
            password_file: user.prometheus_password_file.or(defaults.prometheus_password_file),
        };
        let nodes = user.nodes.unwrap_or_default();
        if let Some(n) = nodes.iter().find(|n| n.docker_host.is_some() == n.context.is_some()) {
            return Err(invalid(format!(
                "[[nodes]] name = {:?}: give docker_host or context, one of them",
                n.name
            )));
        }
        Ok(Config {
            owner_labels,
            prometheus,
            nodes,
            idle_gpu_after,
            alerts,
            prune_until,
            disk_free_floor: (floor * 1e9) as u64,
            read_only: user.read_only.or(defaults.read_only).unwrap_or(false),
            mouse: user.mouse.or(defaults.mouse).unwrap_or(true),
            shell,
            stop_timeout,
            log_lines,
            presets,
            refresh: Duration::from_secs_f64(refresh),
            theme: user.theme.or(defaults.theme).unwrap_or_default(),
            sort: user.sort.or(defaults.sort).unwrap_or_default(),
            keymap,
            path: path.map(Path::to_path_buf),
        })
    }

    /// `--refresh` on the command line beats the file.
    pub fn with_refresh(mut self, seconds: Option<f64>) -> Result<Config, String> {
        if let Some(s) = seconds {
            if !(0.2..=60.0).contains(&s) {
                return Err(format!("--refresh {s}: must be between 0.2 and 60 seconds"));
            }
            self.refresh = Duration::from_secs_f64(s);
        }
        Ok(self)
    }
}

/// A config file is a few dozen lines; anything this big is a mistake (or an attack on the
/// parser), refused before it is read into memory.
const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// An hour: longer grace periods are not a stop any more.
const MAX_STOP_TIMEOUT: u32 = 3600;

pub(crate) fn read_capped(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} KiB: not a config file", MAX_CONFIG_BYTES / 1024),
        ));
    }
    Ok(text)
}

fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
    toml::from_str(text)
        .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: in_words(&e.to_string()) })
}

/// The parser's Rust type names in the words of a config file's reader.
fn in_words(message: &str) -> String {
    let mut text = message.trim_end().to_string();
    for (rust, words) in [
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected usize", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected a sequence", "expected a list like [\"a\", \"b\"]"),
    ] {
        text = text.replace(rust, words);
    }
    text
}

#[cfg(test)]
mod tests;
