//! What this console knows of the fleet-wide operation lock: the latest
//! holder the provider reported (with whether it is stale or this session's
//! own), when that was observed, the last error, and the typed confirmation
//! that breaks a stale lock.

use super::dialog::LockBreakDialog;
use super::lock::LockHolder;
use super::time::Timestamp;

/// One observation of the lock, judged by the runtime (which can see
/// whether a process on this machine is alive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockReport {
    pub holder: LockHolder,
    /// The holder is gone (the provider says so, or it ran on this machine
    /// and its pid is not alive): the lock may be broken.
    pub stale: bool,
    /// This session holds it (its own running operation).
    pub ours: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockStatus {
    /// `None` when nobody holds the lock (or it was never observed).
    pub current: Option<LockReport>,
    pub observed_at: Option<Timestamp>,
    /// The last failure to read the lock, cleared by the next success.
    pub error: Option<String>,
    /// Breaking a stale lock, waiting for the holder's name to be typed.
    pub break_dialog: Option<LockBreakDialog>,
}

impl LockStatus {
    /// The holder when it is someone else (another console or `opsdeck do`).
    pub fn other_holder(&self) -> Option<&LockReport> {
        self.current.as_ref().filter(|r| !r.ours)
    }
}
