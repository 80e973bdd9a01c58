//! `run_operation`: the whole life of one operation: take the fleet-wide
//! lock, record the intent, run the steps (guards again on fresh data), and
//! on every path record the result, give the lock back, report the verdict
//! and announce it.

use crate::core::Msg;
use crate::core::lock::LockHolder;
use crate::core::operation::{OpRequest, Verdict};
use crate::providers::LockError;
use crate::runtime::audit_log::{AuditRecord, hostname, os_user};

use super::fleet_io::{CALL_TIMEOUT, FleetIo};
use super::op_context::OpContext;
use super::op_job::OpJob;
use super::progress::Progress;
use super::runner::Runner;

/// Runs the operation to its end and returns the verdict (also reported as
/// `Msg::OperationFinished`). Never waits on `progress`.
pub async fn run_operation(ctx: &OpContext, progress: &Progress, job: OpJob) -> Verdict {
    let OpJob {
        id,
        request,
        plan,
        policy,
        cancel,
    } = job;
    let started = ctx.clock.now();
    let op_key = format!("{}-{id}", started.millis());
    let holder = LockHolder {
        operator: os_user(),
        machine: hostname(),
        pid: std::process::id(),
        operation: request.summary(),
        environment: ctx.environment.clone(),
        started_at: started,
    };
    // The lock comes first: nothing is recorded or checked for an operation
    // that may not run.
    let locked =
        tokio::time::timeout(CALL_TIMEOUT, ctx.operate.acquire_lock(&holder, started)).await;
    let refusal = match locked {
        Ok(Ok(())) => None,
        Ok(Err(LockError::Held(other))) => Some(Verdict::Refused(format!(
            "the fleet is locked by {}; nothing was changed",
            other.describe(ctx.clock.now())
        ))),
        Ok(Err(e @ LockError::Unavailable(_))) => Some(Verdict::Failed(format!(
            "not started: {e}; nothing was changed"
        ))),
        Err(_) => Some(Verdict::Failed(format!(
            "not started: the operation lock did not answer within {}s; nothing was changed",
            CALL_TIMEOUT.as_secs()
        ))),
    };
    if let Some(verdict) = refusal {
        // A lone result records the attempt; no intent was written.
        let mut result = record(ctx, "result", &op_key, &request);
        result.outcome = Some(verdict.clone());
        let _ = ctx.audit.append(&result);
        progress.send(Msg::OperationFinished {
            id,
            verdict: verdict.clone(),
            at: ctx.clock.now(),
        });
        return verdict;
    }

    let mut runner = Runner::new(
        FleetIo {
            ctx,
            progress,
            id,
            cancel,
        },
        &request,
        &policy,
        &op_key,
        &plan,
    );
    // No record of intent, no operation: the audit trail must never miss one.
    let verdict = match ctx.audit.append(&record(ctx, "intent", &op_key, &request)) {
        Err(e) => Verdict::Failed(format!("not started: {e}; nothing was changed")),
        Ok(()) => {
            announce(
                ctx,
                &mut runner,
                format!(
                    "{} started {} in {}",
                    os_user(),
                    request.summary(),
                    ctx.environment
                ),
            )
            .await;
            runner.run_steps().await
        }
    };
    let finished = ctx.clock.now();
    let mut result = record(ctx, "result", &op_key, &request);
    result.steps = runner.steps.clone();
    result.outcome = Some(verdict.clone());
    result.notes = runner.notes.clone();
    if let Err(e) = ctx.audit.append(&result) {
        runner.note(format!("audit log: the result was not recorded: {e}"));
    }
    // Given back after the result is on disk, on every path.
    match tokio::time::timeout(
        CALL_TIMEOUT,
        ctx.operate.release_lock(&holder, ctx.clock.now()),
    )
    .await
    {
        Ok(Ok(())) => {}
        Ok(Err(e)) => runner.note(format!(
            "the operation lock was not released: {e} (it shows as held until broken)"
        )),
        Err(_) => runner.note("the operation lock was not released: no answer".to_string()),
    }
    progress.send(Msg::OperationFinished {
        id,
        verdict: verdict.clone(),
        at: finished,
    });
    let word = match &verdict {
        Verdict::Succeeded => "✔ succeeded".to_string(),
        Verdict::Failed(why) => format!("✖ failed: {why}"),
        Verdict::Cancelled(left) => format!("cancelled: {left}"),
        Verdict::Refused(why) => format!("refused: {why}"),
    };
    if let Some(hook) = &ctx.webhook
        && let Err(e) = hook
            .announce(&format!(
                "{} in {}: {word}",
                request.summary(),
                ctx.environment
            ))
            .await
    {
        progress.send(Msg::OperationNote {
            id,
            note: e.clone(),
        });
        let mut note = record(ctx, "note", &op_key, &request);
        note.notes.push(e);
        let _ = ctx.audit.append(&note);
    }
    verdict
}

fn record(ctx: &OpContext, phase: &str, op_key: &str, request: &OpRequest) -> AuditRecord {
    AuditRecord::new(
        phase,
        op_key,
        &ctx.environment,
        request,
        ctx.clock.now().to_rfc3339(),
    )
}

async fn announce(ctx: &OpContext, runner: &mut Runner<'_>, text: String) {
    if let Some(hook) = &ctx.webhook
        && let Err(e) = hook.announce(&text).await
    {
        runner.note(e);
    }
}
