//! The imperative shell of the TUI session: terminal, event loop, polling,
//! the operation runner, signals, and the audit log and webhook it writes.

/// `println!` for headless output that ends quietly when the reader goes
/// away (`opsdeck status --json | head`), instead of panicking on EPIPE.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` with the same behaviour as `outln!`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub mod app;
pub mod audit_log;
pub mod clock;
pub mod event_loop;
pub mod key_input;
pub mod logging;
pub mod operation_runner;
pub mod poller;
pub mod signals;
pub mod terminal_guard;
pub mod tui_session;
pub mod webhook;

pub use app::{App, AppParts};
pub use clock::Clock;
/// Quiet-on-EPIPE printing for the headless subcommands in `cli`.
pub(crate) use {out, outln};
