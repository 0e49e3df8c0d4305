//! The disk view: one row per kind of reclaimable space, the preview of a prune, and the image
//! list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

use super::dialogs::centered;
use super::fmt::{age, truncate, wrap_phrases};
use super::theme::Styles;
use crate::app::AppState;
use crate::app::disk::{DiskView, IMAGE_KEYS, ROW_KEYS, Stage};
use crate::app::prune::KEYS as PRUNE_KEYS;
use crate::app::view::hints;
use crate::config::Action;
use crate::docker::disk::{Category, DiskItem, DiskUsage, ImageRow, human_size};

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, v: &DiskView, st: &Styles) {
    if let Stage::Images { rows, selected } = &v.stage {
        return images(f, area, app, rows.as_deref(), *selected, st);
    }
    // Whole hints only, as many as the bottom border holds.
    let room = usize::from(area.width.saturating_sub(4));
    let hint = format!(" {} ", app.keymap.hint_line_within(&hints(ROW_KEYS, app.read_only), room));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(Span::styled(" Disk space ", st.title()))
        .title_bottom(Line::from(Span::styled(hint, st.dim())));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(u) = &v.usage else {
        let text = match (&v.error, v.loading) {
            (Some(e), _) => Span::styled(format!("Cannot read disk usage: {e}"), st.error()),
            (None, _) => {
                Span::styled("Asking the engine for its disk usage (this can take a while)…", st.dim())
            }
        };
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
        return;
    };
    // The head is written for the height above the table's header and three rows (the table
    // scrolls to the selected one); the notes below get whatever the table leaves.
    let head = fs_lines(app, u, st, usize::from(inner.width), usize::from(inner.height.saturating_sub(4)));
    let head_h = (head.len() as u16).min(inner.height);
    let table_h = 7.min(inner.height - head_h);
    let [top, table, bottom] =
        Layout::vertical([Constraint::Length(head_h), Constraint::Length(table_h), Constraint::Min(0)])
            .areas(inner);
    f.render_widget(Paragraph::new(head), top);
    rows(f, table, app, u, v, st);
    let mut lines = Vec::new();
    if v.loading {
        lines.push(Line::from(Span::styled("refreshing…", st.dim())));
    }
    if let Some(r) = &v.report {
        lines.push(Line::from(Span::styled(r.clone(), st.ok())));
    }
    if let Some(until) = &app.prune_until {
        lines.push(Line::from(Span::styled(
            format!("Prunes only remove what is older than {until} (prune_until)."),
            st.dim(),
        )));
    }
    // Disk sizes as `docker system df` gives them; GPU and container memory elsewhere is in
    // binary units, as nvidia-smi and `docker stats` show it.
    lines.push(Line::from(Span::styled("Sizes in GB (10⁹ bytes), as docker system df.", st.dim())));
    let named = app.keymap.keys(Action::NamedVolumes).first().map(ToString::to_string).unwrap_or_default();
    lines.push(Line::from(Span::styled(
        format!(
            "Never removed: running containers, images any container uses, named volumes unless `{named}` includes them."
        ),
        st.dim(),
    )));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), bottom);

    if let Stage::Pruning(c) = &v.stage {
        let r = centered(area, 50, 3);
        f.render_widget(Clear, r);
        let b = Block::default().borders(Borders::ALL).border_style(st.border(true));
        f.render_widget(Paragraph::new(format!("Pruning {}…", c.label())).block(b), r);
    }
}

/// The data root's filesystem and what pruning frees, in `width` columns: a narrow pane gets
/// the same figures on more lines, never a line cut short; the data root's name goes first
/// when they would take more than `height` lines.
fn fs_lines(app: &AppState, u: &DiskUsage, st: &Styles, width: usize, height: usize) -> Vec<Line<'static>> {
    let dir = u.root_dir.clone().unwrap_or_else(|| "Docker's data root".into());
    let (phrases, style) = match u.fs.as_ref().filter(|fs| fs.used_percent().is_some()) {
        Some(fs) => (fs.phrases(), if app.disk_warning.is_some() { st.error() } else { st.ok() }),
        None => {
            let why = "free space unknown (remote engine or not visible from here)";
            (why.split(' ').map(String::from).collect(), st.dim())
        }
    };
    let text = phrases.join(" ");
    let mut lines = if dir.chars().count() + 2 + text.chars().count() <= width {
        vec![Line::from(vec![Span::raw(format!("{dir}: ")), Span::styled(text, style)])]
    } else {
        // Broken between its figures ("…, 40 GB free" / "of 500 GB (92% full)"), not inside one.
        let mut lines: Vec<Line> =
            wrap_phrases(&phrases, width).into_iter().map(|l| Line::from(Span::styled(l, style))).collect();
        // With the reclaimable line below.
        if lines.len() + 2 <= height {
            lines.insert(0, Line::from(truncate(&format!("{dir}:"), width)));
        }
        lines
    };
    let total = human_size(u.reclaimable_total());
    let wide = format!("Reclaimable by pruning every row: {total}");
    if wide.chars().count() <= width {
        lines.push(Line::from(wide));
    } else {
        lines.extend(
            wrap_phrases(&["Reclaimable, all rows:".to_string(), total], width).into_iter().map(Line::from),
        );
    }
    lines
}

fn rows(f: &mut Frame, area: Rect, app: &AppState, u: &DiskUsage, v: &DiskView, st: &Styles) {
    // A narrow pane drops the TOTAL column rather than squeezing the names.
    let wide = area.width >= 60;
    let mut header = vec!["WHAT", "COUNT"];
    if wide {
        header.push("TOTAL");
    }
    header.push("RECLAIMABLE");
    let body = Category::ALL.iter().map(|c| {
        let cu = u.category(*c);
        let figures = v.figures(*c, app.prune_until.as_deref(), app.now);
        let count = match (cu, figures) {
            (Some(x), Some((n, _))) => format!("{n} of {}", x.count),
            _ => "-".into(),
        };
        let mut label = c.label().to_string();
        if *c == Category::Volumes && v.include_named {
            label.push_str(" (incl. named)");
        }
        let mut cells = vec![Cell::from(label), Cell::from(count)];
        if wide {
            cells.push(Cell::from(cu.map(|x| human_size(x.total_bytes)).unwrap_or_default()));
        }
        cells.push(Cell::from(Span::styled(figures.map(|f| human_size(f.1)).unwrap_or_default(), st.key())));
        Row::new(cells)
    });
    let mut widths = vec![Constraint::Min(14), Constraint::Length(10)];
    if wide {
        widths.push(Constraint::Length(10));
    }
    widths.push(Constraint::Length(11));
    let table = Table::new(body, widths)
        .header(Row::new(header).style(st.header_row()))
        .row_highlight_style(st.selected());
    let mut state = TableState::default().with_selected(Some(v.row));
    f.render_stateful_widget(table, area, &mut state);
}

/// What the prune preview shows: its category, the names that go (or why none), about how
/// many bytes, and the first name shown.
pub struct Preview<'a> {
    pub category: Category,
    pub items: Result<&'a [DiskItem], &'a String>,
    pub bytes: u64,
    pub scroll: usize,
}

/// The preview's lines above its names: the warnings and the count.
fn preview_head(app: &AppState, v: &DiskView, p: &Preview, wide: bool, st: &Styles) -> Vec<Line<'static>> {
    let c = p.category;
    let opts = v.options(app.prune_until.as_deref());
    let mut lines = Vec::new();
    if c == Category::Volumes {
        lines.push(Line::from(Span::styled(
            "Volumes hold data: removing them destroys it for good.",
            st.error(),
        )));
        let which = if opts.include_named_volumes {
            "anonymous AND named".to_string()
        } else {
            let key = app.keymap.keys(Action::NamedVolumes).first().map(ToString::to_string);
            format!("anonymous only (`{}` adds named)", key.as_deref().unwrap_or("named_volumes"))
        };
        lines.push(Line::from(format!("Removes unused volumes: {which}.")));
        let api = match &app.engine {
            crate::app::EngineStatus::Up(info) => info.api_version,
            _ => None,
        };
        if !api.is_some_and(|v| v.at_least(42)) {
            let version = api.map_or_else(|| "of unknown version".to_string(), |v| format!("API {v}"));
            lines.push(Line::from(Span::styled(
                format!(
                    "This engine ({version}) does not mark anonymous volumes: only unlabelled ones named \
                     with 64 hex digits count as anonymous; the rest go only with named volumes."
                ),
                st.dim(),
            )));
        }
    }
    match p.items {
        Err(e) => lines.push(Line::from(Span::styled(e.to_string(), st.error()))),
        Ok([]) => {
            lines.push(Line::from(Span::styled(format!("Nothing to remove: no {}.", c.label()), st.dim())))
        }
        Ok(items) => {
            let n = items.len();
            let what = if n == 1 { "item" } else { "items" };
            // The whole sentence where it fits; its first half still says what `y` means.
            let tail = if wide { ", and any that changed by then stay" } else { "" };
            lines.push(Line::from(format!(
                "{n} {what}, about {}; exactly these go{tail}:",
                human_size(p.bytes)
            )));
        }
    }
    lines
}

/// How many of `n` names fit in a preview over a body `height` rows high under `head` lines:
/// inside its border, above a blank line and the answer line, and less one line that says which
/// names show when not all do.
fn names_fit(height: u16, head: usize, n: usize) -> usize {
    let room = usize::from(height).saturating_sub(2 + head + 2);
    if n <= room { n } else { room.saturating_sub(1) }
}

/// Names the preview over `body` shows at once: the app refuses `y` while this is 0.
pub fn preview_fits(app: &AppState, body: Rect, v: &DiskView, p: &Preview) -> usize {
    let n = p.items.map_or(0, <[DiskItem]>::len);
    names_fit(body.height, preview_head(app, v, p, false, &Styles::new(app.theme)).len(), n)
}

/// The prune question over the disk view: exactly what goes, scrolling where it does not all
/// fit, and `y` only once a name shows.
pub fn preview(f: &mut Frame, area: Rect, app: &AppState, v: &DiskView, p: &Preview, st: &Styles) {
    let mut lines = preview_head(app, v, p, area.width >= 84, st);
    let items = p.items.unwrap_or_default();
    let fits = names_fit(area.height, lines.len(), items.len());
    let first = p.scroll.min(items.len().saturating_sub(fits));
    // A narrow pane narrows the names rather than pushing their sizes out of sight.
    let inner = usize::from(area.width.min(96).saturating_sub(2));
    let name_w = inner.saturating_sub(2 + 1 + 10).clamp(8, 32);
    for i in items.iter().skip(first).take(fits) {
        let when = i.created.map(|t| format!("{} ago", age(app.now - t))).unwrap_or_default();
        lines.push(Line::from(vec![
            Span::raw(format!("  {:<name_w$} ", truncate(&i.name, name_w))),
            Span::styled(format!("{:>9} ", human_size(i.size)), st.key()),
            Span::styled(format!("{when:>9}  {}", truncate(&i.detail, 30)), st.dim()),
        ]));
    }
    let scroll_hints: Vec<_> = hints(PRUNE_KEYS, false)
        .into_iter()
        .filter(|h| h.actions.first() != Some(&Action::Confirm))
        .collect();
    if fits > 0 && fits < items.len() {
        let which = format!("  {}–{} of {}", first + 1, first + fits, items.len());
        let keys =
            app.keymap.hint_line_within(&scroll_hints, inner.saturating_sub(which.chars().count() + 3));
        lines.push(Line::from(Span::styled(format!("{which} · {keys}"), st.dim())));
    }
    lines.push(Line::from(""));
    if app.read_only {
        lines.push(Line::from(Span::styled(
            "read-only mode: pruning is disabled · any key goes back",
            st.warn(),
        )));
    } else if !items.is_empty() && fits > 0 {
        lines.push(super::dialogs::yes_no_line(&app.keymap, st, "prune"));
    } else if !items.is_empty() {
        lines.push(Line::from(Span::styled("too small to list what goes · any key goes back", st.warn())));
    } else {
        lines.push(Line::from(Span::styled("any key goes back", st.dim())));
    }
    let r = centered(area, 96, (lines.len() + 2) as u16);
    f.render_widget(Clear, r);
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(st.warn())
        .title(Span::styled(format!(" Prune {}? ", p.category.label()), st.title()));
    f.render_widget(Paragraph::new(lines).block(b), r);
}

/// The image list's hints; read-only mode does not offer removal.
fn image_hints(app: &AppState, width: u16) -> String {
    app.keymap.hint_line_within(&hints(IMAGE_KEYS, app.read_only), usize::from(width.saturating_sub(4)))
}

fn images(
    f: &mut Frame,
    area: Rect,
    app: &AppState,
    rows: Option<&[ImageRow]>,
    selected: usize,
    st: &Styles,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(Span::styled(" Images by size ", st.title()))
        .title_bottom(Line::from(Span::styled(format!(" {} ", image_hints(app, area.width)), st.dim())));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(rows) = rows else {
        f.render_widget(Paragraph::new(Span::styled("Listing images…", st.dim())), inner);
        return;
    };
    let header = Row::new(["IMAGE", "ID", "SIZE", "CREATED", "USED BY"]).style(st.header_row());
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    let offset = selected.saturating_sub(visible - 1);
    let body = rows.iter().skip(offset).take(visible).map(|i| {
        let used = if i.containers.is_empty() {
            Span::styled("unused", st.dim())
        } else {
            Span::raw(i.containers.join(", "))
        };
        // Every tag: removing the image removes them all, so none may hide behind the first.
        let name = if i.tags.len() > 1 { i.tags.join(", ") } else { i.name.clone() };
        Row::new([
            Cell::from(name),
            Cell::from(crate::docker::disk::short_id(&i.id)),
            Cell::from(Span::styled(human_size(i.size), st.key())),
            Cell::from(format!("{} ago", age(app.now - i.created))),
            Cell::from(used),
        ])
    });
    let widths = [
        Constraint::Fill(2),
        Constraint::Length(13),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Fill(1),
    ];
    let table = Table::new(body, widths).header(header).row_highlight_style(st.selected());
    let mut state = TableState::default().with_selected((!rows.is_empty()).then(|| selected - offset));
    f.render_stateful_widget(table, inner, &mut state);
}
