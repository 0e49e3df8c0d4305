//! Watches a container's output for notebook servers and says, once per port, how to reach
//! them from a laptop (see `crate::notebook`).

use std::collections::HashSet;

use crate::docker::ports::PortMap;
use crate::notebook::{detect, tunnel};

/// A line longer than this is not a startup announcement: the rest of it is skipped.
const MAX_LINE: usize = 16 << 10;

pub struct Watch {
    partial: [Vec<u8>; 2],
    seen: HashSet<u16>,
    ports: Vec<PortMap>,
    host_network: bool,
    hostname: String,
}

impl Watch {
    pub fn new(ports: Vec<PortMap>, host_network: bool, hostname: String) -> Watch {
        Watch { partial: [Vec::new(), Vec::new()], seen: HashSet::new(), ports, host_network, hostname }
    }

    /// Takes the next bytes of stdout (`stderr` false) or stderr; returns what to tell the user.
    pub fn feed(&mut self, stderr: bool, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for &b in bytes {
            let buf = &mut self.partial[usize::from(stderr)];
            if b == b'\n' || b == b'\r' {
                let line = String::from_utf8_lossy(buf).into_owned();
                buf.clear();
                out.extend(self.line(&line));
            } else if buf.len() < MAX_LINE {
                buf.push(b);
            }
        }
        out
    }

    fn line(&mut self, line: &str) -> Option<String> {
        let nb = detect(line)?;
        if !self.seen.insert(nb.port) {
            return None;
        }
        Some(match tunnel(&nb, &self.ports, self.host_network, &self.hostname) {
            Some(t) => format!("{} at {} — from your laptop: {}", nb.tool.label(), t.url, t.command),
            None => format!(
                "{} listens on port {} in the container, which is not published: run with -p {}:{} (or --network host) to reach it through ssh",
                nb.tool.label(),
                nb.port,
                nb.port,
                nb.port
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_per_port_across_split_chunks() {
        let mut w = Watch::new(
            crate::docker::ports::parse_all(&["8890:8888"]).unwrap_or_default(),
            false,
            "n1".into(),
        );
        let line = "[I ServerApp] http://localhost:8888/lab?token=abc123\n";
        let (a, b) = line.split_at(20);
        assert!(w.feed(true, a.as_bytes()).is_empty());
        let said = w.feed(true, b.as_bytes());
        assert_eq!(
            said,
            [
                "JupyterLab at http://localhost:8890/lab?token=abc123 — from your laptop: ssh -L 8890:localhost:8890 n1"
            ]
        );
        assert!(
            w.feed(true, b"    http://127.0.0.1:8888/lab?token=abc123\n").is_empty(),
            "said once per port"
        );
        let said = w.feed(false, b"TensorBoard 2.15.1 at http://localhost:6006/ (Press CTRL+C to quit)\n");
        assert!(said[0].contains("-p 6006:6006"), "{said:?}");
    }
}
