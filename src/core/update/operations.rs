//! Reducer parts for mutating actions: resolve, decide (`core::ops`: read-only,
//! one at a time, guards, typed confirmation) when the dialog opens and again
//! at confirm, then track the running operation.

use super::super::action::ActionId;
use super::super::dialog::{Dialog, DialogButton};
use super::super::effect::Effect;
use super::super::guard::Refusal;
use super::super::key::{Key, KeyCode};
use super::super::operation::{OpKind, OpRequest, Operation, StepSpec, StepStatus, Verdict};
use super::super::ops::{self, Confirmation, Decision};
use super::super::plan;
use super::super::state::{MessageLevel, State};
use super::super::time::Timestamp;
use super::say;

/// A mutating action was pressed (or run from the palette with `target`).
/// The decision is `core::ops::decide`'s, the same `opsdeck do` makes.
pub(super) fn start(state: &mut State, action: ActionId, target: Option<&str>) -> Vec<Effect> {
    let request = match plan::resolve(state, action, target) {
        Ok(r) => r,
        Err(e) => {
            say(state, MessageLevel::Warning, e);
            return Vec::new();
        }
    };
    let (request, refusals, require_typed) =
        match ops::decide(state, request, &Confirmation::none()) {
            Decision::ReadOnly { why, would } => {
                let text = format!(
                    "READ-ONLY: {} not sent ({why}); it would {would}",
                    action.name()
                );
                say(state, MessageLevel::Warning, text);
                return Vec::new();
            }
            Decision::Refused(text) => {
                say(state, MessageLevel::Warning, text);
                state.operations_panel = true;
                return Vec::new();
            }
            Decision::Run { request, .. } => (request, Vec::new(), None),
            Decision::NeedsTyped {
                request,
                expected,
                refusals,
                ..
            } => (request, refusals, Some(expected)),
        };
    let lines = dialog_lines(state, &request);
    state.dialog = Some(Dialog {
        title: request.summary(),
        request,
        lines,
        refusal: shown_refusal(&refusals),
        require_typed,
        typed: String::new(),
        focus: DialogButton::Cancel,
    });
    Vec::new()
}

/// The preview, the steps, and what the provider cannot do.
fn dialog_lines(state: &State, request: &OpRequest) -> Vec<String> {
    let mut lines = plan::preview(request, state);
    let is_ssh = matches!(request.kind, OpKind::SshOpen { .. });
    // A rollback's waves are in the preview already; its 5 steps per backend
    // would not fit a dialog.
    if !is_ssh && !matches!(request.kind, OpKind::DeployVersion { .. }) {
        lines.push(String::new());
        lines.extend(
            plan::steps(request, &state.policy, &state.capabilities)
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{}. {}", i + 1, s.label())),
        );
    }
    lines.extend(plan::capability_notes(request, state));
    lines
}

/// The dialog shows one refusal box: the first guard by name, then every
/// other one with its name.
fn shown_refusal(refusals: &[Refusal]) -> Option<Refusal> {
    let (first, rest) = refusals.split_first()?;
    let mut reason = first.reason.clone();
    for r in rest {
        reason.push_str(&format!("; also `{}`: {}", r.guard, r.reason));
    }
    Some(Refusal {
        guard: first.guard,
        reason,
    })
}

/// Dialog actions (`confirm`, `cancel`, `activate`, `next-button`, `prev-button`).
pub(super) fn dialog_action(state: &mut State, action: ActionId) -> Vec<Effect> {
    let Some(dialog) = state.dialog.as_mut() else {
        return Vec::new();
    };
    match action {
        ActionId::DialogConfirm => return confirm(state),
        ActionId::DialogCancel => cancel(state),
        ActionId::DialogActivate => {
            return match dialog.focus {
                DialogButton::Cancel => {
                    cancel(state);
                    Vec::new()
                }
                DialogButton::Confirm => confirm(state),
            };
        }
        ActionId::DialogNextButton | ActionId::DialogPrevButton => {
            dialog.focus = match dialog.focus {
                DialogButton::Cancel => DialogButton::Confirm,
                DialogButton::Confirm => DialogButton::Cancel,
            };
        }
        _ => {}
    }
    Vec::new()
}

/// Keys while the dialog wants the target's name typed.
pub(super) fn dialog_input(state: &mut State, key: Key) -> Vec<Effect> {
    let Some(dialog) = state.dialog.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => {
            cancel(state);
            return Vec::new();
        }
        // Enter presses the focused button, as everywhere else in the dialog.
        KeyCode::Enter => {
            return match dialog.focus {
                DialogButton::Confirm => confirm(state),
                DialogButton::Cancel => {
                    cancel(state);
                    Vec::new()
                }
            };
        }
        KeyCode::Tab => {
            dialog.focus = match dialog.focus {
                DialogButton::Cancel if dialog.can_confirm() => DialogButton::Confirm,
                _ => DialogButton::Cancel,
            };
            return Vec::new();
        }
        KeyCode::Backspace => {
            dialog.typed.pop();
        }
        KeyCode::Char('u') if key.mods.ctrl => dialog.typed.clear(),
        KeyCode::Char(c) if key.is_text() => dialog.typed.push(c),
        _ => return Vec::new(),
    }
    // Typing the exact name is the deliberate act: it moves focus to Confirm;
    // anything else puts it back on Cancel.
    dialog.focus = if dialog.can_confirm() {
        DialogButton::Confirm
    } else {
        DialogButton::Cancel
    };
    Vec::new()
}

fn cancel(state: &mut State) {
    if let Some(d) = state.dialog.take() {
        let text = format!("cancelled {}: nothing was sent", d.request.summary());
        say(state, MessageLevel::Info, text);
    }
}

/// Confirm: decide again on the state as it is now. A guard that refuses
/// since the dialog opened is shown, and only typing the name goes on.
fn confirm(state: &mut State) -> Vec<Effect> {
    let Some(dialog) = state.dialog.as_ref() else {
        return Vec::new();
    };
    let typed = dialog.typed.clone();
    let confirmation = if dialog.require_typed.is_some() {
        Confirmation::typed_in_dialog(&typed)
    } else {
        // Nothing was asked to be typed: nothing overrides a new refusal.
        Confirmation::none()
    };
    match ops::decide(state, dialog.request.clone(), &confirmation) {
        Decision::ReadOnly { why, would } => {
            state.dialog = None;
            let text = format!("READ-ONLY: not sent ({why}); it would {would}");
            say(state, MessageLevel::Warning, text);
            Vec::new()
        }
        Decision::Refused(text) => {
            state.dialog = None;
            say(state, MessageLevel::Warning, text);
            Vec::new()
        }
        Decision::NeedsTyped {
            expected, refusals, ..
        } => {
            let shown = shown_refusal(&refusals);
            let Some(d) = state.dialog.as_mut() else {
                return Vec::new();
            };
            let changed = d.refusal != shown || d.require_typed.as_deref() != Some(&expected);
            d.refusal = shown.clone();
            d.require_typed = Some(expected.clone());
            d.focus = DialogButton::Cancel;
            let text = match shown.filter(|_| changed) {
                Some(r) => format!(
                    "not sent: guard '{}' refuses now: {}; type '{expected}' to override, or Esc",
                    r.guard, r.reason
                ),
                None => format!("type '{expected}' to confirm, or Esc to cancel"),
            };
            say(state, MessageLevel::Warning, text);
            Vec::new()
        }
        Decision::Run { request, steps, .. } => {
            state.dialog = None;
            run(state, request, steps)
        }
    }
}

fn run(state: &mut State, request: OpRequest, steps: Vec<StepSpec>) -> Vec<Effect> {
    if let OpKind::SshOpen { host } = &request.kind {
        return vec![Effect::OpenSsh { host: host.clone() }];
    }
    if let OpKind::TrustHostKey { host, .. } = &request.kind {
        return vec![Effect::TrustHost { host: host.clone() }];
    }
    let id = state.next_operation_id;
    state.next_operation_id += 1;
    state.operations.push(Operation::new(
        id,
        request.clone(),
        steps.clone(),
        state.now,
    ));
    state.operations_panel = true;
    say(
        state,
        MessageLevel::Info,
        format!("started {}", request.summary()),
    );
    vec![Effect::RunOperation { id, request, steps }]
}

/// A host presented an unknown SSH key: ask before trusting it, with the
/// fingerprint to compare and the name to type.
pub(super) fn ask_trust(state: &mut State, host: String, fingerprint: String) {
    let request = super::super::operation::OpRequest::new(
        ActionId::SshOpen,
        OpKind::TrustHostKey {
            host: host.clone(),
            fingerprint,
        },
    );
    state.dialog = Some(Dialog {
        title: format!("Unknown SSH host key: {host}"),
        lines: plan::preview(&request, state),
        refusal: None,
        require_typed: Some(host),
        typed: String::new(),
        focus: DialogButton::Cancel,
        request,
    });
}

/// Esc with the operations panel open: cancel the running operation.
pub(super) fn request_cancel(state: &mut State) -> Vec<Effect> {
    let Some(op) = state.operations.iter_mut().rev().find(|o| o.is_running()) else {
        return Vec::new();
    };
    if op.cancel_requested {
        return Vec::new();
    }
    op.cancel_requested = true;
    let id = op.id;
    let text = format!("cancelling {} at the next safe step…", op.request.summary());
    say(state, MessageLevel::Warning, text);
    vec![Effect::CancelOperation(id)]
}

pub(super) fn step(
    state: &mut State,
    id: u64,
    index: usize,
    status: StepStatus,
    detail: Option<String>,
    at: Timestamp,
) {
    let Some(op) = state.operations.iter_mut().find(|o| o.id == id) else {
        return;
    };
    let Some(step) = op.steps.get_mut(index) else {
        return;
    };
    match status {
        StepStatus::Running => {
            if step.started_at.is_none() {
                step.started_at = Some(at);
            }
        }
        StepStatus::Done | StepStatus::Failed(_) | StepStatus::Skipped => {
            step.finished_at = Some(at)
        }
        StepStatus::Pending => {}
    }
    step.status = status;
    step.detail = detail;
    state.dirty = true;
}

pub(super) fn finished(state: &mut State, id: u64, verdict: Verdict, at: Timestamp) {
    let Some(op) = state.operations.iter_mut().find(|o| o.id == id) else {
        return;
    };
    for s in &mut op.steps {
        if matches!(s.status, StepStatus::Pending) {
            s.status = StepStatus::Skipped;
        }
    }
    op.finished_at = Some(at);
    op.verdict = Some(verdict.clone());
    let summary = op.request.summary();
    let (level, text) = match verdict {
        Verdict::Succeeded => (
            MessageLevel::Info,
            format!("✔ {summary}: done and verified"),
        ),
        Verdict::Failed(why) => (MessageLevel::Error, format!("✖ {summary} failed: {why}")),
        Verdict::Cancelled(left) => (
            MessageLevel::Warning,
            format!("{summary} cancelled: {left}"),
        ),
        Verdict::Refused(why) => (MessageLevel::Error, format!("⊘ {summary} refused: {why}")),
    };
    say(state, level, text);
    state.operations_panel = true;
}

pub(super) fn note(state: &mut State, id: u64, note: String) {
    if let Some(op) = state.operations.iter_mut().find(|o| o.id == id) {
        op.notes.push(note.clone());
    }
    say(state, MessageLevel::Warning, note);
}
