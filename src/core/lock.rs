//! The fleet-wide operation lock as data: who holds it, on what, since when.
//! Providers keep the lock where the fleet is (self-hosted: a `flock`ed file
//! on the load-balancer host; AWS: tags); every console shows its holder.

use serde::{Deserialize, Serialize};

use super::time::Timestamp;

/// Who holds (or asks for) the fleet-wide operation lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// OS user of the operator.
    pub operator: String,
    /// Host name of the machine the console or `opsdeck do` runs on.
    pub machine: String,
    pub pid: u32,
    /// The operation, e.g. `drain-backend web-a1`.
    pub operation: String,
    pub environment: String,
    pub started_at: Timestamp,
}

impl LockHolder {
    /// "alice@laptop (pid 4242): drain-backend web-a1, for 2m 05s".
    pub fn describe(&self, now: Timestamp) -> String {
        let secs = (now.since(self.started_at) / 1000).max(0);
        let age = if secs >= 60 {
            format!("{}m {:02}s", secs / 60, secs % 60)
        } else {
            format!("{secs}s")
        };
        format!(
            "{}@{} (pid {}): {}, for {age}",
            self.operator, self.machine, self.pid, self.operation
        )
    }

    /// Whether `other` is this same holder (same machine, pid and start).
    pub fn same_as(&self, other: &LockHolder) -> bool {
        self.machine == other.machine
            && self.pid == other.pid
            && self.started_at == other.started_at
    }
}
