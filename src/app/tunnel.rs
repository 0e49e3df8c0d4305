//! Notebook servers in the followed container's output: the newest Jupyter, JupyterLab,
//! TensorBoard or code-server announcement (`notebook::detect`) and the ssh tunnel a user runs
//! on their laptop to reach it (`notebook::tunnel`). The command is rebuilt from the parsed port,
//! the published host port or host networking, and this node's hostname; never copied text.

use base64::Engine as _;

use super::{Level, Outcome};
use crate::docker::LogLine;
use crate::docker::ports::PortMap;
use crate::msg::Command;
use crate::notebook::{self, Tool, Tunnel};

/// How the container's ports reach the node: from the form for a container launched there,
/// else from the engine's listing (published ports, host networking).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reach {
    pub ports: Vec<PortMap>,
    pub host_network: bool,
}

impl Reach {
    /// What the engine's listing says of `c`.
    pub fn of(c: &crate::docker::Container) -> Reach {
        let ports = c
            .published
            .iter()
            .map(|p| PortMap {
                host_ip: p.ip.clone(),
                host_port: p.port,
                container_port: p.container_port,
                proto: p.proto,
            })
            .collect();
        Reach { ports, host_network: c.host_network }
    }
}

/// A notebook server seen in the output.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub tool: Tool,
    /// Its port inside the container.
    pub port: u16,
    /// None when the port is neither published nor on the host's network.
    pub tunnel: Option<Tunnel>,
}

impl Seen {
    /// One line for the status line and the log view.
    pub fn describe(&self) -> String {
        match &self.tunnel {
            Some(t) => format!("{} at {} · tunnel: {}", self.tool.label(), t.url, t.command),
            None => format!(
                "{} on container port {}: not published, so no tunnel (launch with -p {}:{} or --network host)",
                self.tool.label(),
                self.port,
                self.port,
                self.port
            ),
        }
    }
}

/// The newest announcement among `lines`, if any.
pub fn scan<'a>(
    lines: impl DoubleEndedIterator<Item = &'a LogLine>,
    reach: &Reach,
    hostname: &str,
) -> Option<Seen> {
    let nb = lines.rev().find_map(|l| notebook::detect(&l.text))?;
    Some(Seen {
        tool: nb.tool,
        port: nb.port,
        tunnel: notebook::tunnel(&nb, &reach.ports, reach.host_network, hostname),
    })
}

impl super::logs::LogView {
    /// The tunnel command onto the terminal's clipboard, and what the user is told.
    pub fn copy_tunnel(&self) -> Outcome {
        match self.notebook.as_ref().map(|s| (s, &s.tunnel)) {
            Some((_, Some(t))) => Outcome::stay().run(Command::Clipboard(t.command.clone())).say(
                Level::Info,
                format!("copied: {} (if the terminal allows OSC 52 clipboard writes)", t.command),
            ),
            Some((seen, None)) => Outcome::stay().say(Level::Error, seen.describe()),
            None => {
                Outcome::stay().say(Level::Error, "no notebook server in this output yet: nothing to copy")
            }
        }
    }

    /// New output: the newest notebook server in it, said on the status line when it is new.
    pub fn take_lines(&mut self, lines: Vec<LogLine>, hostname: &str) -> Option<String> {
        let seen = scan(lines.iter(), &self.reach, hostname);
        self.push(lines);
        let seen = seen.filter(|s| self.notebook.as_ref() != Some(s))?;
        let text = seen.describe();
        self.notebook = Some(seen);
        Some(text)
    }
}

/// `text` as the OSC 52 sequence that asks the terminal to put it on the clipboard.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64::engine::general_purpose::STANDARD.encode(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::ports::parse_all;

    fn line(t: &str) -> LogLine {
        LogLine { stderr: true, text: t.into() }
    }

    #[test]
    fn the_newest_announcement_with_its_tunnel_through_the_published_port() {
        let lines = [
            line("[I 10:23:45.123 ServerApp] http://localhost:8888/lab?token=abc123"),
            line("[I 10:23:46 ServerApp] Use Control-C to stop this server"),
        ];
        let reach = Reach { ports: parse_all(&["9999:8888"]).unwrap_or_default(), host_network: false };
        let seen = scan(lines.iter(), &reach, "gpu-node-7").unwrap_or_else(|| panic!("no notebook"));
        assert_eq!(seen.tool, Tool::JupyterLab);
        let t = seen.tunnel.clone().unwrap_or_else(|| panic!("no tunnel"));
        assert_eq!(t.command, "ssh -L 9999:localhost:9999 gpu-node-7");
        assert_eq!(t.url, "http://localhost:9999/lab?token=abc123");
        // Host networking: the container's own port; neither: no tunnel, and why.
        let host = Reach { ports: Vec::new(), host_network: true };
        let seen = scan(lines.iter(), &host, "gpu-node-7");
        assert_eq!(
            seen.and_then(|s| s.tunnel).map(|t| t.command).as_deref(),
            Some("ssh -L 8888:localhost:8888 gpu-node-7")
        );
        let none =
            scan(lines.iter(), &Reach::default(), "gpu-node-7").unwrap_or_else(|| panic!("no notebook"));
        assert!(none.tunnel.is_none() && none.describe().contains("not published"), "{}", none.describe());
        assert_eq!(scan([line("hello")].iter(), &host, "n"), None);
    }

    /// Any container's log view, not only one launched from the form: the tunnel goes through
    /// what the engine's listing says it publishes, or its own port on the host's network.
    #[test]
    fn any_containers_log_view_gets_its_tunnel_from_the_listing() {
        use crate::app::{AppState, Mode};
        use crate::config::Config;
        use crate::docker::ports::{Proto, Published};
        use crate::docker::{ContainerState, EngineEvent, logs::LogChunk};
        use crate::msg::Msg;
        use crossterm::event::{KeyCode, KeyEvent};
        let k = |c: KeyCode| Msg::Key(KeyEvent::from(c));
        let mut a = AppState::new(&Config::default(), "unix:///var/run/docker.sock".into());
        a.hostname = "gpu-node-7".into();
        let mut lab = crate::app::tests::container("c1", "lab-bob", ContainerState::Running);
        lab.published = vec![Published {
            container: "lab-bob".into(),
            ip: Some("0.0.0.0".into()),
            port: 9999,
            proto: Proto::Tcp,
            container_port: 8888,
        }];
        let mut tb = crate::app::tests::container("c2", "tb-carol", ContainerState::Running);
        tb.host_network = true;
        a.update(Msg::Engine(EngineEvent::Containers(vec![lab.clone(), tb.clone()])));
        let logs_of = |a: &mut AppState, name: &str, announced: &str| -> Vec<Command> {
            a.update(k(KeyCode::Esc));
            let row = a.table.rows().position(|c| c.name == name).unwrap_or_else(|| panic!("{name}"));
            a.table.select(row);
            a.update(k(KeyCode::Char('l')));
            let Mode::Logs(v) = &a.mode else { panic!("{:?}", a.mode) };
            let id = v.id.clone();
            let lines =
                vec![line("[I 10:23:40 ServerApp] Jupyter Server 2.14.2 is running at:"), line(announced)];
            a.update(Msg::Action(crate::msg::ActionMsg::LogLines(LogChunk { id, lines })));
            a.update(k(KeyCode::Char('y')))
        };
        let jupyter = "    http://127.0.0.1:8888/lab?token=4f1d6e0a5c2b9e8f7d6c5b4a3928170615e4d3c2b1a09f8e";
        let cmds = logs_of(&mut a, "lab-bob", jupyter);
        assert_eq!(cmds, [Command::Clipboard("ssh -L 9999:localhost:9999 gpu-node-7".into())]);
        let Mode::Logs(v) = &a.mode else { panic!("{:?}", a.mode) };
        let seen = v.notebook.clone().and_then(|s| s.tunnel).map(|t| t.url);
        assert_eq!(
            seen.as_deref(),
            Some("http://localhost:9999/lab?token=4f1d6e0a5c2b9e8f7d6c5b4a3928170615e4d3c2b1a09f8e")
        );
        let tensorboard = "TensorBoard 2.15.1 at http://localhost:6006/ (Press CTRL+C to quit)";
        let cmds = logs_of(&mut a, "tb-carol", tensorboard);
        assert_eq!(cmds, [Command::Clipboard("ssh -L 6006:localhost:6006 gpu-node-7".into())]);
        // Back to lab-bob's logs: its notebook is known before any line comes again.
        a.update(k(KeyCode::Esc));
        let row = a.table.rows().position(|c| c.name == "lab-bob").unwrap_or_else(|| panic!("lab-bob"));
        a.table.select(row);
        a.update(k(KeyCode::Char('l')));
        assert_eq!(
            a.update(k(KeyCode::Char('y'))),
            [Command::Clipboard("ssh -L 9999:localhost:9999 gpu-node-7".into())]
        );
    }

    #[test]
    fn osc52_wraps_the_text_in_base64() {
        assert_eq!(osc52("ssh -L 1:localhost:1 n"), "\x1b]52;c;c3NoIC1MIDE6bG9jYWxob3N0OjEgbg==\x07");
    }
}
