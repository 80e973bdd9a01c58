//! The decision before an operation runs: `Run` (with the guards it
//! overrides recorded on the request, and its steps), `NeedsTyped` (a guard
//! refuses or the operation is an emergency: only typing the target's name
//! goes on), `Refused` or `ReadOnly`.

use super::confirmation::Confirmation;
use crate::core::guard::{self, Refusal};
use crate::core::operation::{OpKind, OpRequest, PromoteMode, StepSpec};
use crate::core::plan;
use crate::core::state::State;

/// Whether and how an operation may start now.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Go: `request` carries the overridden guards' names; `overridden` says
    /// what they objected to.
    Run {
        request: OpRequest,
        steps: Vec<StepSpec>,
        overridden: Vec<Refusal>,
    },
    /// Only typing `expected` (and overriding, when `refusals` is not empty)
    /// goes on.
    NeedsTyped {
        request: OpRequest,
        expected: String,
        refusals: Vec<Refusal>,
        /// An emergency failover, or trusting a host key: always typed.
        always_typed: bool,
    },
    /// Not now, whatever is typed (another operation runs).
    Refused(String),
    /// The session is read-only: nothing is sent. `would` says what it would
    /// have done.
    ReadOnly { why: &'static str, would: String },
}

/// Decides `request` against `state` with what the operator gave.
pub fn decide(state: &State, request: OpRequest, confirmation: &Confirmation<'_>) -> Decision {
    let is_ssh = matches!(
        request.kind,
        OpKind::SshOpen { .. } | OpKind::TrustHostKey { .. }
    );
    if state.read_only && !(is_ssh && state.ssh_in_read_only) {
        return Decision::ReadOnly {
            why: if is_ssh {
                "SSH is not allowed in read-only mode for this environment"
            } else {
                "this session is read-only"
            },
            would: plan::effect_sentence(&request, state),
        };
    }
    // What the provider cannot do yet is refused before anything is sent.
    let unavailable = match &request.kind {
        OpKind::Promote { node, .. } => state.capabilities.promote(*node).unavailable.as_ref(),
        OpKind::DeployVersion { .. } => state.capabilities.deploy_unavailable.as_ref(),
        _ => None,
    };
    if let Some(why) = unavailable {
        return Decision::Refused(format!("{}: {why}; nothing was sent", request.summary()));
    }
    if !matches!(request.kind, OpKind::TrustHostKey { .. })
        && let Some(op) = state.running_operation()
    {
        return Decision::Refused(format!(
            "{} is still running: wait for it, or Esc in the operations panel to cancel",
            op.request.summary()
        ));
    }
    let refusals = guard::check_all(&request.kind, state, &state.policy);
    let always_typed = matches!(
        request.kind,
        OpKind::Promote {
            mode: PromoteMode::Emergency,
            ..
        } | OpKind::TrustHostKey { .. }
    );
    let typed_ok = confirmation.typed == Some(request.target());
    let needs_typed = always_typed || !refusals.is_empty();
    let overridden_ok = refusals.is_empty() || confirmation.override_guards;
    if needs_typed && !(typed_ok && overridden_ok) {
        return Decision::NeedsTyped {
            expected: request.target().to_string(),
            request,
            refusals,
            always_typed,
        };
    }
    let mut request = request;
    for r in &refusals {
        if !request.overridden_guards.iter().any(|g| g == r.guard) {
            request.overridden_guards.push(r.guard.to_string());
        }
    }
    let steps = plan::steps(&request, &state.policy, &state.capabilities);
    Decision::Run {
        request,
        steps,
        overridden: refusals,
    }
}

/// The guards that refuse `request` now and that the operator did not
/// override when it started: what a runner checks again, on fresh
/// observations, before each step that changes the fleet. Empty means go on.
pub fn recheck(state: &State, request: &OpRequest) -> Vec<Refusal> {
    guard::check_all(&request.kind, state, &state.policy)
        .into_iter()
        .filter(|r| !request.overridden_guards.iter().any(|g| g == r.guard))
        .collect()
}
