//! The imperative shell: terminal, event loop, polling, headless commands.

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
pub mod terminal_guard;
pub mod webhook;

pub use app::{App, AppParts};
pub use clock::Clock;
