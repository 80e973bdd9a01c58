//! The imperative shell: terminal, event loop, polling, headless commands.

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
pub mod commands;
pub mod event_loop;
pub mod headless;
pub mod key_input;
pub mod launch;
pub mod logging;
pub mod operation_runner;
pub mod poller;
pub mod signals;
pub mod terminal_guard;
pub mod webhook;

pub use app::{App, AppParts};
pub use clock::Clock;
