//! Operations end to end through the real runtime on the demo fleet, with
//! paused time: keys typed as a user types them, steps run by the operation
//! runner, verdicts from fresh observations, records in the audit log.

use opsdeck::core::fleet::{ReplicaRole, TargetState};

use opsdeck::core::operation::Verdict;
use opsdeck::providers::ObserveProvider;
use opsdeck::providers::demo::Scenario;
use opsdeck::runtime::audit_log::AuditLog;
use opsdeck::runtime::event_loop::{Exit, LoopStats, run};

use opsdeck::runtime::poller::PollSchedule;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::demo_app::{DemoApp, demo_app};
use crate::support::key_script::{AfterKeys, script};

async fn drive(d: &mut DemoApp, steps: &[(f64, &str)]) -> String {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let mut stats = LoopStats::default();
    let exit = run(
        &mut terminal,
        script(steps, AfterKeys::Close),
        &mut d.app,
        std::future::pending(),
        &mut stats,
    )
    .await
    .expect("loop");
    // A dialog waiting for a typed name takes `q` as text; the script then ends.
    assert!(matches!(exit, Exit::Quit | Exit::InputClosed), "{exit:?}");
    opsdeck::cli::snapshot::buffer_to_text(terminal.backend().buffer())
}

fn calm() -> DemoApp {
    demo_app(Scenario::Calm, 11, false, PollSchedule::default())
}

fn last_verdict(d: &DemoApp) -> Option<Verdict> {
    d.app
        .state
        .operations
        .last()
        .and_then(|o| o.verdict.clone())
}

#[tokio::test(start_paused = true)]
async fn drain_cancel_then_confirm_is_verified_and_audited() {
    let mut d = calm();
    // The overview selects web-a1 first. Open, cancel, reopen, confirm.
    let screen = drive(
        &mut d,
        &[(3.0, "d"), (0.5, "n"), (0.5, "d"), (0.5, "y"), (30.0, "q")],
    )
    .await;
    assert_eq!(last_verdict(&d), Some(Verdict::Succeeded), "{screen}");
    assert_eq!(
        d.app.state.operations.len(),
        1,
        "the cancelled dialog sent nothing"
    );
    let hosts = d.demo.hosts(d.app.clock.now()).await.expect("hosts");
    let t = hosts
        .load_balancer
        .as_ref()
        .and_then(|lb| lb.target("web-a1"))
        .expect("target");
    assert_eq!(t.state, TargetState::Drained);
    assert_eq!(t.requests_per_sec, Some(0.0));
    let records = AuditLog::new(d.audit_path.clone())
        .read_all()
        .expect("audit");
    let phases: Vec<&str> = records.iter().map(|r| r.phase.as_str()).collect();
    // The drain step (the one change to the fleet) has its own record.
    assert_eq!(phases, ["intent", "step", "result"]);
    assert_eq!(records[0].action, "drain-backend");
    assert_eq!(records[0].target, "web-a1");
    assert_eq!(
        records[1].notes,
        ["started: drain web-a1 (no new requests)"]
    );
    assert_eq!(records[2].outcome, Some(Verdict::Succeeded));
    assert!(records[2].steps.len() >= 3);
    assert!(!records[0].user.is_empty());
}

#[tokio::test(start_paused = true)]
async fn one_drain_per_az_is_allowed_and_the_second_in_an_az_is_refused() {
    let mut d = calm();
    // web-a1 (2a), then web-c1 (2c: two rows down), then web-a2 (2a again).
    drive(
        &mut d,
        &[
            (3.0, "d y"),
            (20.0, "j j d y"),
            (20.0, "k d"),
            (0.5, "y"),
            (1.0, "q"),
        ],
    )
    .await;
    let verdicts: Vec<_> = d
        .app
        .state
        .operations
        .iter()
        .map(|o| o.verdict.clone())
        .collect();
    assert_eq!(
        verdicts,
        vec![Some(Verdict::Succeeded), Some(Verdict::Succeeded)]
    );
    // The third dialog was refused by the guard; `y` cannot confirm it.
    let dialog = d
        .app
        .state
        .dialog
        .as_ref()
        .expect("refusal dialog still open");
    let refusal = dialog.refusal.as_ref().expect("refused");
    assert_eq!(refusal.guard, "last-healthy-backend");
    assert!(
        refusal.reason.contains("web-a2") && refusal.reason.contains("ap-northeast-2a"),
        "{}",
        refusal.reason
    );
    assert_eq!(dialog.require_typed.as_deref(), Some("web-a2"));
}

#[tokio::test(start_paused = true)]
async fn a_guard_can_be_overridden_only_by_typing_the_name() {
    let mut d = calm();
    drive(
        &mut d,
        &[
            (3.0, "d y"),
            // A wrong name leaves focus on Cancel: Enter cancels, nothing is sent.
            (20.0, "j d"),
            (0.5, "w e b - a <enter>"),
            // The exact name moves focus to Confirm: Enter overrides the guard.
            (0.5, "d"),
            (0.5, "w e b - a 2 <enter>"),
            (20.0, "q"),
        ],
    )
    .await;
    let ops = &d.app.state.operations;
    assert_eq!(
        ops.len(),
        2,
        "typing the full name confirmed the override: {:#?}",
        ops.iter()
            .map(|o| (o.request.summary(), o.verdict.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        ops[1].request.overridden_guards,
        vec!["last-healthy-backend".to_string()]
    );
    assert_eq!(ops[1].verdict, Some(Verdict::Succeeded));
    let records = AuditLog::new(d.audit_path.clone())
        .read_all()
        .expect("audit");
    assert!(
        records
            .iter()
            .any(|r| r.guard_overrides == ["last-healthy-backend"])
    );
}

#[tokio::test(start_paused = true)]
async fn promote_the_db_replica_from_the_overview_in_two_keys() {
    let mut d = calm();
    drive(&mut d, &[(3.0, "P y"), (60.0, "q")]).await;
    assert_eq!(
        last_verdict(&d),
        Some(Verdict::Succeeded),
        "{:?}",
        d.app.state.operations.last()
    );
    let rep = d
        .demo
        .replication(d.app.clock.now())
        .await
        .expect("replication");
    let role = |n: &str| rep.databases.iter().find(|x| x.name == n).map(|x| x.role);
    assert_eq!(role("db-replica"), Some(ReplicaRole::Primary));
    assert_eq!(role("db-primary"), Some(ReplicaRole::Replica));
    let new_primary = rep
        .databases
        .iter()
        .find(|x| x.name == "db-replica")
        .expect("node");
    assert!(!new_primary.read_only, "the new primary is writable");
}

#[tokio::test(start_paused = true)]
async fn rollback_web_in_two_keys_rolls_every_backend_az_by_az() {
    let mut d = calm();
    drive(&mut d, &[(3.0, "R y"), (120.0, "q")]).await;
    let op = d.app.state.operations.last().expect("operation");
    assert_eq!(op.verdict, Some(Verdict::Succeeded), "{op:#?}");
    let deploys = d.demo.deploys(d.app.clock.now()).await.expect("deploys");
    assert!(
        deploys
            .running
            .iter()
            .all(|r| r.version.as_deref() == Some("v1.42.1")),
        "{:?}",
        deploys.running
    );
    // Waves: every 2a backend finishes before any 2c backend starts.
    let order: Vec<String> = op
        .steps
        .iter()
        .filter_map(|s| match &s.spec {
            opsdeck::core::operation::StepSpec::Deploy { backend, .. } => Some(backend.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["web-a1", "web-a2", "web-c1", "web-c2"]);
}

#[tokio::test(start_paused = true)]
async fn rolling_out_the_broken_version_stops_after_the_first_backend() {
    let mut d = calm();
    // From the palette, with the failed-version guard overridden by typing `web`.
    drive(
        &mut d,
        &[
            (
                3.0,
                ": r o l l b a c k - d e p l o y <space> v 1 . 4 2 . 2 <enter>",
            ),
            (0.5, "w e b <enter>"),
            (150.0, "q"),
        ],
    )
    .await;
    let op = d.app.state.operations.last().expect("operation");
    let Some(Verdict::Failed(why)) = &op.verdict else {
        panic!("expected failure: {op:#?}");
    };
    assert!(why.contains("web-a1"), "{why}");
    let deploys = d.demo.deploys(d.app.clock.now()).await.expect("deploys");
    let version = |b: &str| {
        deploys
            .running
            .iter()
            .find(|r| r.backend == b)
            .and_then(|r| r.version.clone())
    };
    for b in ["web-a2", "web-c1", "web-c2"] {
        assert_eq!(
            version(b).as_deref(),
            Some("v1.42.3"),
            "{b} kept its version"
        );
    }
    let hosts = d.demo.hosts(d.app.clock.now()).await.expect("hosts");
    let lb = hosts.load_balancer.expect("lb");
    assert_eq!(
        lb.target("web-a1").map(|t| t.state),
        Some(TargetState::Drained),
        "the broken backend stays out"
    );
    assert!(
        lb.targets
            .iter()
            .filter(|t| t.backend != "web-a1")
            .all(|t| t.state == TargetState::Active && !t.health.is_problem()),
        "the pool stays healthy: {lb:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn esc_cancels_a_running_drain_and_says_what_it_left() {
    let mut d = demo_app(Scenario::Calm, 11, false, PollSchedule::default());
    // Cancel during the in-flight wait (the drain takes about 3 s).
    drive(&mut d, &[(3.0, "d y"), (0.6, "<esc>"), (10.0, "q")]).await;
    let Some(Verdict::Cancelled(left)) = last_verdict(&d) else {
        panic!("{:?}", d.app.state.operations.last());
    };
    assert!(left.contains("web-a1 is drained"), "{left}");
}

#[tokio::test(start_paused = true)]
async fn read_only_makes_every_mutating_action_inert() {
    let mut d = demo_app(Scenario::Calm, 11, true, PollSchedule::default());
    assert!(
        d.app.operate.is_none() && d.app.shell.is_none(),
        "no operate handle by construction"
    );
    let before = d
        .demo
        .hosts(opsdeck::core::Timestamp::from_millis(
            crate::demo_app::START.millis() + 2000,
        ))
        .await
        .expect("hosts");
    // Every key bound anywhere, in every view, then each mutating action
    // through the palette with a target.
    let keymap = opsdeck::keymap::Keymap::builtin();
    let mut keys: Vec<String> = Vec::new();
    for view in ["1", "2", "3", "4", "5"] {
        keys.push(view.to_string());
        for scope in [opsdeck::core::Scope::Global].into_iter().chain(
            opsdeck::core::ViewId::ALL
                .iter()
                .map(|v| opsdeck::core::Scope::View(*v)),
        ) {
            for b in keymap.bindings(scope) {
                let k = opsdeck::core::key::format_sequence(&b.keys);
                // Quitting and leaving the view would end or skip the sweep.
                if matches!(
                    b.action,
                    opsdeck::core::ActionId::Quit | opsdeck::core::ActionId::OpenPalette
                ) {
                    continue;
                }
                keys.push(k);
                keys.push("<esc> <esc>".into());
                keys.push(view.to_string());
            }
        }
    }
    let mut steps: Vec<(f64, String)> = vec![(3.0, String::new())];
    steps.extend(keys.into_iter().map(|k| (0.05, k)));
    for cmd in [
        "drain-backend web-c2",
        "undrain-backend web-a1",
        "promote-replica db-replica",
        "rollback-deploy v1.42.1",
        "ssh-open web-a1",
    ] {
        let typed: Vec<String> = cmd
            .chars()
            .map(|c| {
                if c == ' ' {
                    "<space>".into()
                } else {
                    c.to_string()
                }
            })
            .collect();
        steps.push((0.2, format!(": {} <enter>", typed.join(" "))));
        steps.push((0.1, "<esc>".into()));
    }
    steps.push((1.0, "q".into()));
    let steps_ref: Vec<(f64, &str)> = steps
        .iter()
        .filter(|(_, k)| !k.is_empty())
        .map(|(d, k)| (*d, k.as_str()))
        .collect();
    let mut all = vec![(3.0, "1")];
    all.extend(steps_ref);
    drive(&mut d, &all).await;
    assert!(d.app.state.operations.is_empty(), "nothing was started");
    assert!(d.app.state.dialog.is_none());
    let after = d.demo.hosts(d.app.clock.now()).await.expect("hosts");
    let states =
        |h: &opsdeck::core::fleet::HostsObservation| -> Vec<(String, TargetState, Option<String>)> {
            h.load_balancer
                .as_ref()
                .map(|lb| {
                    lb.targets
                        .iter()
                        .map(|t| {
                            (
                                t.backend.clone(),
                                t.state,
                                h.host(&t.backend).and_then(|x| x.version.clone()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
    assert_eq!(states(&before), states(&after), "the fleet did not change");
    let rep = d
        .demo
        .replication(d.app.clock.now())
        .await
        .expect("replication");
    assert_eq!(
        rep.databases
            .iter()
            .find(|x| x.role == ReplicaRole::Primary)
            .map(|x| x.name.as_str()),
        Some("db-primary")
    );
    assert!(!d.audit_path.exists(), "no audit record: nothing ran");
}
