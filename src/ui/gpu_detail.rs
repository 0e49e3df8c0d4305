//! The GPU detail view: everything NVML says about one GPU's health, each field `n/a` where the
//! GPU does not report it, its MIG instances, and the XIDs and alerts seen for it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::fmt::{age, bytes};
use super::gpu_users::users;
use super::gpus::{mem_text, short_name};
use super::theme::Styles;
use crate::app::AppState;
use crate::app::gpu_detail::{GpuDetailView, KEYS};
use crate::gpu::health::throttle_names;
use crate::gpu::state::State;
use crate::gpu::xid_catalog;
use crate::gpu::{EccCounts, GpuSample};

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, view: &GpuDetailView, st: &Styles) {
    let gpu = app.gpu.snapshot.as_ref().and_then(|s| s.gpus.get(view.position));
    let title = match gpu {
        Some(g) => format!(" GPU {} · {} ", g.index, short_name(&g.name)),
        None => " GPU ".to_string(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(Span::styled(title, st.title()))
        .title_bottom(Line::from(Span::styled(
            format!(
                " {} ",
                app.keymap.hint_line_within(
                    &crate::app::view::hints(KEYS, app.read_only),
                    usize::from(area.width).saturating_sub(4)
                )
            ),
            st.dim(),
        )));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(g) = gpu else {
        f.render_widget(Paragraph::new(Span::styled("This GPU is no longer reported.", st.dim())), inner);
        return;
    };
    let lines = lines(g, app, st);
    // Narrow panes wrap a long value (a UUID, the health line) rather than cut it.
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).scroll((view.scroll, 0)), inner);
}

fn label(text: &str, st: &Styles) -> Span<'static> {
    Span::styled(format!("{text:<18}"), st.dim())
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| v.to_string())
}

fn ecc(c: &EccCounts) -> String {
    format!("corrected {}  uncorrected {}", opt(c.corrected), opt(c.uncorrected))
}

fn lines(g: &GpuSample, app: &AppState, st: &Styles) -> Vec<Line<'static>> {
    let h = &g.health;
    let mut out = Vec::new();
    let mut row = |name: &str, value: Span<'static>| out.push(Line::from(vec![label(name, st), value]));
    if let Some(a) = app.gpu.assessment(g.index) {
        let style = match a.state {
            State::Broken => st.error(),
            _ => st.ok(),
        };
        row("state", Span::styled(a.state.as_str().to_string(), style));
        let (faults, warnings) = (a.faults(), a.warnings());
        if !faults.is_empty() {
            row("faults", Span::styled(faults.join(" · "), st.error()));
        }
        row(
            "health",
            if warnings.is_empty() && faults.is_empty() {
                Span::styled("no problem reported", st.ok())
            } else if warnings.is_empty() {
                Span::styled("no warning", st.dim())
            } else {
                Span::styled(warnings.join(" · "), st.warn())
            },
        );
    }
    row("uuid", Span::raw(g.uuid.clone()));
    row("memory", Span::raw(mem_text(g)));
    let util = match (g.util_gpu, g.util_memory) {
        (Some(u), Some(m)) => format!("{u}% SM, {m}% memory bandwidth"),
        _ => "n/a".into(),
    };
    row("utilization", Span::raw(util));
    row(
        "temperature/power",
        Span::raw(format!(
            "{} °C · {} W of {} W",
            opt(g.temperature_c),
            g.power_watts.map_or("n/a".into(), |p| format!("{p:.0}")),
            g.power_limit_watts.map_or("n/a".into(), |p| format!("{p:.0}"))
        )),
    );
    // One n/a when the GPU reports neither, not "n/a / n/a MHz".
    let clock = |cur: Option<u32>, max: Option<u32>| match (cur, max) {
        (None, None) => "n/a".to_string(),
        _ => format!("{} / {} MHz", opt(cur), opt(max)),
    };
    row("SM clock", Span::raw(clock(g.sm_clock_mhz, h.sm_clock_max_mhz)));
    row("memory clock", Span::raw(clock(g.mem_clock_mhz, h.mem_clock_max_mhz)));
    let throttle = match h.throttle_reasons {
        None => "n/a".to_string(),
        Some(bits) => {
            let names = throttle_names(bits);
            if names.is_empty() { "none".into() } else { names.join(", ") }
        }
    };
    row("clocks held by", Span::raw(throttle));
    // As the clocks: one n/a for what the GPU does not report, not "xn/a of xn/a".
    let link = |cur: Option<u32>, max: Option<u32>, unit: &str| match (cur, max) {
        (None, None) => None,
        _ => Some(format!("{unit}{} of {unit}{}", opt(cur), opt(max))),
    };
    let pcie = match (link(h.pcie_gen, h.pcie_gen_max, "gen "), link(h.pcie_width, h.pcie_width_max, "x")) {
        (None, None) => "n/a".to_string(),
        (generation, width) => [generation, width].into_iter().flatten().collect::<Vec<_>>().join(", "),
    };
    let down = matches!((h.pcie_width, h.pcie_width_max), (Some(c), Some(m)) if c > 0 && c < m);
    row(
        "PCIe link",
        if down { Span::styled(format!("{pcie} (down-trained)"), st.warn()) } else { Span::raw(pcie) },
    );
    row("ECC volatile", Span::raw(ecc(&h.ecc_volatile)));
    row("ECC aggregate", Span::raw(ecc(&h.ecc_aggregate)));
    let retired = match (h.retired_pages, h.retired_pending) {
        (None, None) => "n/a".to_string(),
        (n, pending) => format!(
            "{} pages{}",
            opt(n),
            if pending == Some(true) { " · retirement pending: reset needed" } else { "" }
        ),
    };
    row("retired pages", Span::raw(retired));
    let remap = match h.remapped_rows {
        None => "n/a".to_string(),
        Some(r) => format!(
            "{} correctable, {} uncorrectable{}{}",
            r.correctable,
            r.uncorrectable,
            if r.pending { " · pending: reset needed" } else { "" },
            if r.failed { " · a remap FAILED" } else { "" }
        ),
    };
    row("remapped rows", Span::raw(remap));
    row("fan", Span::raw(g.fan_percent.map_or("n/a".into(), |f| format!("{f}%"))));
    let xids: Vec<String> = app
        .gpu
        .xids
        .iter()
        .rev()
        .filter(|x| crate::app::gpu::xid_on(x, g))
        .map(|x| format!("XID {}{} {} ago", x.xid, xid_catalog::describe(x.xid), age(app.now - x.at)))
        .collect();
    row(
        "XID errors",
        if xids.is_empty() {
            Span::styled("none since gpudock started", st.dim())
        } else {
            Span::styled(xids.join(" · "), st.error())
        },
    );
    match &g.mig {
        None => row("MIG", Span::styled("not supported", st.dim())),
        Some(m) if !m.enabled => row("MIG", Span::raw("disabled")),
        Some(m) => {
            row("MIG", Span::raw(format!("enabled, {} instances", m.instances.len())));
            for inst in &m.instances {
                let mem = match (inst.memory_used, inst.memory_total) {
                    (Some(u), Some(t)) => format!("{}/{}", bytes(u), bytes(t)),
                    _ => "n/a".into(),
                };
                let who = users(
                    g.index,
                    g.processes
                        .iter()
                        .filter(|p| p.gpu_instance.is_some() && p.gpu_instance == inst.gpu_instance),
                    app,
                );
                row(
                    &format!("  MIG {}", inst.index),
                    Span::raw(format!(
                        "{} · {mem} · util n/a · {}",
                        short_name(&inst.name),
                        if who.is_empty() { "no processes".into() } else { who.join(", ") }
                    )),
                );
            }
        }
    }
    let who = users(g.index, &g.processes, app);
    row("processes", Span::raw(if who.is_empty() { "none".into() } else { who.join(", ") }));
    // DGX fabric: Fabric Manager state and every NVLink.
    let all = app.gpu.snapshot.as_ref().map_or(&[][..], |s| s.gpus.as_slice());
    out.extend(super::gpu_fabric::detail_lines(g, all, st));
    let alerts: Vec<String> = app
        .alerts
        .list
        .iter()
        .rev()
        .filter(|a| a.gpu == Some(g.index))
        .take(10)
        .map(|a| {
            format!(
                "{} (raised {} ago){}",
                a.describe(app.now),
                age(app.now - a.at),
                if a.seen { "" } else { " · new" }
            )
        })
        .collect();
    if !alerts.is_empty() {
        out.push(Line::from(Span::styled("alerts", st.dim())));
        out.extend(alerts.into_iter().map(|a| Line::from(format!("  {a}"))));
    }
    out
}
