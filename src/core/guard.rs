//! Guards: the checks that refuse dangerous operations unless the operator
//! overrides them by typing the target's name. Pure functions of the state;
//! the judgements they rest on (lag too high, data too old) live in
//! `core::assess`, shared with the screen.

use super::assess::lag::promote_lag_refusal;
use super::assess::{Limits, freshness};
use super::fleet::{DeployOutcome, Health, ReplicaRole, TargetState};
use super::operation::{NodeKind, OpKind};
use super::state::State;

/// Limits and timings for operations, from the config's `[guards]` (per
/// environment), with safe defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct OpsPolicy {
    /// Thresholds of the judgements: the lag threshold (promotion is refused
    /// when the replica's lag is unknown or above it) and an explicit promote
    /// limit when configured.
    pub limits: Limits,
    /// How long a drain waits for in-flight requests.
    pub drain_timeout_ms: i64,
    /// How long a planned switchover waits for the replica to catch up.
    pub catch_up_timeout_ms: i64,
    /// How long a deploy waits for a backend to become healthy.
    pub health_timeout_ms: i64,
    /// Point the old primary at the new one after a planned switchover.
    pub rejoin_old_primary: bool,
    /// Command run after a promotion (DNS, app config), if any.
    pub post_promote_hook: Option<String>,
}

impl Default for OpsPolicy {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            drain_timeout_ms: 30_000,
            catch_up_timeout_ms: 60_000,
            health_timeout_ms: 60_000,
            rejoin_old_primary: true,
            post_promote_hook: None,
        }
    }
}

/// A guard's refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Stable name, recorded in the audit log when overridden.
    pub guard: &'static str,
    pub reason: String,
}

/// Checks `kind` against the guards. `Ok` means no guard objects; else the
/// first refusal (see [`check_all`] for every one).
pub fn check(kind: &OpKind, state: &State, policy: &OpsPolicy) -> Result<(), Refusal> {
    match check_all(kind, state, policy).into_iter().next() {
        Some(r) => Err(r),
        None => Ok(()),
    }
}

/// Every guard that refuses `kind` now: the operation's own guard, then the
/// stale-data guard (a guard judging data older than its limit judges a fleet
/// that may be gone, so stale data refuses even when the rest passes).
pub fn check_all(kind: &OpKind, state: &State, policy: &OpsPolicy) -> Vec<Refusal> {
    let own = match kind {
        OpKind::Drain { backend } => check_drain(backend, state),
        OpKind::Promote { replica, node, .. } => check_promote(replica, *node, state, policy),
        OpKind::DeployVersion { version, .. } => check_version(version, state),
        OpKind::Undrain { .. } | OpKind::SshOpen { .. } | OpKind::TrustHostKey { .. } => Ok(()),
    };
    own.err()
        .into_iter()
        .chain(stale_data(kind, state))
        .collect()
}

/// The stale-data guard: the panels an operation's guards and plan read must
/// be fresh. "replication data is 47 s old (limit 15 s)".
fn stale_data(kind: &OpKind, state: &State) -> Option<Refusal> {
    let now = state.now;
    let problems: Vec<String> = match kind {
        OpKind::Drain { .. } => vec![freshness(&state.hosts, now).problem("hosts")],
        OpKind::Promote { .. } => vec![freshness(&state.replication, now).problem("replication")],
        OpKind::DeployVersion { .. } => vec![
            freshness(&state.deploys, now).problem("deploy"),
            freshness(&state.hosts, now).problem("hosts"),
        ],
        OpKind::Undrain { .. } | OpKind::SshOpen { .. } | OpKind::TrustHostKey { .. } => vec![],
    }
    .into_iter()
    .flatten()
    .collect();
    (!problems.is_empty()).then(|| Refusal {
        guard: STALE_DATA,
        reason: problems.join("; "),
    })
}

/// Name of the stale-data guard.
pub const STALE_DATA: &str = "stale-data";

fn serving(state: &State, backend: &str) -> bool {
    let Some(hosts) = &state.hosts.data else {
        return false;
    };
    hosts
        .load_balancer
        .as_ref()
        .and_then(|lb| lb.target(backend))
        .is_some_and(|t| t.state == TargetState::Active && t.health == Health::Ok)
}

fn check_drain(backend: &str, state: &State) -> Result<(), Refusal> {
    let Some(lb) = state.load_balancer() else {
        return Err(Refusal {
            guard: "last-healthy-backend",
            reason:
                "the load balancer's pool is unknown (no data yet), so draining cannot be checked"
                    .into(),
        });
    };
    let Some(target) = lb.target(backend) else {
        return Err(Refusal {
            guard: "last-healthy-backend",
            reason: format!("{backend} is not in the {} pool", lb.name),
        });
    };
    let others: Vec<_> = lb
        .targets
        .iter()
        .filter(|t| t.backend != backend && serving(state, &t.backend))
        .collect();
    if others.is_empty() {
        return Err(Refusal {
            guard: "last-healthy-backend",
            reason: format!(
                "{backend} is the last healthy backend of the {} pool: draining it stops all traffic",
                lb.name
            ),
        });
    }
    if !others.iter().any(|t| t.az == target.az) {
        return Err(Refusal {
            guard: "last-healthy-backend",
            reason: format!(
                "{backend} is the last healthy backend in {}: draining it takes the AZ out of service",
                target.az
            ),
        });
    }
    Ok(())
}

fn check_promote(
    replica: &str,
    node: NodeKind,
    state: &State,
    policy: &OpsPolicy,
) -> Result<(), Refusal> {
    let lag = replica_lag(state, replica, node);
    match promote_lag_refusal(replica, lag, &policy.limits) {
        Some(reason) => Err(Refusal {
            guard: "replica-lag",
            reason: match silent_for(state, replica, node) {
                Some(silence) => format!("{silence}; {reason}"),
                None => reason,
            },
        }),
        None => Ok(()),
    }
}

/// "db-replica has not answered for 47 s (stale after 15 s)" when the
/// replica is in the replication data but did not answer its last poll:
/// what is known of it is that old.
fn silent_for(state: &State, replica: &str, node: NodeKind) -> Option<String> {
    let rep = state.replication.data.as_ref()?;
    let reachable = match node {
        NodeKind::Database => rep.databases.iter().find(|d| d.name == replica)?.reachable,
        NodeKind::Cache => rep.caches.iter().find(|c| c.name == replica)?.reachable,
    };
    if reachable {
        return None;
    }
    let limit_ms = state.replication.stale_after_ms;
    Some(match state.history.node_seen.get(replica) {
        Some(seen) => {
            let age_ms = state.now.since(*seen);
            let stale = if age_ms > limit_ms {
                format!(
                    " (its data is older than the {} s stale limit)",
                    limit_ms / 1000
                )
            } else {
                String::new()
            };
            format!("{replica} has not answered for {} s{stale}", age_ms / 1000)
        }
        None => format!("{replica} has not answered since this console started"),
    })
}

/// Lag of a replica as last observed; `None` when unknown or not a replica.
pub fn replica_lag(state: &State, replica: &str, node: NodeKind) -> Option<f64> {
    let rep = state.replication.data.as_ref()?;
    match node {
        NodeKind::Database => rep
            .databases
            .iter()
            .find(|d| d.name == replica && d.role == ReplicaRole::Replica && d.reachable)
            .and_then(|d| d.lag_seconds),
        NodeKind::Cache => rep
            .caches
            .iter()
            .find(|c| c.name == replica && c.role == ReplicaRole::Replica && c.reachable)
            .and_then(|c| c.lag_seconds),
    }
}

fn check_version(version: &str, state: &State) -> Result<(), Refusal> {
    let Some(deploys) = &state.deploys.data else {
        return Err(Refusal {
            guard: "failed-version",
            reason: "the deploy history is unknown (no data yet)".into(),
        });
    };
    match deploys.history.iter().find(|d| d.version == version) {
        None => Err(Refusal {
            guard: "failed-version",
            reason: format!(
                "{version} is not in the deploy history of {}",
                deploys.service
            ),
        }),
        Some(d) if d.outcome == DeployOutcome::Failed => Err(Refusal {
            guard: "failed-version",
            reason: format!(
                "{version} is marked failed (deployed {} by {})",
                d.at.format_datetime(),
                d.by
            ),
        }),
        Some(_) => Ok(()),
    }
}
