//! bollard's engine types → our plain model.

use bollard::models::{ContainerInspectResponse, ContainerSummary, SystemInfo, SystemVersion};

use super::gpus;
use super::model::{ApiVersion, Container, ContainerId, ContainerState, EngineInfo, Health, StatsSource};

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

/// One container from its listing entry and its inspect (None while no inspect has succeeded).
/// `inspect_is_fresh`: the inspect was made after this listing, so its state is the newer one.
pub fn container(
    summary: &ContainerSummary,
    inspect: Option<&ContainerInspectResponse>,
    inspect_is_fresh: bool,
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
    let state = inspect.and_then(|i| i.state.as_ref());
    let host = inspect.and_then(|i| i.host_config.as_ref());
    let config = inspect.and_then(|i| i.config.as_ref());
    let device_requests = host.and_then(|h| h.device_requests.as_deref()).unwrap_or(&[]);
    let env = config.and_then(|c| c.env.clone()).unwrap_or_default();
    let runtime = host.and_then(|h| h.runtime.as_deref());
    let inspected_state = state.and_then(|s| s.status).map(|s| ContainerState::parse(s.as_ref()));
    let running = match inspected_state {
        Some(s) if inspect_is_fresh => s,
        _ => summary_state(summary),
    };
    Container {
        name,
        image: summary.image.clone().unwrap_or_default(),
        state: running,
        created: summary.created.unwrap_or(0),
        started_at: parse_time(state.and_then(|s| s.started_at.as_deref())),
        finished_at: parse_time(state.and_then(|s| s.finished_at.as_deref())),
        exit_code: state.and_then(|s| s.exit_code),
        health: state
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status)
            .and_then(|h| Health::parse(h.as_ref())),
        pid: state
            .and_then(|s| s.pid)
            .filter(|p| *p > 0 && running.is_running())
            .and_then(|p| u32::try_from(p).ok()),
        gpus: gpus::decode(device_requests, runtime, &env),
        launched_by: summary
            .labels
            .as_ref()
            .or(config.and_then(|c| c.labels.as_ref()))
            .and_then(|l| l.get(super::model::LAUNCHED_BY_LABEL))
            .cloned(),
        id,
    }
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_engine_times() {
        assert_eq!(parse_time(Some("2026-11-29T13:18:57.123456789Z")), Some(1_795_958_337));
        assert_eq!(parse_time(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(parse_time(Some("garbage")), None);
        assert_eq!(parse_time(None), None);
    }
}
