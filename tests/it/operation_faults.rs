//! The operation runner under faults, on a fault-injecting provider wrapping
//! the demo fleet, with paused time: switchovers (database and cache)
//! cancelled at every step boundary and during every wait, a promotion that
//! resets the replica and then errors, observation lost during the promote
//! wait; drains and rollbacks cancelled at every boundary; the fleet-wide
//! lock; guards on fresh data; progress that never blocks the runner. Every
//! assertion reads the provider's actual state, never the runner's account.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opsdeck::core::capabilities::Capabilities;
use opsdeck::core::fleet::TargetState;
use opsdeck::core::guard::OpsPolicy;
use opsdeck::core::lock::LockHolder;
use opsdeck::core::operation::{
    NodeKind, OpKind, OpRequest, PromoteMode, StepSpec, StepStatus, Verdict,
};
use opsdeck::core::{ActionId, Msg, Timestamp, plan};
use opsdeck::providers::ObserveProvider;
use opsdeck::runtime::Clock;
use opsdeck::runtime::audit_log::{AuditLog, AuditRecord};
use opsdeck::runtime::operation_runner::{CancelFlag, OpContext, OpJob, Progress, run_operation};

use crate::support::fault_provider::{FaultProvider, ObserveFault, PromoteFault};
use opsdeck::providers::demo::Scenario;

const START: Timestamp = Timestamp::from_millis(1_795_000_000_000);

/// When the test asks the operation to stop.
#[derive(Clone, Copy, Debug)]
enum CancelAt {
    Never,
    /// At the boundary before step k (for k > 0: the moment step k-1 is done).
    Before(usize),
    /// The moment step k starts (for a wait: during the wait).
    Start(usize),
    /// At the nth countdown of step k's wait.
    Countdown(usize, usize),
}

struct Run {
    verdict: Verdict,
    msgs: Vec<Msg>,
    fleet: Arc<FaultProvider>,
    clock: Clock,
    audit_path: PathBuf,
    plan: Vec<StepSpec>,
    _dir: tempfile::TempDir,
}

impl Run {
    fn records(&self) -> Vec<AuditRecord> {
        AuditLog::new(self.audit_path.clone())
            .read_all()
            .expect("audit log")
    }

    fn text(&self) -> &str {
        match &self.verdict {
            Verdict::Succeeded => "",
            Verdict::Failed(t) | Verdict::Cancelled(t) | Verdict::Refused(t) => t,
        }
    }
}

fn promote_request(node: NodeKind, mode: PromoteMode) -> OpRequest {
    let (replica, primary) = names(node);
    OpRequest::new(
        ActionId::PromoteReplica,
        OpKind::Promote {
            replica: replica.into(),
            primary: primary.into(),
            node,
            mode,
            last_lag_seconds: Some(0.0),
        },
    )
}

fn names(node: NodeKind) -> (&'static str, &'static str) {
    match node {
        NodeKind::Database => ("db-replica", "db-primary"),
        NodeKind::Cache => ("cache-replica", "cache-primary"),
    }
}

fn rollback_request(maintenance_drained: Vec<String>) -> OpRequest {
    OpRequest::new(
        ActionId::RollbackDeploy,
        OpKind::DeployVersion {
            service: "web".into(),
            version: "v1.42.1".into(),
            from_version: Some("v1.42.3".into()),
            backends: ["web-a1", "web-a2", "web-c1", "web-c2"]
                .map(String::from)
                .to_vec(),
            rollback: true,
            maintenance_drained,
        },
    )
}

/// A fresh calm demo fleet behind the fault provider, three seconds in,
/// with its own audit log.
struct Bench {
    dir: tempfile::TempDir,
    audit_path: PathBuf,
    fleet: Arc<FaultProvider>,
    clock: Clock,
}

impl Bench {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit_path = dir.path().join("audit.jsonl");
        let fleet = Arc::new(FaultProvider::calm(START, audit_path.clone()));
        let clock = Clock::starting_at(START);
        tokio::time::sleep(Duration::from_secs(3)).await;
        Bench {
            dir,
            audit_path,
            fleet,
            clock,
        }
    }

    /// Someone else drains `backend` and it finishes draining.
    async fn drained_by_someone_else(&self, backend: &str) {
        use opsdeck::providers::OperateProvider;
        self.fleet
            .demo
            .drain(backend, self.clock.now())
            .await
            .expect("someone else's drain");
        tokio::time::sleep(Duration::from_secs(10)).await;
    }

    /// Runs `request` to its end, reporting to `progress`, and keeps what
    /// the tests assert on.
    async fn run(self, request: OpRequest, progress: &Progress, cancel: CancelFlag) -> Run {
        let ctx = OpContext {
            observe: self.fleet.clone(),
            operate: self.fleet.clone(),
            clock: self.clock,
            audit: AuditLog::new(self.audit_path.clone()),
            webhook: None,
            environment: "demo".into(),
        };
        let policy = OpsPolicy::default();
        let steps = plan::steps(&request, &policy, &Capabilities::default());
        let verdict = run_operation(
            &ctx,
            progress,
            OpJob {
                id: 7,
                request,
                plan: steps.clone(),
                policy,
                cancel,
            },
        )
        .await;
        Run {
            verdict,
            msgs: Vec::new(),
            fleet: self.fleet,
            clock: self.clock,
            audit_path: self.audit_path,
            plan: steps,
            _dir: self.dir,
        }
    }
}

/// Runs `request` to its end on a fresh bench after `setup`, cancelling at
/// `cancel_at`; keeps every message the runner sent.
async fn run(request: OpRequest, cancel_at: CancelAt, setup: impl FnOnce(&FaultProvider)) -> Run {
    let bench = Bench::new().await;
    setup(&bench.fleet);
    let cancel = CancelFlag::default();
    if matches!(cancel_at, CancelAt::Before(0)) {
        cancel.cancel();
    }
    let msgs = Arc::new(Mutex::new(Vec::new()));
    let countdowns = Arc::new(AtomicUsize::new(0));
    let progress = {
        let (msgs, cancel) = (msgs.clone(), cancel.clone());
        Progress::new(move |m: Msg| {
            if let Msg::OperationStep {
                index,
                status,
                detail,
                ..
            } = &m
            {
                let hit = match (cancel_at, status) {
                    (CancelAt::Before(k), StepStatus::Done) => k > 0 && *index == k - 1,
                    (CancelAt::Start(k), StepStatus::Running) => *index == k && detail.is_none(),
                    (CancelAt::Countdown(k, n), StepStatus::Running)
                        if *index == k && detail.is_some() =>
                    {
                        countdowns.fetch_add(1, Ordering::SeqCst) + 1 == n
                    }
                    _ => false,
                };
                if hit {
                    cancel.cancel();
                }
            }
            msgs.lock().expect("msgs").push(m);
        })
    };
    let mut r = bench.run(request, &progress, cancel).await;
    r.msgs = msgs.lock().expect("msgs").clone();
    r
}

/// The test's own wording of one node (independent of the runner's).
fn phrase((reachable, writable, source): &(bool, bool, Option<String>)) -> String {
    match (reachable, writable, source) {
        (false, _, _) => "unreachable".into(),
        (true, true, None) => "writable primary".into(),
        (true, true, Some(s)) => format!("writable, follows {s}"),
        (true, false, None) => "read-only, follows nobody".into(),
        (true, false, Some(s)) => format!("read-only, follows {s}"),
    }
}

/// The topology the provider actually has now, in the verdict's words.
async fn actual_topology(r: &Run, node: NodeKind) -> String {
    let (replica, primary) = names(node);
    let now = r.clock.now();
    let rt = r.fleet.truth(replica, now).await;
    let pt = r.fleet.truth(primary, now).await;
    format!("{replica}: {}; {primary}: {}", phrase(&rt), phrase(&pt))
}

async fn writable_count(r: &Run, node: NodeKind) -> usize {
    let (replica, primary) = names(node);
    let now = r.clock.now();
    let mut n = 0;
    for x in [replica, primary] {
        if r.fleet.truth(x, now).await.1 {
            n += 1;
        }
    }
    n
}

/// The audit trail is whole: intent first, a step record per fleet change,
/// the result last; the lock taken before the intent and given back after
/// the result.
fn assert_audit_closed(r: &Run) {
    let records = r.records();
    let phases: Vec<&str> = records.iter().map(|x| x.phase.as_str()).collect();
    assert_eq!(phases.first(), Some(&"intent"), "{phases:?}");
    assert_eq!(phases.last(), Some(&"result"), "{phases:?}");
    assert_eq!(
        records.last().and_then(|x| x.outcome.clone()),
        Some(r.verdict.clone())
    );
    assert_eq!(
        r.fleet.audit_lines_at_acquire(),
        Some(0),
        "lock before intent"
    );
    assert_eq!(
        r.fleet.audit_lines_at_release(),
        Some(records.len()),
        "lock given back after the result"
    );
    assert!(
        r.fleet.lock_holder_now().is_none(),
        "the lock is free again"
    );
    // Every fleet change the provider saw has a "step" record before it.
    let started: Vec<&String> = records
        .iter()
        .filter(|x| x.phase == "step")
        .flat_map(|x| x.notes.iter())
        .collect();
    assert!(
        started.iter().all(|n| n.starts_with("started: ")),
        "{started:?}"
    );
    assert!(
        started.len() >= r.fleet.calls().len(),
        "a step record per change: {started:?} vs {:?}",
        r.fleet.calls()
    );
}

/// The switchover invariants: never two writable primaries (now and after
/// the demo settles), and the verdict states exactly the topology it left.
async fn assert_switchover_safe(r: &Run, node: NodeKind, case: &str) {
    let (replica, primary) = names(node);
    assert!(
        writable_count(r, node).await <= 1,
        "{case}: two writable primaries: {}",
        actual_topology(r, node).await
    );
    let actual = actual_topology(r, node).await;
    match &r.verdict {
        Verdict::Succeeded => assert_eq!(
            actual,
            format!("{replica}: writable primary; {primary}: read-only, follows {replica}"),
            "{case}"
        ),
        Verdict::Cancelled(t) | Verdict::Failed(t) => assert!(
            t.ends_with(&format!("topology left: {actual}")),
            "{case}: the verdict must end with the actual topology\n  verdict: {t}\n  actual:  {actual}"
        ),
        Verdict::Refused(t) => panic!("{case}: refused: {t}"),
    }
    let promoted = r.fleet.calls().iter().any(|c| c.starts_with("promote"));
    if !promoted {
        assert_eq!(
            actual,
            format!("{replica}: read-only, follows {primary}; {primary}: writable primary"),
            "{case}: no promotion was issued, so the old primary takes writes again"
        );
    }
    assert_audit_closed(r);
    // A promotion the provider still carries out later must not make a
    // second writable primary either.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        writable_count(r, node).await <= 1,
        "{case}: two writable primaries 30 s later: {}",
        actual_topology(r, node).await
    );
}

fn cancel_points(plan: &[StepSpec]) -> Vec<CancelAt> {
    let mut at: Vec<CancelAt> = (0..=plan.len()).map(CancelAt::Before).collect();
    for (i, s) in plan.iter().enumerate() {
        if matches!(
            s,
            StepSpec::WaitCaughtUp { .. }
                | StepSpec::Promote { .. }
                | StepSpec::VerifyPrimary { .. }
                | StepSpec::WaitDrained { .. }
                | StepSpec::WaitHealthy { .. }
                | StepSpec::VerifyNoTraffic { .. }
        ) {
            at.push(CancelAt::Start(i));
        }
        if matches!(s, StepSpec::Promote { .. }) {
            at.extend((1..=6).map(|n| CancelAt::Countdown(i, n)));
        }
    }
    at
}

async fn switchover_matrix(node: NodeKind) {
    let plan_len = plan::steps(
        &promote_request(node, PromoteMode::Planned),
        &OpsPolicy::default(),
        &Capabilities::default(),
    )
    .len();
    assert_eq!(plan_len, 5, "read-only, catch up, promote, rejoin, verify");
    let plan = plan::steps(
        &promote_request(node, PromoteMode::Planned),
        &OpsPolicy::default(),
        &Capabilities::default(),
    );
    let mut cancelled = 0;
    for at in cancel_points(&plan) {
        let r = run(promote_request(node, PromoteMode::Planned), at, |_| {}).await;
        let case = format!("{node:?} cancel {at:?}: {:?}", r.verdict);
        if matches!(r.verdict, Verdict::Cancelled(_)) {
            cancelled += 1;
        }
        assert_switchover_safe(&r, node, &case).await;
    }
    assert!(cancelled >= 8, "most cancel points stop the operation");
}

#[tokio::test(start_paused = true)]
async fn a_database_switchover_cancelled_anywhere_never_leaves_two_writable_primaries() {
    switchover_matrix(NodeKind::Database).await;
}

#[tokio::test(start_paused = true)]
async fn a_cache_switchover_cancelled_anywhere_never_leaves_two_writable_primaries() {
    switchover_matrix(NodeKind::Cache).await;
}

#[tokio::test(start_paused = true)]
async fn cancel_before_the_first_step_changes_nothing_and_says_so() {
    let r = run(
        promote_request(NodeKind::Database, PromoteMode::Planned),
        CancelAt::Before(0),
        |_| {},
    )
    .await;
    assert_eq!(
        r.verdict,
        Verdict::Cancelled(
            "nothing was changed; \
             topology left: db-replica: read-only, follows db-primary; db-primary: writable primary"
                .into()
        )
    );
    assert!(r.fleet.calls().is_empty(), "{:?}", r.fleet.calls());
    assert_switchover_safe(&r, NodeKind::Database, "before the first step").await;
}

#[tokio::test(start_paused = true)]
async fn cancel_before_the_promotion_makes_the_old_primary_writable_again() {
    // Before step 2 (the promotion): read-only and catch-up are done.
    let r = run(
        promote_request(NodeKind::Database, PromoteMode::Planned),
        CancelAt::Before(2),
        |_| {},
    )
    .await;
    assert_eq!(
        r.verdict,
        Verdict::Cancelled(
            "db-primary made writable again (the switchover did not happen); \
             topology left: db-replica: read-only, follows db-primary; db-primary: writable primary"
                .into()
        )
    );
    assert!(!r.fleet.calls().iter().any(|c| c.starts_with("promote")));
    assert_switchover_safe(&r, NodeKind::Database, "before promote").await;
}

#[tokio::test(start_paused = true)]
async fn a_promotion_that_resets_the_replica_then_errors_fences_the_old_primary() {
    for node in [NodeKind::Database, NodeKind::Cache] {
        let (replica, primary) = names(node);
        let r = run(
            promote_request(node, PromoteMode::Planned),
            CancelAt::Never,
            |f| f.set_promote_fault(PromoteFault::ResetsThenFails { writable: true }),
        )
        .await;
        let Verdict::Failed(why) = &r.verdict else {
            panic!("{node:?}: {:?}", r.verdict);
        };
        assert_eq!(
            why,
            &format!(
                "promote {replica}: {replica}: connection lost after RESET REPLICA (injected); \
                 {primary} stays read-only (fenced): {replica} may have been promoted; \
                 topology left: {replica}: writable primary; {primary}: read-only, follows nobody"
            )
        );
        assert_switchover_safe(&r, node, &format!("{node:?} reset then error")).await;
        // The old primary was never made writable again.
        assert!(
            !r.fleet
                .calls()
                .iter()
                .any(|c| c == &format!("set-read-only {primary} false")),
            "{:?}",
            r.fleet.calls()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_reset_replica_left_read_only_is_stated_as_such() {
    let r = run(
        promote_request(NodeKind::Database, PromoteMode::Planned),
        CancelAt::Never,
        |f| f.set_promote_fault(PromoteFault::ResetsThenFails { writable: false }),
    )
    .await;
    assert!(
        r.text().ends_with(
            "topology left: db-replica: read-only, follows nobody; db-primary: read-only, follows nobody"
        ),
        "{}",
        r.text()
    );
    assert_switchover_safe(&r, NodeKind::Database, "reset read-only").await;
}

#[tokio::test(start_paused = true)]
async fn two_writable_primaries_after_a_failed_emergency_promotion_are_fenced() {
    // An emergency failover never makes the old primary read-only first; the
    // reset replica takes writes, so the wind-down must fence the old one.
    let r = run(
        promote_request(NodeKind::Database, PromoteMode::Emergency),
        CancelAt::Never,
        |f| f.set_promote_fault(PromoteFault::ResetsThenFails { writable: true }),
    )
    .await;
    assert_eq!(
        r.verdict,
        Verdict::Failed(
            "promote db-replica now (emergency): db-replica: connection lost after RESET REPLICA (injected); \
             db-primary made read-only (fenced): db-replica may have been promoted; \
             topology left: db-replica: writable primary; db-primary: read-only, follows nobody"
                .into()
        )
    );
    assert!(
        r.fleet
            .calls()
            .contains(&"set-read-only db-primary true".to_string())
    );
    assert_switchover_safe(&r, NodeKind::Database, "emergency reset").await;
}

#[tokio::test(start_paused = true)]
async fn a_promotion_that_fails_cleanly_gives_writes_back_to_the_old_primary() {
    let r = run(
        promote_request(NodeKind::Database, PromoteMode::Planned),
        CancelAt::Never,
        |f| f.set_promote_fault(PromoteFault::FailsCleanly),
    )
    .await;
    assert_eq!(
        r.verdict,
        Verdict::Failed(
            "promote db-replica: db-replica: access denied (injected); \
             db-primary made writable again (the promotion did not take effect: db-replica is still a read-only replica of db-primary); \
             topology left: db-replica: read-only, follows db-primary; db-primary: writable primary"
                .into()
        )
    );
    assert_switchover_safe(&r, NodeKind::Database, "fails cleanly").await;
}

#[tokio::test(start_paused = true)]
async fn a_cancel_while_an_accepted_promotion_is_under_way_lets_it_finish_and_says_so() {
    // The demo promotes asynchronously (like Redis FAILOVER): the promotion
    // completes two seconds after the call. Cancelled at once, the wind-down
    // keeps the old primary read-only and watches; the promotion lands.
    for node in [NodeKind::Database, NodeKind::Cache] {
        let (replica, primary) = names(node);
        let r = run(
            promote_request(node, PromoteMode::Planned),
            CancelAt::Start(2),
            |_| {},
        )
        .await;
        assert_eq!(
            r.verdict,
            Verdict::Cancelled(format!(
                "the accepted promotion of {replica} took effect during the wind-down; \
                 topology left: {replica}: writable primary; {primary}: read-only, follows {replica}"
            )),
            "{node:?}"
        );
        assert!(
            !r.fleet
                .calls()
                .contains(&format!("set-read-only {primary} false")),
            "{node:?}: writes were never given back to the old primary: {:?}",
            r.fleet.calls()
        );
        assert_switchover_safe(&r, node, &format!("{node:?} accepted, cancelled")).await;
    }
}

#[tokio::test(start_paused = true)]
async fn an_accepted_promotion_that_never_lands_gives_writes_back_after_watching() {
    let r = run(
        promote_request(NodeKind::Database, PromoteMode::Planned),
        CancelAt::Never,
        |f| f.set_promote_fault(PromoteFault::AcceptedNeverTakesEffect),
    )
    .await;
    assert_eq!(
        r.verdict,
        Verdict::Failed(
            "promote db-replica: the new topology did not show: db-replica is replica; \
             db-primary made writable again (the promotion did not take effect: db-replica is still \
             a read-only replica of db-primary 10s after the promotion was accepted); \
             topology left: db-replica: read-only, follows db-primary; db-primary: writable primary"
                .into()
        )
    );
    assert_switchover_safe(&r, NodeKind::Database, "accepted, never lands").await;
}

#[tokio::test(start_paused = true)]
async fn observation_lost_during_the_promote_wait_fences_and_says_so() {
    for node in [NodeKind::Database, NodeKind::Cache] {
        let (replica, primary) = names(node);
        let r = run(
            promote_request(node, PromoteMode::Planned),
            CancelAt::Never,
            |f| f.set_observe_fault(ObserveFault::HangsAfterPromote),
        )
        .await;
        assert_eq!(
            r.verdict,
            Verdict::Failed(format!(
                "promote {replica}: observing replication timed out; \
                 replication could not be observed after the promotion was issued (observing replication timed out); \
                 {primary} stays read-only (fenced): {replica} may have been promoted; \
                 topology left: unknown, replication could not be observed (observing replication timed out); \
                 {primary} was left read-only by this operation; check before sending writes anywhere"
            )),
            "{node:?}"
        );
        let now = r.clock.now();
        assert!(
            !r.fleet.truth(primary, now).await.1,
            "{node:?}: the old primary is fenced"
        );
        assert!(writable_count(&r, node).await <= 1);
        assert_audit_closed(&r);
    }
}

#[tokio::test(start_paused = true)]
async fn observation_back_after_a_lost_promote_wait_states_the_new_topology() {
    for node in [NodeKind::Database, NodeKind::Cache] {
        let r = run(
            promote_request(node, PromoteMode::Planned),
            CancelAt::Never,
            |f| f.set_observe_fault(ObserveFault::HangsAfterPromoteFor(1)),
        )
        .await;
        assert!(matches!(r.verdict, Verdict::Failed(_)), "{:?}", r.verdict);
        assert!(
            r.text().contains("observing replication timed out"),
            "{}",
            r.text()
        );
        assert_switchover_safe(&r, node, &format!("{node:?} observation back")).await;
    }
}

/// The pool as the provider has it: "web-a1 drained, web-a2 active, ...".
async fn actual_pool(r: &Run) -> Vec<(String, TargetState)> {
    let h = r.fleet.demo.hosts(r.clock.now()).await.expect("hosts");
    h.load_balancer
        .expect("lb")
        .targets
        .iter()
        .map(|t| (t.backend.clone(), t.state))
        .collect()
}

async fn assert_pool_as_said(r: &Run, case: &str) {
    let pool = actual_pool(r).await;
    let words: Vec<String> = pool
        .iter()
        .map(|(b, s)| format!("{b} {}", s.label()))
        .collect();
    if r.verdict != Verdict::Succeeded {
        assert!(
            r.text()
                .ends_with(&format!("pool left: {}", words.join(", "))),
            "{case}: the verdict must end with the actual pool\n  verdict: {}\n  actual:  {words:?}",
            r.text()
        );
    }
    let calls = r.fleet.calls();
    for (b, state) in &pool {
        let drained_by_op = calls.iter().rposition(|c| c == &format!("drain {b}"));
        let undrained = calls.iter().rposition(|c| c == &format!("undrain {b}"));
        let left_out = drained_by_op.is_some() && undrained.is_none_or(|u| Some(u) < drained_by_op);
        assert_eq!(
            *state != TargetState::Active,
            left_out,
            "{case}: {b} is {} but the operation {} it",
            state.label(),
            if left_out {
                "left out"
            } else {
                "did not leave out"
            }
        );
        // A succeeded drain says nothing more: the drain is the result.
        if r.verdict == Verdict::Succeeded {
            continue;
        }
        assert_eq!(
            r.text().contains(&format!("{b} is drained")),
            left_out,
            "{case}: the verdict says whether {b} is left drained: {}",
            r.text()
        );
    }
    assert_audit_closed(r);
}

#[tokio::test(start_paused = true)]
async fn a_drain_cancelled_anywhere_leaves_the_pool_as_the_verdict_says() {
    let request = OpRequest::new(
        ActionId::DrainBackend,
        OpKind::Drain {
            backend: "web-a1".into(),
        },
    );
    let plan = plan::steps(&request, &OpsPolicy::default(), &Capabilities::default());
    for at in cancel_points(&plan) {
        let r = run(request.clone(), at, |_| {}).await;
        assert_pool_as_said(&r, &format!("drain cancel {at:?}: {:?}", r.verdict)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_rollback_cancelled_anywhere_leaves_the_pool_and_versions_as_the_verdict_says() {
    let plan = plan::steps(
        &rollback_request(Vec::new()),
        &OpsPolicy::default(),
        &Capabilities::default(),
    );
    assert_eq!(
        plan.len(),
        25,
        "four waves of six steps, then the verification"
    );
    for at in cancel_points(&plan) {
        let r = run(rollback_request(Vec::new()), at, |_| {}).await;
        let case = format!("rollback cancel {at:?}: {:?}", r.verdict);
        assert_pool_as_said(&r, &case).await;
        let deploys = r.fleet.demo.deploys(r.clock.now()).await.expect("deploys");
        for run_v in &deploys.running {
            let says_runs = r
                .text()
                .contains(&format!("{} runs v1.42.1", run_v.backend));
            if says_runs {
                assert_eq!(run_v.version.as_deref(), Some("v1.42.1"), "{case}");
            }
            let deployed = r
                .fleet
                .calls()
                .contains(&format!("deploy {} v1.42.1", run_v.backend));
            if !deployed {
                assert_eq!(run_v.version.as_deref(), Some("v1.42.3"), "{case}");
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_rollback_leaves_a_maintenance_drained_backend_drained_and_keeps_an_az_serving() {
    // web-c2 was drained for maintenance before the rollback: it is planned
    // without drain or undrain; web-c1 is then the last healthy backend of
    // its AZ, so the rollback stops before draining it and says why.
    let request = rollback_request(vec!["web-c2".into()]);
    let plan = plan::steps(&request, &OpsPolicy::default(), &Capabilities::default());
    assert!(
        !plan.iter().any(|s| matches!(s,
            StepSpec::Drain { backend } | StepSpec::Undrain { backend } if backend == "web-c2")),
        "{plan:#?}"
    );
    let bench = Bench::new().await;
    bench.drained_by_someone_else("web-c2").await;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let r = bench
        .run(request, &Progress::channel(tx), CancelFlag::default())
        .await;
    let Verdict::Failed(why) = &r.verdict else {
        panic!("{:?}", r.verdict);
    };
    assert!(
        why.starts_with(
            "stopped before drain web-c1 (no new requests): guard 'last-healthy-backend' refused: \
             web-c1 is the last healthy backend in ap-northeast-2c"
        ),
        "{why}"
    );
    assert!(
        why.contains("web-a1 runs v1.42.1; web-a2 runs v1.42.1; web-c2 was drained for maintenance and stays drained; pool left: web-a1 active, web-a2 active, web-c1 active, web-c2 drained"),
        "{why}"
    );
    let pool = actual_pool(&r).await;
    assert!(pool.contains(&("web-c2".to_string(), TargetState::Drained)));
    assert!(!r.fleet.calls().contains(&"drain web-c1".to_string()));
    assert!(!r.fleet.calls().iter().any(|c| c.contains("undrain web-c2")));
    assert_audit_closed(&r);
}

#[tokio::test(start_paused = true)]
async fn a_held_lock_refuses_with_the_holder_and_changes_nothing() {
    let other = LockHolder {
        operator: "bob".into(),
        machine: "bob-laptop".into(),
        pid: 4242,
        operation: "drain-backend web-c1".into(),
        environment: "demo".into(),
        started_at: START,
    };
    let request = OpRequest::new(
        ActionId::DrainBackend,
        OpKind::Drain {
            backend: "web-a1".into(),
        },
    );
    let r = run(request, CancelAt::Never, move |f| f.hold_lock(other)).await;
    assert_eq!(
        r.verdict,
        Verdict::Refused(
            "the fleet is locked by bob@bob-laptop (pid 4242): drain-backend web-c1, for 3s; nothing was changed"
                .into()
        )
    );
    assert_eq!(r.verdict.label(), "refused");
    assert!(r.fleet.calls().is_empty(), "{:?}", r.fleet.calls());
    let phases: Vec<String> = r.records().into_iter().map(|x| x.phase).collect();
    assert_eq!(phases, ["result"], "no intent: the operation never started");
    assert!(r.msgs.iter().any(|m| matches!(
        m,
        Msg::OperationFinished {
            verdict: Verdict::Refused(_),
            ..
        }
    )));
}

/// Runs `request` after web-a2 was drained by someone else.
async fn run_after_drain(request: OpRequest) -> Run {
    let bench = Bench::new().await;
    bench.drained_by_someone_else("web-a2").await;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    bench
        .run(request, &Progress::channel(tx), CancelFlag::default())
        .await
}

#[tokio::test(start_paused = true)]
async fn guards_run_again_on_fresh_data_before_each_change() {
    // Confirmed while web-a2 served; by the time the drain starts it is
    // drained, so web-a1 is the last healthy backend of its AZ.
    let request = OpRequest::new(
        ActionId::DrainBackend,
        OpKind::Drain {
            backend: "web-a1".into(),
        },
    );
    let r = run_after_drain(request.clone()).await;
    assert_eq!(
        r.verdict,
        Verdict::Refused(
            "drain web-a1 (no new requests): guard 'last-healthy-backend' refused: \
             web-a1 is the last healthy backend in ap-northeast-2a: draining it takes the AZ out of service; \
             nothing was changed"
                .into()
        )
    );
    assert!(!r.fleet.calls().contains(&"drain web-a1".to_string()));
    assert_audit_closed(&r);

    // Overridden by typing at confirm: the override holds for the same guard.
    let mut overridden = request.clone();
    overridden
        .overridden_guards
        .push("last-healthy-backend".into());
    let r = run_after_drain(overridden).await;
    assert_eq!(r.verdict, Verdict::Succeeded, "{:?}", r.verdict);

    // A failed observation refuses too: the guard cannot be checked.
    let r = run(request, CancelAt::Never, |f| f.set_hosts_fail(true)).await;
    assert_eq!(
        r.verdict,
        Verdict::Refused(
            "drain web-a1 (no new requests): its guard cannot be checked on a fresh observation: \
             lb: unreachable: connection refused (injected); nothing was changed"
                .into()
        )
    );
    assert!(r.fleet.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn progress_never_blocks_the_runner_and_nothing_is_lost() {
    // A receiver nobody reads while the whole switchover runs (a stalled
    // terminal): the operation still finishes, and every step transition is
    // there once the receiver reads.
    let bench = Bench::new().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let r = tokio::time::timeout(
        Duration::from_secs(600),
        bench.run(
            promote_request(NodeKind::Database, PromoteMode::Planned),
            &Progress::channel(tx),
            CancelFlag::default(),
        ),
    )
    .await
    .expect("the runner finished without anyone reading its progress");
    let (verdict, steps) = (r.verdict, r.plan);
    assert_eq!(verdict, Verdict::Succeeded);
    let mut running = vec![0; steps.len()];
    let mut done = vec![0; steps.len()];
    let mut finished = 0;
    while let Ok(m) = rx.try_recv() {
        match m {
            Msg::OperationStep {
                index,
                status: StepStatus::Running,
                detail: None,
                ..
            } => running[index] += 1,
            Msg::OperationStep {
                index,
                status: StepStatus::Done,
                ..
            } => done[index] += 1,
            Msg::OperationFinished { verdict, .. } => {
                assert_eq!(verdict, Verdict::Succeeded);
                finished += 1;
            }
            _ => {}
        }
    }
    assert_eq!(running, vec![1; steps.len()], "every step started once");
    assert_eq!(done, vec![1; steps.len()], "every step finished once");
    assert_eq!(finished, 1);
}

#[tokio::test(start_paused = true)]
async fn the_plan_counts_what_the_runner_reports() {
    // The matrices above rely on one Running and one Done per step: a
    // cancelled run reports each step at most once as started.
    let r = run(
        promote_request(NodeKind::Cache, PromoteMode::Planned),
        CancelAt::Start(1),
        |_| {},
    )
    .await;
    let started = r
        .msgs
        .iter()
        .filter(|m| {
            matches!(
                m,
                Msg::OperationStep {
                    status: StepStatus::Running,
                    detail: None,
                    ..
                }
            )
        })
        .count();
    assert_eq!(started, 2, "read-only and the catch-up wait started");
    assert_eq!(r.plan.len(), 5);
    assert!(matches!(r.verdict, Verdict::Cancelled(_)));
}

#[tokio::test(start_paused = true)]
async fn a_backend_drained_by_someone_else_during_a_rollback_stays_drained() {
    // While web-a1's wave runs, someone drains web-c1. Its wave then finds it
    // drained: it gets the version but is not undrained; web-c2 is then the
    // last healthy backend of its AZ, so the rollback stops before it.
    let bench = Bench::new().await;
    let progress = {
        let (demo, clock) = (bench.fleet.demo.clone(), bench.clock);
        Progress::new(move |m: Msg| {
            if let Msg::OperationStep {
                index: 2,
                status: StepStatus::Running,
                detail: None,
                ..
            } = m
            {
                // The demo's calls are synchronous inside.
                use opsdeck::providers::OperateProvider;
                futures::executor::block_on(demo.drain("web-c1", clock.now()))
                    .expect("someone else's drain");
            }
        })
    };
    let r = bench
        .run(
            rollback_request(Vec::new()),
            &progress,
            CancelFlag::default(),
        )
        .await;
    let (verdict, fleet) = (&r.verdict, &r.fleet);
    let Verdict::Failed(why) = verdict else {
        panic!("{verdict:?}");
    };
    assert!(
        why.starts_with(
            "stopped before drain web-c2 (no new requests): guard 'last-healthy-backend' refused: \
             web-c2 is the last healthy backend in ap-northeast-2c"
        ),
        "{why}"
    );
    assert!(
        why.ends_with(
            "web-a1 runs v1.42.1; web-a2 runs v1.42.1; web-c1 runs v1.42.1; \
             web-c1 was drained by someone else during the rollback and stays drained; \
             pool left: web-a1 active, web-a2 active, web-c1 drained, web-c2 active"
        ),
        "{why}"
    );
    let calls = fleet.calls();
    assert!(calls.contains(&"deploy web-c1 v1.42.1".to_string()));
    assert!(
        !calls
            .iter()
            .any(|c| c == "drain web-c1" || c == "undrain web-c1"),
        "{calls:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stalled_console_does_not_stall_a_switchover() {
    // The console's queue is full and nobody reads it (a terminal stopped
    // with Ctrl-S stalls the event loop): the switchover still runs to its
    // end and records its result; the messages wait for the console.
    let mut d = crate::demo_app::demo_app(
        Scenario::Calm,
        11,
        false,
        opsdeck::runtime::poller::PollSchedule::default(),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut filled = 0;
    while d
        .app
        .tx
        .try_send(Msg::Tick {
            now: d.app.clock.now(),
        })
        .is_ok()
    {
        filled += 1;
    }
    assert!(filled > 0, "the console's queue is full");
    let request = promote_request(NodeKind::Database, PromoteMode::Planned);
    let steps = plan::steps(&request, &OpsPolicy::default(), &Capabilities::default());
    let _ = d.app.apply(opsdeck::core::Effect::RunOperation {
        id: 1,
        request,
        steps,
    });
    let mut result = None;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        result = AuditLog::new(d.audit_path.clone())
            .read_all()
            .expect("audit")
            .into_iter()
            .find(|r| r.phase == "result");
        if result.is_some() {
            break;
        }
    }
    let result = result.expect("the operation finished while the console was stalled");
    assert_eq!(result.outcome, Some(Verdict::Succeeded));
    let rep = d
        .demo
        .replication(d.app.clock.now())
        .await
        .expect("replication");
    let primary = rep
        .databases
        .iter()
        .find(|x| !x.read_only)
        .map(|x| x.name.as_str());
    assert_eq!(primary, Some("db-replica"), "the switchover happened");
    // Once the console reads again, every step transition is there.
    let mut done = 0;
    let mut finished = 0;
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(5), d.app.rx.recv()).await {
        match m {
            Msg::OperationStep {
                status: StepStatus::Done,
                ..
            } => done += 1,
            Msg::OperationFinished { .. } => finished += 1,
            _ => {}
        }
    }
    assert_eq!(done, 5, "every step's transition reached the console");
    assert_eq!(finished, 1);
}
