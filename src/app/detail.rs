//! The container detail view (Enter on a container): charts of its recent figures, the GPUs it
//! was given against those it uses, and what `docker inspect` says of it. The text is built
//! here as plain lines, so the scroll limit and what is drawn never disagree.

use super::view::ViewKey;
use super::{AppState, Level, Mode, Outcome};
use crate::config::Action;
use crate::docker::ContainerId;
use crate::docker::EngineError;
use crate::docker::gpus::GpuRequest;
use crate::docker::inspect::ContainerDetail;
use crate::msg::Command;

pub const KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Down, "scroll down").hint(&[Action::Down, Action::Up], "scroll"),
    ViewKey::new(Action::Up, "scroll up"),
    ViewKey::new(Action::PageUp, "page up"),
    ViewKey::new(Action::PageDown, "page down"),
    ViewKey::new(Action::First, "top of the text"),
    ViewKey::new(Action::Last, "end of the text"),
    ViewKey::new(Action::ShowEnv, "show / hide the values of the environment variables")
        .hint(&[Action::ShowEnv], "env values"),
    ViewKey::new(Action::Logs, "follow this container's logs").hint(&[Action::Logs], "logs"),
    ViewKey::new(Action::Alerts, super::alert_list::FROM_ANYWHERE),
    ViewKey::new(Action::Back, "back to the previous screen").hint(&[Action::Back], "back"),
];

/// What is known of the inspect.
#[derive(Debug, Clone, PartialEq)]
pub enum Inspect {
    Pending,
    Done(Box<ContainerDetail>),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DetailView {
    pub id: ContainerId,
    pub name: String,
    pub inspect: Inspect,
    /// Env values are shown only on request: they often hold tokens and passwords.
    pub show_env: bool,
    /// First text line shown.
    pub scroll: usize,
}

/// One line of the text part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextLine {
    Heading(String),
    Field {
        label: &'static str,
        value: String,
    },
    /// An entry under a heading.
    Item(String),
    Dim(String),
    Error(String),
}

/// Rows each chart takes, its label included, in a view `inner` rows tall: the text keeps at
/// least half, the GPUs line one; 1 is a label with a short inline chart, 0 drops the charts.
pub fn chart_height(inner: u16) -> u16 {
    (inner.saturating_sub(1 + inner / 2) / 2).min(5)
}

/// Text rows that show in a view `inner` rows tall (charts in two rows of two).
pub fn text_rows(inner: u16) -> usize {
    usize::from(inner.saturating_sub(2 * chart_height(inner) + 1))
}

/// Shown in place of an env value until the values are asked for; one length for all, so the
/// length of a secret does not show either.
pub const MASK: &str = "••••••";

/// Opens the view on the selected container and asks the engine about it.
pub fn open(app: &mut AppState) -> Vec<Command> {
    let Some(c) = app.table.selected() else {
        app.set_status(Level::Error, "no container selected");
        return Vec::new();
    };
    let id = c.id.clone();
    app.mode = Mode::Detail(Box::new(DetailView::new(id.clone(), c.name.clone())));
    vec![Command::Inspect(id)]
}

/// The inspect came back; the view shows it, or why not.
pub fn on_inspected(app: &mut AppState, id: ContainerId, result: Result<Box<ContainerDetail>, EngineError>) {
    // The view may wait under the log view opened from it.
    let view = std::iter::once(&mut app.mode).chain(app.back.iter_mut()).find_map(|m| match m {
        Mode::Detail(v) if v.id == id => Some(v),
        _ => None,
    });
    let Some(v) = view else { return };
    v.inspect = match result {
        Ok(d) => Inspect::Done(d),
        Err(e) if e.is_not_found() => {
            Inspect::Failed("the engine no longer knows this container (removed?)".into())
        }
        Err(e) => Inspect::Failed(format!("inspect failed: {e}")),
    };
}

impl DetailView {
    pub fn new(id: ContainerId, name: String) -> DetailView {
        DetailView { id, name, inspect: Inspect::Pending, show_env: false, scroll: 0 }
    }

    /// A key in the view; `inner` is the view's height inside its border. Logs are opened by
    /// the caller, which owns the log settings.
    pub fn handle_key(&mut self, action: Option<Action>, inner: u16) -> Outcome {
        let page = text_rows(inner).max(1) as isize;
        match action {
            Some(Action::Back) => return Outcome::close(),
            Some(Action::ShowEnv) => {
                self.show_env = !self.show_env;
                let text = if self.show_env { "env values shown" } else { "env values hidden" };
                return Outcome::stay().say(Level::Info, text);
            }
            Some(Action::Down) => self.scroll_by(1, inner),
            Some(Action::Up) => self.scroll_by(-1, inner),
            Some(Action::PageDown) => self.scroll_by(page, inner),
            Some(Action::PageUp) => self.scroll_by(-page, inner),
            Some(Action::First) => self.scroll = 0,
            Some(Action::Last) => self.scroll_by(isize::MAX / 2, inner),
            _ => {}
        }
        Outcome::stay()
    }

    /// Scrolls the text, never past the point where its last line is at the bottom.
    pub fn scroll_by(&mut self, delta: isize, inner: u16) {
        let max = self.max_scroll(inner) as isize;
        self.scroll = (self.scroll as isize).saturating_add(delta).clamp(0, max.max(0)) as usize;
    }

    pub fn max_scroll(&self, inner: u16) -> usize {
        self.lines(0).len().saturating_sub(text_rows(inner))
    }

    /// The text part, top to bottom; times relative to `now` (Unix seconds).
    pub fn lines(&self, now: i64) -> Vec<TextLine> {
        let d = match &self.inspect {
            Inspect::Pending => return vec![TextLine::Dim("inspecting…".into())],
            Inspect::Failed(e) => return vec![TextLine::Error(e.clone())],
            Inspect::Done(d) => d,
        };
        let field = |label, value: String| TextLine::Field { label, value };
        let mut out = vec![
            field("Image", d.image.clone()),
            field("Command", if d.command.is_empty() { "-".into() } else { d.command.join(" ") }),
            field("State", state_text(d)),
            field("Created", when(d.created, now)),
            field("Started", when(d.started_at, now)),
        ];
        if !d.state.is_running() && d.finished_at.is_some() {
            out.push(field("Finished", when(d.finished_at, now)));
        }
        let policy = if d.restart_policy.is_empty() { "no" } else { d.restart_policy.as_str() };
        out.push(field("Restarts", format!("{} (policy {policy})", d.restart_count)));
        out.push(field("Network", or_dash(&d.network_mode)));
        out.push(field("Runtime", or_dash(&d.runtime)));
        out.push(field("GPU request", if d.gpus.is_none() { "none".into() } else { d.gpus.to_string() }));
        out.push(TextLine::Heading(format!("Labels ({})", d.labels.len())));
        out.extend(d.labels.iter().map(|(k, v)| TextLine::Item(format!("{k}={v}"))));
        out.push(TextLine::Heading(format!("Mounts ({})", d.mounts.len())));
        out.extend(d.mounts.iter().map(|m| {
            let mode = if m.read_write { "rw" } else { "ro" };
            let source = if m.source.is_empty() { String::new() } else { format!("{} → ", m.source) };
            TextLine::Item(format!("{:<6} {source}{} ({mode})", m.kind.as_str(), m.destination))
        }));
        let shown = if self.show_env { "values shown" } else { "values hidden" };
        out.push(TextLine::Heading(format!("Env ({}, {shown})", d.env.len())));
        out.extend(
            d.env.iter().map(|(k, v)| {
                TextLine::Item(format!("{k}={}", if self.show_env { v.as_str() } else { MASK }))
            }),
        );
        out
    }
}

fn or_dash(s: &str) -> String {
    if s.is_empty() { "-".into() } else { s.to_string() }
}

fn state_text(d: &ContainerDetail) -> String {
    let mut s = d.state.as_str().to_string();
    if let Some(h) = d.health {
        s.push_str(&format!(" ({})", h.as_str()));
    }
    if let Some(code) = d.exit_code.filter(|_| !d.state.is_running()) {
        s.push_str(&format!(", exit code {code}"));
    }
    if d.oom_killed {
        s.push_str(", killed: out of memory");
    }
    if let Some(e) = &d.error {
        s.push_str(&format!(", error: {e}"));
    }
    s
}

/// "2026-11-29 13:18:57 UTC (2h ago)".
fn when(t: Option<i64>, now: i64) -> String {
    let Some(t) = t else { return "never".into() };
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(t).unwrap_or(0));
    let stamp = humantime::format_rfc3339_seconds(at).to_string().replace('T', " ").replace('Z', " UTC");
    if now <= 0 {
        return stamp;
    }
    format!("{stamp} ({} ago)", crate::fmt::age(now - t))
}

/// "given all → 0,1 · used 0": the GPUs a container was given (its request, resolved to
/// indices where the GPU list allows) against those its processes are on. `used` is None
/// while NVML gives no readings.
pub fn gpus_line(request: &GpuRequest, gpus: &[(u32, &str)], used: Option<&[u32]>) -> String {
    let join = |l: &[u32]| l.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let resolved = request.indices(gpus);
    let given = match resolved.clone() {
        _ if request.is_none() => "none".to_string(),
        Some(ix) if join(&ix) == request.to_string() => request.to_string(),
        Some(ix) if ix.is_empty() => format!("{request} → none of this node's GPUs"),
        Some(ix) => format!("{request} → {}", join(&ix)),
        None => request.to_string(),
    };
    let used = match used {
        None => "n/a (no GPU readings)".to_string(),
        Some([]) => "none".to_string(),
        Some(list) => {
            let uuid = |i: u32| gpus.iter().find(|g| g.0 == i).map_or("", |g| g.1);
            // Resolved where the GPU list allows: a `MIG-<uuid>` request names its parent there.
            let asked =
                |i: u32| resolved.as_ref().map_or_else(|| request.covers(i, uuid(i)), |ix| ix.contains(&i));
            let unasked: Vec<u32> = list.iter().copied().filter(|&i| !asked(i)).collect();
            if unasked.is_empty() {
                join(list)
            } else {
                format!("{} ({} without asking)", join(list), join(&unasked))
            }
        }
    };
    format!("given {given} · used {used}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::gpus::GpuRef;

    #[test]
    fn layout_gives_text_at_least_half_and_drops_charts_last() {
        assert_eq!((chart_height(36), text_rows(36)), (5, 25));
        assert_eq!((chart_height(16), text_rows(16)), (3, 9));
        assert_eq!((chart_height(8), text_rows(8)), (1, 5));
        assert_eq!((chart_height(3), text_rows(3)), (0, 2));
    }

    #[test]
    fn gpus_given_against_used() {
        let gpus = [(0, "GPU-a"), (1, "GPU-b"), (2, "GPU-c")];
        assert_eq!(gpus_line(&GpuRequest::All, &gpus, Some(&[0])), "given all → 0,1,2 · used 0");
        assert_eq!(gpus_line(&GpuRequest::Count(2), &gpus, Some(&[])), "given 2 → 0,1 · used none");
        assert_eq!(
            gpus_line(&GpuRequest::None, &gpus, Some(&[1, 2])),
            "given none · used 1,2 (1,2 without asking)"
        );
        assert_eq!(gpus_line(&GpuRequest::All, &[], None), "given all · used n/a (no GPU readings)");
        // A MIG GPU: its instances follow it under its index. Each GPU counts once, and a
        // container given one instance uses that GPU as asked.
        let mig = [(0, "GPU-a"), (1, "GPU-b"), (1, "MIG-x"), (1, "MIG-y")];
        assert_eq!(gpus_line(&GpuRequest::All, &mig, Some(&[1])), "given all → 0,1 · used 1");
        let one = GpuRequest::Devices(vec![GpuRef::Other("MIG-y".into())]);
        assert_eq!(gpus_line(&one, &mig, Some(&[1])), "given MIG-y → 1 · used 1");
    }
}
