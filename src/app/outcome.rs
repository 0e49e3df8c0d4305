//! A view's answer to a key, which `AppState::apply` carries out.

use super::{Level, Mode, StatusLine};
use crate::msg::Command;

/// What a key handler wants done with the view it handled the key in.
#[derive(Debug, Default)]
pub enum Next {
    #[default]
    Stay,
    /// Back to the view it came from (the main screen under all).
    Close,
    /// In place of the view on top.
    Open(Mode),
    /// Over the view on top, which comes back on `Close` (a question over the process view).
    Push(Mode),
}

/// A view's answer to a key: where to go next, what to carry out, what to tell the user.
#[derive(Debug, Default)]
pub struct Outcome {
    pub next: Next,
    pub commands: Vec<Command>,
    pub status: Option<StatusLine>,
}

impl Outcome {
    pub fn stay() -> Outcome {
        Outcome::default()
    }

    pub fn close() -> Outcome {
        Outcome { next: Next::Close, ..Default::default() }
    }

    pub fn open(mode: Mode) -> Outcome {
        Outcome { next: Next::Open(mode), ..Default::default() }
    }

    pub fn push(mode: Mode) -> Outcome {
        Outcome { next: Next::Push(mode), ..Default::default() }
    }

    /// A yes/no question over the current view: the one `Confirm` view, whoever asks.
    pub fn ask(prompt: String, command: Command) -> Outcome {
        let shows = super::Shows::Prompt;
        Outcome::push(Mode::Confirm(super::Confirm { prompt, command, then: None, refused: None, shows }))
    }

    pub fn run(mut self, command: Command) -> Outcome {
        self.commands.push(command);
        self
    }

    pub fn say(mut self, level: Level, text: impl Into<String>) -> Outcome {
        self.status = Some(StatusLine { text: text.into(), level });
        self
    }
}
