//! Effects: what the reducer asks the runtime to do. The runtime carries them
//! out through providers and reports back with `Msg`s.

use super::msg::PanelId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Leave the event loop and restore the terminal.
    Quit,
    /// Poll these sources now instead of waiting for their interval.
    Refresh(Vec<PanelId>),
}
