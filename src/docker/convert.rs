//! bollard's engine types → our plain model.

use bollard::models::{ContainerInspectResponse, ContainerSummary, SystemInfo, SystemVersion};

use super::gpus;
use super::model::{
    ApiVersion, Container, ContainerId, ContainerState, EngineInfo, Health, Machine, StatsSource,
};
use super::owner::OwnerRules;

/// Engine timestamps are RFC 3339 with nanoseconds; the zero time ("0001-01-01T00:00:00Z") means
/// "never" (a container that never started or never finished).
pub fn parse_time(s: Option<&str>) -> Option<i64> {
    let s = s?;
    if s.starts_with("0001-") {
        return None;
    }
    let t = humantime::parse_rfc3339_weak(s.trim_end_matches('Z')).ok()?;
    t.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs() as i64)
}

pub fn summary_state(s: &ContainerSummary) -> ContainerState {
    s.state.map(|st| ContainerState::parse(st.as_ref())).unwrap_or(ContainerState::Unknown)
}

/// What is kept of a container's inspect between listings: the few fields the table needs.
/// Keeping the whole answer cost about 15 KB a container (7 MB of heap on a 500-container
/// node), for fields nothing reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InspectFacts {
    pub id: Option<String>,
    pub name: Option<String>,
    pub state: Option<ContainerState>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub exit_code: Option<i64>,
    pub health: Option<Health>,
    /// Positive: the engine reports 0 for a container that is not running.
    pub pid: Option<u32>,
    pub gpus: gpus::GpuRequest,
    pub labels_launched_by: Option<String>,
    /// `Config.User`, for the owner when no label or home mount names one.
    pub config_user: Option<String>,
}

pub fn inspect_facts(inspect: &ContainerInspectResponse) -> InspectFacts {
    let state = inspect.state.as_ref();
    let host = inspect.host_config.as_ref();
    let config = inspect.config.as_ref();
    let device_requests = host.and_then(|h| h.device_requests.as_deref()).unwrap_or(&[]);
    let env = config.and_then(|c| c.env.as_deref()).unwrap_or(&[]);
    let runtime = host.and_then(|h| h.runtime.as_deref());
    InspectFacts {
        id: inspect.id.clone(),
        name: inspect.name.clone(),
        state: state.and_then(|s| s.status).map(|s| ContainerState::parse(s.as_ref())),
        started_at: parse_time(state.and_then(|s| s.started_at.as_deref())),
        finished_at: parse_time(state.and_then(|s| s.finished_at.as_deref())),
        exit_code: state.and_then(|s| s.exit_code),
        health: state
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status)
            .and_then(|h| Health::parse(h.as_ref())),
        pid: state.and_then(|s| s.pid).filter(|p| *p > 0).and_then(|p| u32::try_from(p).ok()),
        gpus: gpus::decode(device_requests, runtime, env),
        labels_launched_by: config
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(super::model::LAUNCHED_BY_LABEL))
            .cloned(),
        config_user: config.and_then(|c| c.user.clone()).filter(|u| !u.is_empty()),
    }
}

/// One container from its listing entry and its inspect (None while no inspect has succeeded).
/// `inspect_is_fresh`: the inspect was made after this listing, so its state is the newer one.
/// Labels and mounts come with the listing, so most owners are known before the inspect.
pub fn container(
    summary: &ContainerSummary,
    inspect: Option<&InspectFacts>,
    inspect_is_fresh: bool,
    owners: &OwnerRules,
) -> Container {
    let id = ContainerId::new(
        summary.id.clone().or_else(|| inspect.and_then(|i| i.id.clone())).unwrap_or_default(),
    );
    let name = summary
        .names
        .as_ref()
        .and_then(|n| n.first())
        .or(inspect.and_then(|i| i.name.as_ref()))
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_else(|| id.short().to_string());
    let running = match inspect.and_then(|i| i.state) {
        Some(s) if inspect_is_fresh => s,
        _ => summary_state(summary),
    };
    Container {
        name,
        image: summary.image.clone().unwrap_or_default(),
        state: running,
        created: summary.created.unwrap_or(0),
        started_at: inspect.and_then(|i| i.started_at),
        finished_at: inspect.and_then(|i| i.finished_at),
        exit_code: inspect.and_then(|i| i.exit_code),
        health: inspect.and_then(|i| i.health),
        pid: inspect.and_then(|i| i.pid).filter(|_| running.is_running()),
        gpus: inspect.map(|i| i.gpus.clone()).unwrap_or_default(),
        launched_by: summary
            .labels
            .as_ref()
            .and_then(|l| l.get(super::model::LAUNCHED_BY_LABEL))
            .cloned()
            .or_else(|| inspect.and_then(|i| i.labels_launched_by.clone())),
        owner: owners.resolve(
            summary.labels.as_ref(),
            bind_sources(summary),
            inspect.and_then(|i| i.config_user.as_deref()),
        ),
        pending: inspect.is_none(),
        published: super::ports::published(std::slice::from_ref(summary)),
        host_network: summary.host_config.as_ref().and_then(|h| h.network_mode.as_deref()) == Some("host"),
        id,
    }
}

/// Host paths of a container's bind mounts.
fn bind_sources(summary: &ContainerSummary) -> impl Iterator<Item = &str> {
    summary
        .mounts
        .iter()
        .flatten()
        .filter(|m| m.typ.as_deref() == Some("bind"))
        .filter_map(|m| m.source.as_deref())
}

pub fn engine_info(host: String, version: &SystemVersion, info: &SystemInfo, local: bool) -> EngineInfo {
    let mut runtimes: Vec<String> =
        info.runtimes.as_ref().map(|r| r.keys().cloned().collect()).unwrap_or_default();
    runtimes.sort();
    EngineInfo {
        host,
        server_version: version.version.clone(),
        api_version: version.api_version.as_deref().and_then(ApiVersion::parse),
        cgroup_driver: info.cgroup_driver.map(|d| d.to_string()),
        cgroup_version: info.cgroup_version.map(|v| v.to_string()),
        runtimes,
        default_runtime: info.default_runtime.clone(),
        docker_root_dir: info.docker_root_dir.clone(),
        cdi_spec_dirs: info.cdi_spec_dirs.clone().unwrap_or_default(),
        stats_source: if local { StatsSource::Cgroup } else { StatsSource::Api },
        context: None,
        machine: Some(Box::new(Machine {
            name: info.name.clone().filter(|n| !n.is_empty()),
            ncpu: info.ncpu.and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0),
            mem_total: info.mem_total.and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_keep_what_the_table_needs_and_the_listing_decides_the_pid() {
        use bollard::models::{
            ContainerConfig, ContainerState as InspectState, ContainerStateStatusEnum, DeviceRequest,
            HostConfig,
        };
        let inspect = ContainerInspectResponse {
            id: Some("c1".into()),
            name: Some("/trainer".into()),
            state: Some(InspectState {
                status: Some(ContainerStateStatusEnum::RUNNING),
                pid: Some(4242),
                started_at: Some("2026-11-29T13:18:57.1Z".into()),
                finished_at: Some("0001-01-01T00:00:00Z".into()),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                device_requests: Some(vec![DeviceRequest {
                    driver: Some("nvidia".into()),
                    count: Some(2),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            config: Some(ContainerConfig {
                labels: Some(
                    [(super::super::model::LAUNCHED_BY_LABEL.to_string(), "ana".to_string())].into(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        };
        let facts = inspect_facts(&inspect);
        assert_eq!(facts.pid, Some(4242));
        assert_eq!(facts.gpus, gpus::GpuRequest::Count(2));
        let running = ContainerSummary {
            id: Some("c1".into()),
            state: Some(bollard::models::ContainerSummaryStateEnum::RUNNING),
            ..Default::default()
        };
        let c = container(&running, Some(&facts), false, &OwnerRules::default());
        assert_eq!((c.name.as_str(), c.pid, c.started_at), ("trainer", Some(4242), Some(1_795_958_337)));
        assert_eq!((c.finished_at, c.launched_by.as_deref()), (None, Some("ana")));
        assert_eq!(c.gpus, gpus::GpuRequest::Count(2));
        // A listing that says exited, with an older inspect: no PID to read counters from.
        let exited =
            ContainerSummary { state: Some(bollard::models::ContainerSummaryStateEnum::EXITED), ..running };
        assert_eq!(container(&exited, Some(&facts), false, &OwnerRules::default()).pid, None);
        assert_eq!(
            container(&exited, Some(&facts), true, &OwnerRules::default()).state,
            ContainerState::Running
        );
    }

    #[test]
    fn the_listing_gives_each_published_port_its_container_port_and_host_networking() {
        use bollard::models::{ContainerSummaryHostConfig, PortSummary, PortSummaryTypeEnum};
        let lab = ContainerSummary {
            id: Some("c2".into()),
            names: Some(vec!["/lab".into()]),
            ports: Some(vec![PortSummary {
                ip: Some("0.0.0.0".into()),
                private_port: 8888,
                public_port: Some(9999),
                typ: Some(PortSummaryTypeEnum::TCP),
            }]),
            host_config: Some(ContainerSummaryHostConfig {
                network_mode: Some("bridge".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let c = container(&lab, None, false, &OwnerRules::default());
        assert_eq!(
            c.published.iter().map(|p| (p.port, p.container_port)).collect::<Vec<_>>(),
            [(9999, 8888)]
        );
        assert!(!c.host_network);
        let host = ContainerSummary {
            host_config: Some(ContainerSummaryHostConfig {
                network_mode: Some("host".into()),
                ..Default::default()
            }),
            ..lab
        };
        assert!(container(&host, None, false, &OwnerRules::default()).host_network);
    }

    #[test]
    fn parses_engine_times() {
        assert_eq!(parse_time(Some("2026-11-29T13:18:57.123456789Z")), Some(1_795_958_337));
        assert_eq!(parse_time(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(parse_time(Some("garbage")), None);
        assert_eq!(parse_time(None), None);
    }
}
