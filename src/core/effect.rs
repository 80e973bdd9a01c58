//! Effects: what the reducer asks the runtime to do. The runtime carries them
//! out through providers and reports back with `Msg`s.

use super::lock::LockHolder;
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
    /// Stop the running operation where it is, and write its audit result
    /// with outcome `Failed(reason)` (quit and leave it, a signal's deadline).
    AbandonOperation { id: u64, reason: String },
    /// Break this stale fleet lock (typed confirmation given).
    BreakLock { holder: LockHolder },
}
