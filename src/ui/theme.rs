//! Colours, or none: `theme = "mono"` and `NO_COLOR` give a screen that relies on bold and
//! reverse video only.

use ratatui::style::{Color, Modifier, Style};

use crate::config::Theme;
use crate::docker::ContainerState;

#[derive(Debug, Clone, Copy)]
pub struct Styles {
    pub mono: bool,
}

impl Styles {
    pub fn new(theme: Theme) -> Styles {
        Styles { mono: theme == Theme::Mono }
    }

    fn fg(&self, c: Color) -> Style {
        if self.mono { Style::default() } else { Style::default().fg(c) }
    }

    pub fn title(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub fn border(&self, focused: bool) -> Style {
        if focused { self.fg(Color::Cyan).add_modifier(Modifier::BOLD) } else { self.fg(Color::DarkGray) }
    }
    pub fn header_row(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    pub fn dim(&self) -> Style {
        if self.mono { Style::default() } else { Style::default().fg(Color::DarkGray) }
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn state(&self, s: ContainerState) -> Style {
        match s {
            ContainerState::Running => self.ok(),
            ContainerState::Restarting | ContainerState::Paused | ContainerState::Removing => self.warn(),
            ContainerState::Dead => self.error(),
            ContainerState::Created | ContainerState::Exited | ContainerState::Unknown => self.dim(),
        }
    }
    /// Green → yellow → red as a share of capacity climbs.
    pub fn load(&self, percent: f64) -> Style {
        match percent {
            p if p >= 90.0 => self.fg(Color::Red),
            p if p >= 60.0 => self.fg(Color::Yellow),
            _ => self.fg(Color::Green),
        }
    }
}
