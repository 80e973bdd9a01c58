//! Scenario tests: the real event loop with the demo fleet, paused tokio time,
//! a `TestBackend`, and keys typed in the keymap syntax.

use std::time::Duration;

use crossterm::event::Event;
use futures::channel::mpsc;
use opsdeck::cli::snapshot::buffer_to_text;
use opsdeck::core::ViewId;
use opsdeck::core::key::parse_sequence;
use opsdeck::providers::demo::Scenario;
use opsdeck::runtime::event_loop::{Exit, LoopStats, run};
use opsdeck::runtime::key_input::to_crossterm;
use opsdeck::runtime::poller::PollSchedule;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::demo_app::DemoApp;

fn demo_app(scenario: Scenario, read_only: bool) -> DemoApp {
    demo_app_with(scenario, read_only, PollSchedule::default())
}

fn demo_app_with(scenario: Scenario, read_only: bool, schedule: PollSchedule) -> DemoApp {
    crate::demo_app::demo_app(scenario, 7, read_only, schedule)
}

/// Types `keys` (keymap syntax, space separated) with `gap` between presses.
fn typist(keys: &str, gap: Duration) -> mpsc::UnboundedReceiver<std::io::Result<Event>> {
    let (tx, rx) = mpsc::unbounded();
    let keys = parse_sequence(keys).expect("valid keys");
    tokio::spawn(async move {
        for key in keys {
            tokio::time::sleep(gap).await;
            if tx
                .unbounded_send(Ok(Event::Key(to_crossterm(key))))
                .is_err()
            {
                return;
            }
        }
    });
    rx
}

#[tokio::test(start_paused = true)]
async fn a_user_walks_through_every_view_and_filters_logs() {
    let mut d = demo_app(Scenario::Calm, false);
    let app = &mut d.app;
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    // Wait long enough for logs, then: instances sorted by CPU, replication,
    // deploys, logs filtered to errors-or-warnings by regex, back with S-tab, quit.
    let keys = "2 > > > > > > 3 4 5 / W A R N <enter> S-tab <tab> q";
    let events = typist(keys, Duration::from_millis(700));
    let mut stats = LoopStats::default();
    let exit = run(
        &mut terminal,
        events,
        app,
        std::future::pending(),
        &mut stats,
    )
    .await
    .expect("loop");
    assert_eq!(exit, Exit::Quit);
    let s = &app.state;
    assert_eq!(s.view, ViewId::Logs);
    assert_eq!(
        s.logs.filter.pattern.as_ref().map(|r| r.as_str()),
        Some("WARN")
    );
    assert!(s.hosts.data.is_some() && s.replication.data.is_some() && s.deploys.data.is_some());
    assert!(
        s.logs.buffer.len() > 50,
        "about 20 lines/s for ~15 s: {}",
        s.logs.buffer.len()
    );
    assert!(stats.frames > 5, "drew frames: {stats:?}");
    let screen = buffer_to_text(terminal.backend().buffer());
    assert!(screen.contains("WARN"), "{screen}");
}

/// Every panel polled once an hour: a still fleet while a test watches.
fn hourly_polls() -> PollSchedule {
    let hour = Duration::from_secs(3600);
    PollSchedule {
        hosts: hour,
        replication: hour,
        deploys: hour,
        alerts: hour,
        logs: hour,
        service: hour,
        ..PollSchedule::default()
    }
}

#[tokio::test(start_paused = true)]
async fn an_idle_console_draws_nothing_new() {
    // Slow polling so that only ticks arrive while we watch.
    let schedule = hourly_polls();
    let mut d = demo_app_with(Scenario::Calm, false, schedule);
    let app = &mut d.app;
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    let (tx, rx) = mpsc::unbounded::<std::io::Result<Event>>();
    let watcher = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(tx);
    });
    let mut stats = LoopStats::default();
    let exit = run(&mut terminal, rx, app, std::future::pending(), &mut stats)
        .await
        .expect("loop");
    watcher.await.expect("watcher");
    assert_eq!(exit, Exit::InputClosed);
    // The first poll of each panel and the first frame may each draw; 30
    // seconds of idle ticks must not add frames.
    assert!(stats.frames <= 3, "idle console kept drawing: {stats:?}");
    assert!(stats.messages >= 30, "ticks arrived: {stats:?}");
    // The diagnostics counters say the same, and counting drew nothing.
    let c = app.state.console;
    assert_eq!((c.frames, c.messages), (stats.frames, stats.messages));
    assert_eq!(
        c.polls,
        opsdeck::core::PanelId::ALL.len() as u64,
        "one first poll per panel, then none for an hour: {c:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_diagnostics_panel_counts_while_open_and_idle_stays_idle_when_closed() {
    let schedule = hourly_polls();
    let mut d = demo_app_with(Scenario::Calm, true, schedule);
    let app = &mut d.app;
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    /// Sends `keys` after `after`, then closes the input `hold` later.
    fn script(
        keys: &'static str,
        after: Duration,
        hold: Duration,
    ) -> mpsc::UnboundedReceiver<std::io::Result<Event>> {
        let (tx, rx) = mpsc::unbounded();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            for key in parse_sequence(keys).expect("keys") {
                let _ = tx.unbounded_send(Ok(Event::Key(to_crossterm(key))));
            }
            tokio::time::sleep(hold).await;
            drop(tx);
        });
        rx
    }
    let mut stats = LoopStats::default();
    let events = script(
        ": d i a g n o s t i c s <enter>",
        Duration::from_secs(2),
        Duration::from_secs(10),
    );
    let exit = run(
        &mut terminal,
        events,
        app,
        std::future::pending(),
        &mut stats,
    )
    .await
    .expect("loop");
    assert_eq!(exit, Exit::InputClosed);
    let screen = buffer_to_text(terminal.backend().buffer());
    assert!(screen.contains("Diagnostics"), "{screen}");
    assert!(screen.contains("bytes to the terminal"), "{screen}");
    assert!(
        stats.frames >= 10,
        "open, the panel redraws its counters every second: {stats:?}"
    );
    // The panel shows the count as of the frame before the one on screen.
    assert!(
        screen.contains(&format!("frames drawn{:>26}", stats.frames - 1)),
        "the panel shows the frame count ({}):\n{screen}",
        stats.frames - 1
    );
    // Closed again: 30 s of idle add at most the closing frame and the
    // first polls of the new loop.
    let before = stats.frames;
    let events = script("<esc>", Duration::from_millis(100), Duration::from_secs(30));
    run(
        &mut terminal,
        events,
        app,
        std::future::pending(),
        &mut stats,
    )
    .await
    .expect("loop");
    assert!(app.state.overlay.is_none());
    assert!(
        stats.frames - before <= 3,
        "closed, the panel costs nothing: {stats:?} (from {before})"
    );
}

#[tokio::test(start_paused = true)]
async fn a_pending_sequence_shows_and_completes() {
    let mut d = demo_app(Scenario::Calm, true);
    let app = &mut d.app;
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    let events = typist("2 G g g q", Duration::from_millis(300));
    let mut stats = LoopStats::default();
    run(
        &mut terminal,
        events,
        app,
        std::future::pending(),
        &mut stats,
    )
    .await
    .expect("loop");
    assert_eq!(app.state.view, ViewId::Instances);
    assert_eq!(app.state.instances.selected, 0, "g g went back to the top");
    assert!(app.state.pending_keys.is_empty());
    assert!(app.state.read_only && app.operate.is_none());
}
