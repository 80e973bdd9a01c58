//! The operation runner: carries out an operation's steps through the
//! providers under the fleet-wide lock, checks guards again on fresh
//! observations before every step that changes the fleet, reports progress
//! without ever blocking on the screen, and on any failure or cancel winds
//! down to a state it states exactly (never two writable primaries).

mod cancel_flag;
mod fleet_io;
mod op_context;
mod op_job;
mod progress;
mod run_operation;
mod runner;
mod step_error;
mod wind_down;

pub use cancel_flag::CancelFlag;
pub use op_context::OpContext;
pub use op_job::OpJob;
pub use progress::Progress;
pub use run_operation::run_operation;
