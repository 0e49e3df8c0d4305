//! The OpenMetrics text of one scrape, built from the state alone. The registry is made anew for
//! every scrape, so a container that is gone has no series left behind.
//!
//! GPU series carry dcgm-exporter's label names (`gpu`, `UUID`, `modelName`, `Hostname`) so
//! dashboards can join the two; every series carries `Hostname`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::state::State;
use crate::docker::{Container, ContainerId};
use crate::gpu::{GpuHealth, GpuSample};

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;
type Int = Family<Labels, Gauge>;
type Float = Family<Labels, Gauge<f64, AtomicU64>>;

/// A label value from outside (engine, /proc, the driver): control characters made harmless, and
/// the OpenMetrics escapes written, which prometheus-client leaves to the caller.
pub fn label(s: &str) -> String {
    let s = crate::sanitize::line(s);
    if !s.contains(['\\', '"']) {
        return s.into_owned();
    }
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

struct Builder {
    reg: Registry,
}

impl Builder {
    fn int(&mut self, name: &str, help: &str) -> Int {
        let f = Int::default();
        self.reg.register(name, help, f.clone());
        f
    }

    fn float(&mut self, name: &str, help: &str) -> Float {
        let f = Float::default();
        self.reg.register(name, help, f.clone());
        f
    }
}

/// The GPU families, registered in the order they are encoded.
struct GpuFamilies {
    mem_used: Int,
    mem_total: Int,
    util: Int,
    temp: Int,
    power: Float,
    power_limit: Float,
    ecc: Int,
    retired: Int,
    reset_needed: Int,
    remapped: Int,
    clock_events: Int,
    width: Int,
    width_max: Int,
    gen_: Int,
    xid_total: Family<Labels, Counter>,
    last_xid: Int,
    idle_held: Int,
}

impl GpuFamilies {
    fn new(b: &mut Builder) -> GpuFamilies {
        let xid_total = Family::<Labels, Counter>::default();
        let f = GpuFamilies {
            mem_used: b.int("gpu_memory_used_bytes", "GPU memory in use"),
            mem_total: b.int("gpu_memory_total_bytes", "GPU memory in all"),
            util: b.int("gpu_utilization_percent", "GPU utilisation over the last sample period"),
            temp: b.int("gpu_temperature_celsius", "GPU temperature"),
            power: b.float("gpu_power_watts", "GPU power draw"),
            power_limit: b.float("gpu_power_limit_watts", "GPU enforced power limit"),
            ecc: b.int("gpu_ecc_errors", "ECC errors by error (corrected, uncorrected) and counter"),
            retired: b.int("gpu_retired_pages", "Retired pages, both causes"),
            reset_needed: b
                .int("gpu_reset_needed", "1 when a page retirement or row remap waits for a reset"),
            remapped: b.int("gpu_remapped_rows", "Remapped rows by kind"),
            clock_events: b.int("gpu_clock_event_reasons", "Why clocks are held down (NVML bits)"),
            width: b.int("gpu_pcie_link_width", "Current PCIe link width"),
            width_max: b.int("gpu_pcie_link_width_max", "Maximum PCIe link width"),
            gen_: b.int("gpu_pcie_link_gen", "Current PCIe link generation"),
            xid_total: xid_total.clone(),
            last_xid: b.int("gpu_last_xid", "The last XID error seen on this GPU"),
            idle_held: b
                .int("gpu_idle_held_processes", "Processes holding memory at 0 % SM past idle_gpu_after"),
        };
        b.reg.register("gpu_xid_errors", "XID errors seen since gpudock export started", xid_total);
        f
    }

    fn add(&self, g: &GpuSample, state: &State, now: i64) {
        let l = gpu_labels(g);
        let set = |f: &Int, v: Option<u64>| {
            if let Some(v) = v {
                f.get_or_create(&l).set(int(v));
            }
        };
        set(&self.mem_used, g.memory_used);
        set(&self.mem_total, g.memory_total);
        set(&self.util, g.util_gpu.map(u64::from));
        set(&self.temp, g.temperature_c.map(u64::from));
        if let Some(w) = g.power_watts {
            self.power.get_or_create(&l).set(w);
        }
        if let Some(w) = g.power_limit_watts {
            self.power_limit.get_or_create(&l).set(w);
        }
        self.health(&l, &g.health);
        let xids = state.xids.get(&g.uuid).copied().unwrap_or_default();
        self.xid_total.get_or_create(&l).inc_by(xids.total);
        if xids.total > 0 {
            self.last_xid.get_or_create(&l).set(int(xids.last));
        }
        let held = g
            .processes
            .iter()
            .filter(|p| {
                state.idle.idle_seconds(g.index, p, now).is_some_and(|s| s >= state.idle_after.as_secs())
            })
            .count();
        self.idle_held.get_or_create(&l).set(held as i64);
    }

    fn health(&self, l: &Labels, h: &GpuHealth) {
        let with = |extra: [(&'static str, &str); 2]| {
            let mut l = l.clone();
            l.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            l
        };
        for (counter, counts) in [("volatile", h.ecc_volatile), ("aggregate", h.ecc_aggregate)] {
            for (error, v) in [("corrected", counts.corrected), ("uncorrected", counts.uncorrected)] {
                if let Some(v) = v {
                    self.ecc.get_or_create(&with([("error", error), ("counter", counter)])).set(int(v));
                }
            }
        }
        if let Some(v) = h.retired_pages {
            self.retired.get_or_create(l).set(v.into());
        }
        let pending = [h.retired_pending, h.remapped_rows.map(|r| r.pending)];
        if pending.iter().any(Option::is_some) {
            let needed = pending.contains(&Some(true));
            self.reset_needed.get_or_create(l).set(needed.into());
        }
        if let Some(r) = h.remapped_rows {
            for (kind, v) in [("correctable", r.correctable), ("uncorrectable", r.uncorrectable)] {
                let mut l = l.clone();
                l.push(("kind", kind.into()));
                self.remapped.get_or_create(&l).set(v.into());
            }
        }
        for (f, v) in [
            (&self.clock_events, h.throttle_reasons),
            (&self.width, h.pcie_width.map(u64::from)),
            (&self.width_max, h.pcie_width_max.map(u64::from)),
            (&self.gen_, h.pcie_gen.map(u64::from)),
        ] {
            if let Some(v) = v {
                f.get_or_create(l).set(int(v));
            }
        }
    }
}

fn gpu_labels(g: &GpuSample) -> Labels {
    vec![("gpu", g.index.to_string()), ("UUID", label(&g.uuid)), ("modelName", label(&g.name))]
}

/// What one container's processes use on one GPU.
#[derive(Default)]
struct Use {
    memory: u64,
    sm: Option<u32>,
    /// Seconds the least idle of its processes there has been idle-held; None once one is busy.
    idle: Option<u64>,
    busy: bool,
}

/// The exposition for `state`.
pub fn render(state: &State) -> String {
    let host = (Cow::Borrowed("Hostname"), Cow::Owned(label(&state.hostname)));
    let mut b = Builder { reg: Registry::with_prefix_and_labels("gpudock", std::iter::once(host)) };
    let up = b.int("up", "1 while gpudock export runs");
    let engine_up = b.int("engine_up", "1 while the Docker engine answers");
    let nvml_up = b.int("nvml_up", "1 while NVML answers");
    let gpus = GpuFamilies::new(&mut b);
    let c_mem =
        b.int("container_gpu_memory_used_bytes", "GPU memory used by a container's processes, per GPU");
    let c_sm = b.int("container_gpu_sm_percent", "SM share of a container's processes, per GPU");
    let c_idle = b.int("container_gpu_idle_seconds", "Seconds a container has held GPU memory at 0 % SM");
    let c_req = b.int("container_gpus_requested", "GPUs a container's request resolves to");
    let c_info = b.int("container_info", "A running container");
    let h_mem = b.int("host_gpu_memory_used_bytes", "GPU memory used by host processes, per user and GPU");

    let none = Labels::new();
    up.get_or_create(&none).set(1);
    engine_up.get_or_create(&none).set(state.engine_up.into());
    nvml_up.get_or_create(&none).set(state.nvml_up.into());

    let running: HashMap<&ContainerId, &Container> =
        state.containers.iter().filter(|c| c.state.is_running()).map(|c| (&c.id, c)).collect();
    let samples = state.gpu.as_ref().map_or(&[][..], |s| s.gpus.as_slice());
    let now = state.gpu.as_ref().map_or(0, |s| s.at);
    let after = state.idle_after.as_secs();
    let mut uses: HashMap<(&ContainerId, u32), Use> = HashMap::new();
    let mut host_use: HashMap<(String, u32), u64> = HashMap::new();
    for g in samples {
        gpus.add(g, state, now);
        for p in &g.processes {
            let Some(id) = &p.container_id else {
                let user = p.user.as_deref().map_or_else(|| "unknown".into(), label);
                *host_use.entry((user, g.index)).or_default() += p.memory_used.unwrap_or(0);
                continue;
            };
            // Only a running container uses a GPU, whatever stale process NVML still lists.
            let Some(c) = running.get(id) else { continue };
            let u = uses.entry((&c.id, g.index)).or_default();
            u.memory += p.memory_used.unwrap_or(0);
            if let Some(sm) = p.sm_percent {
                u.sm = Some(u.sm.unwrap_or(0) + sm);
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
    let by_index: HashMap<u32, &GpuSample> = samples.iter().map(|g| (g.index, g)).collect();
    for ((id, gpu), u) in &uses {
        let (Some(c), Some(g)) = (running.get(id), by_index.get(gpu)) else { continue };
        let l = vec![
            ("container", label(&c.name)),
            ("container_id", label(c.id.as_str())),
            ("image", label(&c.image)),
            ("gpu", gpu.to_string()),
            ("UUID", label(&g.uuid)),
        ];
        c_mem.get_or_create(&l).set(int(u.memory));
        if let Some(sm) = u.sm {
            c_sm.get_or_create(&l).set(sm.into());
        }
        if let Some(idle) = u.idle {
            c_idle.get_or_create(&l).set(int(idle));
        }
    }
    // GPUs, then MIG instances by their parent, so `MIG-<uuid>` requests resolve.
    let migs = samples.iter().flat_map(|g| {
        g.mig.iter().flat_map(move |m| m.instances.iter().map(move |i| (g.index, i.uuid.as_str())))
    });
    let ids: Vec<(u32, &str)> = samples.iter().map(|g| (g.index, g.uuid.as_str())).chain(migs).collect();
    for c in running.values() {
        let name = ("container", label(&c.name));
        let id = ("container_id", label(c.id.as_str()));
        let image = ("image", label(&c.image));
        if let Some(given) = c.gpus.indices(&ids) {
            c_req.get_or_create(&vec![name.clone(), id.clone(), image.clone()]).set(given.len() as i64);
        }
        let by = ("launched_by", c.launched_by.as_deref().map(label).unwrap_or_default());
        c_info.get_or_create(&vec![name, id, image, by]).set(1);
    }
    for ((user, gpu), memory) in host_use {
        let Some(g) = by_index.get(&gpu) else { continue };
        let l = vec![("user", user), ("gpu", gpu.to_string()), ("UUID", label(&g.uuid))];
        h_mem.get_or_create(&l).set(int(memory));
    }
    let mut out = String::with_capacity(64 * 1024);
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &b.reg) {
        // Writing to a String does not fail; should it ever, the scrape says so.
        tracing::warn!(error = %e, "encoding the metrics failed");
    }
    out
}
