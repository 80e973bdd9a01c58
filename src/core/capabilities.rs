//! What a provider can do, so plans never contain a step it cannot carry out
//! (RDS cannot make a primary read-only or rejoin it; an ALB reports no
//! per-target traffic).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The primary can be made read-only before a planned switchover.
    pub set_read_only: bool,
    /// The old primary can be pointed at the new one as a replica.
    pub rejoin: bool,
    /// The load balancer reports per-target requests, errors and in-flight.
    pub per_target_traffic: bool,
    /// How long a drain takes at most (e.g. an ALB's deregistration delay);
    /// `None`: the guards' `drain_timeout` decides.
    pub drain_takes_ms: Option<i64>,
    /// The provider holds a fleet-wide operation lock.
    pub fleet_lock: bool,
    /// Why the provider cannot promote a replica yet (`None`: it can).
    #[serde(default)]
    pub promote_unavailable: Option<String>,
    /// Why the provider cannot deploy a version (roll back) yet.
    #[serde(default)]
    pub deploy_unavailable: Option<String>,
}

impl Default for Capabilities {
    /// What a self-hosted fleet (nginx, MariaDB, Redis over SSH) can do.
    fn default() -> Self {
        Self {
            set_read_only: true,
            rejoin: true,
            per_target_traffic: true,
            drain_takes_ms: None,
            fleet_lock: false,
            promote_unavailable: None,
            deploy_unavailable: None,
        }
    }
}
