//! Puts the terminal into raw mode and the alternate screen, and restores it on
//! every path: drop (normal exit, error, unwinding), the panic hook (installed
//! once and chained to the previous hook), and signals (handled by the event
//! loop, which then returns and drops the guard).

use std::io::{self, Write};
use std::sync::Once;

use crossterm::cursor::Show;
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// While alive, the terminal is in raw mode on the alternate screen.
pub struct TerminalGuard {
    active: bool,
}

static HOOK: Once = Once::new();

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, EnableBracketedPaste) {
            restore();
            return Err(e);
        }
        Ok(TerminalGuard { active: true })
    }

    /// Hands the terminal back (for an SSH session); `resume` takes it again.
    pub fn suspend(&mut self) {
        if self.active {
            restore();
            self.active = false;
        }
    }

    pub fn resume(&mut self) -> io::Result<()> {
        if !self.active {
            enable_raw_mode()?;
            execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste)?;
            self.active = true;
        }
        Ok(())
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if self.active {
            restore();
        }
    }
}

/// Best-effort restore; safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(out, DisableBracketedPaste, LeaveAlternateScreen, Show);
    let _ = out.flush();
}

fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// Restores the terminal if it was left in raw mode (error path from `main`).
pub fn restore_if_raw() {
    if crossterm::terminal::is_raw_mode_enabled().unwrap_or(false) {
        restore();
    }
}
