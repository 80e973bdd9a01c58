//! The confirmation dialog of a mutating operation. Focus starts on Cancel; a
//! guard's refusal or an emergency needs the target's name typed to go on.

use super::guard::Refusal;
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
