//! Notebook servers in a container's output: Jupyter Notebook, JupyterLab / Jupyter Server,
//! TensorBoard and code-server announce a URL when they start. This finds it in one line of
//! output and builds the ssh tunnel a user runs on their laptop to reach it.
//!
//! What is shown and copied is rebuilt from parsed parts — a port number, a path and a token
//! of plain characters, this node's hostname — never the container's text itself, which any
//! process in the container can fill with escapes or a command of its choosing.

use crate::docker::ports::{PortMap, Proto};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Jupyter,
    JupyterLab,
    TensorBoard,
    CodeServer,
}

impl Tool {
    pub fn label(self) -> &'static str {
        match self {
            Tool::Jupyter => "Jupyter",
            Tool::JupyterLab => "JupyterLab",
            Tool::TensorBoard => "TensorBoard",
            Tool::CodeServer => "code-server",
        }
    }
}

/// A notebook server's announcement: its port inside the container, the path to open and the
/// login token (Jupyter; TensorBoard and code-server have none in the URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notebook {
    pub tool: Tool,
    pub port: u16,
    pub path: String,
    pub token: Option<String>,
}

/// How to reach it from a laptop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnel {
    /// `ssh -L <port>:localhost:<port> <host>`.
    pub command: String,
    /// The URL to open on the laptop once the tunnel runs.
    pub url: String,
}

const MAX_TOKEN: usize = 256;
const MAX_PATH: usize = 256;

/// The notebook announced in `line`, if any.
pub fn detect(line: &str) -> Option<Notebook> {
    let tool = if line.contains("TensorBoard") {
        Tool::TensorBoard
    } else if line.contains("HTTP server listening on") {
        Tool::CodeServer
    } else if line.contains("token=") {
        Tool::Jupyter
    } else {
        return None;
    };
    let start = line.find("http://").or_else(|| line.find("https://"))?;
    let url = line[start..].split_whitespace().next()?;
    let rest = url.split_once("://")?.1;
    let (authority, path_query) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let port: u16 = authority.rsplit_once(':')?.1.parse().ok().filter(|p| *p > 0)?;
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let path_ok =
        path.len() <= MAX_PATH && path.chars().all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c));
    let path = if path_ok { path.to_string() } else { "/".to_string() };
    let token = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .filter(|t| {
            !t.is_empty()
                && t.len() <= MAX_TOKEN
                && t.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
        })
        .map(String::from);
    let tool = match tool {
        Tool::Jupyter if token.is_none() => return None,
        Tool::Jupyter if path.starts_with("/lab") => Tool::JupyterLab,
        t => t,
    };
    Some(Notebook { tool, port, path, token })
}

/// A hostname as DNS writes it: anything else is not put in a command line.
fn plain_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        && !h.starts_with('-')
}

/// The tunnel to `nb` on node `hostname`: through the host port published for its port, or its
/// own port with host networking. None when the port is reachable neither way (or the hostname
/// is not a plain one).
pub fn tunnel(nb: &Notebook, ports: &[PortMap], host_network: bool, hostname: &str) -> Option<Tunnel> {
    if !plain_hostname(hostname) {
        return None;
    }
    let port = match ports.iter().find(|p| p.container_port == nb.port && p.proto == Proto::Tcp) {
        Some(p) => p.host_port,
        None if host_network => nb.port,
        None => return None,
    };
    let token = nb.token.as_ref().map(|t| format!("?token={t}")).unwrap_or_default();
    Some(Tunnel {
        command: format!("ssh -L {port}:localhost:{port} {hostname}"),
        url: format!("http://localhost:{port}{}{token}", nb.path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::ports::parse_all;

    // Startup lines as each tool prints them (Jupyter Notebook 6, Jupyter Server 2 / JupyterLab
    // 4, TensorBoard 2, code-server 4).
    const NOTEBOOK6: &str = "[I 08:58:24.417 NotebookApp] http://127.0.0.1:8888/?token=c8de56fa4deed24899803e93c227592aef6538f93025fe01";
    const NOTEBOOK6_COPY: &str =
        "     or http://127.0.0.1:8888/?token=c8de56fa4deed24899803e93c227592aef6538f93025fe01";
    const LAB4: &str = "[I 2024-01-15 10:23:45.123 ServerApp] http://localhost:8888/lab?token=4f1d6e0a5c2b9e8f7d6c5b4a3928170615e4d3c2b1a09f8e";
    const LAB4_HOSTNAME: &str =
        "        http://7b2a5b6e9f0d:8888/lab?token=4f1d6e0a5c2b9e8f7d6c5b4a3928170615e4d3c2b1a09f8e";
    const TENSORBOARD: &str = "TensorBoard 2.15.1 at http://localhost:6006/ (Press CTRL+C to quit)";
    const CODE_SERVER: &str =
        "[2024-01-15T10:23:45.123Z] info  HTTP server listening on http://0.0.0.0:8080/";

    #[test]
    fn finds_each_tool_in_its_own_startup_line() {
        let n = detect(NOTEBOOK6).unwrap_or_else(|| panic!("notebook 6"));
        assert_eq!((n.tool, n.port, n.path.as_str()), (Tool::Jupyter, 8888, "/"));
        assert_eq!(n.token.as_deref(), Some("c8de56fa4deed24899803e93c227592aef6538f93025fe01"));
        assert_eq!(detect(NOTEBOOK6_COPY).map(|n| n.port), Some(8888));
        let l = detect(LAB4).unwrap_or_else(|| panic!("lab 4"));
        assert_eq!((l.tool, l.port, l.path.as_str()), (Tool::JupyterLab, 8888, "/lab"));
        assert_eq!(detect(LAB4_HOSTNAME).map(|n| n.tool), Some(Tool::JupyterLab));
        let t = detect(TENSORBOARD).unwrap_or_else(|| panic!("tensorboard"));
        assert_eq!((t.tool, t.port, t.token), (Tool::TensorBoard, 6006, None));
        let c = detect(CODE_SERVER).unwrap_or_else(|| panic!("code-server"));
        assert_eq!((c.tool, c.port), (Tool::CodeServer, 8080));
        for other in [
            "[I 08:58:24.417 NotebookApp] Serving notebooks from local directory: /home/jovyan",
            "        file:///root/.local/share/jupyter/runtime/jpserver-1-open.html",
            "Downloading http://example.com:8080/data.tar",
            "",
        ] {
            assert_eq!(detect(other), None, "{other}");
        }
    }

    #[test]
    fn the_tunnel_is_built_from_parsed_parts_only() {
        let lab = detect(LAB4).unwrap_or_else(|| panic!("lab"));
        let published = parse_all(&["8890:8888"]).unwrap_or_default();
        let t = tunnel(&lab, &published, false, "gpu-node-07").unwrap_or_else(|| panic!("tunnel"));
        assert_eq!(t.command, "ssh -L 8890:localhost:8890 gpu-node-07");
        assert!(t.url.starts_with("http://localhost:8890/lab?token=4f1d6e0a"), "{}", t.url);
        let t = tunnel(&lab, &[], true, "gpu-node-07").unwrap_or_else(|| panic!("host network"));
        assert_eq!(t.command, "ssh -L 8888:localhost:8888 gpu-node-07");
        assert_eq!(tunnel(&lab, &[], false, "gpu-node-07"), None, "neither published nor host network");
        assert_eq!(tunnel(&lab, &[], true, "node; rm -rf ~"), None);
        // A hostile line: escapes and a command in the URL do not survive into what is shown.
        let evil = detect("http://127.0.0.1:8888/\u{1b}]52;c;cm0gLXJmIH4=\u{7}?token=abc123&x=$(rm)")
            .unwrap_or_else(|| panic!("evil"));
        let t = tunnel(&evil, &[], true, "n1").unwrap_or_else(|| panic!("evil tunnel"));
        assert_eq!(
            (t.command.as_str(), t.url.as_str()),
            ("ssh -L 8888:localhost:8888 n1", "http://localhost:8888/?token=abc123")
        );
        assert_eq!(
            detect("http://127.0.0.1:8888/?token=abc;rm$(x)"),
            None,
            "a token of odd characters is no token"
        );
    }
}
