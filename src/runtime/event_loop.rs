//! The event loop, generic over the input stream and the terminal backend so
//! tests drive the same code with a channel of events and a `TestBackend`.
//! It draws only when the state changed or the terminal resized, at most 30
//! frames a second. Losing the terminal (input closed, drawing fails) while
//! an operation runs is a hangup: the loop keeps running, without a screen,
//! until the operation has wound down.

use std::future::Future;
use std::io;
use std::time::Duration;

use crossterm::event::Event;
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::time::Instant;

use crate::core::quit::Signal;
use crate::core::{Key, Msg};

use super::app::{App, Flow};
use super::key_input::from_crossterm;
use super::poller::Pollers;

/// Minimum time between two frames (30 frames/s).
pub const FRAME: Duration = Duration::from_millis(33);
/// How often the clock ticks into the core.
pub const TICK: Duration = Duration::from_secs(1);

/// Why the loop ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    /// Open a shell on this host; the caller hands over the terminal and then
    /// runs the loop again.
    Shell(String),
    /// The input stream ended (terminal closed) with no operation running.
    InputClosed,
    /// A signal (or `shutdown`, or losing the terminal mid-operation) ended
    /// the session, after the running operation wound down; the exit status
    /// is in `state.quitting`.
    Signal,
}

/// What the loop feeds the reducer: a key press (resolved through the
/// keymap) or a message.
enum Input {
    Key(Key),
    Msg(Msg),
}

/// Counters for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopStats {
    pub frames: u64,
    pub messages: u64,
}

/// Draws one frame of the console and counts it (the loop's stats and the
/// diagnostics panel's counters, which do not mark the state dirty).
pub fn draw_frame<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    stats: &mut LoopStats,
) -> io::Result<()> {
    let drawn = terminal.draw(|f| crate::ui::draw(f, &app.state, &app.theme, &app.keymap));
    app.dispatch(Msg::Drawn);
    drawn.map_err(|e| io::Error::other(e.to_string()))?;
    stats.frames += 1;
    app.state.console.frames = stats.frames;
    app.state.console.terminal_bytes = app.terminal_bytes();
    Ok(())
}

pub async fn run<B, S, F>(
    terminal: &mut Terminal<B>,
    mut events: S,
    app: &mut App,
    shutdown: F,
    stats: &mut LoopStats,
) -> io::Result<Exit>
where
    B: Backend,
    S: Stream<Item = io::Result<Event>> + Unpin,
    F: Future<Output = ()>,
{
    // `shutdown` resolving is a SIGTERM: the session winds down as for one.
    let pollers = Pollers::spawn(
        app.observe.clone(),
        app.clock,
        &app.schedule,
        app.tx.clone(),
    );
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_frame: Option<Instant> = None;
    tokio::pin!(shutdown);
    let mut shutdown_seen = false;
    // Set once the terminal is gone: no more input, no more frames.
    let mut input_closed = false;
    let mut screen_lost = false;

    if let Ok(size) = terminal.size() {
        app.dispatch(Msg::Resize {
            width: size.width,
            height: size.height,
        });
    }

    loop {
        let next_frame = last_frame.map_or_else(Instant::now, |t| t + FRAME);
        let dirty = app.state.dirty && !screen_lost;
        let mut msgs: Vec<Input> = Vec::new();
        tokio::select! {
            () = tokio::time::sleep_until(next_frame), if dirty => {
                let drawn = draw_frame(terminal, app, stats);
                last_frame = Some(Instant::now());
                match drawn {
                    Ok(()) => {}
                    Err(e) if app.state.running_operation().is_some() => {
                        tracing::warn!(error = %e, "the terminal is gone; winding down without a screen");
                        screen_lost = true;
                        msgs.push(Input::Msg(Msg::Signal(Signal::Hangup)));
                    }
                    Err(e) => return Err(e),
                }
                if msgs.is_empty() {
                    continue;
                }
            }
            ev = events.next(), if !input_closed => match ev {
                None | Some(Err(_)) if app.state.running_operation().is_some() => {
                    // The terminal went away (a hangup) mid-operation: wind
                    // down as for SIGHUP instead of dropping the runner.
                    tracing::warn!("input closed while an operation runs; winding down");
                    input_closed = true;
                    msgs.push(Input::Msg(Msg::Signal(Signal::Hangup)));
                }
                None => return Ok(Exit::InputClosed),
                Some(Err(e)) => return Err(e),
                Some(Ok(Event::Key(k))) => {
                    if let Some(key) = from_crossterm(&k) {
                        // The clock first: a key read before the next tick (on
                        // resume from a suspend, say) is judged at the real
                        // time, so old data is seen as old by its guards.
                        msgs.push(Input::Msg(Msg::Tick {
                            now: app.clock.now(),
                        }));
                        msgs.push(Input::Key(key));
                    }
                }
                Some(Ok(Event::Resize(width, height))) => {
                    let _ = terminal.autoresize();
                    msgs.push(Input::Msg(Msg::Resize { width, height }));
                }
                Some(Ok(_)) => {}
            },
            Some(msg) = app.rx.recv() => msgs.push(Input::Msg(msg)),
            _ = tick.tick() => msgs.push(Input::Msg(Msg::Tick { now: app.clock.now() })),
            () = &mut shutdown, if !shutdown_seen => {
                shutdown_seen = true;
                msgs.push(Input::Msg(Msg::Signal(Signal::Terminate)));
            }
        }
        for input in msgs {
            stats.messages += 1;
            app.state.console.messages = stats.messages;
            let effects = match input {
                Input::Key(key) => app.press(key),
                Input::Msg(msg) => app.dispatch(msg),
            };
            for effect in effects {
                match app.apply(effect) {
                    Flow::Continue => {}
                    Flow::Refresh(panels) => pollers.refresh(&panels),
                    Flow::Quit if app.state.quitting.exit_status.is_some() => {
                        return Ok(Exit::Signal);
                    }
                    Flow::Quit => return Ok(Exit::Quit),
                    Flow::Shell(host) => return Ok(Exit::Shell(host)),
                }
            }
        }
    }
}
