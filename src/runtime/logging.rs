//! `tracing` to a file in the XDG state directory, never to the screen.

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;

/// `$XDG_STATE_HOME/opsdeck/opsdeck.log` (or the platform's equivalent).
pub fn log_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "opsdeck")?;
    Some(
        dirs.state_dir()
            .map(PathBuf::from)
            .unwrap_or_else(|| dirs.data_local_dir().to_path_buf()),
    )
}

/// Starts file logging; `RUST_LOG` sets the filter (default `info`). Returns the
/// guard that flushes on drop, or `None` when no log file could be opened
/// (opsdeck then runs without a log rather than writing to the screen).
pub fn init() -> Option<WorkerGuard> {
    let dir = log_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, "opsdeck.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
