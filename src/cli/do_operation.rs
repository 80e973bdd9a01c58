//! `opsdeck do`: runs one operation without the TUI, through the same
//! decision code and operation runner the console uses.

use std::process::ExitCode;

use tokio::sync::mpsc;

use crate::core::action::{ActionId, REGISTRY};
use crate::core::operation::{OpRequest, Operation, StepStatus, Verdict};
use crate::core::ops::{self, Confirmation, Decision};
use crate::core::{Msg, PanelId, plan};
use crate::runtime::operation_runner::{CancelFlag, OpJob, Progress, run_operation};
use crate::runtime::outln;

use super::ask::ask_yes_no;
use super::session::{LaunchError, Session};

/// Exit codes of `opsdeck do`.
pub(super) const EXIT_FAILED: u8 = 1;
const EXIT_REFUSED: u8 = 3;

pub struct DoArgs<'a> {
    pub action: &'a str,
    pub target: &'a str,
    pub version: Option<&'a str>,
    pub yes: bool,
    pub override_guard: bool,
    pub confirm: Option<&'a str>,
}

pub async fn run(session: &mut Session, args: DoArgs<'_>) -> Result<ExitCode, LaunchError> {
    let Some(action) =
        ActionId::from_name(args.action).filter(|a| a.spec().mutates && *a != ActionId::SshOpen)
    else {
        let ops: Vec<&str> = REGISTRY
            .iter()
            .filter(|s| s.mutates && s.id != ActionId::SshOpen)
            .map(|s| s.name)
            .collect();
        return Err(LaunchError::Config(format!(
            "'{}' is not an operation (one of: {})",
            args.action,
            ops.join(", ")
        )));
    };
    let failures = session
        .app
        .observe_all_at(session.app.clock.now(), &PanelId::ALL)
        .await;
    for f in &failures {
        if let Msg::SourceFailed { source, error, .. } = f {
            eprintln!("warning: {source}: {error}");
        }
    }
    let state = &session.app.state;
    let target = if action == ActionId::RollbackDeploy {
        let service = state
            .deploys
            .data
            .as_ref()
            .map(|d| d.service.clone())
            .unwrap_or_default();
        // A provider that cannot deploy has no service to name: the plan
        // says why it refuses.
        if args.target != service && state.capabilities.deploy_unavailable.is_none() {
            return Err(LaunchError::Config(format!(
                "rollback-deploy: unknown service '{}' (this environment runs '{service}')",
                args.target
            )));
        }
        args.version.map(str::to_string)
    } else {
        Some(args.target.to_string())
    };
    let request = match plan::resolve(state, action, target.as_deref()) {
        Ok(r) => r,
        Err(e) => return Err(LaunchError::Config(e)),
    };
    outln!("{}", request.summary());
    for line in plan::preview(&request, state) {
        outln!("  {line}");
    }
    for line in plan::capability_notes(&request, state) {
        outln!("  {line}");
    }
    // The same decision the console's dialog makes (`core::ops::decide`).
    let confirmation = Confirmation {
        typed: args.confirm,
        override_guards: args.override_guard,
    };
    let decision = ops::decide(state, request, &confirmation);
    let ctx = session.app.ops_context();
    let (request, steps) = match (decision, ctx.is_some()) {
        (Decision::ReadOnly { would, .. }, _) => {
            outln!("refused: read-only session; nothing was sent (it would {would})");
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        (Decision::Run { request, .. } | Decision::NeedsTyped { request, .. }, false) => {
            // No operate handle means read-only, whatever the state says.
            outln!(
                "refused: read-only session; nothing was sent (it would {})",
                plan::effect_sentence(&request, state)
            );
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        (Decision::Refused(why), _) => {
            outln!("refused: {why}");
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        (
            Decision::NeedsTyped {
                expected, refusals, ..
            },
            true,
        ) => {
            for r in &refusals {
                outln!("refused by guard '{}': {}", r.guard, r.reason);
            }
            if refusals.is_empty() {
                outln!("refused: an emergency failover needs --confirm {expected}");
            } else {
                outln!("to override: --override-guard --confirm {expected}");
            }
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        (
            Decision::Run {
                request,
                steps,
                overridden,
            },
            true,
        ) => {
            for r in &overridden {
                outln!("guard '{}' overridden: {}", r.guard, r.reason);
            }
            (request, steps)
        }
    };
    let Some(ctx) = ctx else {
        return Ok(ExitCode::from(EXIT_REFUSED));
    };
    if !args.yes && !confirm_on_stdin(&request) {
        outln!("not confirmed: nothing was sent");
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    let labels: Vec<String> = steps.iter().map(|s| s.label()).collect();
    // From here on SIGTERM/SIGHUP/SIGINT cancel safely instead of killing.
    let signals = crate::runtime::signals::Signals::install()?;
    // The runner reports into an unbounded channel and never waits on it.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cancel = CancelFlag::default();
    let op = Operation::new(1, request.clone(), steps.clone(), ctx.clock.now());
    let runner = {
        let job = OpJob {
            id: 1,
            request,
            plan: steps,
            policy: state.policy.clone(),
            cancel: cancel.clone(),
        };
        let ctx = ctx.clone();
        tokio::spawn(async move { run_operation(&ctx, &Progress::channel(tx), job).await })
    };
    let mut said: Option<(usize, String)> = None;
    let end =
        crate::runtime::signals::supervise(&ctx, op, runner, cancel, &mut rx, signals, |msg| {
            print_progress(msg, &labels, &mut said)
        })
        .await;
    Ok(match (end.signal, end.verdict) {
        (Some(sig), _) => ExitCode::from(sig.exit_status()),
        (None, Some(Verdict::Succeeded)) => ExitCode::SUCCESS,
        (None, Some(Verdict::Refused(_))) => ExitCode::from(EXIT_REFUSED),
        _ => ExitCode::from(EXIT_FAILED),
    })
}

fn confirm_on_stdin(request: &OpRequest) -> bool {
    ask_yes_no(&format!("Run {}?", request.summary())).unwrap_or_else(|| {
        eprintln!("stdin is not a terminal: pass --yes to run without asking");
        false
    })
}

/// `said`: the last progress printed (step, what it said without the
/// countdown), so a wait of minutes prints each change once: "prod-db-replica
/// is replica (modifying)", then "(rebooting)", not a line per poll.
fn print_progress(msg: &Msg, labels: &[String], said: &mut Option<(usize, String)>) {
    match msg {
        Msg::OperationStep {
            index,
            status,
            detail,
            ..
        } => {
            let label = labels.get(*index).map_or("?", String::as_str);
            let d = detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            match status {
                StepStatus::Running if detail.is_none() => outln!("  ▶ {}. {label}", index + 1),
                // Countdowns are for the console; a log-friendly print says
                // each change of state once.
                StepStatus::Running => {
                    let now = detail
                        .as_deref()
                        .map(|d| d.split(" · ").next().unwrap_or(d).to_string())
                        .unwrap_or_default();
                    if said.as_ref() != Some(&(*index, now.clone())) {
                        outln!("    … {now}");
                        *said = Some((*index, now));
                    }
                }
                StepStatus::Done => outln!("  ✔ {}. {label}{d}", index + 1),
                StepStatus::Failed(why) => outln!("  ✖ {}. {label}: {why}", index + 1),
                StepStatus::Skipped => outln!("  – {}. {label}: skipped", index + 1),
                StepStatus::Pending => {}
            }
        }
        Msg::OperationNote { note, .. } => outln!("  note: {note}"),
        Msg::OperationFinished { verdict, .. } => match verdict {
            Verdict::Succeeded => outln!("✔ succeeded (verified)"),
            Verdict::Failed(why) => outln!("✖ failed: {why}"),
            Verdict::Cancelled(left) => outln!("cancelled: {left}"),
            Verdict::Refused(why) => outln!("refused: {why}"),
        },
        _ => {}
    }
}
