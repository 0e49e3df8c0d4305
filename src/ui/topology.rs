//! The topology view (`t`): the `nvidia-smi topo -m` matrix with the same symbols, CPU and
//! NUMA affinity columns and the legend; in a pane too narrow for the matrix, one entry per
//! GPU listing its peers grouped by how they are reached.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::Styles;
use crate::app::AppState;
use crate::app::topology::{KEYS, TopologyView};
use crate::gpu::GpuSample;
use crate::gpu::topology::{self, Topology};

const CELL: usize = 6;
const LEGEND: [&str; 7] = [
    "X    = Self",
    "SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes",
    "NODE = Connection traversing PCIe and the interconnect between host bridges in a NUMA node",
    "PHB  = Connection traversing PCIe and a PCIe host bridge (typically the CPU)",
    "PXB  = Connection traversing multiple PCIe bridges (without the host bridge)",
    "PIX  = Connection traversing at most a single PCIe bridge",
    "NV#  = Connection traversing a bonded set of # NVLinks",
];

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, view: &TopologyView, st: &Styles) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(Span::styled(" GPU topology ", st.title()))
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
    let snap = app.gpu.snapshot.as_ref();
    let gpus = snap.map_or(&[][..], |s| s.gpus.as_slice());
    let empty = Topology::default();
    let topo = snap.and_then(|s| s.topology.as_ref()).unwrap_or(&empty);
    let lines = if !topology::known(Some(topo), gpus) {
        vec![Line::from(Span::styled(
            "NVML reports no topology for these GPUs (no NVLink, no PCIe levels, no affinity).",
            st.dim(),
        ))]
    } else if matrix_width(gpus) <= usize::from(inner.width) {
        matrix(topo, gpus, st)
    } else {
        list(topo, gpus, st)
    };
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).scroll((view.scroll, 0)), inner);
}

fn matrix_width(gpus: &[GpuSample]) -> usize {
    CELL + gpus.len() * CELL + 16 + 4
}

/// The most NVLinks between any pair: an `NV#` below it is a pair that lost links.
fn best_nv(gpus: &[GpuSample]) -> u32 {
    let mut best = 0;
    for a in gpus {
        for b in gpus.iter().filter(|b| b.index != a.index) {
            best = best.max(topology::nvlinks_between(gpus, a.index, b.index));
        }
    }
    best
}

fn cell_style(text: &str, best: u32, st: &Styles) -> Style {
    match text.strip_prefix("NV").and_then(|n| n.parse::<u32>().ok()) {
        Some(n) if n < best => st.warn(),
        Some(_) => st.ok(),
        None if text == "X" => st.dim(),
        None => Style::default(),
    }
}

fn matrix(topo: &Topology, gpus: &[GpuSample], st: &Styles) -> Vec<Line<'static>> {
    let best = best_nv(gpus);
    let mut head = vec![Span::raw(" ".repeat(CELL))];
    head.extend(
        gpus.iter().map(|g| Span::styled(format!("{:<CELL$}", format!("GPU{}", g.index)), st.header_row())),
    );
    head.push(Span::styled(format!("{:<16}", "CPU Affinity"), st.header_row()));
    head.push(Span::styled("NUMA", st.header_row()));
    let mut out = vec![Line::from(head)];
    for a in gpus {
        let mut spans = vec![Span::styled(format!("{:<CELL$}", format!("GPU{}", a.index)), st.header_row())];
        for b in gpus {
            let text = topology::cell(topo, gpus, a.index, b.index).unwrap_or_else(|| "N/A".into());
            let style = cell_style(&text, best, st);
            spans.push(Span::styled(format!("{text:<CELL$}"), style));
        }
        let place = topo.place(a.index);
        let cpus = place.and_then(|p| p.cpus.clone()).unwrap_or_else(|| "N/A".into());
        spans.push(Span::raw(format!("{:<16}", super::fmt::truncate(&cpus, 15))));
        spans.push(Span::raw(place.and_then(|p| p.numa).map_or("N/A".into(), |n| n.to_string())));
        out.push(Line::from(spans));
    }
    out.push(Line::raw(""));
    out.push(Line::from(Span::styled("Legend:", st.dim())));
    out.extend(LEGEND.iter().map(|l| Line::from(Span::styled(format!("  {l}"), st.dim()))));
    out
}

/// One entry per GPU: its affinity, then its peers grouped by symbol (`NV18 → 1,2,3`).
fn list(topo: &Topology, gpus: &[GpuSample], st: &Styles) -> Vec<Line<'static>> {
    let best = best_nv(gpus);
    let mut out = Vec::new();
    for a in gpus {
        let place = topo.place(a.index);
        let mut head = vec![Span::styled(format!("GPU{}", a.index), st.key())];
        if let Some(n) = place.and_then(|p| p.numa) {
            head.push(Span::raw(format!(" · NUMA {n}")));
        }
        if let Some(c) = place.and_then(|p| p.cpus.clone()) {
            head.push(Span::raw(format!(" · CPUs {c}")));
        }
        out.push(Line::from(head));
        let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
        for b in gpus.iter().filter(|b| b.index != a.index) {
            let text = topology::cell(topo, gpus, a.index, b.index).unwrap_or_else(|| "N/A".into());
            match groups.iter_mut().find(|(t, _)| *t == text) {
                Some((_, v)) => v.push(b.index),
                None => groups.push((text, vec![b.index])),
            }
        }
        let mut spans = vec![Span::raw("  ")];
        for (text, peers) in groups {
            let list: Vec<String> = peers.iter().map(u32::to_string).collect();
            spans.push(Span::styled(text.clone(), cell_style(&text, best, st)));
            spans.push(Span::raw(format!(" → {}  ", list.join(","))));
        }
        out.push(Line::from(spans));
    }
    out
}
