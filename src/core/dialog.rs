//! The dialogs: the confirmation of a mutating operation (focus starts on
//! Cancel; a guard's refusal or an emergency needs the target's name typed to
//! go on), the choice offered by quitting while an operation runs (focus
//! starts on "keep watching"), and the typed confirmation that breaks a stale
//! fleet lock.

use super::guard::Refusal;
use super::lock::LockHolder;
use super::operation::OpRequest;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogButton {
    Cancel,
    Confirm,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dialog {
    pub request: OpRequest,
    pub title: String,
    /// The preview: before and after, data at risk.
    pub lines: Vec<String>,
    /// Why a guard refuses; confirming then overrides it.
    pub refusal: Option<Refusal>,
    /// When set, confirming needs exactly this text typed (the target's name).
    pub require_typed: Option<String>,
    pub typed: String,
    pub focus: DialogButton,
}

impl Dialog {
    /// Whether Confirm would go through now.
    pub fn can_confirm(&self) -> bool {
        self.require_typed.as_ref().is_none_or(|t| *t == self.typed)
    }
}

/// The choices of the quit dialog, safest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuitChoice {
    /// Close the dialog; the operation goes on and the console stays.
    KeepWatching,
    /// Cancel at the next safe point, compensate, write the result, then quit.
    CancelThenQuit,
    /// Quit now: the operation is abandoned mid-step and recorded as such.
    QuitAndLeave,
}

impl QuitChoice {
    pub const ALL: [QuitChoice; 3] = [
        QuitChoice::KeepWatching,
        QuitChoice::CancelThenQuit,
        QuitChoice::QuitAndLeave,
    ];

    pub fn label(self) -> &'static str {
        match self {
            QuitChoice::KeepWatching => "Keep watching",
            QuitChoice::CancelThenQuit => "Cancel safely, then quit",
            QuitChoice::QuitAndLeave => "Quit and leave it…",
        }
    }

    pub fn next(self) -> QuitChoice {
        let i = QuitChoice::ALL.iter().position(|c| *c == self).unwrap_or(0);
        QuitChoice::ALL[(i + 1) % QuitChoice::ALL.len()]
    }

    pub fn prev(self) -> QuitChoice {
        let i = QuitChoice::ALL.iter().position(|c| *c == self).unwrap_or(0);
        QuitChoice::ALL[(i + QuitChoice::ALL.len() - 1) % QuitChoice::ALL.len()]
    }
}

/// Quit was asked for while an operation runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuitDialog {
    pub operation: u64,
    /// The operation, e.g. `drain-backend web-a1`.
    pub summary: String,
    /// What it is doing now: `step 2/3: wait for web-a1's in-flight requests…`.
    pub doing: String,
    /// What abandoning it would leave, in the audit result's own words.
    pub abandon_reason: String,
    pub focus: QuitChoice,
}

/// Breaking a stale fleet lock: the holder's `operator@machine` must be typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockBreakDialog {
    pub holder: LockHolder,
    pub typed: String,
}

impl LockBreakDialog {
    pub fn expected(&self) -> String {
        format!("{}@{}", self.holder.operator, self.holder.machine)
    }

    pub fn can_confirm(&self) -> bool {
        self.typed == self.expected()
    }
}
