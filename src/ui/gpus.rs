//! The GPU panel: one line per GPU (memory gauge, utilisation with history, temperature,
//! power, who uses it), plus a detail line per GPU when the pane is tall enough.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::fmt::{bytes, spark_char, truncate};
use super::gpu_users::users_span;
use super::theme::Styles;
use crate::app::gpu::{SPARK_UTIL, SPARK_WIDE};
use crate::app::{AppState, GpuStatus, Panel};
use crate::gpu::GpuSample;

/// Lines the panel wants for `app`'s GPUs: (one line per GPU, two lines per GPU), each plus a
/// line per MIG instance.
pub fn wanted_height(app: &AppState) -> (u16, u16) {
    match app.gpu.status {
        GpuStatus::Up if app.gpu.count() > 0 => {
            let n = app.gpu.count() as u16;
            let mig = mig_lines(app) as u16;
            (n + mig + 2, 2 * n + mig + 2)
        }
        _ => (3, 4),
    }
}

fn mig_instances(g: &GpuSample) -> usize {
    g.mig.as_ref().filter(|m| m.enabled).map_or(0, |m| m.instances.len())
}

fn mig_lines(app: &AppState) -> usize {
    app.gpu.snapshot.as_ref().map_or(0, |s| s.gpus.iter().map(mig_instances).sum())
}

/// How the panel lays out in `area`: detail lines, MIG sub-rows, and the first GPU shown.
struct Rows {
    detail: bool,
    mig: bool,
    first: usize,
    visible: usize,
}

impl Rows {
    fn height_of(&self, g: &GpuSample) -> usize {
        1 + usize::from(self.detail) + if self.mig { mig_instances(g) } else { 0 }
    }
}

fn rows(app: &AppState, area: Rect) -> Rows {
    let n = app.gpu.count();
    let inner_height = usize::from(area.height.saturating_sub(2));
    let mig = mig_lines(app);
    // Sub-rows before detail lines: which instance holds what matters more than clocks.
    let show_mig = mig > 0 && inner_height >= n + mig;
    let detail = n > 0 && inner_height >= 2 * n + if show_mig { mig } else { 0 };
    let mut r = Rows { detail, mig: show_mig, first: 0, visible: 0 };
    let gpus: &[GpuSample] = app.gpu.snapshot.as_ref().map_or(&[], |s| &s.gpus);
    // Scroll so the selected GPU stays in view when not all fit.
    let fits_from = |r: &Rows, first: usize| {
        let mut used = 0;
        let mut count = 0;
        for g in gpus.iter().skip(first) {
            used += r.height_of(g);
            if used > inner_height && count > 0 {
                break;
            }
            count += 1;
        }
        count.max(1)
    };
    let mut first = 0;
    while first < app.gpu.selected && first + fits_from(&r, first) <= app.gpu.selected {
        first += 1;
    }
    r.first = first;
    r.visible = fits_from(&r, first);
    r
}

/// The GPU (by position in the panel) drawn at screen row `y`.
pub fn row_at(app: &AppState, area: Rect, y: u16) -> Option<usize> {
    let r = rows(app, area);
    let mut line = usize::from(y.checked_sub(area.y + 1)?);
    let gpus = &app.gpu.snapshot.as_ref()?.gpus;
    for (i, g) in gpus.iter().enumerate().skip(r.first).take(r.visible) {
        let h = r.height_of(g);
        if line < h {
            return Some(i);
        }
        line -= h;
    }
    None
}

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, st: &Styles) {
    let focused = app.focus == Panel::Gpus;
    let n = app.gpu.count();
    let layout = rows(app, area);
    let (visible, first, detail) = (layout.visible, layout.first, layout.detail);
    let title = match n {
        0 => " GPUs ".to_string(),
        n if visible >= n => format!(" GPUs {n} "),
        n => format!(" GPUs {}-{} of {n} (Tab, j/k scroll) ", first, (first + visible).min(n) - 1),
    };
    // Only whole hints, and never over the title: the footer has the keys too.
    let room = usize::from(area.width).saturating_sub(title.chars().count() + 6);
    let hints = app.keymap.hint_line_within(crate::app::GPU_PANEL_HINTS, room);
    let fits = !hints.is_empty();
    let hints = format!(" {hints} ");
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(focused))
        .title(Span::styled(title, st.title()));
    if focused && n > 0 && fits {
        block = block.title(Line::from(Span::styled(hints, st.dim())).right_aligned());
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 {
        return;
    }

    let snap = match (&app.gpu.status, &app.gpu.snapshot) {
        (GpuStatus::Up, Some(s)) if !s.gpus.is_empty() => s,
        (GpuStatus::Up, Some(_)) => {
            f.render_widget(
                Paragraph::new(Span::styled("NVML reports no GPUs on this host.", st.dim())),
                inner,
            );
            return;
        }
        (GpuStatus::Remote { host }, _) => {
            let text = Line::from(vec![
                Span::styled(
                    format!("GPUs are shown for local engines only: {host} is another machine."),
                    st.warn(),
                ),
                Span::styled(
                    " Run gpudock on that node (or `gpudock export` there for the fleet view).",
                    st.dim(),
                ),
            ]);
            f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
            return;
        }
        (GpuStatus::Unavailable { reason, retry_in }, _) => {
            let text = Line::from(vec![
                Span::styled(reason.clone(), st.warn()),
                Span::styled(format!(" (retrying every {}s)", retry_in.as_secs()), st.dim()),
            ]);
            f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
            return;
        }
        _ => {
            f.render_widget(Paragraph::new(Span::styled("Loading NVML…", st.dim())), inner);
            return;
        }
    };

    let wide = inner.width >= 100;
    let mut lines = Vec::new();
    for g in snap.gpus.iter().skip(first).take(visible) {
        let selected = focused && g.index as usize == app.gpu.selected;
        let mut line = match &g.lost {
            Some(why) => Line::from(vec![
                Span::styled(format!("{:>2} ", g.index), st.key()),
                Span::styled(format!("LOST {} — {why}", short_name(&g.name)), st.error()),
            ]),
            None if wide => wide_line(g, app, st, inner.width, !detail),
            None => compact_line(g, app, st, inner.width, !detail),
        };
        if selected {
            line = line.style(st.selected());
        }
        lines.push(line);
        if detail {
            lines.push(if g.lost.is_some() { Line::from("") } else { detail_line(g, app, st, inner.width) });
        }
        if layout.mig {
            lines.extend(super::gpu_badges::mig_rows(g, app, st, inner.width));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// Columns a GPU row keeps for who is on it before health badges take the rest.
const USERS_MIN: usize = 16;

fn na(st: &Styles) -> Span<'static> {
    Span::styled("n/a", st.dim())
}

/// "NVIDIA H100 80GB HBM3" → "H100 80GB HBM3": every GPU here is NVIDIA.
pub(super) fn short_name(name: &str) -> &str {
    name.strip_prefix("NVIDIA ").unwrap_or(name)
}

fn bar(percent: Option<f64>, width: usize, st: &Styles) -> Span<'static> {
    let Some(p) = percent else { return Span::styled("░".repeat(width), st.dim()) };
    let full = ((p / 100.0) * width as f64).round().clamp(0.0, width as f64) as usize;
    Span::styled(format!("{}{}", "█".repeat(full), "░".repeat(width - full)), st.load(p))
}

/// The last `width` values (percent) as block characters, right-aligned; blank where there
/// is no sample yet or the driver gave no figure.
pub fn spark(values: &VecDeque<u8>, width: usize) -> String {
    let skip = values.len().saturating_sub(width);
    let mut s: String = " ".repeat(width.saturating_sub(values.len()));
    s.extend(values.iter().skip(skip).map(|v| match *v {
        crate::app::gpu::NO_SAMPLE => ' ',
        v => spark_char(f64::from(v)),
    }));
    s
}

pub(super) fn mem_text(g: &GpuSample) -> String {
    match (g.memory_used, g.memory_total) {
        (Some(u), Some(t)) => format!("{}/{}", bytes(u), bytes(t)),
        (None, Some(t)) => format!("?/{}", bytes(t)),
        _ => "n/a".into(),
    }
}

pub(super) fn pct(v: Option<u32>, st: &Styles) -> Span<'static> {
    match v {
        Some(p) => Span::styled(format!("{p:>3}%"), st.load(f64::from(p))),
        None => Span::styled("n/a ", st.dim()),
    }
}

fn temp(v: Option<u32>, st: &Styles) -> Span<'static> {
    match v {
        Some(t) => Span::styled(format!("{t:>3}°C"), st.load(f64::from(t.saturating_sub(20)) * 100.0 / 70.0)),
        None => Span::styled(" n/a ", st.dim()),
    }
}

fn power(g: &GpuSample) -> String {
    match (g.power_watts, g.power_limit_watts) {
        (Some(p), Some(l)) => format!("{p:>4.0}/{l:.0}W"),
        (Some(p), None) => format!("{p:>4.0}W"),
        _ => "n/a".into(),
    }
}

/// `problems`: the health problems go on this line (there is no second line for them).
fn wide_line(g: &GpuSample, app: &AppState, st: &Styles, width: u16, problems: bool) -> Line<'static> {
    let hist = app.gpu.history.get(&g.index);
    let util_hist = hist.map(|h| spark(&h.util, SPARK_UTIL)).unwrap_or_else(|| " ".repeat(SPARK_UTIL));
    let mut spans = vec![
        Span::styled(format!("{:>2} ", g.index), st.key()),
        Span::raw(format!("{:<16} ", truncate(short_name(&g.name), 16))),
        bar(g.memory_percent(), 10, st),
        Span::raw(format!(" {:<15} ", mem_text(g))),
        pct(g.util_gpu, st),
        Span::styled(format!(" {util_hist} "), st.ok()),
        temp(g.temperature_c, st),
        Span::raw(format!(" {:>10} ", power(g))),
    ];
    let used: usize = spans.iter().map(|s| s.width()).sum();
    // Who is on it keeps a readable name's worth of room.
    let room = usize::from(width).saturating_sub(used + 2 + USERS_MIN);
    spans.extend(super::gpu_badges::badges(g, app, st, room, problems));
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let rest = usize::from(width).saturating_sub(used + 2);
    spans.push(Span::styled("│ ", st.dim()));
    spans.push(users_span(g, app, st, rest));
    Line::from(spans)
}

/// "17.2GiB/79.6GiB", or what is known.
fn memory_text(g: &GpuSample) -> String {
    match (g.memory_used, g.memory_total) {
        (Some(u), Some(t)) => format!("{}/{}", bytes(u), bytes(t)),
        (Some(u), None) => bytes(u),
        _ => "n/a".into(),
    }
}

fn compact_line(g: &GpuSample, app: &AppState, st: &Styles, width: u16, problems: bool) -> Line<'static> {
    let mut spans = vec![
        Span::styled(format!("{} ", g.index), st.key()),
        bar(g.memory_percent(), 5, st),
        // Used and total, at a fixed width so the columns after it line up GPU under GPU.
        Span::raw(format!(" {:>16} ", memory_text(g))),
        pct(g.util_gpu, st),
        Span::raw(" "),
        temp(g.temperature_c, st),
        Span::raw(" "),
    ];
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let room = usize::from(width).saturating_sub(used + USERS_MIN);
    spans.extend(super::gpu_badges::badges(g, app, st, room, problems));
    let used: usize = spans.iter().map(|s| s.width()).sum();
    spans.push(users_span(g, app, st, usize::from(width).saturating_sub(used)));
    Line::from(spans)
}

/// The row's second line: every health problem that fits first (they matter more than the
/// sparklines after them, which the pane's edge cuts), then memory and power history, clocks, fan.
fn detail_line(g: &GpuSample, app: &AppState, st: &Styles, width: u16) -> Line<'static> {
    let hist = app.gpu.history.get(&g.index);
    let sp = |f: fn(&crate::app::gpu::GpuHistory) -> &VecDeque<u8>| {
        hist.map(|h| spark(f(h), SPARK_WIDE)).unwrap_or_else(|| " ".repeat(SPARK_WIDE))
    };
    let clock = |v: Option<u32>| v.map(|c| format!("{c}MHz")).unwrap_or_else(|| "n/a".into());
    let mut spans = vec![Span::raw("   ")];
    spans.extend(super::gpu_badges::problem_spans(g, app, st, usize::from(width).saturating_sub(3)));
    spans.extend([
        Span::styled("mem ", st.dim()),
        Span::styled(sp(|h| &h.memory), st.ok()),
        Span::styled(" pwr ", st.dim()),
        Span::styled(sp(|h| &h.power), st.ok()),
        Span::styled(" mem-util ", st.dim()),
        pct(g.util_memory, st),
        Span::styled(" sm ", st.dim()),
        Span::raw(clock(g.sm_clock_mhz)),
        Span::styled(" memclk ", st.dim()),
        Span::raw(clock(g.mem_clock_mhz)),
        Span::styled(" fan ", st.dim()),
    ]);
    spans.push(match g.fan_percent {
        Some(f) => Span::raw(format!("{f}%")),
        None => na(st),
    });
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_and_pads() {
        let v: VecDeque<u8> = [0, 50, 100].into_iter().collect();
        assert_eq!(spark(&v, 5), "  ▁▄█", "a 0 is a low bar, not the blank of no sample");
        let unknown: VecDeque<u8> = [crate::app::gpu::NO_SAMPLE, 0].into_iter().collect();
        assert_eq!(spark(&unknown, 3), "  ▁", "no figure from the driver is a blank");
        let many: VecDeque<u8> = (0..20).map(|i| i * 5).collect();
        assert_eq!(spark(&many, 3).chars().count(), 3);
    }
}
