//! What the keys typed so far mean in the keymap.

use super::action::ActionId;

/// Outcome of feeding keys to the keymap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyResult {
    Matched(ActionId),
    /// The keys so far start a longer sequence.
    Pending,
    NotFound,
}
