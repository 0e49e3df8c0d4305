//! `gpudock fleet`: the fleet view's event loop. The terminal set-up and restore are the main
//! screen's (`tui`); the collector runs as a task and nothing here waits on Prometheus.

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::app::fleet::{FleetCommand, FleetMsg, FleetState};
use crate::config::Config;
use crate::docker::context::ContextStore;
use crate::fleet::{FleetCollector, PromClient};
use crate::{tui, ui};

/// The Prometheus URL: the flag, else the config's `prometheus_url`.
pub fn prometheus_url(flag: Option<&str>, config: &Config) -> Result<String, String> {
    flag.map(str::to_string).or_else(|| config.prometheus.url.clone()).filter(|u| !u.trim().is_empty()).ok_or_else(
        || {
            "fleet needs a Prometheus server: pass --prometheus http://HOST:9090, or set prometheus_url in the config file"
                .to_string()
        },
    )
}

/// A client for `url` with the config's basic-auth credentials (the password read from its file).
pub fn client(url: &str, config: &Config) -> Result<PromClient, String> {
    let basic = match (&config.prometheus.user, &config.prometheus.password_file) {
        (Some(user), Some(path)) => {
            let pw = std::fs::read_to_string(path)
                .map_err(|e| format!("prometheus_password_file {}: {e}", path.display()))?;
            Some((user.clone(), pw.trim_end_matches(['\n', '\r']).to_string()))
        }
        (Some(user), None) => Some((user.clone(), String::new())),
        _ => None,
    };
    PromClient::new(url, basic).map_err(|e| e.to_string())
}

/// How to reach `node`'s engine, as `gpudock` arguments: its `[[nodes]]` entry, else the Docker
/// context of the same name. Err: why the node's dashboard cannot open.
pub fn dashboard_args(node: &str, config: &Config, store: &ContextStore) -> Result<Vec<String>, String> {
    if let Some(n) = config.nodes.iter().find(|n| n.name == node) {
        return Ok(match (&n.docker_host, &n.context) {
            (Some(h), _) => vec!["--docker-host".into(), h.clone()],
            (None, Some(c)) => vec!["--context".into(), c.clone()],
            (None, None) => Vec::new(),
        });
    }
    if store.names().iter().any(|c| c == node) {
        return Ok(vec!["--context".into(), node.to_string()]);
    }
    Err(format!(
        "no way to {node}'s engine: add a Docker context named {node:?} (docker context create {node} --docker host=ssh://USER@{node}) or a [[nodes]] entry"
    ))
}

/// Runs the full dashboard on `args`' engine on this terminal until it quits; how it ended.
async fn dashboard(args: Vec<String>, config_path: Option<std::path::PathBuf>) -> String {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return format!("cannot find gpudock's own binary: {e}"),
    };
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(&args);
    // The same settings as this view, when they come from a file.
    if let Some(p) = config_path.filter(|p| p.is_file()) {
        cmd.arg("--config").arg(p);
    }
    match cmd.status().await {
        Ok(s) if s.success() => format!("back from the dashboard ({})", args.join(" ")),
        Ok(s) => format!("the dashboard ({}) ended with {s}", args.join(" ")),
        Err(e) => format!("cannot start the dashboard: {e}"),
    }
}

pub async fn run(config: Config, client: PromClient, refresh: Duration) -> anyhow::Result<()> {
    tui::install_panic_hook();
    let (tx, mut rx) = mpsc::channel(16);
    let (focus_tx, focus) = watch::channel(None);
    let (users_tx, users) = watch::channel(false);
    let mut state = FleetState::new(client.url());
    state.theme = config.theme;
    state.keymap = config.keymap.clone();
    tokio::spawn(FleetCollector { client, refresh, focus, users, tx }.run());
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut guard = tui::enter(false)?;
    let size = guard.terminal.size()?;
    state.update(FleetMsg::Resize(size.width, size.height));
    let mut events = EventStream::new();
    loop {
        if state.take_dirty()
            && let Err(e) = guard.terminal.draw(|f| ui::fleet::draw(f, &state))
        {
            tracing::info!(error = %e, "terminal gone; exiting");
            return Ok(());
        }
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => FleetMsg::Key(k),
                Some(Ok(Event::Resize(w, h))) => FleetMsg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ok(()),
            },
            Some(e) = rx.recv() => FleetMsg::Event(e),
            () = tui::PANIC_WAKE.notified() => {
                let what = tui::panicked().unwrap_or("a background task panicked");
                return Err(anyhow::anyhow!("{what}"));
            }
            _ = sigterm.recv() => return Ok(()),
            _ = sighup.recv() => return Ok(()),
        };
        for command in state.update(msg) {
            match command {
                FleetCommand::Quit => return Ok(()),
                FleetCommand::Focus(node) => {
                    let _ = focus_tx.send(node);
                }
                FleetCommand::Users(open) => {
                    let _ = users_tx.send(open);
                }
                FleetCommand::Dashboard(node) => {
                    let args = match dashboard_args(&node, &config, &ContextStore::from_env()) {
                        Ok(args) => args,
                        Err(why) => {
                            state.update(FleetMsg::Notice(why));
                            continue;
                        }
                    };
                    // The child owns the terminal until it quits: stop reading keys meanwhile.
                    drop(events);
                    tui::suspend()?;
                    let how = dashboard(args, config.path.clone()).await;
                    *guard.terminal = tui::resume(false)?;
                    events = EventStream::new();
                    state.update(FleetMsg::Notice(how));
                    // The pane may have changed size while the dashboard had it.
                    let size = guard.terminal.size()?;
                    state.update(FleetMsg::Resize(size.width, size.height));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_reached_through_its_nodes_entry_else_the_context_of_its_name() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // A context store with one context, "dgx-02", laid out as the docker CLI writes it.
        let meta = dir.path().join("contexts/meta").join(crate::docker::context::digest("dgx-02"));
        std::fs::create_dir_all(&meta).unwrap_or_else(|e| panic!("{e}"));
        let json = r#"{"Name":"dgx-02","Endpoints":{"docker":{"Host":"ssh://me@dgx-02"}}}"#;
        std::fs::write(meta.join("meta.json"), json).unwrap_or_else(|e| panic!("{e}"));
        let store = ContextStore::new(dir.path());
        let text = "[[nodes]]\nname = \"dgx-01\"\ndocker_host = \"ssh://ops@10.0.0.1\"\n[[nodes]]\nname = \"dgx-03\"\ncontext = \"rack3\"\n";
        let config = Config::from_sources(Some(text), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            dashboard_args("dgx-01", &config, &store),
            Ok(vec!["--docker-host".into(), "ssh://ops@10.0.0.1".into()])
        );
        assert_eq!(dashboard_args("dgx-02", &config, &store), Ok(vec!["--context".into(), "dgx-02".into()]));
        assert_eq!(dashboard_args("dgx-03", &config, &store), Ok(vec!["--context".into(), "rack3".into()]));
        let none = dashboard_args("dgx-04", &config, &store).err().unwrap_or_default();
        assert!(none.contains("docker context create dgx-04") && none.contains("[[nodes]]"), "{none}");
        // An entry must say how: one of docker_host and context.
        let bad = Config::from_sources(Some("[[nodes]]\nname = \"x\"\n"), None).err().map(|e| e.to_string());
        assert!(bad.unwrap_or_default().contains("give docker_host or context"));
    }

    #[test]
    fn url_from_the_flag_then_the_config_and_the_password_from_its_file() {
        let mut config = Config::default();
        assert!(prometheus_url(None, &config).is_err_and(|e| e.contains("--prometheus")));
        config.prometheus.url = Some("http://from-config:9090".into());
        assert_eq!(prometheus_url(None, &config).as_deref(), Ok("http://from-config:9090"));
        assert_eq!(prometheus_url(Some("http://flag:9090"), &config).as_deref(), Ok("http://flag:9090"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\n").unwrap_or_else(|e| panic!("{e}"));
        config.prometheus.user = Some("alice".into());
        config.prometheus.password_file = Some(pw);
        let c = client("http://prom:9090", &config).unwrap_or_else(|e| panic!("{e}"));
        assert!(format!("{c:?}").contains("auth: true"));
        config.prometheus.password_file = Some(dir.path().join("missing"));
        assert!(client("http://prom:9090", &config).is_err_and(|e| e.contains("prometheus_password_file")));
    }
}
