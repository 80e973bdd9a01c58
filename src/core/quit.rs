//! Quitting while an operation runs, as data: the signals the console heeds,
//! the wind-down in progress (why, until when, with which exit status), and
//! the plain sentence an abandoned operation's audit result carries.

use super::operation::{Operation, StepStatus};
use super::time::Timestamp;

/// How long a signal gives a running operation to wind down (cancel at the
/// next safe point, compensate, write its result) before it is abandoned.
pub const SIGNAL_DEADLINE_MS: i64 = 30_000;

/// The signals that end a session: each winds down the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    Hangup,
    Interrupt,
    Terminate,
}

impl Signal {
    pub fn number(self) -> u8 {
        match self {
            Signal::Hangup => 1,
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Hangup => "SIGHUP",
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The shell's convention: 128 + the signal's number.
    pub fn exit_status(self) -> u8 {
        128 + self.number()
    }
}

/// Why the console is winding down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuitReason {
    /// The operator chose "cancel safely, then quit".
    Operator,
    Signal(Signal),
}

/// A quit waiting for an operation to wind down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingQuit {
    pub reason: QuitReason,
    /// The operation being cancelled.
    pub operation: u64,
    /// When it is abandoned if still running (signals only).
    pub deadline: Option<Timestamp>,
}

/// The session's way out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuitState {
    pub pending: Option<PendingQuit>,
    /// The process's exit status once the loop ends (128+signal after a signal).
    pub exit_status: Option<u8>,
}

impl QuitState {
    /// Whole seconds left before a signal's deadline, if one is set.
    pub fn seconds_left(&self, now: Timestamp) -> Option<i64> {
        let deadline = self.pending.as_ref()?.deadline?;
        Some((deadline.since(now) + 999).max(0) / 1000)
    }
}

/// The verdict text of an operation left behind mid-step:
/// `abandoned: quit at step 2/3 "wait for …"; left: step 1 "drain web-a1 …" done, not undone`.
pub fn abandon_reason(op: &Operation, why: &str) -> String {
    let total = op.steps.len();
    let at = match op.current_step() {
        Some(i) => format!(
            " at step {}/{total} \"{}\"",
            i + 1,
            op.steps[i].spec.label()
        ),
        None => match op
            .steps
            .iter()
            .position(|s| s.status == StepStatus::Pending)
        {
            Some(i) => format!(
                " before step {}/{total} \"{}\"",
                i + 1,
                op.steps[i].spec.label()
            ),
            None => String::new(),
        },
    };
    let mut left: Vec<String> = op
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.status == StepStatus::Done && s.spec.changes_fleet())
        .map(|(i, s)| format!("step {} \"{}\" done, not undone", i + 1, s.spec.label()))
        .collect();
    if let Some(i) = op.current_step()
        && op.steps[i].spec.changes_fleet()
    {
        left.push(format!(
            "step {} \"{}\" may be half done",
            i + 1,
            op.steps[i].spec.label()
        ));
    }
    let left = if left.is_empty() {
        "nothing this operation changed".to_string()
    } else {
        left.join("; ")
    };
    format!("abandoned: {why}{at}; left: {left}")
}
