//! The fleet view: one row per node from Prometheus, totals on top, a node's GPUs and containers
//! on Enter. Columns drop from the right as the terminal narrows (120, 60 and 40 columns).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::fmt::{self, spark_char};
use super::theme::Styles;
use crate::app::fleet::FleetState;
use crate::fleet::{NodeDetail, NodeSummary};
use crate::gpu::state::State;

const GIB: f64 = (1u64 << 30) as f64;

/// "48GiB", "7.5GiB", "1.2TiB": memory in the dashboard's units, in the width of a column.
pub fn gib(bytes: f64) -> String {
    let g = bytes / GIB;
    match g {
        g if g >= 1024.0 => format!("{:.1}TiB", g / 1024.0),
        g if g >= 10.0 || g == 0.0 => format!("{g:.0}GiB"),
        g => format!("{g:.1}GiB"),
    }
}

fn watts(w: f64) -> String {
    if w >= 10_000.0 { format!("{:.1}kW", w / 1000.0) } else { format!("{w:.0}W") }
}

/// The newest `width` points of `history` as block characters; a gap where no sample was.
pub fn sparkline(history: &[Option<f64>], width: usize) -> String {
    let skip = history.len().saturating_sub(width);
    history[skip..]
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(v) => spark_char(*v),
        })
        .collect()
}

pub fn draw(f: &mut Frame, s: &FleetState) {
    let st = Styles::new(s.theme);
    let area = f.area();
    if area.width < 10 || area.height < 4 {
        return;
    }
    // The reason Prometheus is down is wrapped, never cut: it is what the user needs to fix it.
    let down_text = s.down.as_ref().map(|(reason, retry)| {
        let since = s.down_since.map(|(since, last)| {
            format!(" since {} ({} ago)", clock(since), fmt::age((last - since).max(0.0) as i64))
        });
        format!(
            "Prometheus down{} (retrying every {} s): {reason}",
            since.unwrap_or_default(),
            retry.as_secs()
        )
    });
    let down_rows = match &down_text {
        Some(t) => (t.chars().count().div_ceil(usize::from(area.width).max(1)) as u16).clamp(1, 4),
        None => u16::from(s.notice.is_some()),
    };
    let [head, down, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(down_rows),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(header(s, &st, area.width)), head);
    if let Some(text) = down_text {
        f.render_widget(Paragraph::new(Span::styled(text, st.error())).wrap(Wrap { trim: false }), down);
    } else if let Some(notice) = &s.notice {
        f.render_widget(
            Paragraph::new(Span::styled(fmt::truncate(notice, area.width.into()), st.warn())),
            down,
        );
    }
    match &s.open {
        _ if s.users_open => super::fleet_users::draw(f, body, s, &st),
        Some(host) => detail(f, body, s, host, &st),
        None => nodes(f, body, s, &st),
    }
    f.render_widget(Paragraph::new(footer(s, &st, area.width)), foot);
    if s.help {
        super::fleet_help::draw(f, area, s, &st);
    }
}

fn header(s: &FleetState, st: &Styles, width: u16) -> Line<'static> {
    let live: Vec<&NodeSummary> = s.nodes.iter().filter(|n| !s.stale(n)).collect();
    let free: u32 = live.iter().map(|n| n.free()).sum();
    let broken: u32 = live.iter().map(|n| n.broken).sum();
    let gpus: u32 = live.iter().map(|n| n.gpus).sum();
    // Float sums start at -0.0: an empty fleet would say "-0G".
    let used = live.iter().map(|n| n.mem_used).sum::<f64>() + 0.0;
    let total = live.iter().map(|n| n.mem_total).sum::<f64>() + 0.0;
    let power = live.iter().map(|n| n.power).sum::<f64>() + 0.0;
    let nodes = format!("{}/{} up", live.len(), s.nodes.len());
    let figures = if width >= 100 {
        format!(
            "  nodes {nodes}  free GPUs {free}/{gpus}  broken {broken}  memory {}/{}  power {}",
            gib(used),
            gib(total),
            watts(power)
        )
    } else if width >= 60 {
        format!("  {nodes}  free {free}/{gpus}  broken {broken}  mem {}/{}", gib(used), gib(total))
    } else if broken > 0 {
        format!(" {nodes} free {free}/{gpus} broken {broken}")
    } else {
        format!(" {nodes} free {free}/{gpus}")
    };
    // Nodes whose NVLink fabric is degraded: multi-GPU jobs there hang or crawl.
    let degraded = live.iter().filter(|n| n.fabric_degraded > 0).count();
    let fabric = match degraded {
        0 => String::new(),
        n if width >= 60 => format!("  fabric degraded {n}"),
        n => format!(" fab {n}"),
    };
    let room = figures.chars().count() + fabric.chars().count();
    let title = if width >= 100 { format!("gpudock fleet · {}", s.url) } else { "fleet".into() };
    let title = fmt::truncate(&title, usize::from(width).saturating_sub(room).max(5));
    Line::from(vec![Span::styled(title, st.title()), Span::raw(figures), Span::styled(fabric, st.error())])
}

fn footer(s: &FleetState, st: &Styles, width: u16) -> Line<'static> {
    if s.filtering {
        return Line::from(vec![Span::styled("/", st.key()), Span::raw(s.filter.clone()), Span::raw("▏")]);
    }
    let mut spans = Vec::new();
    // The hints of the fleet view on top, as the keymap binds them.
    let keys: Vec<(String, &str)> = crate::app::view::hints(s.keys(), false)
        .iter()
        .filter_map(|h| Some((s.keymap.hint_keys(h)?, h.label)))
        .collect();
    // Narrow: the first word of each hint only ("/ filt"), so every key still shows.
    let narrow = width < 60;
    for (k, what) in keys {
        spans.push(Span::styled(k, st.key()));
        let what = if narrow { what.chars().take(4).collect::<String>() } else { what.to_string() };
        spans.push(Span::raw(format!(" {what}{}", if narrow { " " } else { "  " })));
    }
    if narrow {
        return Line::from(spans);
    }
    if s.open.is_none() {
        spans.push(Span::styled(format!("sort: {}", s.sort.label()), st.dim()));
        if !s.filter.is_empty() {
            spans.push(Span::styled(format!("  filter: {}", s.filter), st.dim()));
        }
    }
    Line::from(spans)
}

/// "02:41:10 UTC": the time of day of unix seconds `t`.
fn clock(t: f64) -> String {
    let secs = (t.max(0.0) as u64) % 86_400;
    format!("{:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
}

fn state_cell(s: &FleetState, n: &NodeSummary, st: &Styles) -> Cell<'static> {
    if !s.stale(n) {
        return Cell::from(Span::styled("up", st.ok()));
    }
    match s.age(n) {
        Some(a) => Cell::from(format!("stale {}", fmt::age(a as i64))),
        None => Cell::from("stale"),
    }
}

fn nodes(f: &mut Frame, area: Rect, s: &FleetState, st: &Styles) {
    let rows_shown = s.visible();
    let w = area.width;
    let name_w = rows_shown.iter().map(|n| n.hostname.chars().count()).max().unwrap_or(4).clamp(4, 18) as u16;
    let (wide, mid) = (w >= 100, w >= 60);
    let spark_w: usize = if wide { 21 } else { 10 };
    // Below 100 columns the GPU counts drop their "GPU " so memory keeps its units.
    let mut titles = vec!["NODE", "STATE", if wide { "GPU t/b/h/x" } else { "t/b/h/x" }];
    let mut widths = vec![
        Constraint::Length(name_w),
        Constraint::Length(9),
        Constraint::Length(if wide { 11 } else { 7 }),
    ];
    if mid {
        titles.extend(["FREE", "MEMORY", "UTIL 10m"]);
        widths.extend([
            Constraint::Length(4),
            Constraint::Length(13),
            Constraint::Length(spark_w as u16 + 5),
        ]);
    } else {
        titles.push("MEM");
        widths.push(Constraint::Length(13));
    }
    if wide {
        titles.extend(["POWER", "TOP CONTAINERS"]);
        widths.extend([Constraint::Length(6), Constraint::Min(10)]);
    }
    let rows = rows_shown.iter().map(|n| {
        let mut cells = vec![
            Cell::from(n.hostname.clone()),
            state_cell(s, n, st),
            Cell::from(format!("{}/{}/{}/{}", n.gpus, n.busy, n.held, n.broken)).style(if n.broken > 0 {
                st.error()
            } else {
                Style::default()
            }),
        ];
        if mid {
            let util = n.util_now().map_or("  -".into(), |u| format!("{u:>3.0}%"));
            cells.extend([
                Cell::from(format!("{:>3}", n.free())),
                Cell::from(format!("{}/{}", gib(n.mem_used), gib(n.mem_total))),
                Cell::from(format!("{}{util}", sparkline(&n.util_history, spark_w))),
            ]);
        } else {
            cells.push(Cell::from(format!("{}/{}", gib(n.mem_used), gib(n.mem_total))));
        }
        if wide {
            let top = n.top.iter().map(|(c, b)| format!("{c} {}", gib(*b))).collect::<Vec<_>>().join(", ");
            cells.extend([Cell::from(watts(n.power)), Cell::from(top)]);
        }
        let row = Row::new(cells);
        if s.stale(n) { row.style(st.dim()) } else { row }
    });
    let header = Row::new(titles).style(st.header_row());
    let title = match s.nodes.len() {
        0 if s.down.is_none() => " no nodes yet: waiting for Prometheus ".to_string(),
        n => format!(" nodes {}/{n} ", rows_shown.len()),
    };
    let block = Block::default().borders(Borders::TOP).title(title).border_style(st.border(true));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block)
        .row_highlight_style(st.selected());
    let mut state = TableState::default().with_selected((!rows_shown.is_empty()).then_some(s.selected));
    f.render_stateful_widget(table, area, &mut state);
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}{unit}"))
}

fn detail(f: &mut Frame, area: Rect, s: &FleetState, host: &str, st: &Styles) {
    let Some(d) = s.detail.as_ref() else {
        let block = Block::default().borders(Borders::TOP).title(format!(" {host} "));
        f.render_widget(Paragraph::new("asking Prometheus…").style(st.dim()).block(block), area);
        return;
    };
    let gpu_h = (d.gpus.len() as u16 + 2).min(area.height / 2 + 1);
    let [top, bottom] = Layout::vertical([Constraint::Length(gpu_h), Constraint::Min(0)]).areas(area);
    gpus(f, top, d, st);
    containers(f, bottom, d, st);
}

fn up(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "up",
        Some(false) => "DOWN",
        None => "-",
    }
}

fn gpus(f: &mut Frame, area: Rect, d: &NodeDetail, st: &Styles) {
    let mut title = format!(" {} · engine {} · nvml {} ", d.hostname, up(d.engine_up), up(d.nvml_up));
    if let Some(v) = &d.driver {
        title.push_str(&format!("· driver {v} "));
    }
    let wide = area.width >= 100;
    let mut titles = vec!["GPU", "HEALTH", "MEMORY", "UTIL", "TEMP", "POWER"];
    let mut widths = vec![
        Constraint::Length(3),
        Constraint::Length(6),
        Constraint::Length(12),
        Constraint::Length(4),
        Constraint::Length(4),
        Constraint::Length(9),
    ];
    if wide {
        titles.extend(["IDLE", "LAST XID", "SOURCE", "MODEL"]);
        widths.extend([
            Constraint::Length(4),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Min(10),
        ]);
    }
    let rows = d.gpus.iter().map(|g| {
        let mem = format!("{}/{}", g.mem_used.map_or("-".into(), gib), g.mem_total.map_or("-".into(), gib));
        let power = match (g.power, g.power_limit) {
            (Some(p), Some(l)) => format!("{p:.0}/{l:.0}W"),
            (p, _) => opt(p, "W"),
        };
        let index = g.index.map_or("?".into(), |i| i.to_string());
        let state = g.state.map_or("-", |s| s.as_str()).to_string();
        let mut cells = vec![index, state, mem, opt(g.util, "%"), opt(g.temp, "C"), power];
        if wide {
            cells.extend([
                opt(g.idle_held, ""),
                opt(g.xid.filter(|x| *x > 0.0), ""),
                g.source.label().into(),
                g.model.clone(),
            ]);
        }
        let bad = g.xid.is_some_and(|x| x > 0.0) || g.state == Some(State::Broken);
        let row = Row::new(cells);
        if bad { row.style(st.error()) } else { row }
    });
    let block = Block::default().borders(Borders::TOP).title(title).border_style(st.border(true));
    table(f, area, rows, widths, titles, block, st);
}

/// A table under a titled top border, its header row styled as everywhere else.
fn table<'a>(
    f: &mut Frame,
    area: Rect,
    rows: impl IntoIterator<Item = Row<'a>>,
    widths: Vec<Constraint>,
    titles: Vec<&'a str>,
    block: Block<'a>,
    st: &Styles,
) {
    f.render_widget(
        Table::new(rows, widths)
            .header(Row::new(titles).style(st.header_row()))
            .column_spacing(1)
            .block(block),
        area,
    );
}

fn containers(f: &mut Frame, area: Rect, d: &NodeDetail, st: &Styles) {
    let wide = area.width >= 100;
    let mut titles = vec!["CONTAINER", "GPU", "MEMORY", "SM"];
    let mut widths =
        vec![Constraint::Min(10), Constraint::Length(3), Constraint::Length(8), Constraint::Length(4)];
    if wide {
        titles.extend(["OWNER", "IMAGE"]);
        widths.extend([Constraint::Length(10), Constraint::Min(10)]);
    }
    let rows = d.containers.iter().map(|c| {
        let mut cells =
            vec![c.name.clone(), c.gpu.clone(), c.mem_used.map_or("-".into(), gib), opt(c.sm_percent, "%")];
        if wide {
            // Whose it is; who launched it when the node's exporter knows no owner.
            let owner = if c.owner.is_empty() { c.launched_by.clone() } else { c.owner.clone() };
            cells.extend([owner, c.image.clone()]);
        }
        Row::new(cells)
    });
    let title =
        if d.containers.is_empty() { " no containers on a GPU ".into() } else { " containers ".to_string() };
    let block = Block::default().borders(Borders::TOP).title(title).border_style(st.border(false));
    table(f, area, rows, widths, titles, block, st);
}
