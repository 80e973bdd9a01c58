//! Pieces shared by unit tests across modules (test builds only): a test
//! environment and an empty state at a fixed clock, a backend host and its
//! load-balancer target, a database node, a drain as the planner writes it,
//! and the two ways a user acts (an action, typed text).

use super::action::ActionId;
use super::effect::Effect;
use super::fleet::{
    DbNode, Health, Host, HostRole, HostState, ReplicaRole, Target, TargetState, ThreadState,
};
use super::key::Key;
use super::msg::Msg;
use super::operation::{OpKind, OpRequest, StepSpec};
use super::state::{EnvInfo, State};
use super::time::Timestamp;
use super::update;

/// The clock of states made by [`state`].
pub(crate) const T0: Timestamp = Timestamp::from_millis(1_000_000);

/// A non-production environment named `test`.
pub(crate) fn env() -> EnvInfo {
    EnvInfo {
        name: "test".into(),
        region: None,
        source: "test".into(),
        production: false,
    }
}

/// A state that has observed nothing yet, at [`T0`].
pub(crate) fn state(read_only: bool) -> State {
    State::new(env(), read_only, T0)
}

/// A running backend running `v1`; no probe latency or CPU known.
pub(crate) fn backend(name: &str, az: &str, health: Health) -> Host {
    Host {
        checks: None,
        id: None,
        instance_type: None,
        name: name.into(),
        az: az.into(),
        role: HostRole::Backend,
        state: HostState::Running,
        health,
        latency_ms: None,
        cpu_pct: None,
        version: Some("v1".into()),
        address: None,
    }
}

/// An active load-balancer target of weight 1 serving 10 rps, no errors.
pub(crate) fn target(name: &str, az: &str, health: Health) -> Target {
    Target {
        drain_ends_at: None,
        reason: None,
        backend: name.into(),
        az: az.into(),
        weight: 1,
        state: TargetState::Active,
        health,
        requests_per_sec: Some(10.0),
        error_rate: Some(0.0),
        in_flight: Some(0),
    }
}

/// A reachable database node in az-a with both replication threads running;
/// a replica is read-only and follows `db-primary`.
pub(crate) fn db(name: &str, role: ReplicaRole, lag: Option<f64>) -> DbNode {
    DbNode {
        lag_sampled_at: None,
        status: None,
        name: name.into(),
        az: "az-a".into(),
        role,
        reachable: true,
        read_only: role == ReplicaRole::Replica,
        lag_seconds: lag,
        io_thread: ThreadState::Running,
        sql_thread: ThreadState::Running,
        source: (role == ReplicaRole::Replica).then(|| "db-primary".to_string()),
        gtid_executed: None,
        gtid_received: None,
        last_error: None,
    }
}

/// The request to drain `backend`.
pub(crate) fn drain_request(backend: &str) -> OpRequest {
    OpRequest::new(
        ActionId::DrainBackend,
        OpKind::Drain {
            backend: backend.into(),
        },
    )
}

/// A drain's steps as the planner writes them: drain, wait (up to
/// `timeout_ms`), verify no traffic is left.
pub(crate) fn drain_steps(backend: &str, timeout_ms: i64) -> Vec<StepSpec> {
    vec![
        StepSpec::Drain {
            backend: backend.into(),
        },
        StepSpec::WaitDrained {
            backend: backend.into(),
            timeout_ms,
        },
        StepSpec::VerifyNoTraffic {
            backend: backend.into(),
        },
    ]
}

/// The user triggers `a` (by any key bound to it).
pub(crate) fn act(s: &mut State, a: ActionId) -> Vec<Effect> {
    update(s, Msg::Action(a))
}

/// The user types `text`, one key a character.
pub(crate) fn type_text(s: &mut State, text: &str) {
    for c in text.chars() {
        update(s, Msg::Input(Key::char(c)));
    }
}
