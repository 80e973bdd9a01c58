//! `OpJob`: one operation to run: what was asked, its planned steps, the
//! guards' policy it is checked against again, and its cancel flag.

use crate::core::guard::OpsPolicy;
use crate::core::operation::{OpRequest, StepSpec};

use super::cancel_flag::CancelFlag;

pub struct OpJob {
    /// The console's operation id (messages carry it).
    pub id: u64,
    pub request: OpRequest,
    pub plan: Vec<StepSpec>,
    /// Guards run again with this policy before every step that changes
    /// the fleet.
    pub policy: OpsPolicy,
    pub cancel: CancelFlag,
}
