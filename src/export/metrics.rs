//! The OpenMetrics text of one scrape, encoded straight from the state by a prometheus-client
//! collector: nothing is stored between scrapes, so a container that is gone has no series left
//! behind, and a scrape allocates little more than its text.
//!
//! GPU series carry dcgm-exporter's label names (`gpu`, `UUID`, `modelName`, `Hostname`) so
//! dashboards can join the two; every series carries `Hostname`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::state::State;

mod fabric;
use crate::docker::{Container, ContainerId};
use crate::gpu::GpuSample;
use crate::gpu::state::{State as GpuState, assess};

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A label value from outside (engine, /proc, the driver): control characters made harmless, and
/// the OpenMetrics escapes written, which prometheus-client leaves to the caller.
pub fn label(s: &str) -> Cow<'_, str> {
    let s = crate::sanitize::line(s);
    if !s.contains(['\\', '"']) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The exposition for `state`.
pub fn render(state: &Arc<State>) -> String {
    let host = (Cow::Borrowed("Hostname"), Cow::Owned(label(&state.hostname).into_owned()));
    let mut reg = Registry::with_prefix_and_labels("gpudock", std::iter::once(host));
    reg.register_collector(Box::new(View(state.clone())));
    let mut out = String::with_capacity(256 * 1024);
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &reg) {
        // Writing to a String does not fail; should it ever, the log says so.
        tracing::warn!(error = %e, "encoding the metrics failed");
    }
    out
}

#[derive(Debug)]
struct View(Arc<State>);

impl Collector for View {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        encode(&self.0, &mut enc)
    }
}

#[derive(Clone, Copy)]
enum V {
    Int(i64),
    Float(f64),
    Counter(u64),
}

/// One family with its series; a family without series is left out, as the registry does.
fn family<L: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (L, V)>,
) -> fmt::Result {
    let mut rows = rows.into_iter().peekable();
    let Some((_, first)) = rows.peek() else { return Ok(()) };
    let ty = if matches!(first, V::Counter(_)) { MetricType::Counter } else { MetricType::Gauge };
    let mut m = enc.encode_descriptor(name, help, None, ty)?;
    for (labels, v) in rows {
        let mut s = m.encode_family(&labels)?;
        match v {
            V::Int(i) => s.encode_gauge(&i)?,
            V::Float(f) => s.encode_gauge(&f)?,
            V::Counter(c) => s.encode_counter::<NoLabelSet, u64, u64>(&c, None)?,
        }
    }
    Ok(())
}

type GpuL<'a> = [(&'static str, Cow<'a, str>); 3];

/// What one container's processes use on one GPU.
#[derive(Default)]
struct Use {
    memory: u64,
    sm: Option<u32>,
    /// Seconds the least idle of its processes there has been idle-held; None once one is busy.
    idle: Option<u64>,
    busy: bool,
}

fn encode(state: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    let none: [(&str, &str); 0] = [];
    let up = |b: bool| [(none, V::Int(b.into()))];
    family(enc, "up", "1 while gpudock export runs", up(true))?;
    family(enc, "engine_up", "1 while the Docker engine answers", up(state.engine_up))?;
    family(enc, "nvml_up", "1 while NVML answers", up(state.nvml_up))?;

    let samples = state.gpu.as_ref().map_or(&[][..], |s| s.gpus.as_slice());
    let now = state.gpu.as_ref().map_or(0, |s| s.at);
    let after = state.idle_after.as_secs();
    let labels: Vec<GpuL> = samples
        .iter()
        .map(|g| {
            [("gpu", g.index.to_string().into()), ("UUID", label(&g.uuid)), ("modelName", label(&g.name))]
        })
        .collect();
    let gpus = || samples.iter().zip(&labels);
    type Field = fn(&GpuSample) -> Option<u64>;
    let ints: [(&str, &str, Field); 9] = [
        ("gpu_memory_used_bytes", "GPU memory in use", |g| g.memory_used),
        ("gpu_memory_total_bytes", "GPU memory in all", |g| g.memory_total),
        ("gpu_utilization_percent", "GPU utilisation over the last sample period", |g| {
            g.util_gpu.map(u64::from)
        }),
        ("gpu_temperature_celsius", "GPU temperature", |g| g.temperature_c.map(u64::from)),
        ("gpu_retired_pages", "Retired pages, both causes", |g| g.health.retired_pages.map(u64::from)),
        ("gpu_clock_event_reasons", "Why clocks are held down (NVML clock event reason bits)", |g| {
            g.health.throttle_reasons
        }),
        ("gpu_pcie_link_width", "Current PCIe link width", |g| g.health.pcie_width.map(u64::from)),
        ("gpu_pcie_link_width_max", "Maximum PCIe link width", |g| g.health.pcie_width_max.map(u64::from)),
        ("gpu_pcie_link_gen", "Current PCIe link generation", |g| g.health.pcie_gen.map(u64::from)),
    ];
    for (name, help, field) in ints {
        family(enc, name, help, gpus().filter_map(|(g, l)| Some((l.clone(), V::Int(int(field(g)?))))))?;
    }
    let power = gpus().filter_map(|(g, l)| Some((l.clone(), V::Float(g.power_watts?))));
    family(enc, "gpu_power_watts", "GPU power draw", power)?;
    let limit = gpus().filter_map(|(g, l)| Some((l.clone(), V::Float(g.power_limit_watts?))));
    family(enc, "gpu_power_limit_watts", "GPU enforced power limit", limit)?;

    let ecc = gpus().flat_map(|(g, l)| {
        let (v, a) = (g.health.ecc_volatile, g.health.ecc_aggregate);
        let counts = [
            ("corrected", "volatile", v.corrected),
            ("uncorrected", "volatile", v.uncorrected),
            ("corrected", "aggregate", a.corrected),
            ("uncorrected", "aggregate", a.uncorrected),
        ];
        counts.into_iter().filter_map(move |(error, counter, n)| {
            let n = n?;
            let mut l = l.to_vec();
            l.extend([("error", error.into()), ("counter", counter.into())]);
            Some((l, V::Int(int(n))))
        })
    });
    family(enc, "gpu_ecc_errors", "ECC errors by error (corrected, uncorrected) and counter", ecc)?;
    let reset = gpus().filter_map(|(g, l)| {
        let pending = [g.health.retired_pending, g.health.remapped_rows.map(|r| r.pending)];
        let known = pending.iter().any(Option::is_some);
        known.then(|| (l.clone(), V::Int(pending.contains(&Some(true)).into())))
    });
    family(enc, "gpu_reset_needed", "1 when a page retirement or row remap waits for a GPU reset", reset)?;
    let remapped = gpus().flat_map(|(g, l)| {
        g.health.remapped_rows.into_iter().flat_map(move |r| {
            [("correctable", r.correctable), ("uncorrectable", r.uncorrectable)].into_iter().map(
                move |(k, v)| {
                    let mut l = l.to_vec();
                    l.push(("kind", k.into()));
                    (l, V::Int(v.into()))
                },
            )
        })
    });
    family(enc, "gpu_remapped_rows", "Remapped rows by kind", remapped)?;
    let xid = |g: &GpuSample| state.xids.get(&g.uuid).copied().unwrap_or_default();
    let xids = gpus().map(|(g, l)| (l.clone(), V::Counter(xid(g).total)));
    family(enc, "gpu_xid_errors", "XID errors seen since gpudock export started", xids)?;
    let last = gpus().filter(|(g, _)| xid(g).total > 0).map(|(g, l)| (l.clone(), V::Int(int(xid(g).last))));
    family(enc, "gpu_last_xid", "The last XID error seen on this GPU", last)?;
    let at = gpus().filter(|(g, _)| xid(g).total > 0).map(|(g, l)| (l.clone(), V::Int(xid(g).last_at)));
    family(
        enc,
        "gpu_last_xid_timestamp_seconds",
        "When the last XID error on this GPU was seen (unix seconds)",
        at,
    )?;
    let states = gpus().flat_map(|(g, l)| {
        let state = assess(g, xid(g).fatal.codes().iter().copied()).state;
        GpuState::ALL.into_iter().map(move |s| {
            let mut l = l.to_vec();
            l.push(("state", s.as_str().into()));
            (l, V::Int((s == state).into()))
        })
    });
    family(
        enc,
        "gpu_state",
        "1 for the GPU's state: free (healthy, nobody's memory), held (memory held, not busy), busy (utilisation above 5 %), broken (a fault: unfit for new work)",
        states,
    )?;
    let held = gpus().map(|(g, l)| {
        let idle = |p| state.idle.idle_seconds(g.index, p, now).is_some_and(|s| s >= after);
        (l.clone(), V::Int(g.processes.iter().filter(|p| idle(p)).count() as i64))
    });
    family(enc, "gpu_idle_held_processes", "Processes holding memory at 0 % SM for idle_gpu_after", held)?;
    fabric::encode(enc, samples, &labels)?;

    containers(state, enc, samples, &labels)
}

/// The join: running containers on their GPUs, and host processes per user.
fn containers(
    state: &State,
    enc: &mut DescriptorEncoder,
    samples: &[GpuSample],
    labels: &[GpuL],
) -> fmt::Result {
    let running: HashMap<&ContainerId, &Container> =
        state.containers.iter().filter(|c| c.state.is_running()).map(|c| (&c.id, c)).collect();
    let now = state.gpu.as_ref().map_or(0, |s| s.at);
    let after = state.idle_after.as_secs();
    // By container, then GPU position, in the order NVML lists them.
    let mut uses: Vec<((&Container, usize), Use)> = Vec::new();
    let mut at: HashMap<(&ContainerId, usize), usize> = HashMap::new();
    let mut host: Vec<((Cow<str>, usize), u64)> = Vec::new();
    for (n, g) in samples.iter().enumerate() {
        for p in &g.processes {
            let Some(id) = &p.container_id else {
                // Alive in another PID namespace, or ended: said so, never "unknown".
                let user = match (p.presence.words(), p.user.as_deref()) {
                    (Some(w), _) => Cow::Borrowed(w),
                    (None, Some(u)) => label(u),
                    (None, None) => Cow::Borrowed("unknown"),
                };
                match host.iter_mut().find(|((u, i), _)| *i == n && *u == user) {
                    Some((_, m)) => *m += p.memory_used.unwrap_or(0),
                    None => host.push(((user, n), p.memory_used.unwrap_or(0))),
                }
                continue;
            };
            // Only a running container uses a GPU, whatever stale process NVML still lists.
            let Some(c) = running.get(id) else { continue };
            let slot = *at.entry((&c.id, n)).or_insert_with(|| {
                uses.push(((c, n), Use::default()));
                uses.len() - 1
            });
            let u = &mut uses[slot].1;
            u.memory += p.memory_used.unwrap_or(0);
            u.sm = crate::gpu::model::sm_on_gpu([u.sm, p.sm_percent]);
            // As the dashboard: idle when every process of it holding memory here is idle-held.
            if p.memory_used.is_none_or(|m| m == 0) {
                continue;
            }
            match state.idle.idle_seconds(g.index, p, now).filter(|s| *s >= after) {
                Some(s) if !u.busy => u.idle = Some(u.idle.map_or(s, |i| i.min(s))),
                _ => {
                    u.busy = true;
                    u.idle = None;
                }
            }
        }
    }
    let names: HashMap<&ContainerId, [(&str, Cow<str>); 4]> = running
        .values()
        .map(|c| {
            (
                &c.id,
                [
                    ("container", label(&c.name)),
                    ("container_id", label(&c.id)),
                    ("image", label(&c.image)),
                    ("owner", label(c.owner.key())),
                ],
            )
        })
        .collect();
    let joined = |(c, n): (&Container, usize)| {
        let mut l = names[&c.id].to_vec();
        l.extend([labels[n][0].clone(), labels[n][1].clone()]);
        l
    };
    let rows = uses.iter().map(|(k, u)| (joined(*k), V::Int(int(u.memory))));
    family(
        enc,
        "container_gpu_memory_used_bytes",
        "GPU memory used by a container's processes, per GPU",
        rows,
    )?;
    let rows = uses.iter().filter_map(|(k, u)| Some((joined(*k), V::Int(u.sm?.into()))));
    family(enc, "container_gpu_sm_percent", "SM share of a container's processes, per GPU", rows)?;
    let rows = uses.iter().filter_map(|(k, u)| Some((joined(*k), V::Int(int(u.idle?)))));
    family(enc, "container_gpu_idle_seconds", "Seconds a container has held GPU memory at 0 % SM", rows)?;

    let ids = crate::gpu::model::gpu_ids(samples);
    let listed = || state.containers.iter().filter_map(|c| Some((c, names.get(&c.id)?)));
    let rows = listed().filter_map(|(c, l)| Some((l.clone(), V::Int(c.gpus.indices(&ids)?.len() as i64))));
    family(enc, "container_gpus_requested", "GPUs a running container's request resolves to", rows)?;
    let rows = listed().map(|(c, l)| {
        let mut l = l.to_vec();
        l.push(("launched_by", c.launched_by.as_deref().map_or(Cow::Borrowed(""), label)));
        l.push(("owner_source", c.owner.source.as_str()));
        (l, V::Int(1))
    });
    family(enc, "container_info", "A running container", rows)?;
    owners(state, enc, samples, now, after)?;
    let rows = host
        .into_iter()
        .map(|((user, n), m)| ([("user", user), labels[n][0].clone(), labels[n][1].clone()], V::Int(int(m))));
    family(enc, "host_gpu_memory_used_bytes", "GPU memory used by host processes, per user and GPU", rows)
}

/// One series per owner (no PIDs, no GPUs): the label set stays as small as the team.
fn owners(
    state: &State,
    enc: &mut DescriptorEncoder,
    samples: &[GpuSample],
    now: i64,
    after: u64,
) -> fmt::Result {
    let idle = |gpu, p: &_| state.idle.idle_seconds(gpu, p, now).filter(|s| *s >= after);
    let rows = crate::gpu::owners::by_owner(samples, &state.containers, idle);
    fn owner(r: &crate::gpu::owners::OwnerUsage) -> [(&'static str, Cow<'_, str>); 1] {
        [("owner", label(r.owner.key()))]
    }
    let mem = rows.iter().map(|r| (owner(r), V::Int(int(r.memory_used))));
    family(
        enc,
        "owner_gpu_memory_used_bytes",
        "GPU memory held by an owner's containers and processes",
        mem,
    )?;
    let held = rows.iter().map(|r| (owner(r), V::Int(r.gpus_held.len() as i64)));
    family(enc, "owner_gpus_held", "GPUs where an owner's processes hold memory", held)
}
