//! Answers to rows: per-node figures from the tagged stats query, and the node on screen's GPUs
//! merged per UUID from gpudock's and dcgm-exporter's series.

use std::collections::BTreeMap;

use super::model::{ContainerRow, GpuRow, NodeDetail, NodeSummary, Source};
use super::prom::{self, Sample};
use crate::gpu::state::{BUSY_PERCENT, HELD_FLOOR_BYTES, Problem, State};
use crate::gpu::xid_catalog;

const MIB: f64 = 1_048_576.0;

/// Rows from `queries::node_stats`, `queries::top_containers` and the utilization history
/// (`History::lines`), every sparkline `count` steps long.
pub fn nodes(
    stats: &[Sample],
    top: &[Sample],
    lines: BTreeMap<String, Vec<Option<f64>>>,
    count: usize,
) -> Vec<NodeSummary> {
    let mut rows: BTreeMap<String, NodeSummary> = BTreeMap::new();
    fn row<'a>(rows: &'a mut BTreeMap<String, NodeSummary>, host: &str) -> &'a mut NodeSummary {
        rows.entry(host.to_string())
            .or_insert_with(|| NodeSummary { hostname: host.into(), ..Default::default() })
    }
    for s in stats {
        let (Some(host), Some(tag)) = (prom::hostname(&s.labels), s.labels.get("s")) else { continue };
        if !s.value.is_finite() {
            continue;
        }
        let r = row(&mut rows, host);
        let v = s.value;
        match tag.as_str() {
            "g" => (r.gpus, r.busy, r.held, r.broken, r.idle_held) = super::queries::unpack_gpus(v),
            "mu" => r.mem_used = v * MIB,
            "mt" => r.mem_total = v * MIB,
            "p" => r.power = v,
            "f" => r.fabric_degraded = v.max(0.0).round() as u32,
            "t" => {
                r.fresh = v > 0.0;
                r.last_seen = (v != 0.0).then_some(v.abs());
            }
            _ => {}
        }
    }
    for s in top {
        let (Some(host), Some(name)) = (prom::hostname(&s.labels), s.labels.get("container")) else {
            continue;
        };
        // Named with its owner where the node's exporter knows it: `train (alice)`.
        let shown = match s.labels.get("owner").filter(|o| !o.is_empty()) {
            Some(owner) => format!("{name} ({owner})"),
            None => name.clone(),
        };
        if s.value.is_finite() {
            row(&mut rows, host).top.push((shown, s.value * MIB));
        }
    }
    for (host, line) in lines {
        row(&mut rows, &host).util_history = line;
    }
    let mut out: Vec<NodeSummary> = rows.into_values().collect();
    for r in &mut out {
        r.top.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if r.util_history.is_empty() {
            r.util_history = vec![None; count];
        }
    }
    out
}

/// Fills `gpu`'s field for `metric`; `dcgm`: the value came from dcgm-exporter.
fn set(gpu: &mut GpuRow, metric: &str, v: f64, dcgm: bool) {
    let put = |slot: &mut Option<f64>, value: f64| {
        // gpudock's figure wins; dcgm's fills what gpudock left empty.
        if slot.is_none() || !dcgm {
            *slot = Some(value);
        }
    };
    match metric {
        "gpudock_gpu_memory_used_bytes" => put(&mut gpu.mem_used, v),
        "gpudock_gpu_memory_total_bytes" => put(&mut gpu.mem_total, v),
        "gpudock_gpu_utilization_percent" | "DCGM_FI_DEV_GPU_UTIL" => put(&mut gpu.util, v),
        "gpudock_gpu_temperature_celsius" | "DCGM_FI_DEV_GPU_TEMP" => put(&mut gpu.temp, v),
        "gpudock_gpu_power_watts" | "DCGM_FI_DEV_POWER_USAGE" => put(&mut gpu.power, v),
        "gpudock_gpu_power_limit_watts" => put(&mut gpu.power_limit, v),
        "gpudock_gpu_idle_held_processes" => put(&mut gpu.idle_held, v),
        // dcgm-exporter's XID series is the last XID's code, not a count: the column shows the
        // last XID from either exporter, never a count from one and a code from the other.
        "gpudock_gpu_last_xid" | "DCGM_FI_DEV_XID_ERRORS" => put(&mut gpu.xid, v),
        "DCGM_FI_DEV_FB_USED" => put(&mut gpu.mem_used, v * MIB),
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL" if v > 0.0 => {
            gpu.dcgm_problems.push(Problem::EccUncorrected(v as u64))
        }
        "DCGM_FI_DEV_ROW_REMAP_FAILURE" if v > 0.0 => gpu.dcgm_problems.push(Problem::RowRemapFailed),
        "DCGM_FI_DEV_ROW_REMAP_PENDING" if v > 0.0 => gpu.dcgm_problems.push(Problem::ResetNeeded),
        _ => {}
    }
}

/// A GPU's state where no gpudock exporter gave it (dcgm-exporter, an older gpudock), by the
/// state model's rules and as `queries::dcgm_broken` counts it in the header: broken for a
/// fatal last XID or a fault series, busy above the threshold, held above the memory floor,
/// else free.
fn without_state(g: &GpuRow) -> Option<State> {
    // Only dcgm-exporter's XID gauge: the header's query reads no XID of gpudock's own.
    let xid = g.xid.filter(|x| *x > 0.0 && g.source != Source::Gpudock).map(|x| x as u64);
    let xid = xid.filter(|c| xid_catalog::breaks_gpu(*c));
    if xid.is_some() || g.dcgm_problems.iter().any(Problem::breaks) {
        return Some(State::Broken);
    }
    let (util, mem) = (g.util?, g.mem_used?);
    Some(if util > f64::from(BUSY_PERCENT) {
        State::Busy
    } else if mem > HELD_FLOOR_BYTES as f64 {
        State::Held
    } else {
        State::Free
    })
}

/// The node on screen from its raw series (`queries::node_gpus`, `queries::node_containers`).
/// A GPU that both exporters describe is one row, keyed by UUID.
pub fn detail(host: &str, gpus: &[Sample], containers: &[Sample]) -> NodeDetail {
    let mut by_uuid: BTreeMap<String, GpuRow> = BTreeMap::new();
    let mut fb_free: BTreeMap<String, f64> = BTreeMap::new();
    let mut out = NodeDetail { hostname: host.into(), ..Default::default() };
    for s in gpus {
        let Some(name) = s.labels.get("__name__") else { continue };
        match name.as_str() {
            "gpudock_engine_up" => out.engine_up = Some(s.value > 0.0),
            "gpudock_nvml_up" => out.nvml_up = Some(s.value > 0.0),
            _ => {}
        }
        let Some(uuid) = prom::uuid(&s.labels) else { continue };
        let dcgm = name.starts_with("DCGM_");
        let gpu = by_uuid.entry(uuid.to_string()).or_insert_with(|| GpuRow {
            uuid: uuid.into(),
            source: if dcgm { Source::Dcgm } else { Source::Gpudock },
            ..Default::default()
        });
        gpu.source = match (gpu.source, dcgm) {
            (Source::Gpudock, true) | (Source::Dcgm, false) => Source::Both,
            (s, _) => s,
        };
        if gpu.index.is_none() || !dcgm {
            gpu.index = s.labels.get("gpu").and_then(|g| g.parse().ok()).or(gpu.index);
        }
        if let Some(m) = s.labels.get("modelName").filter(|m| !m.is_empty()) {
            gpu.model = m.clone();
        }
        if let Some(d) = s.labels.get("DCGM_FI_DRIVER_VERSION") {
            out.driver = Some(d.clone());
        }
        if !s.value.is_finite() {
            continue;
        }
        if name == "DCGM_FI_DEV_FB_FREE" {
            fb_free.insert(uuid.to_string(), s.value * MIB);
        } else if name == "gpudock_gpu_state" {
            let state = s.labels.get("state").and_then(|v| State::ALL.into_iter().find(|s| s.as_str() == v));
            if s.value > 0.0 && state.is_some() {
                gpu.state = state;
            }
        } else {
            set(gpu, name, s.value, dcgm);
        }
    }
    for (uuid, free) in fb_free {
        if let Some(gpu) = by_uuid.get_mut(&uuid)
            && gpu.mem_total.is_none()
        {
            gpu.mem_total = Some(gpu.mem_used.unwrap_or(0.0) + free);
        }
    }
    for gpu in by_uuid.values_mut().filter(|g| g.state.is_none()) {
        gpu.state = without_state(gpu);
    }
    out.gpus = by_uuid.into_values().collect();
    out.gpus.sort_by(|a, b| a.index.cmp(&b.index).then_with(|| a.uuid.cmp(&b.uuid)));
    out.containers = containers_of(containers, gpus);
    out
}

/// Container rows: gpudock's per-container series joined with its `container_info`, and pods
/// from dcgm-exporter's Kubernetes labels.
fn containers_of(series: &[Sample], gpus: &[Sample]) -> Vec<ContainerRow> {
    let mut info: BTreeMap<&str, (&str, &str, &str)> = BTreeMap::new();
    let mut rows: BTreeMap<(String, String), ContainerRow> = BTreeMap::new();
    for s in series {
        let l = &s.labels;
        let name = l.get("__name__").map(String::as_str).unwrap_or_default();
        let id = l.get("container_id").map(String::as_str).unwrap_or_default();
        if name == "gpudock_container_info" {
            let by = l.get("launched_by").map(String::as_str).unwrap_or_default();
            let owner = l.get("owner").map(String::as_str).unwrap_or_default();
            info.insert(id, (by, l.get("image").map(String::as_str).unwrap_or_default(), owner));
            continue;
        }
        // A row is a container on a GPU: series without a `gpu` label (GPUs requested, which
        // every running container has) would add a row for every CPU-only container.
        let Some(gpu) = l.get("gpu").cloned() else { continue };
        if name == "gpudock_host_gpu_memory_used_bytes" {
            // Host processes per user ("(not visible here: …)" for another PID namespace).
            let user = l.get("user").map(String::as_str).unwrap_or("unknown");
            let name = format!("host: {user}");
            rows.insert(
                (name.clone(), gpu.clone()),
                ContainerRow {
                    name,
                    gpu,
                    mem_used: s.value.is_finite().then_some(s.value),
                    launched_by: "-".into(),
                    ..Default::default()
                },
            );
            continue;
        }
        let row = rows.entry((id.to_string(), gpu.clone())).or_insert_with(|| ContainerRow {
            name: l.get("container").cloned().unwrap_or_default(),
            id: id.into(),
            image: l.get("image").cloned().unwrap_or_default(),
            owner: l.get("owner").cloned().unwrap_or_default(),
            gpu,
            ..Default::default()
        });
        if !s.value.is_finite() {
            continue;
        }
        match name {
            "gpudock_container_gpu_memory_used_bytes" => row.mem_used = Some(s.value),
            "gpudock_container_gpu_sm_percent" => row.sm_percent = Some(s.value),
            _ => {}
        }
    }
    for s in gpus.iter().filter(|s| s.labels.get("__name__").is_some_and(|n| n == "DCGM_FI_DEV_FB_USED")) {
        let Some(pod) = prom::first(&s.labels, &["exported_pod", "pod"]) else { continue };
        let ns = prom::first(&s.labels, &["exported_namespace", "namespace"]).unwrap_or("");
        let gpu = s.labels.get("gpu").cloned().unwrap_or_default();
        let name = if ns.is_empty() { pod.to_string() } else { format!("{ns}/{pod}") };
        rows.entry((name.clone(), gpu.clone())).or_insert_with(|| ContainerRow {
            name,
            gpu,
            mem_used: s.value.is_finite().then_some(s.value * MIB),
            launched_by: "kubernetes".into(),
            // Pods as owners, where dcgm-exporter's labels carry them: their namespace.
            owner: ns.to_string(),
            ..Default::default()
        });
    }
    let mut out: Vec<ContainerRow> = rows.into_values().collect();
    for r in &mut out {
        if let Some((by, image, owner)) = info.get(r.id.as_str()) {
            r.launched_by = by.to_string();
            if r.owner.is_empty() {
                r.owner = owner.to_string();
            }
            if r.image.is_empty() {
                r.image = image.to_string();
            }
        }
    }
    out.sort_by(|a, b| {
        b.mem_used.unwrap_or(0.0).total_cmp(&a.mem_used.unwrap_or(0.0)).then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// Owner rows from `queries::owners`, most GPU memory first.
pub fn owners(samples: &[Sample]) -> Vec<super::model::OwnerRow> {
    let mut rows: BTreeMap<String, super::model::OwnerRow> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.value.is_finite()) {
        let Some(tag) = s.labels.get("s") else { continue };
        let owner = crate::sanitize::line(s.labels.get("owner").map_or("", String::as_str)).into_owned();
        let r = rows
            .entry(owner.clone())
            .or_insert_with(|| super::model::OwnerRow { owner, ..Default::default() });
        let n = s.value.max(0.0);
        match tag.as_str() {
            "m" => r.mem_used = n,
            "g" => r.gpus_held = n.round() as u32,
            "c" => r.containers = n.round() as u32,
            "n" => r.nodes = n.round() as u32,
            "i" => r.idle_mem = n,
            "sm" => r.sm_percent = Some(n.min(100.0)),
            _ => {}
        }
    }
    let mut out: Vec<_> = rows.into_values().collect();
    out.sort_by(|a, b| b.mem_used.total_cmp(&a.mem_used).then_with(|| a.owner.cmp(&b.owner)));
    out
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
