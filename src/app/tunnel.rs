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

/// How the container's ports reach the node: known for a container launched from the form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reach {
    pub ports: Vec<PortMap>,
    pub host_network: bool,
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

    #[test]
    fn osc52_wraps_the_text_in_base64() {
        assert_eq!(osc52("ssh -L 1:localhost:1 n"), "\x1b]52;c;c3NoIC1MIDE6bG9jYWxob3N0OjEgbg==\x07");
    }
}
