//! Deciding whether an operation may start: read-only mode, one operation at a
//! time, the guards, typed confirmation, and the plan it then runs. The TUI's
//! reducer (when the dialog opens and again at confirm) and `opsdeck do` call
//! the same [`decide`], so they cannot disagree. The steps come from
//! `core::plan`, the guards from `core::guard`.

pub mod confirmation;
pub mod decision;

pub use confirmation::Confirmation;
pub use decision::{Decision, decide, recheck};
#[cfg(test)]
mod tests;
