//! Published ports: `-p [IP:]HOST:CONTAINER[/tcp|/udp]` parsed and checked, their wire format
//! for a create request, and the clash check against ports other containers on this node
//! already publish. Pure functions: the launch form and `gpudock run` call the same ones.

use std::collections::HashMap;
use std::fmt;

use bollard::models::{ContainerSummary, PortBinding, PortSummaryTypeEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Proto {
    #[default]
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One `-p`: a host port (on one address, or all) forwarded to a container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMap {
    /// None: every address of the host.
    pub host_ip: Option<String>,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: Proto,
}

impl fmt::Display for PortMap {
    /// As `docker run -p` takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host_ip {
            Some(ip) if ip.contains(':') => write!(f, "[{ip}]:")?,
            Some(ip) => write!(f, "{ip}:")?,
            None => {}
        }
        write!(f, "{}:{}", self.host_port, self.container_port)?;
        if self.proto == Proto::Udp {
            f.write_str("/udp")?;
        }
        Ok(())
    }
}

fn port(s: &str, what: &str, item: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("{item:?}: the {what} port must be a number from 1 to 65535")),
    }
}

/// `8888:8888`, `127.0.0.1:8888:8888`, `[::1]:8888:8888`, each with an optional `/tcp` or `/udp`.
pub fn parse(s: &str) -> Result<PortMap, String> {
    let item = s.trim();
    let shape = || format!("{item:?} is not [IP:]HOST:CONTAINER[/tcp|/udp], e.g. 8888:8888");
    let (rest, proto) = match item.rsplit_once('/') {
        Some((r, "tcp")) => (r, Proto::Tcp),
        Some((r, "udp")) => (r, Proto::Udp),
        Some((_, other)) => return Err(format!("{item:?}: {other:?} is not tcp or udp")),
        None => (item, Proto::Tcp),
    };
    // An IPv6 address is bracketed, as docker writes it.
    let (host_ip, ports) = if let Some(v6) = rest.strip_prefix('[') {
        let (ip, after) = v6.split_once("]:").ok_or_else(shape)?;
        (Some(ip.to_string()), after)
    } else {
        match rest.matches(':').count() {
            1 => (None, rest),
            2 => {
                let (ip, after) = rest.split_once(':').ok_or_else(shape)?;
                (Some(ip.to_string()), after)
            }
            _ => return Err(shape()),
        }
    };
    if let Some(ip) = &host_ip
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        return Err(format!("{item:?}: {ip:?} is not an IP address of this host"));
    }
    let (h, c) = ports.split_once(':').ok_or_else(shape)?;
    Ok(PortMap {
        host_ip,
        host_port: port(h, "host", item)?,
        container_port: port(c, "container", item)?,
        proto,
    })
}

/// Each of `items`, checked; the second mapping of one host port is refused here already.
pub fn parse_all<S: AsRef<str>>(items: &[S]) -> Result<Vec<PortMap>, String> {
    let maps = items.iter().map(|s| parse(s.as_ref())).collect::<Result<Vec<_>, _>>()?;
    for (i, a) in maps.iter().enumerate() {
        if let Some(b) = maps[..i].iter().find(|b| overlaps(a, b.host_ip.as_deref(), b.host_port, b.proto)) {
            return Err(format!("-p {a} and -p {b} both publish host port {}", a.host_port));
        }
    }
    Ok(maps)
}

/// A form field or preset value: mappings separated by commas (`8888:8888, 6006:6006`).
pub fn parse_field(s: &str) -> Result<Vec<PortMap>, String> {
    let items: Vec<&str> = s.split(',').map(str::trim).filter(|i| !i.is_empty()).collect();
    parse_all(&items)
}

/// Whether `a` and a port on `ip` (None or 0.0.0.0 / :: = every address) can both be bound.
fn overlaps(a: &PortMap, ip: Option<&str>, port: u16, proto: Proto) -> bool {
    let any = |ip: Option<&str>| matches!(ip, None | Some("" | "0.0.0.0" | "::"));
    a.host_port == port
        && a.proto == proto
        && (any(a.host_ip.as_deref()) || any(ip) || a.host_ip.as_deref() == ip)
}

/// `ExposedPorts` and `HostConfig.PortBindings` for a create request.
pub fn encode(maps: &[PortMap]) -> (Option<Vec<String>>, Option<bollard::models::PortMap>) {
    if maps.is_empty() {
        return (None, None);
    }
    let mut bindings: bollard::models::PortMap = HashMap::new();
    let mut exposed = Vec::new();
    for m in maps {
        let key = format!("{}/{}", m.container_port, m.proto.as_str());
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        let b = PortBinding { host_ip: m.host_ip.clone(), host_port: Some(m.host_port.to_string()) };
        bindings.entry(key).or_insert_with(|| Some(Vec::new())).get_or_insert_with(Vec::new).push(b);
    }
    (Some(exposed), Some(bindings))
}

/// A host port some container already publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub container: String,
    pub ip: Option<String>,
    pub port: u16,
    pub proto: Proto,
    /// The container's own port behind it (a notebook's tunnel goes to `port`).
    pub container_port: u16,
}

/// The host ports the engine's container list (`GET /containers/json`) says are published.
pub fn published(list: &[ContainerSummary]) -> Vec<Published> {
    let mut out = Vec::new();
    for c in list {
        let name = c
            .names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_string())
            .or_else(|| c.id.as_deref().map(|id| crate::docker::short_id(id).to_string()))
            .unwrap_or_default();
        for p in c.ports.iter().flatten() {
            let Some(port) = p.public_port else { continue };
            let proto = match p.typ {
                Some(PortSummaryTypeEnum::UDP) => Proto::Udp,
                _ => Proto::Tcp,
            };
            out.push(Published {
                container: name.clone(),
                ip: p.ip.clone(),
                port,
                proto,
                container_port: p.private_port,
            });
        }
    }
    out
}

/// Refuses a mapping whose host port another container already publishes, naming it.
pub fn check_clashes(wanted: &[PortMap], taken: &[Published]) -> Result<(), String> {
    for w in wanted {
        if let Some(t) = taken.iter().find(|t| overlaps(w, t.ip.as_deref(), t.port, t.proto)) {
            return Err(format!(
                "host port {}/{} is already published by container {}: pick another host port (-p OTHER:{})",
                w.host_port,
                w.proto.as_str(),
                crate::sanitize::line(&t.container),
                w.container_port
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> PortMap {
        parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_what_docker_run_takes() {
        let p = ok("8888:8888");
        assert_eq!((p.host_ip, p.host_port, p.container_port, p.proto), (None, 8888, 8888, Proto::Tcp));
        let p = ok("127.0.0.1:6006:6006/tcp");
        assert_eq!(p.host_ip.as_deref(), Some("127.0.0.1"));
        let p = ok("[::1]:8080:80/udp");
        assert_eq!((p.host_ip.as_deref(), p.proto), (Some("::1"), Proto::Udp));
        assert_eq!(p.to_string(), "[::1]:8080:80/udp");
        for bad in ["8888", "0:80", "70000:80", "a:b", "host:80:80", "80:80/sctp", "1:2:3:4", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse_all(&["8888:8888", "8888:9999"]).is_err_and(|e| e.contains("both publish")));
        assert!(parse_all(&["8888:8888", "8888:8888/udp", "127.0.0.1:9:9", "127.0.0.2:9:9"]).is_ok());
        assert_eq!(parse_field(" 8888:8888, 6006:6006 ,").map(|v| v.len()), Ok(2));
        assert_eq!(parse_field(""), Ok(Vec::new()));
    }

    #[test]
    fn encodes_exposed_ports_and_bindings() {
        let maps = parse_all(&["8888:8888", "127.0.0.1:6006:6006"]).unwrap_or_else(|e| panic!("{e}"));
        let (exposed, bindings) = encode(&maps);
        assert_eq!(exposed, Some(vec!["8888/tcp".to_string(), "6006/tcp".to_string()]));
        let b = bindings.unwrap_or_default();
        let tb = b.get("6006/tcp").cloned().flatten().unwrap_or_default();
        assert_eq!(tb[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(tb[0].host_port.as_deref(), Some("6006"));
    }

    /// What `GET /containers/json` answers (docker 20.10) for a container publishing
    /// `-p 8888:8888 -p 127.0.0.1:6006:6006`; the engine here runs without a bridge, so this is
    /// a recorded listing rather than a live one.
    const LISTING: &str = r#"[{"Id":"4f1c0e7a9b2d","Names":["/alice-notebook"],"Image":"jupyter/base","State":"running",
      "Ports":[{"IP":"0.0.0.0","PrivatePort":8888,"PublicPort":8888,"Type":"tcp"},
               {"IP":"::","PrivatePort":8888,"PublicPort":8888,"Type":"tcp"},
               {"IP":"127.0.0.1","PrivatePort":6006,"PublicPort":6006,"Type":"tcp"},
               {"PrivatePort":22,"Type":"tcp"}]}]"#;

    #[test]
    fn a_clash_names_the_container_holding_the_port() {
        let list: Vec<ContainerSummary> = serde_json::from_str(LISTING).unwrap_or_else(|e| panic!("{e}"));
        let taken = published(&list);
        assert_eq!(taken.len(), 3, "an unpublished port is no clash");
        let clash = check_clashes(&parse_all(&["8888:8888"]).unwrap_or_default(), &taken);
        assert!(
            clash.as_ref().is_err_and(|e| e.contains("alice-notebook") && e.contains("8888/tcp")),
            "{clash:?}"
        );
        // 6006 is only taken on loopback: another address is free, every address is not.
        assert!(check_clashes(&parse_all(&["10.0.0.5:6006:6006"]).unwrap_or_default(), &taken).is_ok());
        assert!(check_clashes(&parse_all(&["6006:6006"]).unwrap_or_default(), &taken).is_err());
        assert!(
            check_clashes(&parse_all(&["8888:8888/udp", "8889:8888"]).unwrap_or_default(), &taken).is_ok()
        );
    }
}
