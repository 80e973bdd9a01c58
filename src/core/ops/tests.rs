//! Reducer tests of the decision core (messages in, state and effects out),
//! and `decide` as `opsdeck do` calls it: stale data refuses naming its age,
//! guards are checked again at confirm, capabilities shape plans.

use super::*;
use crate::core::action::ActionId;
use crate::core::capabilities::{Capabilities, OldPrimary, PromoteCaps};
use crate::core::effect::Effect;
use crate::core::fleet::*;
use crate::core::guard::Refusal;
use crate::core::key::{Key, KeyCode};
use crate::core::msg::{Msg, Observation};
use crate::core::operation::{NodeKind, OpKind, OpRequest, PromoteMode, StepSpec};
use crate::core::state::State;
use crate::core::test_fixtures::{act, backend, db, env, target, type_text};
use crate::core::time::Timestamp;
use crate::core::update;

/// web-a1, web-a2 in az-a and web-c1 in az-c; web-a2's health as given.
fn hosts(web_a2: Health) -> Observation {
    Observation::Hosts(HostsObservation {
        faults: Vec::new(),
        azs: vec!["az-a".into(), "az-c".into()],
        hosts: vec![
            backend("web-a1", "az-a", Health::Ok),
            backend("web-a2", "az-a", web_a2),
            backend("web-c1", "az-c", Health::Ok),
        ],
        load_balancer: Some(LoadBalancer {
            az_traffic: Vec::new(),
            name: "lb".into(),
            kind: "nginx".into(),
            targets: vec![
                target("web-a1", "az-a", Health::Ok),
                target("web-a2", "az-a", web_a2),
                target("web-c1", "az-c", Health::Ok),
            ],
        }),
    })
}

fn replication(lag: Option<f64>) -> Observation {
    Observation::Replication(ReplicationObservation {
        faults: Vec::new(),
        databases: vec![
            db("db-primary", ReplicaRole::Primary, None),
            db("db-replica", ReplicaRole::Replica, lag),
        ],
        caches: vec![],
    })
}

fn observe(s: &mut State, at: i64, observation: Observation) {
    update(
        s,
        Msg::Observed {
            at: Timestamp::from_secs(at),
            observation,
        },
    );
}

fn tick(s: &mut State, at: i64) {
    update(
        s,
        Msg::Tick {
            now: Timestamp::from_secs(at),
        },
    );
}

/// The open dialog's refusal; the test fails when there is none.
fn refusal(s: &State) -> Refusal {
    s.dialog
        .as_ref()
        .and_then(|d| d.refusal.clone())
        .expect("refused")
}

fn fleet() -> State {
    let mut s = State::new(env(), false, Timestamp::from_secs(1000));
    observe(&mut s, 1000, hosts(Health::Ok));
    observe(&mut s, 1000, replication(Some(1.0)));
    s
}

#[test]
fn stale_replication_data_refuses_promotion_naming_its_age() {
    let mut s = fleet();
    // The hosts keep answering; the replica's AZ has gone silent.
    tick(&mut s, 1047);
    observe(&mut s, 1047, hosts(Health::Ok));
    act(&mut s, ActionId::PromoteReplica);
    let d = s.dialog.clone().expect("dialog");
    let r = d.refusal.expect("refused");
    assert_eq!(r.guard, "stale-data");
    assert!(
        r.reason
            .contains("replication data is 47 s old (limit 15 s)"),
        "{}",
        r.reason
    );
    assert_eq!(d.require_typed.as_deref(), Some("db-replica"));
    // Enter on Confirm without the name: nothing runs.
    update(&mut s, Msg::Input(Key::plain(KeyCode::Tab)));
    assert!(update(&mut s, Msg::Input(Key::plain(KeyCode::Enter))).is_empty());
    assert!(s.operations.is_empty());
    // Fresh data again: the same promotion opens with no refusal.
    act(&mut s, ActionId::DialogCancel);
    observe(&mut s, 1047, replication(Some(1.0)));
    act(&mut s, ActionId::PromoteReplica);
    assert_eq!(s.dialog.as_ref().map(|d| d.refusal.is_none()), Some(true));
}

#[test]
fn a_drain_on_stale_hosts_data_is_refused_with_the_age() {
    let mut s = fleet();
    tick(&mut s, 1020);
    act(&mut s, ActionId::DrainBackend);
    let r = refusal(&s);
    assert_eq!(r.guard, "stale-data");
    assert!(
        r.reason.contains("hosts data is 20 s old (limit 15 s)"),
        "{}",
        r.reason
    );
}

#[test]
fn guards_run_again_at_confirm_and_a_new_refusal_needs_the_name() {
    let mut s = fleet();
    act(&mut s, ActionId::DrainBackend);
    let d = s.dialog.clone().expect("dialog");
    assert_eq!(d.request.target(), "web-a1");
    assert!(d.refusal.is_none() && d.require_typed.is_none());
    // While the dialog is open, web-a2 goes down: web-a1 is now the last
    // healthy backend of az-a.
    observe(&mut s, 1001, hosts(Health::Down));
    let effects = act(&mut s, ActionId::DialogConfirm);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(s.operations.is_empty());
    let d = s.dialog.clone().expect("dialog still open");
    assert_eq!(
        d.refusal.as_ref().map(|r| r.guard),
        Some("last-healthy-backend")
    );
    assert_eq!(d.require_typed.as_deref(), Some("web-a1"));
    let m = s.message.clone().expect("message");
    assert!(m.text.contains("refuses now"), "{}", m.text);
    // Typing the name overrides it, and the override is recorded.
    type_text(&mut s, "web-a1");
    let effects = update(&mut s, Msg::Input(Key::plain(KeyCode::Enter)));
    match &effects[..] {
        [Effect::RunOperation { request, .. }] => {
            assert_eq!(request.overridden_guards, vec!["last-healthy-backend"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn data_going_stale_while_the_dialog_is_open_refuses_the_confirm() {
    let mut s = fleet();
    act(&mut s, ActionId::PromoteReplica);
    assert_eq!(s.dialog.as_ref().map(|d| d.refusal.is_none()), Some(true));
    tick(&mut s, 1030);
    assert!(act(&mut s, ActionId::DialogConfirm).is_empty());
    let d = s.dialog.clone().expect("dialog");
    let r = d.refusal.expect("refused now");
    assert_eq!(r.guard, "stale-data");
    assert!(r.reason.contains("30 s old"), "{}", r.reason);
    assert!(s.operations.is_empty());
}

fn rds_like() -> Capabilities {
    let rds = PromoteCaps {
        unavailable: None,
        set_read_only: false,
        old_primary: OldPrimary::StaysWritable,
        takes_ms: Some(30 * 60_000),
        downtime: Some("RDS reboots the replica (1 to 5 min).".into()),
    };
    Capabilities {
        deploy_unavailable: None,
        per_target_traffic: false,
        drain_takes_ms: Some(300_000),
        fleet_lock: false,
        database: rds.clone(),
        cache: PromoteCaps {
            old_primary: OldPrimary::Follows,
            ..rds
        },
    }
}

#[test]
fn capabilities_shape_the_plan_and_the_dialog_says_so() {
    let mut s = fleet();
    s.capabilities = rds_like();
    // The lag as a sampled metric: its age is part of the loss statement.
    if let Some(r) = s.replication.data.as_mut() {
        for d in r.databases.iter_mut().filter(|d| d.name == "db-replica") {
            d.lag_seconds = Some(2.0);
            d.lag_sampled_at = Some(s.now.plus_millis(-40_000));
        }
    }
    act(&mut s, ActionId::PromoteReplica);
    let d = s.dialog.clone().expect("dialog");
    let text = d.lines.join("\n");
    for want in [
        "Cannot make the primary read-only",
        "Cannot rejoin the old primary",
        "db-primary STAYS WRITABLE",
        "Possible data loss: writes of the last 2s as sampled 40 s ago",
        "Expected downtime: RDS reboots the replica",
        "up to 30 min",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    let effects = act(&mut s, ActionId::DialogConfirm);
    let [Effect::RunOperation { steps, .. }] = &effects[..] else {
        panic!("{effects:?}");
    };
    // No read-only, no catch-up wait (a lag of 0 never comes while the
    // application writes), no rejoin: promote, then verify.
    assert!(
        matches!(
            &steps[..],
            [StepSpec::Promote { .. }, StepSpec::VerifyPrimary { .. }]
        ),
        "{steps:?}"
    );

    // A drain waits as long as the provider's drain takes, and is not
    // verified by traffic the provider cannot report.
    let mut s = fleet();
    s.capabilities = rds_like();
    act(&mut s, ActionId::DrainBackend);
    let lines = s
        .dialog
        .as_ref()
        .map(|d| d.lines.clone())
        .unwrap_or_default();
    assert!(
        lines.iter().any(|l| l.contains("No per-target traffic")),
        "{lines:?}"
    );
    let effects = act(&mut s, ActionId::DialogConfirm);
    let [Effect::RunOperation { steps, .. }] = &effects[..] else {
        panic!("{effects:?}");
    };
    assert_eq!(
        steps
            .iter()
            .filter_map(|st| match st {
                StepSpec::WaitDrained { timeout_ms, .. } => Some(*timeout_ms),
                _ => None,
            })
            .collect::<Vec<_>>(),
        vec![300_000]
    );
    assert!(
        !steps
            .iter()
            .any(|st| matches!(st, StepSpec::VerifyNoTraffic { .. }))
    );

    // The self-hosted default keeps every step.
    let mut s = fleet();
    act(&mut s, ActionId::PromoteReplica);
    let effects = act(&mut s, ActionId::DialogConfirm);
    let [Effect::RunOperation { steps, .. }] = &effects[..] else {
        panic!("{effects:?}");
    };
    assert!(
        steps
            .iter()
            .any(|st| matches!(st, StepSpec::SetReadOnly { .. }))
    );
    assert!(steps.iter().any(|st| matches!(st, StepSpec::Rejoin { .. })));
}

fn promote_request(s: &State) -> OpRequest {
    crate::core::plan::resolve(s, ActionId::PromoteReplica, Some("db-replica")).expect("request")
}

#[test]
fn do_needs_both_override_and_the_name_and_records_the_guard() {
    let mut s = fleet();
    observe(&mut s, 1000, replication(Some(40.0)));
    let request = promote_request(&s);
    // Name typed, no --override-guard: still refused.
    let d = decide(
        &s,
        request.clone(),
        &Confirmation {
            typed: Some("db-replica"),
            override_guards: false,
        },
    );
    assert!(
        matches!(&d, Decision::NeedsTyped { refusals, .. } if refusals[0].guard == "replica-lag"),
        "{d:?}"
    );
    // Override with the wrong name: refused.
    let d = decide(
        &s,
        request.clone(),
        &Confirmation {
            typed: Some("db-primary"),
            override_guards: true,
        },
    );
    assert!(matches!(d, Decision::NeedsTyped { .. }), "{d:?}");
    let d = decide(
        &s,
        request,
        &Confirmation {
            typed: Some("db-replica"),
            override_guards: true,
        },
    );
    match d {
        Decision::Run {
            request,
            steps,
            overridden,
        } => {
            assert_eq!(request.overridden_guards, vec!["replica-lag"]);
            assert_eq!(overridden.len(), 1);
            assert!(!steps.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn read_only_and_a_running_operation_refuse_before_any_guard() {
    let mut s = fleet();
    s.read_only = true;
    let d = decide(&s, promote_request(&s), &Confirmation::none());
    assert!(
        matches!(&d, Decision::ReadOnly { would, .. } if would.contains("make db-replica the database primary")),
        "{d:?}"
    );
    let mut s = fleet();
    act(&mut s, ActionId::DrainBackend);
    assert_eq!(act(&mut s, ActionId::DialogConfirm).len(), 1);
    let d = decide(&s, promote_request(&s), &Confirmation::none());
    assert!(
        matches!(&d, Decision::Refused(why) if why.contains("still running")),
        "{d:?}"
    );
}

#[test]
fn an_emergency_needs_the_name_even_with_no_guard_objecting() {
    let mut s = fleet();
    let mut obs = match replication(Some(1.0)) {
        Observation::Replication(r) => r,
        _ => unreachable!("replication"),
    };
    obs.databases[0].reachable = false;
    observe(&mut s, 1000, Observation::Replication(obs));
    let request = promote_request(&s);
    assert!(matches!(
        request.kind,
        OpKind::Promote {
            mode: PromoteMode::Emergency,
            node: NodeKind::Database,
            ..
        }
    ));
    let d = decide(&s, request.clone(), &Confirmation::none());
    assert!(
        matches!(&d, Decision::NeedsTyped { refusals, always_typed: true, .. } if refusals.is_empty()),
        "{d:?}"
    );
    let d = decide(
        &s,
        request,
        &Confirmation {
            typed: Some("db-replica"),
            override_guards: false,
        },
    );
    assert!(matches!(d, Decision::Run { .. }), "{d:?}");
}

#[test]
fn recheck_before_a_step_reports_new_refusals_but_not_overridden_ones() {
    let mut s = fleet();
    act(&mut s, ActionId::DrainBackend);
    let effects = act(&mut s, ActionId::DialogConfirm);
    let [Effect::RunOperation { request, .. }] = &effects[..] else {
        panic!("{effects:?}");
    };
    assert!(recheck(&s, request).is_empty());
    // web-a2 goes down mid-operation: web-a1 is the last healthy in az-a.
    observe(&mut s, 1001, hosts(Health::Down));
    let refusals = recheck(&s, request);
    assert_eq!(
        refusals.iter().map(|r| r.guard).collect::<Vec<_>>(),
        vec!["last-healthy-backend"]
    );
    // The same guard overridden at the start does not stop it again, but
    // data going stale does.
    let mut overridden = request.clone();
    overridden
        .overridden_guards
        .push("last-healthy-backend".into());
    assert!(recheck(&s, &overridden).is_empty());
    tick(&mut s, 1030);
    assert_eq!(
        recheck(&s, &overridden)
            .iter()
            .map(|r| r.guard)
            .collect::<Vec<_>>(),
        vec!["stale-data"]
    );
}

/// The replication source keeps answering (the primary does) while the
/// replica's AZ is silent: the panel is fresh, the replica's own data is
/// not, and the refusal says for how long it has not answered.
#[test]
fn a_replica_that_stopped_answering_is_refused_naming_how_long_ago_it_answered() {
    let mut s = fleet();
    let silent = |s: &mut State, at: i64| {
        let mut rep = match replication(None) {
            Observation::Replication(r) => r,
            _ => unreachable!("replication() builds a replication observation"),
        };
        rep.databases[1].reachable = false;
        observe(s, at, Observation::Replication(rep));
        observe(s, at, hosts(Health::Ok));
        tick(s, at);
    };
    silent(&mut s, 1005);
    act(&mut s, ActionId::PromoteReplica);
    let r = refusal(&s);
    assert_eq!(r.guard, "replica-lag");
    assert!(
        r.reason
            .starts_with("db-replica has not answered for 5 s; "),
        "{}",
        r.reason
    );
    act(&mut s, ActionId::DialogCancel);
    silent(&mut s, 1047);
    act(&mut s, ActionId::PromoteReplica);
    let r = refusal(&s);
    assert!(
        r.reason.starts_with(
            "db-replica has not answered for 47 s (its data is older than the 15 s stale limit); "
        ),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("lag is unknown"), "{}", r.reason);
}

/// A console that never heard from the replica says so instead of an age.
#[test]
fn a_replica_never_heard_from_is_refused_saying_so() {
    let mut s = State::new(env(), false, Timestamp::from_secs(1000));
    observe(&mut s, 1000, hosts(Health::Ok));
    let mut rep = match replication(None) {
        Observation::Replication(r) => r,
        _ => unreachable!("replication() builds a replication observation"),
    };
    rep.databases[1].reachable = false;
    observe(&mut s, 1000, Observation::Replication(rep));
    act(&mut s, ActionId::PromoteReplica);
    let r = refusal(&s);
    assert!(
        r.reason
            .starts_with("db-replica has not answered since this console started; "),
        "{}",
        r.reason
    );
}

#[test]
fn failover_forces_an_emergency_with_a_typed_name_even_when_the_primary_looks_up() {
    let mut s = fleet();
    s.capabilities = rds_like();
    act(&mut s, ActionId::FailoverReplica);
    let d = s.dialog.clone().expect("dialog");
    let text = d.lines.join("\n");
    assert!(
        text.contains("EMERGENCY failover (forced): db-primary still looks available"),
        "{text}"
    );
    assert!(text.contains("is still writable"), "{text}");
    // Typed confirmation: Confirm alone starts nothing.
    assert!(act(&mut s, ActionId::DialogConfirm).is_empty());
    assert!(s.operations.is_empty());
    let r = crate::core::plan::resolve(&s, ActionId::FailoverReplica, Some("db-replica"))
        .expect("request");
    assert!(matches!(
        r.kind,
        OpKind::Promote {
            mode: PromoteMode::Emergency,
            ..
        }
    ));
}

#[test]
fn a_kind_the_provider_cannot_promote_is_refused_before_anything_is_sent() {
    let mut s = fleet();
    let mut caps = rds_like();
    caps.database.unavailable = Some("no RDS instance is configured".into());
    s.capabilities = caps;
    let effects = act(&mut s, ActionId::PromoteReplica);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(s.operations.is_empty());
    let msg = s.message.clone().expect("message").text;
    assert!(msg.contains("no RDS instance is configured"), "{msg}");
}
