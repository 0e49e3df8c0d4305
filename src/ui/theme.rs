//! Colours by theme. `default` for dark terminals, `light` for light ones, `high_contrast` for
//! the strongest contrast, and `mono` (or `NO_COLOR`) for none at all: a screen that relies on
//! bold and reverse video only. Colour never carries meaning alone: states, loads and errors
//! are always written out as well.

use ratatui::style::{Color, Modifier, Style};

use crate::config::Theme;
use crate::docker::ContainerState;

/// The colours one theme uses for each meaning; None: no colour.
#[derive(Debug, Clone, Copy)]
struct Palette {
    accent: Option<Color>,
    dim: Option<Color>,
    ok: Option<Color>,
    warn: Option<Color>,
    error: Option<Color>,
    heading: Option<Color>,
}

const DARK: Palette = Palette {
    accent: Some(Color::Cyan),
    dim: Some(Color::DarkGray),
    ok: Some(Color::Green),
    warn: Some(Color::Yellow),
    error: Some(Color::Red),
    heading: Some(Color::Yellow),
};

/// Darker shades that read on a white background (yellow and cyan do not).
const LIGHT: Palette = Palette {
    accent: Some(Color::Blue),
    dim: Some(Color::Gray),
    ok: Some(Color::Green),
    warn: Some(Color::Magenta),
    error: Some(Color::Red),
    heading: Some(Color::Blue),
};

/// Bright colours only, and nothing dimmed.
const HIGH_CONTRAST: Palette = Palette {
    accent: Some(Color::LightCyan),
    dim: None,
    ok: Some(Color::LightGreen),
    warn: Some(Color::LightYellow),
    error: Some(Color::LightRed),
    heading: Some(Color::White),
};

const NONE: Palette = Palette { accent: None, dim: None, ok: None, warn: None, error: None, heading: None };

#[derive(Debug, Clone, Copy)]
pub struct Styles {
    palette: Palette,
    /// Every emphasis bold: the high-contrast theme.
    strong: bool,
}

impl Styles {
    pub fn new(theme: Theme) -> Styles {
        let palette = match theme {
            Theme::Default => DARK,
            Theme::Light => LIGHT,
            Theme::HighContrast => HIGH_CONTRAST,
            Theme::Mono => NONE,
        };
        Styles { palette, strong: theme == Theme::HighContrast }
    }

    fn fg(&self, c: Option<Color>) -> Style {
        let s = c.map_or_else(Style::default, |c| Style::default().fg(c));
        if self.strong && c.is_some() { s.add_modifier(Modifier::BOLD) } else { s }
    }

    pub fn title(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(self.palette.accent).add_modifier(Modifier::BOLD)
        } else {
            self.fg(self.palette.dim)
        }
    }
    pub fn header_row(&self) -> Style {
        self.fg(self.palette.heading).add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        let s = Style::default().add_modifier(Modifier::REVERSED);
        if self.strong { s.add_modifier(Modifier::BOLD) } else { s }
    }
    pub fn dim(&self) -> Style {
        self.fg(self.palette.dim)
    }
    pub fn ok(&self) -> Style {
        self.fg(self.palette.ok)
    }
    pub fn warn(&self) -> Style {
        self.fg(self.palette.warn).add_modifier(Modifier::BOLD)
    }
    pub fn error(&self) -> Style {
        self.fg(self.palette.error).add_modifier(Modifier::BOLD)
    }
    pub fn key(&self) -> Style {
        self.fg(self.palette.accent).add_modifier(Modifier::BOLD)
    }
    pub fn state(&self, s: ContainerState) -> Style {
        match s {
            ContainerState::Running => self.ok(),
            ContainerState::Restarting | ContainerState::Paused | ContainerState::Removing => self.warn(),
            ContainerState::Dead => self.error(),
            ContainerState::Created | ContainerState::Exited | ContainerState::Unknown => self.dim(),
        }
    }
    /// Green → yellow → red as a share of capacity climbs; the figure is always shown beside it.
    pub fn load(&self, percent: f64) -> Style {
        match percent {
            p if p >= 90.0 => self.fg(self.palette.error),
            p if p >= 60.0 => self.fg(self.palette.warn),
            _ => self.fg(self.palette.ok),
        }
    }
}
