//! Command-line interface.

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gpudock",
    version = env!("GPUDOCK_VERSION"),
    about = "Terminal dashboard for GPU machines that run their work in Docker"
)]
pub struct Cli {
    /// Docker engine address (unix:///path, tcp://host:port or ssh://user@host); default:
    /// $DOCKER_HOST, then $DOCKER_CONTEXT, then the docker CLI's current context, then
    /// unix:///var/run/docker.sock.
    #[arg(long, global = true, value_name = "URL", conflicts_with = "context")]
    pub docker_host: Option<String>,

    /// Docker context to use (`docker context ls`); beats $DOCKER_HOST, like the docker CLI.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// Config file; default: $XDG_CONFIG_HOME/gpudock/config.toml.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Seconds between samples (0.2 to 60); overrides the config file.
    #[arg(long, global = true, value_name = "SECONDS")]
    pub refresh: Option<f64>,

    /// NVML library to load (default: libnvidia-ml.so.1, then libnvidia-ml.so).
    #[arg(long, global = true, value_name = "PATH", env = "GPUDOCK_NVML_LIB")]
    pub nvml_lib: Option<PathBuf>,

    /// Refuse every action that changes something (stop, remove, launch, prune).
    #[arg(long, global = true)]
    pub read_only: bool,

    /// Log file; default: $XDG_STATE_HOME/gpudock/gpudock.log. Level from $GPUDOCK_LOG.
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Sub>,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Print a shell completion script: `gpudock completions bash > /etc/bash_completion.d/gpudock`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `gpudock man > ~/.local/share/man/man1/gpudock.1`.
    Man,
    /// Check that this node can run GPU containers, and say how to fix what is missing.
    /// Exits 0 when all is well, 1 with warnings, 2 with failures.
    Doctor {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The dockerd config file to compare with the running engine.
        #[arg(long, value_name = "PATH", default_value = crate::doctor::DAEMON_JSON)]
        daemon_json: PathBuf,
    },
    /// Many nodes at a glance from Prometheus (gpudock export and/or dcgm-exporter series).
    Fleet {
        /// Prometheus base URL (http only), e.g. http://prom:9090; default: prometheus_url from
        /// the config file. Basic auth: prometheus_user and prometheus_password_file in the config file (a password here is refused: ps shows it).
        #[arg(long, value_name = "URL")]
        prometheus: Option<String>,
    },
    /// GPU time per owner, container or node from Prometheus' history of `gpudock export`
    /// (and dcgm-exporter, per node): GPU-hours held, busy and idle-held, and peak memory.
    Report {
        /// Prometheus base URL (http only); default: prometheus_url from the config file.
        #[arg(long, value_name = "URL")]
        prometheus: Option<String>,
        /// How far back: 7d, 36h, 10m (1m to 400d).
        #[arg(long, value_name = "DURATION", default_value = "7d")]
        since: String,
        /// One row per owner, per container or per node.
        #[arg(long, value_enum, default_value = "owner")]
        by: crate::report::By,
        /// JSON instead of a table.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Launch a container as the launch form does, stream its output and exit with its exit
    /// code (125 when gpudock itself failed). Ctrl-C stops it.
    Run(crate::run_cmd::RunArgs),
    /// Print one sample of every GPU and container, then exit.
    Snapshot {
        /// JSON instead of a plain table.
        #[arg(long)]
        json: bool,
    },
    /// Serve the GPUs, containers and their join as OpenMetrics at http://ADDR/metrics, for
    /// Prometheus. Runs until SIGTERM or Ctrl-C.
    Export {
        /// Address and port to listen on. Loopback by default: name another address (e.g.
        /// 0.0.0.0:9835) to let other machines scrape it.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9835")]
        listen: std::net::SocketAddr,
        /// The node's name in the `Hostname` label (default: this host's name; in a container
        /// without `--uts=host`, name the node here).
        #[arg(long, value_name = "NAME")]
        hostname: Option<String>,
    },
}

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "gpudock", out);
}

/// Writes the man page to `out`.
pub fn man(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    crate::man::render(out)
}
