//! The TUI session: signals, the first observation, the terminal, the event
//! loop (handing the terminal to an SSH shell and back), and winding down
//! the session's operations before it exits.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::providers::ProviderError;

use super::app::App;

use super::event_loop::{self, LoopStats};
use super::terminal_guard::TerminalGuard;

/// After the loop ends, how long the session still waits for an operation
/// task to end before recording it as abandoned. The loop normally ends only
/// once the operation wound down (or was abandoned), so this is a backstop
/// for an error path, as long as a signal's deadline.
const WIND_DOWN_BACKSTOP: std::time::Duration =
    std::time::Duration::from_millis(crate::core::quit::SIGNAL_DEADLINE_MS as u64);

/// Runs the console on `app` until it quits. `history_ms`: how much of the
/// past to replay before the first frame (the demo fleet; see `App::prime`).
pub async fn run_tui(mut app: App, history_ms: Option<i64>) -> std::io::Result<ExitCode> {
    // Signals from the start: one that arrives while the first data loads
    // is handled as soon as the loop runs (no operation can run before).
    let signals = super::signals::Signals::install()?;
    let _forward = signals.forward(app.tx.clone());
    let mut guard = TerminalGuard::enter()?;
    let written = app.count_terminal_bytes();
    let mut terminal = fresh_terminal(&written)?;
    let mut stats = LoopStats::default();
    // The first frame comes first: every panel says it is waiting for data
    // until its source answers. Keys pressed meanwhile wait in the terminal's
    // input and are read by the loop: none is lost.
    first_frame(&mut terminal, &mut app, &mut stats);
    // The demo fleet replays a few minutes of history (bounded work, no
    // I/O); real sources are polled by the loop's pollers, each panel filled
    // in as its first poll answers, so a slow or hung source holds up only
    // its own panel.
    if history_ms.is_some() {
        app.prime(history_ms).await;
    }
    app.report_unfinished();
    // Signals arrive as messages (above); nothing else ends the loop from outside.
    let shutdown = std::future::pending::<()>();
    tokio::pin!(shutdown);
    let exit = loop {
        // A fresh input stream each time: the old one must not read keys
        // meant for the shell while it runs.
        let events = crossterm::event::EventStream::new();
        let exit =
            event_loop::run(&mut terminal, events, &mut app, &mut shutdown, &mut stats).await;
        match exit {
            Ok(event_loop::Exit::Shell(host)) => {
                // Connect (and check the host key) while the console still
                // owns the screen, so an unknown key can be asked about.
                if let Some(shell) = app.shell.clone() {
                    match shell.prepare(&host).await {
                        Ok(()) => {}
                        Err(ProviderError::UnknownHostKey { fingerprint, .. }) => {
                            app.dispatch(crate::core::Msg::SshHostUnknown { host, fingerprint });
                            continue;
                        }
                        Err(e) => {
                            app.dispatch(crate::core::Msg::SshEnded {
                                host,
                                result: Err(e.to_string()),
                            });
                            continue;
                        }
                    }
                }
                let result = run_shell(&mut guard, &app, &host).await;
                // A new terminal redraws everything and, unlike `clear()`, does
                // not ask the terminal for the cursor position (the reply could
                // be lost while the input stream changes hands).
                terminal = fresh_terminal(&written)?;
                app.dispatch(crate::core::Msg::SshEnded { host, result });
                app.state.dirty = true;
            }
            other => break other,
        }
    };
    // Give the terminal back first: what follows draws nothing.
    guard.suspend();
    drop(guard);
    // No operation task outlives the session unrecorded: a wound-down one has
    // written its result; an abandoned one gets its result written here.
    app.wind_down(WIND_DOWN_BACKSTOP).await;
    let exit = exit?;
    tracing::info!(
        ?exit,
        frames = stats.frames,
        messages = stats.messages,
        "console closed"
    );
    Ok(app
        .state
        .quitting
        .exit_status
        .map_or(ExitCode::SUCCESS, ExitCode::from))
}

/// Draws the console once, before any source has answered.
fn first_frame<B: ratatui::backend::Backend>(
    terminal: &mut ratatui::Terminal<B>,
    app: &mut App,
    stats: &mut LoopStats,
) {
    if let Ok(size) = terminal.size() {
        app.dispatch(crate::core::Msg::Resize {
            width: size.width,
            height: size.height,
        });
    }
    // A failure here shows again, and is handled, at the loop's first frame.
    let _ = event_loop::draw_frame(terminal, app, stats);
}

/// A ratatui terminal on stdout over a cleared screen, counting the bytes
/// it writes into `written` (the diagnostics panel).
fn fresh_terminal(
    written: &Arc<AtomicU64>,
) -> std::io::Result<ratatui::Terminal<ratatui::backend::CrosstermBackend<CountingStdout>>> {
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(CountingStdout {
        out: std::io::stdout(),
        written: written.clone(),
    }))
}

/// Stdout that counts what goes through it.
struct CountingStdout {
    out: std::io::Stdout,
    written: Arc<AtomicU64>,
}

impl std::io::Write for CountingStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Suspends the console, runs the shell with the terminal, and takes the
/// terminal back whatever happens.
async fn run_shell(guard: &mut TerminalGuard, app: &App, host: &str) -> Result<(), String> {
    let Some(shell) = app.shell.clone() else {
        return Err("SSH is not available in this session".into());
    };
    guard.suspend();
    let result = shell.interactive(host).await.map_err(|e| e.to_string());
    match guard.resume() {
        Ok(()) => result,
        Err(e) => Err(format!("could not take the terminal back: {e}")),
    }
}
