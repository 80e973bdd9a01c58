//! The simulated Redis pair: a primary whose replication offset grows with writes
//! and a replica that follows it, with promotion.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::core::fleet::{CacheNode, ReplicaRole};
use crate::providers::{PromoteMode, ProviderError};

use super::db_cluster::{PROMOTE_DELAY_MS, REJOIN_MS};

/// Replication stream bytes per second from writes.
const BYTES_PER_SEC: f64 = 18_000.0;
/// A paused primary still sends a PING to replicas every 10 s (a few bytes).
const PING_EVERY_MS: i64 = 10_000;

/// One Redis server.
#[derive(Clone, Debug)]
pub struct CacheServer {
    pub name: &'static str,
    pub az: &'static str,
    pub address: &'static str,
    pub reachable: bool,
    /// Writes refused (`CLIENT PAUSE WRITE` on a primary, `replica-read-only`).
    pub read_only: bool,
    pub rejoin_at_ms: Option<i64>,
}

#[derive(Clone, Copy, Debug)]
struct PendingPromotion {
    replica: usize,
    mode: PromoteMode,
    due_ms: i64,
}

/// A Redis primary and its replica.
#[derive(Clone, Debug)]
pub struct CacheCluster {
    pub servers: [CacheServer; 2],
    pub primary: usize,
    /// `master_repl_offset` of the primary.
    offset: u64,
    /// `slave_repl_offset` of the replica.
    replica_offset: u64,
    /// When the replica last heard from the primary (ms since start).
    last_interaction_ms: i64,
    last_ping_ms: i64,
    carry: f64,
    pending: Option<PendingPromotion>,
}

impl CacheCluster {
    pub fn new(rng: &mut ChaCha8Rng) -> Self {
        let offset = rng.random_range(1_000_000_000..2_000_000_000u64);
        Self {
            servers: [
                CacheServer {
                    name: "cache-primary",
                    az: "ap-northeast-2a",
                    address: "10.0.1.31",
                    reachable: true,
                    read_only: false,
                    rejoin_at_ms: None,
                },
                CacheServer {
                    name: "cache-replica",
                    az: "ap-northeast-2c",
                    address: "10.0.2.31",
                    reachable: true,
                    read_only: true,
                    rejoin_at_ms: None,
                },
            ],
            primary: 0,
            offset,
            replica_offset: offset,
            last_interaction_ms: 0,
            last_ping_ms: 0,
            carry: 0.0,
            pending: None,
        }
    }

    pub fn replica(&self) -> usize {
        1 - self.primary
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.servers.iter().position(|s| s.name == name)
    }

    pub fn step(&mut self, elapsed_ms: i64, dt_ms: i64, rng: &mut ChaCha8Rng) {
        let p = self.primary;
        let r = self.replica();
        if let Some(at) = self.servers[r].rejoin_at_ms
            && elapsed_ms >= at
        {
            // Full resync: the rebuilt replica starts at the primary's offset.
            self.servers[r].reachable = true;
            self.servers[r].rejoin_at_ms = None;
            self.replica_offset = self.offset;
            self.last_interaction_ms = elapsed_ms;
        }
        if self.servers[p].reachable {
            if !self.servers[p].read_only {
                self.carry += BYTES_PER_SEC * dt_ms as f64 / 1000.0 * rng.random_range(0.5..1.5);
            } else if elapsed_ms - self.last_ping_ms >= PING_EVERY_MS {
                self.carry += 14.0;
                self.last_ping_ms = elapsed_ms;
            }
            let whole = self.carry.floor();
            self.carry -= whole;
            self.offset += whole as u64;
        }
        if self.servers[r].reachable && self.servers[p].reachable {
            // The replica applies the stream almost at once, trailing by what the
            // last few milliseconds wrote; with writes paused it reaches the offset.
            let trail = if self.servers[p].read_only {
                0
            } else {
                rng.random_range(0..2_500u64)
            };
            self.replica_offset = self
                .replica_offset
                .max(self.offset.saturating_sub(trail))
                .min(self.offset);
            if self.offset > self.replica_offset
                || rng.random_bool(0.5)
                || self.servers[p].read_only
            {
                self.last_interaction_ms = elapsed_ms;
            }
        }
        self.step_promotion(elapsed_ms);
    }

    fn step_promotion(&mut self, elapsed_ms: i64) {
        let Some(pending) = self.pending else {
            return;
        };
        if elapsed_ms < pending.due_ms {
            return;
        }
        if pending.mode == PromoteMode::Planned && self.replica_offset != self.offset {
            return;
        }
        self.pending = None;
        let new_primary = pending.replica;
        let old_primary = 1 - new_primary;
        // `REPLICAOF NO ONE` keeps the replication offset.
        self.offset = self.replica_offset;
        self.primary = new_primary;
        self.servers[new_primary].read_only = false;
        self.servers[old_primary].read_only = true;
        self.last_interaction_ms = elapsed_ms;
        if pending.mode == PromoteMode::Emergency {
            // Same choice as the database: the old primary is fenced and shown as
            // an unreachable replica until rebuilt.
            self.servers[old_primary].reachable = false;
            self.servers[old_primary].rejoin_at_ms = Some(elapsed_ms + REJOIN_MS);
        }
    }

    pub fn set_read_only(&mut self, index: usize, read_only: bool) -> Result<(), ProviderError> {
        let server = &mut self.servers[index];
        if !server.reachable {
            return Err(ProviderError::Unreachable {
                origin: server.name.to_string(),
                detail: "connection refused".to_string(),
            });
        }
        server.read_only = read_only;
        Ok(())
    }

    pub fn promote(
        &mut self,
        index: usize,
        mode: PromoteMode,
        at_ms: i64,
    ) -> Result<(), ProviderError> {
        let name = self.servers[index].name;
        if index == self.primary {
            return Err(ProviderError::Failed {
                origin: name.to_string(),
                detail: "already the primary".to_string(),
            });
        }
        if !self.servers[index].reachable {
            return Err(ProviderError::Unreachable {
                origin: name.to_string(),
                detail: "connection refused".to_string(),
            });
        }
        if self.pending.is_some() {
            return Err(ProviderError::Failed {
                origin: name.to_string(),
                detail: "a promotion is already in progress".to_string(),
            });
        }
        if mode == PromoteMode::Planned && self.servers[self.primary].reachable {
            self.servers[self.primary].read_only = true;
        }
        self.pending = Some(PendingPromotion {
            replica: index,
            mode,
            due_ms: at_ms + PROMOTE_DELAY_MS,
        });
        Ok(())
    }

    /// Replica link status: up when both ends are reachable.
    pub fn link_up(&self) -> bool {
        self.servers[0].reachable && self.servers[1].reachable
    }

    /// Seconds since the replica last heard from the primary.
    pub fn lag_seconds(&self, elapsed_ms: i64) -> Option<f64> {
        self.link_up()
            .then(|| ((elapsed_ms - self.last_interaction_ms).max(0) / 1000) as f64)
    }

    /// Both servers as observed, in fixed order (cache-primary, cache-replica).
    pub fn observe(&self, elapsed_ms: i64) -> Vec<CacheNode> {
        self.servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let primary_name = self.servers[self.primary].name.to_string();
                if i == self.primary {
                    CacheNode {
                        lag_sampled_at: None,
                        name: s.name.to_string(),
                        az: s.az.to_string(),
                        role: ReplicaRole::Primary,
                        reachable: s.reachable,
                        link_up: None,
                        offset: Some(self.offset),
                        lag_bytes: None,
                        lag_seconds: None,
                        source: None,
                    }
                } else if !s.reachable {
                    CacheNode {
                        lag_sampled_at: None,
                        name: s.name.to_string(),
                        az: s.az.to_string(),
                        role: ReplicaRole::Replica,
                        reachable: false,
                        link_up: None,
                        offset: None,
                        lag_bytes: None,
                        lag_seconds: None,
                        source: Some(primary_name),
                    }
                } else {
                    CacheNode {
                        lag_sampled_at: None,
                        name: s.name.to_string(),
                        az: s.az.to_string(),
                        role: ReplicaRole::Replica,
                        reachable: true,
                        link_up: Some(self.link_up()),
                        offset: Some(self.replica_offset),
                        lag_bytes: Some(self.offset.saturating_sub(self.replica_offset)),
                        lag_seconds: self.lag_seconds(elapsed_ms),
                        source: Some(primary_name),
                    }
                }
            })
            .collect()
    }
}
