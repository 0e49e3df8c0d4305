//! The DGX fabric of one GPU on screen: the compact row marker (`NVLink 17/18`, `fabric: in
//! progress`) and the detail view's fabric and per-link lines. Judgements come from
//! `gpu::fabric`; this only draws them.

use ratatui::text::{Line, Span};

use super::theme::Styles;
use crate::gpu::GpuSample;
use crate::gpu::fabric::{self, LinkCounter, LinkPeer, NvLink, NvLinks, Severity};

/// The row marker, coloured by how bad it is; None when the fabric is healthy or absent.
pub fn badge(g: &GpuSample, all: &[GpuSample], st: &Styles) -> Option<Span<'static>> {
    let text = fabric::marker(g, all)?;
    let style = match fabric::worst(g, all) {
        Some(Severity::Broken) => st.error(),
        _ => st.warn(),
    };
    Some(Span::styled(format!("⚠{text} "), style))
}

fn label(text: &str, st: &Styles) -> Span<'static> {
    Span::styled(format!("{text:<18}"), st.dim())
}

/// The detail view's lines: fabric state, NVLink summary, one line per link, and the problems
/// in words. Nothing at all on a GPU without NVLink or fabric info.
pub fn detail_lines(g: &GpuSample, all: &[GpuSample], st: &Styles) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if let Some(f) = &g.fabric {
        let style = if f.ready() { st.ok() } else { st.error() };
        out.push(Line::from(vec![label("fabric", st), Span::styled(f.words(), style)]));
    }
    for p in fabric::problems(g, all) {
        let style = if p.severity() == Severity::Broken { st.error() } else { st.warn() };
        out.push(Line::from(vec![label("fabric problem", st), Span::styled(p.reason(), style)]));
    }
    let Some(links) = &g.nvlink else { return out };
    let version = links.version().map_or(String::new(), |v| format!(" · version {v}"));
    let summary = format!("{}/{} up{version} · rates since gpudock started", links.up(), links.present());
    let style = if links.up() < links.present() { st.warn() } else { st.ok() };
    out.push(Line::from(vec![label("NVLink", st), Span::styled(summary, style)]));
    for l in &links.links {
        out.push(link_line(links, l, st));
    }
    out
}

fn link_line(links: &NvLinks, l: &NvLink, st: &Styles) -> Line<'static> {
    let peer = match &l.peer {
        Some(LinkPeer::Gpu(i)) => format!("GPU {i}"),
        Some(LinkPeer::NvSwitch) => "NVSwitch".to_string(),
        Some(LinkPeer::Other(bus)) => bus.clone(),
        None => "peer n/a".to_string(),
    };
    let mut spans = vec![
        label(&format!("  link {}", l.link), st),
        if l.up { Span::styled("up  ", st.ok()) } else { Span::styled("DOWN", st.error()) },
        Span::raw(format!(" · {peer}")),
    ];
    for c in LinkCounter::ALL {
        let Some(v) = l.counters.get(c) else { continue };
        let grown = l.since_start.get(c).unwrap_or(0);
        if grown == 0 {
            spans.push(Span::raw(format!(" · {} {v}", c.label())));
        } else {
            let rate = links.rate_per_min(l, c).map_or(String::new(), |r| format!(", {r:.1}/min"));
            let style = if l.rising { st.warn() } else { st.dim() };
            spans.push(Span::styled(format!(" · {} {v} (+{grown}{rate})", c.label()), style));
        }
    }
    Line::from(spans)
}
