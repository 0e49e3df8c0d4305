use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use gpudock::cli::{Cli, Sub};
use gpudock::config::Config;
use gpudock::docker::DockerHost;
use gpudock::docker::context::{Choice, ContextStore};

fn main() -> ExitCode {
    one_malloc_arena();
    let cli = Cli::parse();
    // Completions and the man page need no config, engine or terminal.
    let mut text = Vec::new();
    match &cli.command {
        Some(Sub::Completions { shell }) => gpudock::cli::completions(*shell, &mut text),
        Some(Sub::Man) => {
            if let Err(e) = gpudock::cli::man(&mut text) {
                say(&format!("gpudock: {e}"));
                return ExitCode::FAILURE;
            }
        }
        _ => {}
    }
    if !text.is_empty() {
        use std::io::Write;
        // `gpudock man | head` closing the pipe early is not an error.
        return match std::io::stdout().lock().write_all(&text) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                say(&format!("gpudock: {e}"));
                ExitCode::FAILURE
            }
            _ => ExitCode::SUCCESS,
        };
    }
    // Everything that can be wrong with the setup is reported before the terminal is touched.
    let path = cli.config.clone().or_else(Config::default_path);
    let config = Config::load(path.as_deref(), cli.config.is_some())
        .map_err(|e| e.to_string())
        .and_then(|c| gpudock::app::view::check_keymap(&c.keymap).map(|()| c));
    let config = match config {
        Ok(c) => c.with_refresh(cli.refresh),
        Err(e) => Err(e),
    };
    let config = match config {
        // https://no-color.org: any non-empty value turns colour off.
        Ok(mut c) => {
            c.read_only |= cli.read_only;
            if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                c.theme = gpudock::config::Theme::Mono;
            }
            c
        }
        Err(e) => {
            say(&format!("gpudock: {e}"));
            return ExitCode::from(2);
        }
    };
    // The fleet view and the report need no Docker engine: only a Prometheus server.
    let fleet = match &cli.command {
        Some(Sub::Fleet { prometheus } | Sub::Report { prometheus, .. }) => {
            match gpudock::run_fleet::prometheus_url(prometheus.as_deref(), &config)
                .and_then(|url| gpudock::run_fleet::client(&url, &config))
            {
                Ok(c) => Some(c),
                Err(e) => {
                    say(&format!("gpudock: {e}"));
                    return ExitCode::from(2);
                }
            }
        }
        _ => None,
    };
    let (env_host, env_context) = (std::env::var("DOCKER_HOST").ok(), std::env::var("DOCKER_CONTEXT").ok());
    let choice = Choice {
        flag_host: cli.docker_host.as_deref(),
        flag_context: cli.context.as_deref(),
        env_host: env_host.as_deref(),
        env_context: env_context.as_deref(),
    };
    let store = ContextStore::from_env();
    let cert_path = std::env::var_os("DOCKER_CERT_PATH").filter(|p| !p.is_empty()).map(PathBuf::from);
    let cert_path = cert_path.unwrap_or_else(|| store.dir().to_path_buf());
    let host = if fleet.is_some() {
        // Not used by the fleet view: an unusual DOCKER_HOST or context must not stop it.
        DockerHost::resolve(None, None)
    } else {
        choice
            .resolve(&store)
            .map_err(|e| e.to_string())
            .and_then(|h| h.with_tls_env(std::env::var("DOCKER_TLS_VERIFY").ok().as_deref(), &cert_path))
    };
    let host = match host {
        Ok(h) => h,
        Err(e) => {
            say(&format!("gpudock: {e}"));
            return ExitCode::from(2);
        }
    };
    if let Some(log) = cli.log_file.clone().or_else(gpudock::logging::default_path)
        && let Err(e) = gpudock::logging::init(&log)
    {
        say(&format!("gpudock: cannot open log file {}: {e} (continuing without a log)", log.display()));
    }
    raise_open_files_limit();
    // One worker: the collectors wait on sockets and timers, the render loop has the main thread
    // (block_on), and anything that can block goes to the blocking pool. A second worker only
    // woke up to steal tasks from the first: a third of an idle dashboard's context switches.
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            say(&format!("gpudock: cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let over_ssh = matches!(host.endpoint(), DockerHost::Ssh(_));
    let result = match cli.command {
        None => runtime.block_on(gpudock::run::run(config, host, cli.nvml_lib)),
        Some(Sub::Fleet { .. }) => {
            // Prometheus scrapes every 15 s or so by default: a faster refresh shows nothing new.
            let refresh =
                cli.refresh.map_or(std::time::Duration::from_secs(5), std::time::Duration::from_secs_f64);
            match fleet {
                Some(client) => runtime.block_on(gpudock::run_fleet::run(config, client, refresh)),
                None => Ok(()),
            }
        }
        Some(Sub::Report { since, by, json, csv, .. }) => match (fleet, gpudock::report::parse_since(&since))
        {
            (_, Err(e)) => {
                say(&format!("gpudock: {e}"));
                return ExitCode::from(2);
            }
            // No client: main said why and returned above.
            (None, _) => Ok(()),
            (Some(client), Ok(since)) => {
                runtime.block_on(gpudock::report::print(&client, by, since, json, csv))
            }
        },
        Some(Sub::Snapshot { json }) => runtime.block_on(gpudock::snapshot::print(
            &host,
            cli.nvml_lib.as_deref(),
            json,
            &config.owner_labels,
        )),
        Some(Sub::Completions { .. } | Sub::Man) => Ok(()),
        Some(Sub::Run(args)) => {
            let code = runtime.block_on(gpudock::run_cmd::run(args, &config, &host, cli.nvml_lib.as_deref()));
            shutdown(runtime, over_ssh);
            return ExitCode::from(code);
        }
        Some(Sub::Export { listen, hostname }) => {
            let res = runtime.block_on(gpudock::export::run(config, host, cli.nvml_lib, listen, hostname));
            runtime.shutdown_background();
            return match res {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    say(&format!("gpudock: {e:#}"));
                    // A taken or forbidden address is a setup error, like a bad config.
                    let setup = e.downcast_ref::<gpudock::export::BindError>().is_some();
                    ExitCode::from(if setup { 2 } else { 1 })
                }
            };
        }
        Some(Sub::Doctor { json, daemon_json }) => {
            let floor = config.disk_free_floor;
            let res = runtime.block_on(gpudock::doctor::print(
                &host,
                cli.nvml_lib.as_deref(),
                &daemon_json,
                floor,
                json,
            ));
            shutdown(runtime, over_ssh);
            return match res {
                Ok(code) => ExitCode::from(code),
                Err(e) => {
                    say(&format!("gpudock: {e:#}"));
                    ExitCode::FAILURE
                }
            };
        }
    };
    shutdown(runtime, over_ssh);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A panic in a background thread: the main loop has left the screen; say what happened.
        Err(e) if gpudock::tui::panicked().is_some() => {
            say(&format!("gpudock: panic: {e:#}"));
            ExitCode::from(101)
        }
        Err(e) => {
            say(&format!("gpudock: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Collector tasks may be mid-request: do not wait for them. Over ssh, their connections are
/// dropped first (a short wait), which ends their ssh processes at once.
fn shutdown(runtime: tokio::runtime::Runtime, over_ssh: bool) {
    if over_ssh {
        runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    } else {
        runtime.shutdown_background();
    }
}

/// Writes a message to stderr with control characters made harmless (a config file or an engine
/// error can carry escapes), and without panicking when stderr is gone (an SSH session dropped).
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{}", gpudock::sanitize::lines(text));
}

/// glibc gives each thread that allocates an arena of its own; gpudock's threads are idle
/// nearly all the time, so one shared arena costs no waiting and keeps about 0.45 MiB less
/// resident (50 containers, 8 GPUs). Set before any thread starts.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator setting; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Lifts the soft open-files limit to the hard one: gpudock keeps four cgroup files open per
/// running container, and the usual soft limit of 1024 is too low for a node with hundreds.
fn raise_open_files_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit read and write a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                tracing::debug!("could not raise the open-files limit");
            }
        }
    }
}
