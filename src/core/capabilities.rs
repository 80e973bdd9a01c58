//! What a provider can do, so plans never contain a step it cannot carry out
//! (RDS cannot make a primary read-only or rejoin it; an ALB reports no
//! per-target traffic), and dialogs say what the provider does instead.

use serde::{Deserialize, Serialize};

use super::operation::NodeKind;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The load balancer reports per-target requests, errors and in-flight.
    pub per_target_traffic: bool,
    /// How long a drain takes at most (e.g. an ALB's deregistration delay);
    /// `None`: the guards' `drain_timeout` decides.
    pub drain_takes_ms: Option<i64>,
    /// The provider holds a fleet-wide operation lock.
    pub fleet_lock: bool,
    /// Why the provider cannot deploy a version (roll back) (`None`: it can).
    #[serde(default)]
    pub deploy_unavailable: Option<String>,
    /// How databases are promoted.
    pub database: PromoteCaps,
    /// How caches are promoted.
    pub cache: PromoteCaps,
}

/// What becomes of the old primary when its replica is promoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OldPrimary {
    /// opsdeck can point it at the new primary (a rejoin step).
    Rejoin,
    /// The service makes it a replica of the new primary itself
    /// (ElastiCache).
    Follows,
    /// It stays a standalone primary that still takes writes, and cannot be
    /// made read-only (RDS PromoteReadReplica): the application must be
    /// pointed at the new primary, and the old one retired.
    StaysWritable,
}

/// How one kind of node (database, cache) is promoted on this provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoteCaps {
    /// Why this kind cannot be promoted (`None`: it can).
    #[serde(default)]
    pub unavailable: Option<String>,
    /// The primary can be made read-only before a planned switchover, and
    /// the replica then waited for until it has caught up. Where it cannot,
    /// the application keeps writing, a lag of 0 never comes, and the plan
    /// has neither step: the replica-lag guard is the check.
    pub set_read_only: bool,
    /// What becomes of the old primary.
    pub old_primary: OldPrimary,
    /// How long the new topology may take to show (RDS: minutes); `None`:
    /// the runner's default (2 min).
    pub takes_ms: Option<i64>,
    /// What the service sees while it happens, for the dialog.
    pub downtime: Option<String>,
}

impl PromoteCaps {
    /// A self-hosted MariaDB or Redis: read-only, catch up, rejoin.
    pub fn self_hosted() -> Self {
        Self {
            unavailable: None,
            set_read_only: true,
            old_primary: OldPrimary::Rejoin,
            takes_ms: None,
            downtime: None,
        }
    }
}

impl Capabilities {
    pub fn promote(&self, node: NodeKind) -> &PromoteCaps {
        match node {
            NodeKind::Database => &self.database,
            NodeKind::Cache => &self.cache,
        }
    }
}

impl Default for Capabilities {
    /// What a self-hosted fleet (nginx, MariaDB, Redis over SSH) can do.
    fn default() -> Self {
        Self {
            per_target_traffic: true,
            drain_takes_ms: None,
            fleet_lock: false,
            deploy_unavailable: None,
            database: PromoteCaps::self_hosted(),
            cache: PromoteCaps::self_hosted(),
        }
    }
}
