//! The launch form.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::dialogs::centered;
use super::fmt::{bytes, truncate};
use super::theme::Styles;
use crate::app::AppState;
use crate::app::launch::{self, Field, LaunchForm};
use crate::config::Action;
use crate::gpu::state::State;

/// Below this the pane is for the fields alone.
const PREVIEW_MIN_HEIGHT: u16 = 30;
const PREVIEW_MIN_WIDTH: u16 = 60;

pub fn draw(f: &mut Frame, area: Rect, app: &AppState, form: &LaunchForm, st: &Styles) {
    // Sized to the content: fields, their errors, the GPU list and the runtime lines.
    let blockers = crate::app::node::gpu_blockers(app);
    let extra = form.errors.len()
        + (form.warning.iter().count() + form.failure.iter().count()) * 3
        + (blockers.len() * 2).saturating_sub(1);
    let gpu_lines = if form.focus == Field::Gpus { app.gpu.count() + 1 } else { 0 }
        + usize::from(crate::app::launch::validate::free_count(&form.gpus).is_some())
        + usize::from(preset_note(app, form).is_some());
    // The `docker run` line, wrapped to the form's width; left out where it would push the
    // fields off a small pane.
    let preview = (area.height >= PREVIEW_MIN_HEIGHT && area.width >= PREVIEW_MIN_WIDTH).then(|| {
        launch::with_context(&app.presets, &app.gpu, &app.table, &app.user, |ctx| launch::preview(form, ctx))
    });
    let text_w = usize::from(area.width.min(100).saturating_sub(2)).max(1);
    let preview_lines = match &preview {
        Some(Some(line)) => 1 + line.chars().count().div_ceil(text_w),
        Some(None) => 2,
        None => 0,
    };
    let height = (Field::ALL.len() + extra + gpu_lines + preview_lines + 6) as u16;
    let r = centered(area, 100, height);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(Span::styled(" New container ", st.title()))
        .title_bottom(
            Line::from(format!(
                " {} ",
                app.keymap.hint_line(&crate::app::view::hints(crate::app::launch::KEYS, app.read_only))
            ))
            .centered(),
        );
    let inner = block.inner(r);
    f.render_widget(block, r);
    // Labels take at most half a narrow pane.
    let label_w = 24usize.min(usize::from(inner.width) / 2).max(4);
    let value_w = usize::from(inner.width).saturating_sub(label_w + 2);
    let mut lines = Vec::new();
    let mut focus_line = 0;
    for field in Field::ALL {
        let focused = form.focus == field;
        if focused {
            focus_line = lines.len();
        }
        let marker = if focused { "▶ " } else { "  " };
        let value = match field {
            Field::Preset => preset_text(app, form),
            Field::AutoRemove | Field::IpcHost | Field::Network => format!("‹ {} ›", form.text(field)),
            _ => {
                let mut v = form.text(field);
                if focused {
                    v.push('█');
                }
                v
            }
        };
        let style = if focused { st.key() } else { ratatui::style::Style::default() };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{marker}{:<w$}", truncate(field.label(), label_w - 3), w = label_w - 2),
                style,
            ),
            Span::raw(truncate(&value, value_w)),
        ]));
        if let Some(err) = form.errors.get(&field) {
            lines.push(Line::from(Span::styled(format!("{:w$}✖ {err}", "", w = label_w), st.error())));
        }
        if field == Field::Gpus {
            lines.extend(free_pick_line(app, form, st, label_w));
        }
        if field == Field::Preset
            && let Some(note) = preset_note(app, form)
        {
            lines.push(Line::from(Span::styled(format!("{:label_w$}ℹ {note}", ""), st.dim())));
        }
        if field == Field::Gpus && focused {
            lines.extend(gpu_hints(app, st, label_w));
        }
    }
    lines.push(Line::from(""));
    if blockers.is_empty() {
        lines.push(runtime_line(app, st));
    }
    // What `gpudock doctor` would say stands in the way of GPUs, before the user finds out.
    for b in &blockers {
        let style = if b.level == crate::doctor::Level::Fail { st.error() } else { st.warn() };
        lines.push(Line::from(Span::styled(format!("✖ {} (for GPUs): {}", b.check, b.detail), style)));
        lines.extend(super::help::fix_line(b, st));
    }
    match &preview {
        Some(Some(line)) => {
            lines.push(Line::from(Span::styled(
                "docker run line (gpudock run --dry-run prints the same):",
                st.dim(),
            )));
            lines.push(Line::from(line.clone()));
        }
        Some(None) => {
            lines
                .push(Line::from(Span::styled("docker run line: shown once every field is valid", st.dim())));
            lines.push(Line::from(""));
        }
        None => {}
    }
    if let Some(why) = &form.failure {
        lines.push(Line::from(Span::styled(format!("✖ {why}"), st.error())));
    }
    if let Some(w) = &form.warning {
        let key = |a: Action| app.keymap.keys(a).first().map(ToString::to_string).unwrap_or_default();
        let go = format!("{} launches anyway, {} cancels.", key(Action::Submit), key(Action::Cancel));
        lines.push(Line::from(Span::styled(format!("⚠ {w} {go}"), st.warn())));
    }
    // In a short pane, scroll so the focused field (and its error) stays in view.
    let height = usize::from(inner.height);
    let skip = (focus_line + 3).saturating_sub(height).min(lines.len().saturating_sub(1));
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn preset_text(app: &AppState, form: &LaunchForm) -> String {
    match form.preset.and_then(|i| app.presets.get(i)) {
        Some(p) if p.site => format!("‹ {} (site) › {}", p.name, p.description),
        Some(p) => format!("‹ {} › {}", p.name, p.description),
        None => {
            let pick =
                app.keymap.keys(Action::ChoiceNext).first().map(ToString::to_string).unwrap_or_default();
            format!("‹ none › ({} presets: {pick} to pick)", app.presets.len())
        }
    }
}

/// The picked preset's note for the user (where the datasets are, whom to ask), on one line.
fn preset_note(app: &AppState, form: &LaunchForm) -> Option<String> {
    let p = form.preset.and_then(|i| app.presets.get(i))?;
    let note = crate::sanitize::line(&p.note);
    (!note.trim().is_empty()).then(|| note.trim().to_string())
}

/// Which GPUs are free right now, and which are broken, so the user can pick one without
/// leaving the form.
fn gpu_hints(app: &AppState, st: &Styles, indent: usize) -> Vec<Line<'static>> {
    let Some(snap) = &app.gpu.snapshot else {
        return vec![Line::from(Span::styled(
            format!("{:indent$}GPU list unknown (NVML unavailable): all, none, a count, or indices", ""),
            st.dim(),
        ))];
    };
    let mut out = vec![Line::from(Span::styled(
        format!("{:indent$}all · none · free:N · a count (2 = GPUs 0,1) · indices 0,2 · GPU-<uuid>", ""),
        st.dim(),
    ))];
    for g in &snap.gpus {
        let users: Vec<String> = app
            .table
            .all()
            .iter()
            .filter(|c| app.gpu.usage.get(&c.id).is_some_and(|u| u.gpus.contains(&g.index)))
            .map(|c| c.name.clone())
            .collect();
        let host_procs = g.processes.iter().filter(|p| p.container_id.is_none()).count();
        // The engine layer's state: free means healthy and nobody's memory on it.
        let assessed = app.gpu.assessment(g.index);
        let state = assessed.map_or(State::Free, |a| a.state);
        let who = match state {
            State::Broken => {
                format!("BROKEN: {}", assessed.map(|a| a.faults().join(", ")).unwrap_or_default())
            }
            State::Free => "free".to_string(),
            State::Held | State::Busy => {
                let mut w = users.join(", ");
                if host_procs > 0 {
                    if !w.is_empty() {
                        w.push_str(", ");
                    }
                    let what = if host_procs == 1 { "host process" } else { "host processes" };
                    w.push_str(&format!("{host_procs} {what}"));
                }
                if w.is_empty() { state.as_str().to_string() } else { format!("{}: {w}", state.as_str()) }
            }
        };
        let style = match state {
            State::Broken => st.error(),
            State::Free => st.ok(),
            State::Held | State::Busy => st.warn(),
        };
        let mem = match (g.memory_used, g.memory_total) {
            (Some(u), Some(t)) => format!("{}/{}", bytes(u), bytes(t)),
            _ => "n/a".into(),
        };
        out.push(Line::from(vec![
            Span::raw(format!("{:indent$}", "")),
            Span::styled(format!("GPU {} ", g.index), st.key()),
            Span::raw(format!("{mem:<16} ")),
            Span::styled(who, style),
        ]));
    }
    out
}

/// What `free:N` in the GPUs field would pick now, or why it cannot (who holds the rest).
fn free_pick_line(app: &AppState, form: &LaunchForm, st: &Styles, indent: usize) -> Option<Line<'static>> {
    let n = crate::app::launch::validate::free_count(&form.gpus)?.ok()?;
    let (text, style) = match crate::app::launch::gpus::free_pick(n, &app.gpu, &app.table) {
        Ok(pick) => (format!("→ free:{n} now picks {pick}"), st.ok()),
        Err(Some(refusal)) => (format!("✖ {refusal}"), st.error()),
        Err(None) => ("free:N needs the GPU list (NVML unavailable)".to_string(), st.warn()),
    };
    Some(Line::from(Span::styled(format!("{:indent$}{text}", ""), style)))
}

/// Whether the engine can give GPUs to containers at all.
pub fn runtime_line(app: &AppState, st: &Styles) -> Line<'static> {
    let crate::app::EngineStatus::Up(info) = &app.engine else {
        return Line::from(Span::styled("Docker engine not connected", st.error()));
    };
    let default = info.default_runtime.clone().unwrap_or_else(|| "?".into());
    let mut spans = vec![
        Span::styled("Runtimes: ", st.dim()),
        Span::raw(format!("{} (default {default})", info.runtimes.join(", "))),
    ];
    if info.runtimes.iter().any(|r| r == "nvidia") {
        spans.push(Span::styled("  ✔ nvidia runtime registered", st.ok()));
    } else {
        spans.push(Span::styled(
            "  no nvidia runtime: --gpus needs the NVIDIA Container Toolkit (nvidia-ctk runtime configure)",
            st.warn(),
        ));
    }
    if !info.cdi_spec_dirs.is_empty() {
        spans.push(Span::styled(format!("  CDI: {}", info.cdi_spec_dirs.join(", ")), st.dim()));
    }
    Line::from(spans)
}
