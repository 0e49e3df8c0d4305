//! Key presses → state changes, per mode.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{AppState, Level, Mode, Panel};
use crate::config::Action;
use crate::msg::Command;

pub fn handle_key(app: &mut AppState, key: KeyEvent) -> Vec<Command> {
    // Ctrl-C always leaves, whatever mode or keymap.
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return vec![Command::Quit];
    }
    match &app.mode {
        Mode::Filter => {
            filter_key(app, key);
            Vec::new()
        }
        Mode::Help => {
            match app.keymap.action_for(&key) {
                Some(Action::Quit) => return vec![Command::Quit],
                // Small panes cannot show every key at once: up/down scroll, the rest close.
                Some(Action::Down) => app.help_scroll = app.help_scroll.saturating_add(1),
                Some(Action::Up) => app.help_scroll = app.help_scroll.saturating_sub(1),
                _ => {
                    app.mode = Mode::Normal;
                    app.help_scroll = 0;
                }
            }
            Vec::new()
        }
        Mode::Normal => {
            app.status = None;
            normal_key(app, key)
        }
        Mode::Confirm(_) | Mode::Launch(_) | Mode::Launching(_) | Mode::Logs(_) | Mode::Disk(_) => {
            super::actions::modal_key(app, key)
        }
    }
}

fn normal_key(app: &mut AppState, key: KeyEvent) -> Vec<Command> {
    let Some(action) = app.keymap.action_for(&key) else {
        if key.code == KeyCode::Esc {
            if !app.table.filter().is_empty() {
                app.with_table(|t, m| t.set_filter(String::new(), m));
            }
            if app.table.gpu_filter().is_some() {
                app.with_table(|t, m| t.set_gpu_filter(None, m));
            }
        }
        return Vec::new();
    };
    let page = app.page as isize;
    match action {
        Action::Quit => return vec![Command::Quit],
        Action::Help => app.mode = Mode::Help,
        Action::Up => app.move_by(-1),
        Action::Down => app.move_by(1),
        Action::PageUp => app.move_by(-page),
        Action::PageDown => app.move_by(page),
        Action::First => app.move_by(isize::MIN / 2),
        Action::Last => app.move_by(isize::MAX / 2),
        Action::NextPanel | Action::PrevPanel => {
            app.focus = match app.focus {
                Panel::Gpus => Panel::Containers,
                Panel::Containers => Panel::Gpus,
            }
        }
        Action::Filter => {
            app.mode = Mode::Filter;
            app.focus = Panel::Containers;
        }
        Action::SortNext => {
            let next = app.table.sort.next();
            app.with_table(|t, m| t.set_sort(next, false, m));
            app.set_status(Level::Info, format!("sorted by {}", next.label()));
        }
        Action::DiskUsage => return super::disk::open(app),
        Action::GpuUsers => {
            if app.focus == Panel::Gpus && app.gpu.count() > 0 {
                let gpu = app.gpu.selected as u32;
                app.with_table(|t, m| t.set_gpu_filter(Some(gpu), m));
                app.table.select(0);
                app.focus = Panel::Containers;
                app.set_status(
                    Level::Info,
                    format!("containers on GPU {gpu} ({} found; Esc shows all)", app.table.len()),
                );
            }
        }
        Action::NewContainer
        | Action::Stop
        | Action::Restart
        | Action::Remove
        | Action::Kill
        | Action::Logs => {
            return super::actions::start(app, action);
        }
        Action::SortReverse => {
            let (sort, rev) = (app.table.sort, !app.table.reverse);
            app.with_table(|t, m| t.set_sort(sort, rev, m));
            let order = if rev { "reversed" } else { "normal order" };
            app.set_status(Level::Info, format!("sorted by {} ({order})", sort.label()));
        }
    }
    Vec::new()
}

fn filter_key(app: &mut AppState, key: KeyEvent) {
    let mut text = app.table.filter().to_string();
    match key.code {
        KeyCode::Esc => {
            app.mode = Mode::Normal;
            app.with_table(|t, m| t.set_filter(String::new(), m));
            return;
        }
        KeyCode::Enter => {
            app.mode = Mode::Normal;
            app.table.select(0);
            return;
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
        _ => return,
    }
    app.with_table(|t, m| t.set_filter(text, m));
    // Typing narrows the rows; keep the best match under the cursor.
    app.table.select(0);
}
