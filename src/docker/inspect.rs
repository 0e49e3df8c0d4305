//! One container described in full for the detail view: what `docker inspect` says that the
//! table has no room for, as plain data with every engine string made safe to draw.

use bollard::models::{ContainerInspectResponse, MountPoint};

use super::EngineError;
use super::convert::parse_time;
use super::gpus::{self, GpuRequest};
use super::model::{ContainerId, ContainerState, Health};
use crate::sanitize;

/// Labels gpudock puts on what it launches: shown before the others.
pub const OWN_LABEL_PREFIX: &str = "io.gpudock.";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerDetail {
    pub id: ContainerId,
    pub name: String,
    /// As the container was created from it ("nvidia/cuda:12.9.1-base-ubuntu24.04").
    pub image: String,
    /// Entrypoint then command, as configured.
    pub command: Vec<String>,
    /// Unix seconds.
    pub created: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub state: ContainerState,
    pub health: Option<Health>,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    /// The engine's own words for why it last failed to run it.
    pub error: Option<String>,
    pub restart_count: i64,
    /// "no", "always", "unless-stopped", "on-failure:3".
    pub restart_policy: String,
    /// gpudock's own `io.gpudock.*` first, then the rest, each part sorted by key.
    pub labels: Vec<(String, String)>,
    pub mounts: Vec<Mount>,
    /// In the order the engine keeps them. The values can be secrets: the view hides them.
    pub env: Vec<(String, String)>,
    pub network_mode: String,
    pub runtime: String,
    pub gpus: GpuRequest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
    Other(String),
}

impl MountKind {
    fn parse(s: &str) -> MountKind {
        match s {
            "bind" => MountKind::Bind,
            "volume" => MountKind::Volume,
            "tmpfs" => MountKind::Tmpfs,
            other => MountKind::Other(sanitize::line(other).into_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountKind,
    /// The host path, or the volume's name; empty for a tmpfs.
    pub source: String,
    pub destination: String,
    pub read_write: bool,
}

/// Inspects container `id`.
pub async fn inspect(docker: &bollard::Docker, id: &ContainerId) -> Result<ContainerDetail, EngineError> {
    let r = docker.inspect_container(id, None).await?;
    Ok(detail(id, &r))
}

fn clean(s: &str) -> String {
    sanitize::line(s).into_owned()
}

/// The plain description of an inspect answer.
pub fn detail(id: &ContainerId, r: &ContainerInspectResponse) -> ContainerDetail {
    let config = r.config.as_ref();
    let host = r.host_config.as_ref();
    let state = r.state.as_ref();
    let raw_env = config.and_then(|c| c.env.clone()).unwrap_or_default();
    let runtime = host.and_then(|h| h.runtime.clone()).unwrap_or_default();
    let requests = host.and_then(|h| h.device_requests.as_deref()).unwrap_or(&[]);
    let gpus = gpus::decode(requests, Some(runtime.as_str()).filter(|r| !r.is_empty()), &raw_env);
    let mut command: Vec<String> = config.and_then(|c| c.entrypoint.clone()).unwrap_or_default();
    command.extend(config.and_then(|c| c.cmd.clone()).unwrap_or_default());
    let mut labels: Vec<(String, String)> = config
        .and_then(|c| c.labels.as_ref())
        .map(|l| l.iter().map(|(k, v)| (clean(k), clean(v))).collect())
        .unwrap_or_default();
    labels.sort_by(|a, b| {
        (!a.0.starts_with(OWN_LABEL_PREFIX), &a.0).cmp(&(!b.0.starts_with(OWN_LABEL_PREFIX), &b.0))
    });
    let restart_policy = host.and_then(|h| h.restart_policy.as_ref()).map_or_else(String::new, |p| {
        let name = p.name.map(|n| n.to_string()).unwrap_or_default();
        match p.maximum_retry_count {
            Some(n) if n > 0 && name == "on-failure" => format!("{name}:{n}"),
            _ => name,
        }
    });
    let mut mounts: Vec<Mount> = r.mounts.iter().flatten().map(mount).collect();
    // `--tmpfs /x` is a host setting the engine does not list among the mounts.
    for (dest, opts) in host.and_then(|h| h.tmpfs.as_ref()).into_iter().flatten() {
        if !mounts.iter().any(|m| &m.destination == dest) {
            let ro = opts.split(',').any(|o| o == "ro");
            mounts.push(Mount {
                kind: MountKind::Tmpfs,
                source: String::new(),
                destination: clean(dest),
                read_write: !ro,
            });
        }
    }
    mounts.sort_by(|a, b| a.destination.cmp(&b.destination));
    ContainerDetail {
        id: id.clone(),
        name: clean(r.name.as_deref().unwrap_or_default().trim_start_matches('/')),
        image: clean(config.and_then(|c| c.image.as_deref()).unwrap_or_default()),
        command: command.iter().map(|a| clean(a)).collect(),
        created: parse_time(r.created.as_deref()),
        started_at: parse_time(state.and_then(|s| s.started_at.as_deref())),
        finished_at: parse_time(state.and_then(|s| s.finished_at.as_deref())),
        state: state
            .and_then(|s| s.status)
            .map_or(ContainerState::Unknown, |s| ContainerState::parse(s.as_ref())),
        health: state
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status)
            .and_then(|h| Health::parse(h.as_ref())),
        exit_code: state.and_then(|s| s.exit_code),
        oom_killed: state.and_then(|s| s.oom_killed).unwrap_or(false),
        error: state.and_then(|s| s.error.as_deref()).filter(|e| !e.is_empty()).map(clean),
        restart_count: r.restart_count.unwrap_or(0),
        restart_policy: clean(&restart_policy),
        labels,
        mounts,
        env: raw_env
            .iter()
            .map(|e| {
                let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
                (clean(k), clean(v))
            })
            .collect(),
        network_mode: clean(host.and_then(|h| h.network_mode.as_deref()).unwrap_or_default()),
        runtime: clean(&runtime),
        gpus: sanitize_gpus(gpus),
    }
}

fn mount(m: &MountPoint) -> Mount {
    let kind = MountKind::parse(m.typ.as_deref().unwrap_or_default());
    // A volume's host path is the engine's business; its name is what people recognise.
    let source = match (&kind, m.name.as_deref()) {
        (MountKind::Volume, Some(name)) if !name.is_empty() => name,
        _ => m.source.as_deref().unwrap_or_default(),
    };
    Mount {
        kind,
        source: clean(source),
        destination: clean(m.destination.as_deref().unwrap_or_default()),
        read_write: m.rw.unwrap_or(true),
    }
}

/// GPU names come from the user's request (`--gpus '"device=…"'`): they are drawn too.
fn sanitize_gpus(g: GpuRequest) -> GpuRequest {
    use super::gpus::GpuRef;
    match g {
        GpuRequest::Devices(refs) => GpuRequest::Devices(
            refs.into_iter()
                .map(|r| match r {
                    GpuRef::Uuid(u) => GpuRef::Uuid(clean(&u)),
                    GpuRef::Other(o) => GpuRef::Other(clean(&o)),
                    i => i,
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bollard::models::{ContainerConfig, HostConfig, RestartPolicy, RestartPolicyNameEnum};

    use super::*;

    #[test]
    fn own_labels_first_env_split_and_escapes_cleaned() {
        let labels = HashMap::from([
            ("zeta".to_string(), "1".to_string()),
            ("io.gpudock.preset".to_string(), "cuda".to_string()),
            ("alpha".to_string(), "evil\u{1b}]52;c;QQ\u{7}".to_string()),
            ("io.gpudock.launched-by".to_string(), "alice".to_string()),
        ]);
        let r = ContainerInspectResponse {
            name: Some("/train".into()),
            config: Some(ContainerConfig {
                labels: Some(labels),
                env: Some(vec!["A=b=c".into(), "EMPTY".into(), "NVIDIA_VISIBLE_DEVICES=0,1".into()]),
                entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
                cmd: Some(vec!["sleep 1".into()]),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                runtime: Some("nvidia".into()),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::ON_FAILURE),
                    maximum_retry_count: Some(3),
                }),
                tmpfs: Some(HashMap::from([("/scratch".to_string(), "rw,size=64m".to_string())])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let d = detail(&ContainerId::from("abc"), &r);
        let keys: Vec<&str> = d.labels.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["io.gpudock.launched-by", "io.gpudock.preset", "alpha", "zeta"]);
        assert!(!d.labels[2].1.chars().any(char::is_control), "{:?}", d.labels[2]);
        assert_eq!(d.env[0], ("A".to_string(), "b=c".to_string()));
        assert_eq!(d.env[1], ("EMPTY".to_string(), String::new()));
        assert_eq!(d.command, ["/bin/sh", "-c", "sleep 1"]);
        assert_eq!(d.restart_policy, "on-failure:3");
        assert_eq!(d.name, "train");
        assert_eq!(d.gpus.to_string(), "0,1", "the nvidia runtime's NVIDIA_VISIBLE_DEVICES");
        assert_eq!(
            d.mounts,
            [Mount {
                kind: MountKind::Tmpfs,
                source: String::new(),
                destination: "/scratch".into(),
                read_write: true
            }]
        );
    }
}
