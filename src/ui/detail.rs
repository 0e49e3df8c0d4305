//! The container detail view: four charts over the kept history (they shrink, then go, in small
//! panes), the GPUs given against those used, and the inspect text, which scrolls.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, SparklineBar};

use super::fmt::{bytes, truncate};
use super::theme::Styles;
use crate::app::detail::{self, DetailView, Inspect, TextLine};
use crate::app::history::Sample;
use crate::app::{AppState, GpuStatus};
use crate::docker::Container;
use crate::sanitize;

/// Columns of the field names in the text.
const LABEL: usize = 12;

/// One chart: its label, and how to read its series.
struct Chart {
    name: &'static str,
    /// The latest reading.
    latest: String,
    value: fn(&Sample) -> Option<u64>,
    /// The top of the scale: what the resource can hold (the GPUs' memory, the limit, 100 %
    /// per GPU or core), so a flat 12 GiB line on an 80 GiB GPU is a low line, not a full block.
    /// A reading above it (no limit known) raises the scale.
    floor: u64,
}

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, v: &DetailView, st: &Styles) {
    let live = app.table.all().iter().find(|c| c.id == v.id);
    let state = match live {
        Some(c) => match c.health {
            Some(h) => format!("{} ({})", c.state.as_str(), h.as_str()),
            None => c.state.as_str().to_string(),
        },
        None => "removed".to_string(),
    };
    let title = format!(" {} · {state} ", sanitize::line(&v.name));
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(Span::styled(truncate(&title, usize::from(area.width.saturating_sub(2))), st.title()));
    let inner = block.inner(area);
    let lines = v.lines(app.now);
    let chart_h = detail::chart_height(inner.height);
    let [charts, gpus, text] = Layout::vertical([
        Constraint::Length(2 * chart_h),
        Constraint::Length(u16::from(inner.height > 0)),
        Constraint::Min(0),
    ])
    .areas(inner);
    let rows = usize::from(text.height);
    let first = v.scroll.min(lines.len().saturating_sub(rows));
    // Where the text is, when it does not fit; the hints take what room is left.
    let pos = (lines.len() > rows && rows > 0)
        .then(|| format!(" {}-{} of {} ", first + 1, (first + rows).min(lines.len()), lines.len()));
    let room = usize::from(area.width.saturating_sub(4))
        .saturating_sub(pos.as_ref().map_or(0, |p| p.chars().count()));
    let hints = app.keymap.hint_line_within(&crate::app::view::hints(detail::KEYS, app.read_only), room);
    block = block.title_bottom(Line::from(Span::styled(format!(" {hints} "), st.dim())));
    if let Some(pos) = pos {
        block = block.title_bottom(Line::from(Span::styled(pos, st.dim())).right_aligned());
    }
    f.render_widget(block, area);
    if chart_h > 0 {
        draw_charts(f, charts, chart_h, app, v, live, st);
    }
    let used = (app.gpu.status == GpuStatus::Up)
        .then(|| live.and_then(|c| app.gpu.usage_of(c)).map_or(&[][..], |u| u.gpus.as_slice()));
    let request = match (&v.inspect, live) {
        (Inspect::Done(d), _) => Some(&d.gpus),
        (_, Some(c)) => Some(&c.gpus),
        _ => None,
    };
    if let Some(request) = request {
        let text = detail::gpus_line(request, &app.gpu.ids(), used);
        let line = Line::from(vec![Span::styled("GPUs ", st.title()), Span::raw(text)]);
        f.render_widget(Paragraph::new(line), gpus);
    }
    let width = usize::from(text.width);
    let shown: Vec<Line> = lines.iter().skip(first).take(rows).map(|l| text_line(l, width, st)).collect();
    f.render_widget(Paragraph::new(shown), text);
}

fn text_line(l: &TextLine, width: usize, st: &Styles) -> Line<'static> {
    match l {
        TextLine::Heading(h) => Line::from(Span::styled(truncate(h, width), st.title())),
        TextLine::Field { label, value } => {
            let room = width.saturating_sub(LABEL);
            Line::from(vec![
                Span::styled(format!("{label:<LABEL$}"), st.dim()),
                Span::raw(truncate(value, room)),
            ])
        }
        TextLine::Item(t) => Line::from(format!("  {}", truncate(t, width.saturating_sub(2)))),
        TextLine::Dim(t) => Line::from(Span::styled(truncate(t, width), st.dim())),
        TextLine::Error(t) => Line::from(Span::styled(truncate(t, width), st.error())),
    }
}

/// The charts' labels, each with the latest reading from the live state ("n/a": no reading).
fn charts(app: &AppState, live: Option<&Container>) -> [Chart; 4] {
    let na = || "n/a".to_string();
    let stats = live.and_then(|c| app.stats.get(&c.id));
    let usage = live.and_then(|c| app.gpu.usage_of(c));
    let gpu_mem = if app.gpu.status == GpuStatus::Up && live.is_some() {
        bytes(usage.map_or(0, |u| u.memory_used))
    } else {
        na()
    };
    // The mean over its GPUs, and each GPU's own share when it has more than one.
    let sm = match usage {
        Some(u) if u.gpus.len() > 1 => {
            let each: Vec<String> = u
                .gpus
                .iter()
                .zip(&u.sm_by_gpu)
                .map(|(g, p)| format!("GPU {g} {}", p.map_or_else(na, |p| format!("{p}%"))))
                .collect();
            format!("{} mean · {}", u.sm_percent.map_or_else(na, |p| format!("{p}%")), each.join(" · "))
        }
        _ => usage.and_then(|u| u.sm_percent).map_or_else(na, |p| format!("{p}%")),
    };
    let cpu = stats.and_then(|s| s.cpu_percent).map_or_else(na, |p| format!("{p:.1}%"));
    let mem = stats.and_then(|s| s.mem_used).map_or_else(na, bytes);
    // What each resource can hold: the memory of the GPUs it runs on, 100 % of SM (its share is
    // the mean over its GPUs), 100 % per core of the engine's machine, its memory limit (or the
    // machine's memory when the limit is none or larger).
    let host = match &app.engine {
        crate::app::EngineStatus::Up(info) => {
            info.machine.as_ref().map_or((None, None), |m| (m.ncpu, m.mem_total))
        }
        _ => (None, None),
    };
    let gpu_total: u64 = usage
        .zip(app.gpu.snapshot.as_ref())
        .map(|(u, snap)| {
            snap.gpus.iter().filter(|g| u.gpus.contains(&g.index)).filter_map(|g| g.memory_total).sum()
        })
        .unwrap_or(0);
    let mem_cap = match (stats.and_then(|s| s.mem_limit), host.1) {
        (Some(l), Some(h)) => l.min(h),
        (l, h) => l.or(h).unwrap_or(0),
    };
    [
        Chart { name: "GPU mem", latest: gpu_mem, value: |s| s.gpu_memory(), floor: gpu_total },
        Chart { name: "SM", latest: sm, value: |s| s.sm_percent().map(|p| p.round() as u64), floor: 100 },
        // Tenths of a percent, so an idle container's 0.3% still draws.
        Chart {
            name: "CPU",
            latest: cpu,
            value: |s| s.cpu_percent().map(|p| (p * 10.0) as u64),
            floor: 1000 * host.0.unwrap_or(1),
        },
        Chart { name: "mem", latest: mem, value: |s| s.memory(), floor: mem_cap },
    ]
}

fn draw_charts(
    f: &mut Frame,
    area: Rect,
    height: u16,
    app: &AppState,
    v: &DetailView,
    live: Option<&Container>,
    st: &Styles,
) {
    let history = app.history.of(&v.id);
    let rows = Layout::vertical([Constraint::Length(height); 2]).split(area);
    let cells: Vec<Rect> = rows
        .iter()
        .flat_map(|r| Layout::horizontal([Constraint::Fill(1); 2]).spacing(1).split(*r).to_vec())
        .collect();
    for (chart, cell) in charts(app, live).into_iter().zip(cells) {
        let label = Line::from(vec![
            Span::styled(format!("{} ", chart.name), st.dim()),
            Span::styled(chart.latest.clone(), st.title()),
        ]);
        let label_w = u16::try_from(label.width() + 1).unwrap_or(u16::MAX);
        // Tall: the label above its chart; one row: the label, then the chart beside it.
        let (label_area, spark_area) = if height >= 2 {
            let [l, s] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(cell);
            (l, s)
        } else {
            let [l, s] = Layout::horizontal([Constraint::Length(label_w), Constraint::Min(0)]).areas(cell);
            (l, s)
        };
        f.render_widget(Paragraph::new(label), label_area);
        if spark_area.width == 0 || spark_area.height == 0 {
            continue;
        }
        let width = usize::from(spark_area.width);
        let values: Vec<Option<u64>> = history
            .map(|h| h.iter().skip(h.len().saturating_sub(width)).map(|s| (chart.value)(s)).collect())
            .unwrap_or_default();
        let max = values.iter().flatten().copied().max().unwrap_or(0).max(chart.floor).max(1);
        // The newest sample always at the right edge, as in the GPU panel.
        let pad = width.saturating_sub(values.len());
        let bars = std::iter::repeat_n(None, pad).chain(values).map(SparklineBar::from);
        f.render_widget(Sparkline::default().data(bars).max(max).style(st.key()), spark_area);
    }
}
