//! Effects: what the reducer asks the runtime to do. The runtime carries them
//! out through providers and reports back with `Msg`s.

use super::msg::PanelId;
use super::operation::{OpRequest, StepSpec};

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Leave the event loop and restore the terminal.
    Quit,
    /// Poll these sources now instead of waiting for their interval.
    Refresh(Vec<PanelId>),
    /// Carry out a confirmed operation, reporting `OperationStep`s and
    /// `OperationFinished`, and write its audit record.
    RunOperation {
        id: u64,
        request: OpRequest,
        steps: Vec<StepSpec>,
    },
    /// Stop the operation at the next step where stopping is safe.
    CancelOperation(u64),
    /// Suspend the console and hand the terminal to an SSH session.
    OpenSsh { host: String },
    /// Record the host key `host` presented (the operator compared it).
    TrustHost { host: String },
}
