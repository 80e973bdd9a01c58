//! Quit paths: `q`, C-c, signals and kill -9 while an operation runs. In
//! process (the real runtime on the demo fleet, paused time, keys typed as a
//! user types them) and in a real terminal (tmux runs the binary with an
//! isolated XDG dir; signals come from `kill`). Each checks the dialog, the
//! wind-down, the audit result record and the exit status.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crossterm::event::Event;
use futures::channel::mpsc;
use opsdeck::core::fleet::ReplicaRole;
use opsdeck::core::key::parse_sequence;
use opsdeck::core::operation::Verdict;
use opsdeck::providers::ObserveProvider;
use opsdeck::providers::demo::Scenario;
use opsdeck::runtime::audit_log::{AuditLog, AuditRecord};
use opsdeck::runtime::event_loop::{Exit, LoopStats, run};
use opsdeck::runtime::headless::buffer_to_text;
use opsdeck::runtime::key_input::to_crossterm;
use opsdeck::runtime::poller::PollPlan;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::demo_app::{DemoApp, demo_app};
use crate::e2e_tmux::{binary, tmux_or_skip};

/// Types each group of keys after its delay (seconds of paused time), then
/// keeps the input open: a closed input mid-operation would be a hangup.
fn script(steps: &[(f64, &str)]) -> mpsc::UnboundedReceiver<std::io::Result<Event>> {
    let (tx, rx) = mpsc::unbounded();
    let steps: Vec<(Duration, String)> = steps
        .iter()
        .map(|(d, k)| (Duration::from_secs_f64(*d), (*k).to_string()))
        .collect();
    tokio::spawn(async move {
        for (delay, keys) in steps {
            tokio::time::sleep(delay).await;
            for key in parse_sequence(&keys).expect("valid keys") {
                if tx
                    .unbounded_send(Ok(Event::Key(to_crossterm(key))))
                    .is_err()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(tx);
    });
    rx
}

/// Runs the console until it ends (keys from `steps`, `shutdown` standing in
/// for SIGTERM), then winds the session down as the binary does. Returns
/// the exit and the last screen.
async fn session(
    d: &mut DemoApp,
    steps: &[(f64, &str)],
    shutdown: impl std::future::Future<Output = ()>,
    mut on_screen: impl FnMut(&str),
) -> (Exit, String) {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let mut stats = LoopStats::default();
    // Watch the screen while the loop runs: the dialog is gone by the end.
    let exit = {
        let run = run(
            &mut terminal,
            script(steps),
            &mut d.app,
            shutdown,
            &mut stats,
        );
        tokio::time::timeout(Duration::from_secs(600), run)
            .await
            .expect("the console ended")
            .expect("loop")
    };
    let screen = buffer_to_text(terminal.backend().buffer());
    on_screen(&screen);
    d.app.wind_down(Duration::from_secs(5)).await;
    (exit, screen)
}

fn calm() -> DemoApp {
    demo_app(Scenario::Calm, 11, false, PollPlan::default())
}

fn records(path: &Path) -> Vec<AuditRecord> {
    AuditLog::new(path.to_path_buf())
        .read_all()
        .expect("audit log")
}

fn results(path: &Path) -> Vec<AuditRecord> {
    records(path)
        .into_iter()
        .filter(|r| r.phase == "result")
        .collect()
}

/// A drain confirmed at ~3.6 s; at ~4.1 s its in-flight wait (3 s in the
/// demo) still runs.
const DRAIN_THEN_Q: [(f64, &str); 3] = [(3.0, "d"), (0.5, "y"), (0.5, "q")];

#[tokio::test(start_paused = true)]
async fn q_during_a_drain_opens_the_quit_dialog_focused_on_keep_watching() {
    let mut d = calm();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let mut stats = LoopStats::default();
    // Stop watching at 4.4 s, with the dialog open and the drain running.
    let watched = tokio::time::timeout(
        Duration::from_millis(4_400),
        run(
            &mut terminal,
            script(&DRAIN_THEN_Q),
            &mut d.app,
            std::future::pending(),
            &mut stats,
        ),
    )
    .await;
    assert!(watched.is_err(), "q did not quit: {watched:?}");
    let screen = buffer_to_text(terminal.backend().buffer());
    assert!(
        screen.contains("Quit while drain-backend web-a1 runs?"),
        "{screen}"
    );
    assert!(screen.contains("▶[ Keep watching ]"), "{screen}");
    assert!(screen.contains("Cancel safely, then quit"), "{screen}");
    assert!(screen.contains("ABANDONED mid-step"), "{screen}");
    assert!(screen.contains("abandoned: quit at step 2/3"), "{screen}");
    assert!(d.app.state.operations[0].is_running());
    assert!(!d.app.state.operations[0].cancel_requested);
    d.app.wind_down(Duration::from_secs(30)).await;
}

#[tokio::test(start_paused = true)]
async fn keep_watching_lets_the_drain_finish_and_the_console_stays() {
    let mut d = calm();
    let (exit, _) = session(
        &mut d,
        // Dialog, keep watching (the focused default), then q once it is done.
        &[
            (3.0, "d"),
            (0.5, "y"),
            (0.5, "q"),
            (0.2, "<enter>"),
            (20.0, "q"),
        ],
        std::future::pending(),
        |_| {},
    )
    .await;
    assert_eq!(exit, Exit::Quit);
    let op = d.app.state.operations.last().expect("operation");
    assert_eq!(op.verdict, Some(Verdict::Succeeded), "{op:#?}");
    assert!(!op.cancel_requested);
    let r = results(&d.audit_path);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].outcome, Some(Verdict::Succeeded));
}

#[tokio::test(start_paused = true)]
async fn cancel_safely_then_quit_writes_exactly_one_result_then_exits() {
    let mut d = calm();
    let mut steps = DRAIN_THEN_Q.to_vec();
    steps.push((0.2, "<tab> <enter>"));
    let (exit, screen) = session(&mut d, &steps, std::future::pending(), |_| {}).await;
    assert_eq!(exit, Exit::Quit, "{screen}");
    assert_eq!(d.app.state.quitting.exit_status, None);
    let op = d.app.state.operations.last().expect("operation");
    assert!(op.cancel_requested);
    assert!(
        matches!(op.verdict, Some(Verdict::Cancelled(_))),
        "{:?}",
        op.verdict
    );
    let r = results(&d.audit_path);
    assert_eq!(r.len(), 1, "exactly one result: {r:#?}");
    assert!(
        matches!(r[0].outcome, Some(Verdict::Cancelled(_))),
        "{r:#?}"
    );
    assert!(
        records(&d.audit_path)
            .iter()
            .any(|x| x.phase == "intent" && x.operation == r[0].operation)
    );
    // The console waited for the runner: nothing runs after the session.
    assert!(!d.app.has_running_operations());
}

#[tokio::test(start_paused = true)]
async fn quit_and_leave_writes_the_abandoned_result() {
    let mut d = calm();
    let mut steps = DRAIN_THEN_Q.to_vec();
    // S-tab from "keep watching" wraps to "quit and leave it".
    steps.push((0.2, "S-tab <enter>"));
    let (exit, screen) = session(&mut d, &steps, std::future::pending(), |_| {}).await;
    assert_eq!(exit, Exit::Quit, "{screen}");
    let r = results(&d.audit_path);
    assert_eq!(r.len(), 1, "{r:#?}");
    let Some(Verdict::Failed(why)) = &r[0].outcome else {
        panic!("{r:#?}");
    };
    assert!(
        why.starts_with("abandoned: quit at step 2/3 \"wait for web-a1's in-flight"),
        "{why}"
    );
    assert!(
        why.contains("left: step 1 \"drain web-a1 (no new requests)\" done, not undone"),
        "{why}"
    );
    // The runner was stopped, not left writing a second result later.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(results(&d.audit_path).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn c_c_asks_like_q() {
    let mut d = calm();
    let (exit, _) = session(
        &mut d,
        &[(3.0, "d"), (0.5, "y"), (0.5, "C-c"), (0.2, "l <enter>")],
        std::future::pending(),
        |_| {},
    )
    .await;
    assert_eq!(exit, Exit::Quit);
    let r = results(&d.audit_path);
    assert_eq!(r.len(), 1);
    assert!(
        matches!(r[0].outcome, Some(Verdict::Cancelled(_))),
        "{r:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn sigterm_during_a_promote_winds_down_and_leaves_one_writable_primary() {
    let mut d = calm();
    // The promote is confirmed at ~3.1 s; SIGTERM comes 0.4 s later.
    let (exit, screen) = session(
        &mut d,
        &[(3.0, "P y")],
        tokio::time::sleep(Duration::from_millis(3_500)),
        |_| {},
    )
    .await;
    assert_eq!(exit, Exit::Signal, "{screen}");
    assert_eq!(d.app.state.quitting.exit_status, Some(143));
    let r = results(&d.audit_path);
    assert_eq!(r.len(), 1, "{r:#?}");
    let rep = d
        .demo
        .replication(d.app.clock.now())
        .await
        .expect("replication");
    let writable: Vec<&str> = rep
        .databases
        .iter()
        .filter(|x| x.role == ReplicaRole::Primary && !x.read_only)
        .map(|x| x.name.as_str())
        .collect();
    assert_eq!(writable.len(), 1, "one writable primary: {rep:#?}\n{r:#?}");
}

#[tokio::test(start_paused = true)]
async fn losing_the_terminal_mid_drain_is_a_hangup() {
    let mut d = calm();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let mut stats = LoopStats::default();
    // The input ends right after the confirmation, as when a terminal closes.
    let (tx, rx) = mpsc::unbounded();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        for k in parse_sequence("d y").expect("keys") {
            let _ = tx.unbounded_send(Ok(Event::Key(to_crossterm(k))));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(tx);
    });
    let exit = run(
        &mut terminal,
        rx,
        &mut d.app,
        std::future::pending(),
        &mut stats,
    )
    .await
    .expect("loop");
    d.app.wind_down(Duration::from_secs(5)).await;
    assert_eq!(exit, Exit::Signal);
    assert_eq!(d.app.state.quitting.exit_status, Some(129));
    assert_eq!(results(&d.audit_path).len(), 1);
}

// ---- in a real terminal ----

/// An isolated opsdeck environment for one tmux test.
struct Isolated {
    dir: tempfile::TempDir,
}

impl Isolated {
    fn new() -> Isolated {
        Isolated {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn env(&self) -> String {
        format!(
            "XDG_STATE_HOME={d}/state XDG_DATA_HOME={d}/data XDG_CONFIG_HOME={d}/config",
            d = self.dir.path().display()
        )
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.path().join("pid")
    }

    fn audit(&self) -> PathBuf {
        self.dir.path().join("data/opsdeck/audit.jsonl")
    }

    /// The command line that runs opsdeck `args` with its pid in a file and
    /// prints `EXIT=<status>` when it ends.
    fn command(&self, args: &str) -> String {
        format!(
            "sh -c 'echo $$ > {pid}; exec env {env} {bin} {args}'; echo EX\"\"IT=$?",
            pid = self.pid_file().display(),
            env = self.env(),
            bin = binary()
        )
    }

    fn pid(&self) -> String {
        std::fs::read_to_string(self.pid_file())
            .expect("pid file")
            .trim()
            .to_string()
    }

    fn kill(&self, signal: &str) {
        let st = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid())
            .status()
            .expect("kill");
        assert!(st.success());
    }
}

#[test]
fn sigterm_during_a_drain_in_a_real_terminal_exits_143_with_a_result() {
    let Some(t) = tmux_or_skip("quit-term-drain") else {
        return;
    };
    t.start_shell(120, 40);
    let iso = Isolated::new();
    t.type_text(&iso.command("--scenario calm --seed 4"));
    t.keys(&["Enter"]);
    t.wait_for("web-c2", Duration::from_secs(20));
    t.type_text("d");
    t.wait_for("Confirm", Duration::from_secs(5));
    t.type_text("y");
    t.wait_for("in-flight", Duration::from_secs(5));
    iso.kill("TERM");
    let screen = t.wait_for("EXIT=", Duration::from_secs(40));
    assert!(screen.contains("EXIT=143"), "{screen}");
    let r = results(&iso.audit());
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].target, "web-a1");
    assert!(r[0].outcome.is_some());
}

#[test]
fn sighup_during_a_promote_in_a_real_terminal_exits_129_and_no_primary_is_left_read_only() {
    let Some(t) = tmux_or_skip("quit-hup-promote") else {
        return;
    };
    t.start_shell(120, 40);
    let iso = Isolated::new();
    t.type_text(&iso.command("--scenario calm --seed 4"));
    t.keys(&["Enter"]);
    t.wait_for("web-c2", Duration::from_secs(20));
    t.type_text("P");
    t.wait_for("Confirm", Duration::from_secs(5));
    t.type_text("y");
    t.wait_for("read-only", Duration::from_secs(5));
    iso.kill("HUP");
    let screen = t.wait_for("EXIT=", Duration::from_secs(40));
    assert!(screen.contains("EXIT=129"), "{screen}");
    let r = results(&iso.audit());
    assert_eq!(r.len(), 1, "{r:#?}");
    // The demo fleet lived in the process: its result says what it left.
    let text = format!("{:?} {:?}", r[0].outcome, r[0].notes);
    assert!(r[0].outcome.is_some(), "{text}");
    assert!(!text.contains("still READ-ONLY"), "{text}");
    if matches!(r[0].outcome, Some(Verdict::Cancelled(_))) {
        assert!(!text.contains("is read-only"), "{text}");
    }
}

#[test]
fn kill_9_mid_drain_then_restart_shows_the_unfinished_operation() {
    let Some(t) = tmux_or_skip("quit-kill9") else {
        return;
    };
    t.start_shell(120, 40);
    let iso = Isolated::new();
    t.type_text(&iso.command("--scenario calm --seed 4"));
    t.keys(&["Enter"]);
    t.wait_for("web-c2", Duration::from_secs(20));
    t.type_text("d");
    t.wait_for("Confirm", Duration::from_secs(5));
    t.type_text("y");
    t.wait_for("in-flight", Duration::from_secs(5));
    iso.kill("KILL");
    t.wait_for("EXIT=137", Duration::from_secs(10));
    assert!(results(&iso.audit()).is_empty());
    // The killed console left the terminal raw: reset it before the next.
    t.type_text("stty sane; clear");
    t.keys(&["Enter"]);
    t.type_text(&iso.command("--scenario calm --seed 4"));
    t.keys(&["Enter"]);
    let screen = t.wait_for("UNFINISHED", Duration::from_secs(20));
    assert!(screen.contains("drain-backend web-a1"), "{screen}");
    t.type_text("q");
    t.wait_for("EXIT=0", Duration::from_secs(10));
    t.type_text(&format!("{} {} audit", iso.env(), binary()));
    t.keys(&["Enter"]);
    let screen = t.wait_for("INCOMPLETE", Duration::from_secs(10));
    assert!(screen.contains("web-a1"), "{screen}");
}

#[test]
fn do_drain_then_sigterm_exits_143_with_a_result() {
    let Some(t) = tmux_or_skip("quit-do-term") else {
        return;
    };
    t.start_shell(120, 40);
    let iso = Isolated::new();
    t.type_text(&iso.command("--demo --scenario calm do drain-backend web-a1 --yes"));
    t.keys(&["Enter"]);
    t.wait_for("▶ 2.", Duration::from_secs(20));
    iso.kill("TERM");
    let screen = t.wait_for("EXIT=", Duration::from_secs(40));
    assert!(screen.contains("EXIT=143"), "{screen}");
    assert!(screen.contains("SIGTERM: cancelling"), "{screen}");
    let r = results(&iso.audit());
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].target, "web-a1");
}
