//! Reducer parts for leaving the console safely: `q`/C-c while an operation
//! runs (the quit dialog), signals (cancel safely, then exit 128+signal by a
//! deadline), and operations a previous session left unfinished.

use super::super::action::ActionId;
use super::super::dialog::{QuitChoice, QuitDialog};
use super::super::effect::Effect;
use super::super::quit::{PendingQuit, QuitReason, SIGNAL_DEADLINE_MS, Signal, abandon_reason};
use super::super::state::{MessageLevel, State};
use super::super::unfinished::UnfinishedOperation;
use super::say;

/// `quit` (q, C-c): with nothing running, quit now; otherwise ask.
pub(super) fn quit_pressed(state: &mut State) -> Vec<Effect> {
    let Some(op) = state.running_operation() else {
        state.quit = true;
        return vec![Effect::Quit];
    };
    let doing = match op.current_step() {
        Some(i) => format!(
            "step {}/{}: {}",
            i + 1,
            op.steps.len(),
            op.steps[i].spec.label()
        ),
        None => "between steps".to_string(),
    };
    state.quit_dialog = Some(QuitDialog {
        operation: op.id,
        summary: op.request.summary(),
        doing,
        abandon_reason: abandon_reason(op, "quit"),
        focus: QuitChoice::KeepWatching,
    });
    state.dirty = true;
    Vec::new()
}

/// Dialog keys while the quit dialog is open.
pub(super) fn dialog_action(state: &mut State, action: ActionId) -> Vec<Effect> {
    let Some(dialog) = state.quit_dialog.as_mut() else {
        return Vec::new();
    };
    match action {
        ActionId::DialogNextButton => dialog.focus = dialog.focus.next(),
        ActionId::DialogPrevButton => dialog.focus = dialog.focus.prev(),
        // `y` presses the focused button too: it never jumps past the safe default.
        ActionId::DialogActivate | ActionId::DialogConfirm => {
            let choice = dialog.focus;
            return choose(state, choice);
        }
        ActionId::DialogCancel | ActionId::Close | ActionId::Quit => {
            return choose(state, QuitChoice::KeepWatching);
        }
        _ => {}
    }
    Vec::new()
}

/// Carries out a choice of the quit dialog.
pub(super) fn choose(state: &mut State, choice: QuitChoice) -> Vec<Effect> {
    let Some(dialog) = state.quit_dialog.take() else {
        return Vec::new();
    };
    state.dirty = true;
    let running = state
        .operations
        .iter()
        .any(|o| o.id == dialog.operation && o.is_running());
    if !running && choice != QuitChoice::KeepWatching {
        // It ended while the dialog was open: nothing is left to wind down.
        state.quit = true;
        return vec![Effect::Quit];
    }
    match choice {
        QuitChoice::KeepWatching => {
            say(
                state,
                MessageLevel::Info,
                format!("{} goes on; the console stays", dialog.summary),
            );
            Vec::new()
        }
        QuitChoice::CancelThenQuit => {
            if state.quitting.pending.is_none() {
                state.quitting.pending = Some(PendingQuit {
                    reason: QuitReason::Operator,
                    operation: dialog.operation,
                    deadline: None,
                });
            }
            say(
                state,
                MessageLevel::Warning,
                format!(
                    "cancelling {} safely; opsdeck quits once it has wound down and recorded its result",
                    dialog.summary
                ),
            );
            request_cancel(state, dialog.operation)
        }
        QuitChoice::QuitAndLeave => abandon(state, dialog.operation, "quit"),
    }
}

/// Asks the runner to stop at its next safe point (once).
fn request_cancel(state: &mut State, id: u64) -> Vec<Effect> {
    match state.operations.iter_mut().find(|o| o.id == id) {
        Some(op) if op.is_running() && !op.cancel_requested => {
            op.cancel_requested = true;
            vec![Effect::CancelOperation(id)]
        }
        _ => Vec::new(),
    }
}

/// Leaves the operation where it is, has its result written, and quits.
fn abandon(state: &mut State, id: u64, why: &str) -> Vec<Effect> {
    let reason = match state.operations.iter().find(|o| o.id == id) {
        Some(op) => abandon_reason(op, why),
        None => format!("abandoned: {why}"),
    };
    state.quit = true;
    state.quit_dialog = None;
    vec![Effect::AbandonOperation { id, reason }, Effect::Quit]
}

/// SIGTERM, SIGHUP, SIGINT: cancel safely and exit 128+signal, by the deadline.
pub(super) fn signal(state: &mut State, sig: Signal) -> Vec<Effect> {
    state.dirty = true;
    let Some(op) = state.running_operation() else {
        state.quitting.exit_status = Some(sig.exit_status());
        state.quit = true;
        return vec![Effect::Quit];
    };
    let id = op.id;
    let summary = op.request.summary();
    // A second signal while winding down for one: stop waiting.
    if let Some(PendingQuit {
        reason: QuitReason::Signal(first),
        ..
    }) = state.quitting.pending
    {
        state.quitting.exit_status = Some(first.exit_status());
        return abandon(
            state,
            id,
            &format!("{} while winding down for {}", sig.name(), first.name()),
        );
    }
    let deadline = state.now.plus_millis(SIGNAL_DEADLINE_MS);
    state.quitting.pending = Some(PendingQuit {
        reason: QuitReason::Signal(sig),
        operation: id,
        deadline: Some(deadline),
    });
    state.quitting.exit_status = Some(sig.exit_status());
    state.quit_dialog = None;
    state.operations_panel = true;
    say(
        state,
        MessageLevel::Warning,
        format!(
            "{}: cancelling {summary} safely, then exiting (abandoned at {} UTC if still running)",
            sig.name(),
            deadline.format_time()
        ),
    );
    request_cancel(state, id)
}

/// The clock moved: a signal's deadline may have passed.
pub(super) fn tick(state: &mut State) -> Vec<Effect> {
    let Some(pending) = state.quitting.pending.clone() else {
        return Vec::new();
    };
    // The countdown in the status bar is the news.
    state.dirty = true;
    let (Some(deadline), QuitReason::Signal(sig)) = (pending.deadline, pending.reason) else {
        return Vec::new();
    };
    if state.now < deadline {
        return Vec::new();
    }
    let running = state
        .operations
        .iter()
        .any(|o| o.id == pending.operation && o.is_running());
    if !running {
        state.quit = true;
        return vec![Effect::Quit];
    }
    abandon(
        state,
        pending.operation,
        &format!(
            "at the signal deadline ({} s after {}),",
            SIGNAL_DEADLINE_MS / 1000,
            sig.name()
        ),
    )
}

/// An operation ended: a quit waiting for it goes ahead, and a quit dialog
/// asking about it has nothing left to ask.
pub(super) fn after_finished(state: &mut State) -> Vec<Effect> {
    if let Some(d) = &state.quit_dialog
        && !state
            .operations
            .iter()
            .any(|o| o.id == d.operation && o.is_running())
    {
        state.quit_dialog = None;
    }
    if state.quitting.pending.is_none() || state.running_operation().is_some() {
        return Vec::new();
    }
    state.quit = true;
    vec![Effect::Quit]
}

pub(super) fn unfinished_found(state: &mut State, found: Vec<UnfinishedOperation>) {
    if let Some(first) = found.first() {
        let more = match found.len() - 1 {
            0 => String::new(),
            n => format!(" (+{n} more)"),
        };
        let text = format!(
            "UNFINISHED operation{more}: {}; check the fleet before acting",
            first.describe()
        );
        say(state, MessageLevel::Warning, text);
        state.operations_panel = true;
    }
    state.unfinished = found;
    state.dirty = true;
}

#[cfg(test)]
mod tests {
    use super::super::update;
    use crate::core::action::ActionId;
    use crate::core::dialog::QuitChoice;
    use crate::core::effect::Effect;
    use crate::core::msg::Msg;
    use crate::core::operation::{Operation, StepStatus, Verdict};
    use crate::core::quit::{SIGNAL_DEADLINE_MS, Signal};
    use crate::core::state::State;
    use crate::core::test_fixtures::{T0, act, drain_request, drain_steps, state};
    use crate::core::unfinished::UnfinishedOperation;

    /// A drain whose first step is done and whose wait runs (a long timeout).
    fn draining() -> State {
        let mut s = state(false);
        let steps = drain_steps("web-a1", 600_000);
        s.operations
            .push(Operation::new(7, drain_request("web-a1"), steps, T0));
        for (index, status) in [(0, StepStatus::Done), (1, StepStatus::Running)] {
            update(
                &mut s,
                Msg::OperationStep {
                    id: 7,
                    index,
                    status,
                    detail: None,
                    at: T0,
                },
            );
        }
        s
    }

    fn finish(s: &mut State, verdict: Verdict) -> Vec<Effect> {
        update(
            s,
            Msg::OperationFinished {
                id: 7,
                verdict,
                at: T0.plus_millis(5_000),
            },
        )
    }

    #[test]
    fn q_with_nothing_running_quits_at_once() {
        let mut s = state(false);
        assert_eq!(act(&mut s, ActionId::Quit), vec![Effect::Quit]);
        assert!(s.quit);
        assert_eq!(s.quitting.exit_status, None);
    }

    #[test]
    fn q_during_a_drain_asks_with_focus_on_keep_watching() {
        let mut s = draining();
        assert!(act(&mut s, ActionId::Quit).is_empty());
        let d = s.quit_dialog.as_ref().expect("quit dialog");
        assert_eq!(d.focus, QuitChoice::KeepWatching);
        assert_eq!(d.operation, 7);
        assert!(d.doing.contains("step 2/3"), "{}", d.doing);
        assert!(
            d.abandon_reason.starts_with("abandoned: quit at step 2/3"),
            "{}",
            d.abandon_reason
        );
        assert!(!s.quit);
        // Pressing the focused button (or y) keeps watching: nothing is sent.
        assert!(act(&mut s, ActionId::DialogConfirm).is_empty());
        assert!(s.quit_dialog.is_none() && !s.quit);
        assert!(s.operations[0].is_running() && !s.operations[0].cancel_requested);
        // Esc too.
        act(&mut s, ActionId::Quit);
        assert!(act(&mut s, ActionId::DialogCancel).is_empty());
        assert!(s.quit_dialog.is_none() && !s.quit);
    }

    #[test]
    fn cancel_safely_then_quit_waits_for_the_result() {
        let mut s = draining();
        act(&mut s, ActionId::Quit);
        act(&mut s, ActionId::DialogNextButton);
        assert_eq!(
            s.quit_dialog.as_ref().map(|d| d.focus),
            Some(QuitChoice::CancelThenQuit)
        );
        assert_eq!(
            act(&mut s, ActionId::DialogActivate),
            vec![Effect::CancelOperation(7)]
        );
        assert!(!s.quit, "the console stays while the runner winds down");
        assert!(s.operations[0].cancel_requested);
        // Ticks while it winds down do not quit (no deadline for the operator).
        update(
            &mut s,
            Msg::Tick {
                now: T0.plus_millis(600_000),
            },
        );
        assert!(!s.quit);
        let effects = finish(&mut s, Verdict::Cancelled("web-a1 undrained".into()));
        assert_eq!(effects, vec![Effect::Quit]);
        assert!(s.quit);
        assert_eq!(s.quitting.exit_status, None);
    }

    #[test]
    fn quit_and_leave_abandons_with_what_it_left() {
        let mut s = draining();
        act(&mut s, ActionId::Quit);
        act(&mut s, ActionId::DialogPrevButton);
        assert_eq!(
            s.quit_dialog.as_ref().map(|d| d.focus),
            Some(QuitChoice::QuitAndLeave)
        );
        let effects = act(&mut s, ActionId::DialogActivate);
        let [Effect::AbandonOperation { id, reason }, Effect::Quit] = effects.as_slice() else {
            panic!("{effects:?}");
        };
        assert_eq!(*id, 7);
        assert!(
            reason.starts_with("abandoned: quit at step 2/3 \"wait for web-a1"),
            "{reason}"
        );
        assert!(
            reason.contains("left: step 1 \"drain web-a1 (no new requests)\" done, not undone"),
            "{reason}"
        );
        assert!(s.quit);
    }

    #[test]
    fn sigterm_cancels_safely_and_exits_143_after_the_result() {
        let mut s = draining();
        let effects = update(&mut s, Msg::Signal(Signal::Terminate));
        assert_eq!(effects, vec![Effect::CancelOperation(7)]);
        assert_eq!(s.quitting.exit_status, Some(143));
        assert!(!s.quit);
        let msg = s
            .message
            .as_ref()
            .map(|m| m.text.clone())
            .unwrap_or_default();
        assert!(msg.contains("SIGTERM") && msg.contains("safely"), "{msg}");
        assert_eq!(s.quitting.seconds_left(s.now), Some(30));
        // Before the deadline a tick changes nothing.
        assert!(
            update(
                &mut s,
                Msg::Tick {
                    now: T0.plus_millis(SIGNAL_DEADLINE_MS - 1)
                }
            )
            .is_empty()
        );
        assert_eq!(
            finish(&mut s, Verdict::Cancelled("x".into())),
            vec![Effect::Quit]
        );
        assert_eq!(s.quitting.exit_status, Some(143));
    }

    #[test]
    fn a_signal_with_nothing_running_exits_at_once_with_128_plus_signal() {
        for (sig, code) in [
            (Signal::Hangup, 129),
            (Signal::Interrupt, 130),
            (Signal::Terminate, 143),
        ] {
            let mut s = state(false);
            assert_eq!(update(&mut s, Msg::Signal(sig)), vec![Effect::Quit]);
            assert_eq!(s.quitting.exit_status, Some(code));
        }
    }

    #[test]
    fn the_signal_deadline_abandons_the_operation() {
        let mut s = draining();
        update(&mut s, Msg::Signal(Signal::Hangup));
        let effects = update(
            &mut s,
            Msg::Tick {
                now: T0.plus_millis(SIGNAL_DEADLINE_MS),
            },
        );
        let [Effect::AbandonOperation { id: 7, reason }, Effect::Quit] = effects.as_slice() else {
            panic!("{effects:?}");
        };
        assert!(
            reason.starts_with("abandoned: at the signal deadline (30 s after SIGHUP)"),
            "{reason}"
        );
        assert_eq!(s.quitting.exit_status, Some(129));
    }

    #[test]
    fn a_second_signal_abandons_at_once_with_the_first_signals_status() {
        let mut s = draining();
        update(&mut s, Msg::Signal(Signal::Terminate));
        let effects = update(&mut s, Msg::Signal(Signal::Interrupt));
        assert!(
            matches!(
                effects.as_slice(),
                [Effect::AbandonOperation { id: 7, .. }, Effect::Quit]
            ),
            "{effects:?}"
        );
        assert_eq!(s.quitting.exit_status, Some(143));
    }

    #[test]
    fn the_quit_dialog_closes_when_its_operation_ends() {
        let mut s = draining();
        act(&mut s, ActionId::Quit);
        let effects = finish(&mut s, Verdict::Succeeded);
        assert!(s.quit_dialog.is_none());
        assert!(!s.quit, "finishing is not quitting");
        assert!(!effects.contains(&Effect::Quit), "{effects:?}");
        // Now q quits at once.
        assert_eq!(act(&mut s, ActionId::Quit), vec![Effect::Quit]);
    }

    #[test]
    fn a_signal_while_the_quit_dialog_is_open_closes_it_and_winds_down() {
        let mut s = draining();
        act(&mut s, ActionId::Quit);
        let effects = update(&mut s, Msg::Signal(Signal::Terminate));
        assert_eq!(effects, vec![Effect::CancelOperation(7)]);
        assert!(s.quit_dialog.is_none());
    }

    #[test]
    fn an_unfinished_operation_is_announced_and_the_panel_opens() {
        let mut s = state(true);
        update(
            &mut s,
            Msg::UnfinishedFound(vec![UnfinishedOperation {
                operation: "1-1".into(),
                action: "drain-backend".into(),
                target: "web-a1".into(),
                environment: "test".into(),
                user: "alice".into(),
                host: "ops-laptop".into(),
                started: "2026-12-02T05:00:00.000Z".into(),
                last_step: Some("started: wait for web-a1's in-flight requests".into()),
            }]),
        );
        let msg = s
            .message
            .as_ref()
            .map(|m| m.text.clone())
            .unwrap_or_default();
        assert!(msg.starts_with("UNFINISHED"), "{msg}");
        assert!(msg.contains("last step: started: wait for web-a1"), "{msg}");
        assert!(s.operations_panel);
        assert_eq!(s.unfinished.len(), 1);
    }
}
