//! Terminal setup and, above all, restoring it: on a normal exit, an error, a panic or a signal
//! the user gets their shell back in cooked mode on the main screen.

use std::io::{self, Stdout, Write};
use std::mem::ManuallyDrop;
use std::sync::{LazyLock, Once, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;

use crossterm::cursor::{Hide, Show};
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

static HOOK: Once = Once::new();

/// Puts the terminal back. Safe to call more than once and when setup never happened.
pub fn restore() {
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(out, DisableMouseCapture, DisableBracketedPaste, LeaveAlternateScreen, Show);
    let _ = out.flush();
}

/// The first panic's message, for the main loop to print once the terminal is back.
static PANICKED: OnceLock<String> = OnceLock::new();
/// Wakes the main loop when another thread panicked.
pub static PANIC_WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);
/// How long a panicking background thread waits for the main loop to leave cleanly before it
/// restores the terminal and exits itself.
const MAIN_LOOP_GRACE: Duration = Duration::from_secs(2);

/// The message of a panic in any thread, once one happened.
pub fn panicked() -> Option<&'static str> {
    PANICKED.get().map(String::as_str)
}

/// Installed before the terminal is touched or any thread starts, so even a panic during setup
/// leaves a usable shell. A panic anywhere, a background task or the NVML thread included, ends
/// the program: half an app (a dead sampler, keys that no longer work) helps nobody. The main
/// loop is woken to leave the screen and print the message; if it cannot, the panicking thread
/// does it after a grace period.
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = PANICKED.set(info.to_string());
            let backtrace = std::backtrace::Backtrace::force_capture();
            tracing::error!(%info, %backtrace, "panic; exiting");
            if std::thread::current().name() == Some("main") {
                // Unwinding drops the terminal guard; the message follows on a clean screen.
                restore();
                previous(info);
                return;
            }
            PANIC_WAKE.notify_one();
            std::thread::sleep(MAIN_LOOP_GRACE);
            restore();
            previous(info);
            std::process::exit(101);
        }));
    });
}

/// Restores the terminal when dropped, so every return path out of the TUI is covered.
pub struct Guard {
    pub terminal: ManuallyDrop<Term>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
        // ratatui's own drop shows the cursor and, when the terminal is gone (SSH dropped, tmux
        // pane killed), reports the failure with eprintln, which panics on a dead stderr.
        if self.terminal.show_cursor().is_ok() {
            // SAFETY: the terminal is not used after this point.
            unsafe { ManuallyDrop::drop(&mut self.terminal) };
        }
    }
}

/// Captures the mouse (clicks and the wheel come to gpudock) or gives it back to the terminal,
/// so text can be selected in tmux and SSH sessions.
pub fn set_mouse(on: bool) -> io::Result<()> {
    let mut out = io::stdout();
    if on { execute!(out, EnableMouseCapture) } else { execute!(out, DisableMouseCapture) }
}

/// Hands the terminal to another program (a container shell): the main screen, the cursor, no
/// mouse capture, raw mode kept so every key goes through.
pub fn suspend() -> io::Result<()> {
    let mut out = io::stdout();
    execute!(out, DisableMouseCapture, DisableBracketedPaste, LeaveAlternateScreen, Show)
}

/// Takes the terminal back after `suspend` and returns a fresh terminal to draw on, so the next
/// frame paints every cell. `Terminal::clear` would ask the terminal for the cursor position,
/// and the answer can be lost to input the other program left behind.
pub fn resume(mouse: bool) -> io::Result<Term> {
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, Clear(ClearType::All), EnableBracketedPaste, Hide)?;
    if mouse {
        set_mouse(true)?;
    }
    Terminal::new(CrosstermBackend::new(out))
}

pub fn enter(mouse: bool) -> io::Result<Guard> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut out = io::stdout();
    // Bracketed paste: pasted text arrives as text, never as a burst of keys.
    if let Err(e) = execute!(out, EnterAlternateScreen, EnableBracketedPaste, Hide) {
        restore();
        return Err(e);
    }
    if mouse && let Err(e) = set_mouse(true) {
        restore();
        return Err(e);
    }
    match Terminal::new(CrosstermBackend::new(out)) {
        Ok(terminal) => Ok(Guard { terminal: ManuallyDrop::new(terminal) }),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

/// Rings the terminal bell. A bell that cannot be written is not worth ending the program for.
/// Asks the terminal to put `text` on the clipboard (OSC 52); one that does not allow it
/// ignores the sequence.
pub fn clipboard(text: &str) {
    use std::io::Write;
    let mut out = io::stdout();
    if let Err(e) = out.write_all(crate::app::tunnel::osc52(text).as_bytes()).and_then(|()| out.flush()) {
        tracing::debug!(error = %e, "cannot write the clipboard sequence");
    }
}

pub fn bell() {
    use std::io::Write;
    let mut out = io::stdout();
    if let Err(e) = out.write_all(b"\x07").and_then(|()| out.flush()) {
        tracing::debug!(error = %e, "cannot ring the bell");
    }
}
