//! `gpudock fleet`: the fleet view's event loop. The terminal set-up and restore are the main
//! screen's (`tui`); the collector runs as a task and nothing here waits on Prometheus.

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::app::fleet::{FleetCommand, FleetMsg, FleetState};
use crate::config::Config;
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

pub async fn run(config: Config, client: PromClient, refresh: Duration) -> anyhow::Result<()> {
    tui::install_panic_hook();
    let (tx, mut rx) = mpsc::channel(16);
    let (focus_tx, focus) = watch::channel(None);
    let mut state = FleetState::new(client.url());
    state.theme = config.theme;
    tokio::spawn(FleetCollector { client, refresh, focus, tx }.run());
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
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
