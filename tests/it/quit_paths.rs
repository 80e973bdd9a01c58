//! Quit paths: `q`, C-c, signals and kill -9 while an operation runs. In
//! process (the real runtime on the demo fleet, paused time, keys typed as a
//! user types them) and in a real terminal (tmux runs the binary with an
//! isolated XDG dir; signals come from `kill`). Each checks the dialog, the
//! wind-down, the audit result record and the exit status.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::Event;
use futures::channel::mpsc;
use opsdeck::cli::snapshot::buffer_to_text;
use opsdeck::core::Timestamp;
use opsdeck::core::fleet::{ReplicaRole, ReplicationObservation};
use opsdeck::core::key::parse_sequence;
use opsdeck::core::operation::Verdict;
use opsdeck::keymap::Keymap;
use opsdeck::providers::demo::{DemoProvider, Scenario};
use opsdeck::providers::{ObserveProvider, OperateProvider};
use opsdeck::runtime::audit_log::{AuditLog, AuditRecord};
use opsdeck::runtime::event_loop::{Exit, LoopStats, run};
use opsdeck::runtime::key_input::to_crossterm;
use opsdeck::runtime::poller::PollSchedule;
use opsdeck::runtime::{App, AppParts, Clock};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::demo_app::{DemoApp, START, demo_app};
use crate::e2e_tmux::{Tmux, binary, tmux_or_skip};
use crate::support::fault_provider::FaultProvider;
use crate::support::key_script::{AfterKeys, script};

/// Runs the console until it ends (keys from `steps`, `shutdown` standing in
/// for SIGTERM), then winds the session down as the binary does. Returns
/// the exit and the last screen.
async fn session(
    app: &mut opsdeck::runtime::App,
    steps: &[(f64, &str)],
    shutdown: impl std::future::Future<Output = ()>,
) -> (Exit, String) {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let mut stats = LoopStats::default();
    let exit = {
        let run = run(
            &mut terminal,
            script(steps, AfterKeys::StayOpen),
            app,
            shutdown,
            &mut stats,
        );
        tokio::time::timeout(Duration::from_secs(600), run)
            .await
            .expect("the console ended")
            .expect("loop")
    };
    let screen = buffer_to_text(terminal.backend().buffer());
    app.wind_down(Duration::from_secs(5)).await;
    (exit, screen)
}

/// The database primaries that take writes on `demo` at `now`, and the
/// observation they were read from (for failure messages).
async fn writable_primaries(
    demo: &DemoProvider,
    now: Timestamp,
) -> (Vec<String>, ReplicationObservation) {
    let rep = demo.replication(now).await.expect("replication");
    let writable = rep
        .databases
        .iter()
        .filter(|x| x.role == ReplicaRole::Primary && !x.read_only)
        .map(|x| x.name.clone())
        .collect();
    (writable, rep)
}

/// The console in process on the fault-injecting demo fleet (`fleet`),
/// with its audit log in a temporary directory.
struct FaultApp {
    app: opsdeck::runtime::App,
    fleet: Arc<FaultProvider>,
    audit_path: PathBuf,
    _dir: tempfile::TempDir,
}

/// A [`FaultApp`] whose fleet `setup` gave its faults; `label` names the
/// source on the screen.
fn fault_app(read_only: bool, label: &str, setup: impl FnOnce(&FaultProvider)) -> FaultApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit_path = dir.path().join("audit.jsonl");
    let fleet = Arc::new(FaultProvider::calm(START, audit_path.clone()));
    setup(&fleet);
    let operate: Option<Arc<dyn OperateProvider>> =
        (!read_only).then(|| fleet.clone() as Arc<dyn OperateProvider>);
    let app = App::new(AppParts {
        observe: fleet.clone() as Arc<dyn ObserveProvider>,
        operate,
        keymap: Keymap::builtin(),
        theme: Theme::builtin(),
        clock: Clock::starting_at(START),
        schedule: PollSchedule::default(),
        source_label: label.into(),
        production: false,
        shell: None,
        audit_path: audit_path.clone(),
        webhook: None,
    });
    FaultApp {
        app,
        fleet,
        audit_path,
        _dir: dir,
    }
}

fn calm() -> DemoApp {
    demo_app(Scenario::Calm, 11, false, PollSchedule::default())
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
            script(&DRAIN_THEN_Q, AfterKeys::StayOpen),
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
        &mut d.app,
        // Dialog, keep watching (the focused default), then q once it is done.
        &[
            (3.0, "d"),
            (0.5, "y"),
            (0.5, "q"),
            (0.2, "<enter>"),
            (20.0, "q"),
        ],
        std::future::pending(),
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
    let (exit, screen) = session(&mut d.app, &steps, std::future::pending()).await;
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
    let (exit, screen) = session(&mut d.app, &steps, std::future::pending()).await;
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
async fn q_during_a_rollback_then_cancel_safely_stops_between_waves() {
    let mut d = calm();
    let (exit, screen) = session(
        &mut d.app,
        &[(3.0, "R y"), (2.0, "q"), (0.2, "<tab> <enter>")],
        std::future::pending(),
    )
    .await;
    assert_eq!(exit, Exit::Quit, "{screen}");
    let op = d.app.state.operations.last().expect("operation");
    assert!(op.cancel_requested);
    assert!(
        matches!(op.verdict, Some(Verdict::Cancelled(_) | Verdict::Failed(_))),
        "{:?}",
        op.verdict
    );
    let r = results(&d.audit_path);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].outcome, op.verdict);
}

#[tokio::test(start_paused = true)]
async fn c_c_asks_like_q() {
    let mut d = calm();
    let (exit, _) = session(
        &mut d.app,
        &[(3.0, "d"), (0.5, "y"), (0.5, "C-c"), (0.2, "l <enter>")],
        std::future::pending(),
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
    // The promote is confirmed at ~3.05 s; SIGTERM comes at each of these
    // moments (before, between and during its steps), one console each.
    for at_ms in [3_060, 3_200, 3_500, 3_800, 4_200, 5_000, 7_000] {
        let mut d = calm();
        let (exit, screen) = session(
            &mut d.app,
            &[(3.0, "P y")],
            tokio::time::sleep(Duration::from_millis(at_ms)),
        )
        .await;
        let r = results(&d.audit_path);
        assert_eq!(r.len(), 1, "SIGTERM at {at_ms} ms: {r:#?}");
        if d.app.state.operations.is_empty() {
            // The signal came before the confirmation: nothing ran.
            continue;
        }
        assert_eq!(exit, Exit::Signal, "{screen}");
        assert_eq!(d.app.state.quitting.exit_status, Some(143));
        let (writable, rep) = writable_primaries(&d.demo, d.app.clock.now()).await;
        assert_eq!(
            writable.len(),
            1,
            "SIGTERM at {at_ms} ms: one writable primary: {rep:#?}\n{r:#?}"
        );
        let text = format!("{:?} {:?}", r[0].outcome, r[0].notes);
        assert!(
            !text.contains("is read-only") && !text.contains("still READ-ONLY"),
            "SIGTERM at {at_ms} ms left a primary read-only: {text}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn sigterm_during_a_rollback_winds_down_with_one_result() {
    let mut d = calm();
    // The rollback is confirmed at ~3.1 s and runs its first wave at 6 s.
    let (exit, screen) = session(
        &mut d.app,
        &[(3.0, "R y")],
        tokio::time::sleep(Duration::from_secs(6)),
    )
    .await;
    assert_eq!(exit, Exit::Signal, "{screen}");
    assert_eq!(d.app.state.quitting.exit_status, Some(143));
    let op = d.app.state.operations.last().expect("operation");
    assert!(op.cancel_requested, "{op:#?}");
    let r = results(&d.audit_path);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].action, "rollback-deploy");
    assert!(
        !matches!(r[0].outcome, Some(Verdict::Succeeded)),
        "the rollback stopped early: {r:#?}"
    );
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

/// Starts the console on the calm demo fleet (seed 4) in `t`, presses
/// `key`, confirms, and waits until the screen shows `running` (the
/// operation is mid-step).
fn start_confirmed(t: &Tmux, key: &str, running: &str) -> Isolated {
    t.start_shell(120, 40);
    let iso = Isolated::new();
    t.type_text(&iso.command("--scenario calm --seed 4"));
    t.keys(&["Enter"]);
    t.wait_for("web-c2", Duration::from_secs(20));
    t.type_text(key);
    t.wait_for("Confirm", Duration::from_secs(5));
    t.type_text("y");
    // The dialog's step list says "in-flight" and "read-only" too: wait for
    // the operations panel's "▶ running" first, or a signal could race the
    // confirmation and find nothing running.
    t.wait_for("▶ running", Duration::from_secs(5));
    t.wait_for(running, Duration::from_secs(5));
    iso
}

#[test]
fn sigterm_during_a_drain_in_a_real_terminal_exits_143_with_a_result() {
    let Some(t) = tmux_or_skip("quit-term-drain") else {
        return;
    };
    let iso = start_confirmed(&t, "d", "in-flight");
    iso.kill("TERM");
    let screen = t.wait_for("EXIT=", Duration::from_secs(40));
    assert!(screen.contains("EXIT=143"), "{screen}");
    let r = results(&iso.audit());
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].target, "web-a1");
    assert!(r[0].outcome.is_some());
    // The terminal was given back: canonical mode and echo are on again.
    t.type_text("stty -a | tr ' ' '\\n' | grep -cE '^(icanon|echo)$'; echo $((40+2))-done");
    t.keys(&["Enter"]);
    let screen = t.wait_for("42-done", Duration::from_secs(5));
    let after = screen.rsplit("grep").next().unwrap_or("");
    assert!(after.lines().any(|l| l.trim() == "2"), "{screen}");
}

#[test]
fn sighup_during_a_promote_in_a_real_terminal_exits_129_and_no_primary_is_left_read_only() {
    let Some(t) = tmux_or_skip("quit-hup-promote") else {
        return;
    };
    let iso = start_confirmed(&t, "P", "read-only");
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
    let iso = start_confirmed(&t, "d", "in-flight");
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

// ---- what the screen says ----

mod screen {
    use opsdeck::core::action::ActionId;
    use opsdeck::core::lock::LockHolder;
    use opsdeck::core::lock_status::LockReport;
    use opsdeck::core::operation::{OpKind, OpRequest, Operation, StepSpec, StepStatus};
    use opsdeck::core::quit::Signal;
    use opsdeck::core::state::State;
    use opsdeck::core::unfinished::UnfinishedOperation;
    use opsdeck::core::{Msg, update};
    use opsdeck::theme::{Role, Theme};

    use crate::support::{NOW, buffer_text, fixture, render};

    fn lock(state: &mut State) {
        update(
            state,
            Msg::LockObserved {
                at: NOW,
                result: Ok(Some(LockReport {
                    holder: LockHolder {
                        operator: "alice".into(),
                        machine: "ops-laptop".into(),
                        pid: 4242,
                        operation: "drain-backend web-a1".into(),
                        environment: "prod".into(),
                        started_at: NOW.plus_millis(-65_000),
                    },
                    stale: false,
                    ours: false,
                })),
            },
        );
    }

    #[test]
    fn a_read_only_console_shows_the_lock_holder_in_the_warning_role() {
        let mut s = fixture();
        s.read_only = true;
        lock(&mut s);
        for (w, h) in [(80, 24), (120, 36)] {
            let buf = render(&s, w, h);
            let text = buffer_text(&buf);
            let needle = "🔒 alice@ops-laptop: drain-backend web-a1 · 1m05s";
            let row = text
                .lines()
                .position(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("{w}x{h}:\n{text}"));
            // The lock's cells are drawn in the theme's warning role.
            let warn = Theme::builtin().style(Role::StatusWarning);
            let line: Vec<_> = (0..buf.area.width)
                .map(|x| &buf[(x, row as u16)])
                .filter(|c| c.symbol() == "🔒")
                .collect();
            assert_eq!(line.len(), 1, "{text}");
            assert_eq!(line[0].fg, warn.fg.unwrap_or_default(), "{w}x{h}");
        }
    }

    fn draining() -> State {
        let mut s = fixture();
        let request = OpRequest::new(
            ActionId::DrainBackend,
            OpKind::Drain {
                backend: "web-a1".into(),
            },
        );
        let steps = vec![
            StepSpec::Drain {
                backend: "web-a1".into(),
            },
            StepSpec::WaitDrained {
                backend: "web-a1".into(),
                timeout_ms: 30_000,
            },
            StepSpec::VerifyNoTraffic {
                backend: "web-a1".into(),
            },
        ];
        s.operations.push(Operation::new(1, request, steps, NOW));
        s.operations_panel = true;
        for (index, status) in [(0, StepStatus::Done), (1, StepStatus::Running)] {
            update(
                &mut s,
                Msg::OperationStep {
                    id: 1,
                    index,
                    status,
                    detail: None,
                    at: NOW,
                },
            );
        }
        s
    }

    #[test]
    fn the_quit_dialog_fits_80x24_with_every_choice() {
        let mut s = draining();
        update(&mut s, Msg::Action(ActionId::Quit));
        let text = buffer_text(&render(&s, 80, 24));
        for needle in [
            "Quit while drain-backend web-a1 runs?",
            "▶[ Keep watching ]",
            "[ Cancel safely, then quit ]",
            "[ Quit and leave it… ]",
            "ABANDONED",
        ] {
            assert!(text.contains(needle), "{needle}:\n{text}");
        }
    }

    #[test]
    fn the_wind_down_after_sigterm_shows_its_deadline() {
        let mut s = draining();
        update(&mut s, Msg::Signal(Signal::Terminate));
        let text = buffer_text(&render(&s, 120, 36));
        assert!(
            text.contains(
                "⏳ SIGTERM: winding down drain-backend web-a1, then exit 143 (abandoned in 30s)"
            ),
            "{text}"
        );
        assert!(text.contains("cancelling"), "{text}");
    }

    #[test]
    fn an_unfinished_operation_is_marked_in_the_operations_panel() {
        let mut s = fixture();
        update(
            &mut s,
            Msg::UnfinishedFound(vec![UnfinishedOperation {
                operation: "1795313000000-1".into(),
                action: "drain-backend".into(),
                target: "web-a1".into(),
                environment: "prod".into(),
                user: "bob".into(),
                host: "jump-1".into(),
                started: "2026-11-22T02:05:00.000Z".into(),
                last_step: Some("started: drain web-a1 (no new requests)".into()),
            }]),
        );
        let text = buffer_text(&render(&s, 120, 36));
        assert!(
            text.contains(
                "UNFINISHED drain-backend web-a1 · bob@jump-1 · started 2026-11-22T02:05:00.000Z"
            ),
            "{text}"
        );
        assert!(
            text.contains("last step: started: drain web-a1 (no new requests)"),
            "{text}"
        );
        assert!(
            text.contains("⚠ UNFINISHED: drain-backend web-a1"),
            "{text}"
        );
    }
}

// ---- a signal between a switchover's steps ----

mod between_steps {
    use std::time::Duration;

    use opsdeck::runtime::event_loop::Exit;

    /// The console on the fault-injecting demo fleet, where making a node
    /// read-only (or writable) takes a second, as a slow SSH round trip
    /// does: a signal then lands while the step runs.
    fn slow_app() -> super::FaultApp {
        super::fault_app(false, "demo (slow read-only)", |fleet| {
            fleet.set_read_only_delay(Duration::from_secs(1));
        })
    }

    /// SIGTERM while the old primary is being made read-only: the runner
    /// stops before the next step, and must not leave it read-only.
    #[tokio::test(start_paused = true)]
    async fn sigterm_while_the_primary_goes_read_only_leaves_it_writable() {
        let mut d = slow_app();
        let (exit, screen) = super::session(
            &mut d.app,
            &[(3.0, "P y")],
            tokio::time::sleep(Duration::from_millis(3_500)),
        )
        .await;
        assert_eq!(exit, Exit::Signal, "{screen}");
        assert_eq!(d.app.state.quitting.exit_status, Some(143));
        let r = super::results(&d.audit_path);
        assert_eq!(r.len(), 1, "{r:#?}");
        let (writable, _) = super::writable_primaries(&d.fleet.demo, d.app.clock.now()).await;
        assert_eq!(
            writable,
            ["db-primary"],
            "the switchover did not happen, so db-primary must be writable again: {r:#?}"
        );
    }
}

// ---- the fleet lock's holder on every console ----

mod lock_holder {
    use std::time::Duration;

    use opsdeck::core::lock::LockHolder;
    use opsdeck::runtime::audit_log::hostname;

    use crate::demo_app::START;
    use crate::support::key_script::{AfterKeys, script};

    fn holder(machine: &str, pid: u32) -> LockHolder {
        LockHolder {
            operator: "alice".into(),
            machine: machine.into(),
            pid,
            operation: "drain-backend web-c1".into(),
            environment: "demo".into(),
            started_at: START.plus_millis(-65_000),
        }
    }

    /// The console on the fault-injecting demo fleet with someone else's
    /// fleet lock on it.
    fn app(read_only: bool, held: LockHolder) -> super::FaultApp {
        super::fault_app(read_only, "demo (with a fleet lock)", |fleet| {
            fleet.hold_lock(held);
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_only_console_shows_who_holds_the_lock() {
        let mut d = app(true, holder("ops-laptop", 4242));
        let (_, screen) = super::session(&mut d.app, &[(3.0, "q")], std::future::pending()).await;
        assert!(
            screen.contains("🔒 alice@ops-laptop: drain-backend web-c1 · 1m0"),
            "{screen}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_mutating_key_names_the_holder_and_sends_nothing() {
        let mut d = app(false, holder("ops-laptop", 4242));
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("terminal");
        let mut stats = opsdeck::runtime::event_loop::LoopStats::default();
        let _ = tokio::time::timeout(
            Duration::from_secs(4),
            opsdeck::runtime::event_loop::run(
                &mut terminal,
                script(&[(3.0, "d")], AfterKeys::StayOpen),
                &mut d.app,
                std::future::pending(),
                &mut stats,
            ),
        )
        .await;
        assert!(d.app.state.operations.is_empty());
        assert!(d.app.state.dialog.is_none());
        let msg = d
            .app
            .state
            .message
            .as_ref()
            .map(|m| m.text.clone())
            .unwrap_or_default();
        assert!(
            msg.contains("drain-backend not started: the fleet lock is held by alice@ops-laptop (pid 4242): drain-backend web-c1"),
            "{msg}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_lock_from_this_machine_is_broken_from_the_palette() {
        // A pid that is gone: a child that has exited and been reaped.
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let dead = child.id();
        child.wait().expect("wait");
        let mut d = app(false, holder(&hostname(), dead));
        let expected = format!("alice@{}", hostname());
        let keys: String = expected
            .chars()
            .map(|c| match c {
                ' ' => "<space>".to_string(),
                c => c.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let open = ": b r e a k - l o c k <enter>".to_string();
        let (_, screen) = super::session(
            &mut d.app,
            &[(3.0, &open), (0.5, &keys), (0.2, "<enter>"), (3.0, "q")],
            std::future::pending(),
        )
        .await;
        assert!(
            d.fleet.held_by().is_none(),
            "the stale lock was broken: {screen}"
        );
        assert!(d.app.state.lock.current.is_none(), "{screen}");
        assert!(!screen.contains("🔒"), "{screen}");
    }
}
