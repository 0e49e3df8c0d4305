//! The PromQL the fleet view runs. Every query covers all nodes at once, aggregated on the server
//! by `Hostname`, so a refresh costs the same number of queries for 3 nodes or 300; only the node
//! on screen gets its raw series. dcgm-exporter's label spellings are folded into gpudock's with
//! `label_replace` before anything is aggregated, and a GPU that both exporters describe counts
//! once (`or` keeps the left side, gpudock's, per `Hostname, UUID`).

/// The range query's window and step: fixed, so its cost never grows with history.
pub const HISTORY_SECS: u32 = 600;
pub const STEP_SECS: u32 = 30;
/// Containers named per node in its row.
pub const TOP: u32 = 2;
/// Bytes per MiB: dcgm-exporter reports frame buffer in MiB.
const MIB: &str = "1048576";

/// dcgm-exporter's `metric` with `hostname`/`uuid` renamed to `Hostname`/`UUID`.
pub fn dcgm(metric: &str) -> String {
    format!(
        r#"label_replace(label_replace({metric}, "Hostname", "$1", "hostname", "(.+)"), "UUID", "$1", "uuid", "(.+)")"#
    )
}

/// One value per GPU (`Hostname`, `UUID`): gpudock's series where there is one, else dcgm's.
fn per_gpu(gpudock: &str, dcgm_expr: Option<&str>) -> String {
    match dcgm_expr {
        Some(d) => format!("(max by (Hostname, UUID) ({gpudock}) or {d})"),
        None => format!("max by (Hostname, UUID) ({gpudock})"),
    }
}

pub fn mem_used() -> String {
    let d = format!("max by (Hostname, UUID) ({}) * {MIB}", dcgm("DCGM_FI_DEV_FB_USED"));
    per_gpu("gpudock_gpu_memory_used_bytes", Some(&d))
}

pub fn mem_total() -> String {
    let d = format!(
        "(max by (Hostname, UUID) ({}) + max by (Hostname, UUID) ({})) * {MIB}",
        dcgm("DCGM_FI_DEV_FB_USED"),
        dcgm("DCGM_FI_DEV_FB_FREE")
    );
    per_gpu("gpudock_gpu_memory_total_bytes", Some(&d))
}

pub fn util() -> String {
    let d = format!("max by (Hostname, UUID) ({})", dcgm("DCGM_FI_DEV_GPU_UTIL"));
    per_gpu("gpudock_gpu_utilization_percent", Some(&d))
}

pub fn power() -> String {
    let d = format!("max by (Hostname, UUID) ({})", dcgm("DCGM_FI_DEV_POWER_USAGE"));
    per_gpu("gpudock_gpu_power_watts", Some(&d))
}

/// Tags `expr` with `s="name"`, so several figures share one query.
fn tagged(name: &str, expr: &str) -> String {
    format!(r#"label_replace({expr}, "s", "{name}", "", "")"#)
}

/// The newest sample time per node: positive while its exporter answers; once Prometheus marked
/// its series stale, negated: the last time seen within the window (to the subquery's 15 s), or
/// -0 when the node is known from the window but not yet placed on a subquery step.
pub fn seen() -> String {
    let window = |m: &str| {
        format!(
            "max_over_time(timestamp({m})[{HISTORY_SECS}s:15s]) or last_over_time({m}[{HISTORY_SECS}s]) * 0"
        )
    };
    let by_host = |e: &str| dcgm(&format!("max by (Hostname, hostname) ({e})"));
    let fresh =
        format!("{} or {}", by_host("timestamp(gpudock_up)"), by_host("timestamp(DCGM_FI_DEV_GPU_UTIL)"));
    let old = format!("{} or {}", by_host(&window("gpudock_up")), by_host(&window("DCGM_FI_DEV_GPU_UTIL")));
    format!("max by (Hostname) (max by (Hostname) ({fresh}) or -max by (Hostname) ({old}))")
}

/// Per GPU (`Hostname`, `UUID`), 1 where gpudock's exporter says the GPU is in `state`
/// (`gpu::state`, the dashboard's meaning).
fn in_state(state: &str) -> String {
    format!(r#"(max by (Hostname, UUID) (gpudock_gpu_state{{state="{state}"}}) > 0)"#)
}

/// GPUs without gpudock's state series (dcgm-exporter, or an older gpudock): `expr` for them only.
fn stateless(expr: &str) -> String {
    format!("({expr} unless on (Hostname, UUID) max by (Hostname, UUID) (gpudock_gpu_state))")
}

/// dcgm-exporter's default series that `merge::without_state` reads for faults, also asked
/// for the node on screen (`GPU_NAMES`).
pub const DCGM_FAULTS: &str = "ECC_DBE_VOL_TOTAL|ROW_REMAP_FAILURE|ROW_REMAP_PENDING";

/// Per GPU (`Hostname`, `UUID`), where dcgm-exporter's series make it broken by the state
/// model's rules (`gpu::state`, and `merge::without_state` for the node on screen): its last
/// XID (`DCGM_FI_DEV_XID_ERRORS` holds the code) is one the catalogue says needs a reset, a
/// reboot or a drain; volatile double-bit (uncorrected) ECC errors; a row remap failed or
/// pending. Only current samples count: an instant query sees none from a stopped exporter.
pub fn dcgm_broken() -> String {
    let codes: Vec<String> = crate::gpu::xid_catalog::breaking_codes().map(|c| c.to_string()).collect();
    // The code is a value, and PromQL compares a value with one number at a time: count_values
    // makes it a label, which one regex matches (`fatal` is set only where it does).
    let xid = format!(
        r#"max by (Hostname, UUID) (label_replace(count_values by (Hostname, UUID) ("xid", {}), "fatal", "1", "xid", "{}") and on (fatal) label_replace(vector(1), "fatal", "1", "", ""))"#,
        dcgm("DCGM_FI_DEV_XID_ERRORS"),
        codes.join("|")
    );
    let faults = dcgm(&format!(r#"{{__name__=~"DCGM_FI_DEV_({DCGM_FAULTS})"}} > 0"#));
    format!("({xid} or max by (Hostname, UUID) ({faults}))")
}

/// Broken GPUs: gpudock's state, else dcgm-exporter's faults.
fn broken_gpus() -> String {
    format!("({} or {})", in_state("broken"), stateless(&dcgm_broken()))
}

/// Busy GPUs: gpudock's state, else utilization above the threshold on a GPU that is not broken.
fn busy_gpus() -> String {
    let busy = format!(
        "(({} > {}) unless on (Hostname, UUID) {})",
        util(),
        crate::gpu::state::BUSY_PERCENT,
        dcgm_broken()
    );
    format!("({} or {})", in_state("busy"), stateless(&busy))
}

/// Held GPUs: gpudock's state, else memory used above the floor (`DCGM_FI_DEV_FB_USED` on
/// dcgm-exporter nodes) while neither busy nor broken: a GPU with any CUDA context on it is
/// never free.
fn held_gpus() -> String {
    let busy = format!("({} > {})", util(), crate::gpu::state::BUSY_PERCENT);
    let held = format!(
        "(({} > {}) unless on (Hostname, UUID) {busy} unless on (Hostname, UUID) {})",
        mem_used(),
        crate::gpu::state::HELD_FLOOR_BYTES,
        dcgm_broken()
    );
    format!("({} or {})", in_state("held"), stateless(&held))
}

/// Every per-node figure in one query, tagged by `s`: g (GPUs, busy, held, broken and
/// idle-held GPUs packed as `total * 1e12 + busy * 1e9 + held * 1e6 + broken * 1e3 + idle`,
/// one series where five would cost five times the bytes), mu / mt (memory used / total, MiB),
/// p (power, W), t (`seen`).
pub fn node_stats() -> String {
    let mib = |e: String| format!("round(sum by (Hostname) ({e}) / {MIB})");
    let gpus = format!("count by (Hostname) ({})", mem_total());
    let count = |e: &str| format!("(count by (Hostname) ({e}) or {gpus} * 0)");
    let idle = "max by (Hostname, UUID) (gpudock_gpu_idle_held_processes) > 0";
    let packed = format!(
        "{gpus} * 1e12 + {} * 1e9 + {} * 1e6 + {} * 1e3 + {}",
        count(&busy_gpus()),
        count(&held_gpus()),
        count(&broken_gpus()),
        count(idle)
    );
    [
        tagged("g", &packed),
        tagged("mu", &mib(mem_used())),
        tagged("mt", &mib(mem_total())),
        tagged("p", &format!("round(sum by (Hostname) ({}))", power())),
        tagged("t", &seen()),
        tagged("f", &fabric_degraded()),
    ]
    .join(" or ")
}

/// GPUs per node whose NVLink fabric is degraded: a link down or Fabric Manager not finished
/// (gpudock's series), or replay/CRC errors grown over 10 minutes (gpudock's, or
/// dcgm-exporter's `DCGM_FI_DEV_NVLINK_*` where it runs).
pub fn fabric_degraded() -> String {
    let dcgm_errors = dcgm(
        r#"max by (Hostname, hostname, UUID, uuid) (increase({__name__=~"DCGM_FI_DEV_NVLINK_(CRC_FLIT|CRC_DATA|REPLAY)_ERROR_COUNT_TOTAL"}[10m]))"#,
    );
    format!(
        r#"count by (Hostname) (max by (Hostname, UUID) (gpudock_gpu_nvlink_links{{state="down"}}) > 0 or max by (Hostname, UUID) (gpudock_gpu_fabric_state) < 3 or max by (Hostname, UUID) (increase(gpudock_gpu_nvlink_errors_total{{counter=~"replay|crc_flit|crc_data"}}[10m])) > 0 or max by (Hostname, UUID) ({dcgm_errors}) > 0)"#
    )
}

/// Unpacks the `g` figure of `node_stats`: (GPUs, busy, held, broken, idle-held).
pub fn unpack_gpus(v: f64) -> (u32, u32, u32, u32, u32) {
    let v = v.max(0.0).round() as u64;
    let part = |scale: u64| (v / scale % 1000) as u32;
    ((v / 1_000_000_000_000) as u32, part(1_000_000_000), part(1_000_000), part(1000), part(1))
}

/// The largest GPU memory users per node, in MiB: gpudock's containers, and Kubernetes pods from
/// dcgm-exporter.
pub fn top_containers() -> String {
    let pods = format!(
        r#"sum by (Hostname, container) (label_replace(label_replace({}, "container", "$1", "pod", "(.+)"), "container", "$1", "exported_pod", "(.+)"))"#,
        dcgm(r#"DCGM_FI_DEV_FB_USED{pod!=""} or DCGM_FI_DEV_FB_USED{exported_pod!=""}"#)
    );
    format!(
        "topk by (Hostname) ({TOP}, round(sum by (Hostname, container, owner) (gpudock_container_gpu_memory_used_bytes) / {MIB} or {pods}))"
    )
}

/// Every owner across the fleet in one query, tagged by `s`: m (GPU memory), g (GPUs held),
/// c (running containers), n (nodes), i (idle-held memory), sm (mean SM %). Asked only while
/// the Users view is open.
pub fn owners() -> String {
    [
        tagged("m", "sum by (owner) (gpudock_owner_gpu_memory_used_bytes)"),
        tagged("g", "sum by (owner) (gpudock_owner_gpus_held)"),
        tagged("c", "count by (owner) (gpudock_container_info)"),
        tagged("n", "count by (owner) (max by (owner, Hostname) (gpudock_owner_gpus_held))"),
        tagged(
            "i",
            "sum by (owner) (gpudock_container_gpu_memory_used_bytes and on (Hostname, container_id, gpu) gpudock_container_gpu_idle_seconds)",
        ),
        tagged("sm", "avg by (owner) (gpudock_container_gpu_sm_percent)"),
    ]
    .join(" or ")
}

/// Average GPU utilization per node, for the sparklines (a range query).
pub fn util_history() -> String {
    format!("round(avg by (Hostname) ({}))", util())
}

/// A PromQL string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const GPU_NAMES: &str = "gpudock_(gpu_.*|engine_up|nvml_up)|DCGM_FI_DEV_(FB_USED|FB_FREE|GPU_UTIL|POWER_USAGE|GPU_TEMP|XID_ERRORS";

/// The raw GPU series of one node (both spellings of its host label).
pub fn node_gpus(host: &str) -> String {
    let h = quote(host);
    let names = format!("{GPU_NAMES}|{DCGM_FAULTS})");
    format!(r#"{{__name__=~"{names}", Hostname={h}}} or {{__name__=~"{names}", hostname={h}}}"#)
}

/// The container series of one node, and its host processes' memory per user.
pub fn node_containers(host: &str) -> String {
    format!(
        r#"{{__name__=~"gpudock_container_.*|gpudock_host_gpu_memory_used_bytes", Hostname={}}}"#,
        quote(host)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_a_hostile_name_inside_its_string() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert!(node_containers("x\"} or vector(1) #").contains(r#"Hostname="x\"} or vector(1) #""#));
    }

    #[test]
    fn packed_gpu_counts() {
        assert_eq!(unpack_gpus(8_003_002_001_001.0), (8, 3, 2, 1, 1));
        assert_eq!(unpack_gpus(2e12), (2, 0, 0, 0, 0));
    }

    #[test]
    fn parentheses_balance() {
        for q in
            [node_stats(), top_containers(), util_history(), node_gpus("n"), node_containers("n"), owners()]
        {
            let open = q.matches('(').count();
            assert_eq!(open, q.matches(')').count(), "{q}");
        }
    }
}
