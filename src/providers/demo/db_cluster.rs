//! The simulated MySQL pair: a primary taking writes and a replica applying them,
//! with GTID positions, replication threads, lag and promotion.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::core::fleet::{DbNode, ReplicaRole, ThreadState};
use crate::providers::{PromoteMode, ProviderError};

use super::incident::LagEffect;

/// Simulated delay before a promotion takes effect (ms).
pub const PROMOTE_DELAY_MS: i64 = 2_000;
/// After an emergency promotion the old primary is fenced (unreachable); it is
/// rebuilt as a replica of the new primary after this long (ms), so the demo
/// keeps a working pair.
pub const REJOIN_MS: i64 = 120_000;
/// Transactions per second the primary writes.
const WRITES_PER_SEC: f64 = 35.0;
/// How fast a lagging replica catches up once the cause is gone (lag s per s).
const CATCH_UP_PER_SEC: f64 = 4.0;

/// One MySQL server.
#[derive(Clone, Debug)]
pub struct DbServer {
    pub name: &'static str,
    pub az: &'static str,
    pub address: &'static str,
    pub server_id: u32,
    pub reachable: bool,
    pub read_only: bool,
    /// When an unreachable ex-primary comes back as a replica.
    pub rejoin_at_ms: Option<i64>,
}

/// A promotion issued and not yet done.
#[derive(Clone, Copy, Debug)]
struct PendingPromotion {
    replica: usize,
    mode: PromoteMode,
    due_ms: i64,
}

/// A primary and its replica. Index `primary` is the primary; the other server
/// replicates from it.
#[derive(Clone, Debug)]
pub struct DbCluster {
    pub servers: [DbServer; 2],
    pub primary: usize,
    /// Server id written into new GTIDs (the primary's).
    gtid_server: u32,
    /// Primary's executed GTID sequence number.
    seq: u64,
    /// Replica's received and applied sequence numbers.
    received: u64,
    executed: u64,
    /// Replica lag, seconds (internal, continuous).
    lag: f64,
    sql_stopped: bool,
    last_error: Option<String>,
    write_carry: f64,
    pending: Option<PendingPromotion>,
}

impl DbCluster {
    pub fn new(rng: &mut ChaCha8Rng) -> Self {
        let seq = rng.random_range(120_000..180_000u64);
        Self {
            servers: [
                DbServer {
                    name: "db-primary",
                    az: "ap-northeast-2a",
                    address: "10.0.1.21",
                    server_id: 1,
                    reachable: true,
                    read_only: false,
                    rejoin_at_ms: None,
                },
                DbServer {
                    name: "db-replica",
                    az: "ap-northeast-2c",
                    address: "10.0.2.21",
                    server_id: 2,
                    reachable: true,
                    read_only: true,
                    rejoin_at_ms: None,
                },
            ],
            primary: 0,
            gtid_server: 1,
            seq,
            received: seq,
            executed: seq,
            lag: 0.0,
            sql_stopped: false,
            last_error: None,
            write_carry: 0.0,
            pending: None,
        }
    }

    pub fn replica(&self) -> usize {
        1 - self.primary
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.servers.iter().position(|s| s.name == name)
    }

    /// Replica lag as `Seconds_Behind_Master` reports it: whole seconds, or
    /// unknown while the SQL thread is stopped or the replica is unreachable.
    pub fn lag_seconds(&self) -> Option<f64> {
        if self.sql_stopped || !self.servers[self.replica()].reachable {
            None
        } else {
            Some(self.lag.floor())
        }
    }

    pub fn sql_stopped(&self) -> bool {
        self.sql_stopped
    }

    pub fn primary_read_only(&self) -> bool {
        self.servers[self.primary].read_only
    }

    /// Advances by `dt_ms`; `incident` is the lag incident's effect, if one runs.
    pub fn step(
        &mut self,
        elapsed_ms: i64,
        dt_ms: i64,
        incident: Option<LagEffect>,
        rng: &mut ChaCha8Rng,
    ) {
        let dt = dt_ms as f64 / 1000.0;
        let p = self.primary;
        let r = self.replica();

        if let Some(at) = self.servers[r].rejoin_at_ms
            && elapsed_ms >= at
        {
            // Rebuilt from a backup: it starts a little behind and catches up.
            self.servers[r].reachable = true;
            self.servers[r].rejoin_at_ms = None;
            self.received = self.seq;
            self.executed = self.seq.saturating_sub(300);
            self.lag = 12.0;
            self.sql_stopped = false;
            self.last_error = None;
        }

        let writing = self.servers[p].reachable && !self.servers[p].read_only;
        if writing {
            self.write_carry += WRITES_PER_SEC * dt * rng.random_range(0.6..1.4);
            let whole = self.write_carry.floor();
            self.write_carry -= whole;
            self.seq += whole as u64;
        }
        if !self.servers[r].reachable {
            return;
        }
        self.received = self.seq;

        match incident.filter(|_| writing) {
            // The incident sets the lag; a stopped SQL thread applies nothing.
            Some(effect) => {
                self.lag = effect.lag_seconds.max(0.0);
                if effect.sql_stopped && !self.sql_stopped {
                    self.last_error = Some(
                        "Error 'Lock wait timeout exceeded; try restarting transaction' \
                         on query. Default database: 'shop'"
                            .to_string(),
                    );
                }
                self.sql_stopped = effect.sql_stopped;
            }
            None => {
                // Without a cause the replica catches up; once caught up it wobbles
                // between 0 and 1 s like a healthy replica under write load. With
                // writes stopped it reaches exactly zero.
                self.sql_stopped = false;
                self.last_error = None;
                if self.lag > 1.0 {
                    self.lag = (self.lag - CATCH_UP_PER_SEC * dt).max(0.0);
                } else if writing {
                    self.lag = if rng.random_bool(0.15) {
                        rng.random_range(0.0..1.6)
                    } else {
                        rng.random_range(0.0..0.4)
                    };
                } else {
                    self.lag = 0.0;
                }
            }
        }

        if !self.sql_stopped {
            let behind = if self.lag < 1.0 && !writing {
                0
            } else {
                (self.lag * WRITES_PER_SEC) as u64
            };
            let target = self.received.saturating_sub(behind);
            self.executed = self.executed.max(target).min(self.received);
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
        let caught_up = !self.sql_stopped && self.executed == self.received && self.lag < 1.0;
        if pending.mode == PromoteMode::Planned && !caught_up {
            return;
        }
        self.pending = None;
        let new_primary = pending.replica;
        let old_primary = 1 - new_primary;
        // The new primary continues from what it applied; in an emergency whatever
        // it had received but not applied is lost with the old primary.
        self.seq = self.executed;
        self.received = self.executed;
        self.gtid_server = self.servers[new_primary].server_id;
        self.primary = new_primary;
        self.servers[new_primary].read_only = false;
        self.servers[old_primary].read_only = true;
        self.lag = 0.0;
        self.sql_stopped = false;
        self.last_error = None;
        if pending.mode == PromoteMode::Emergency {
            // Emergency: the old primary is treated as gone. It is shown as an
            // unreachable replica (fenced, so there is never a second writable
            // primary) until it is rebuilt after `REJOIN_MS`.
            self.servers[old_primary].reachable = false;
            self.servers[old_primary].rejoin_at_ms = Some(elapsed_ms + REJOIN_MS);
        }
    }

    /// Sets `read_only` on a server. On the primary this stops writes.
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

    /// Issues a promotion of `index`; it takes effect after `PROMOTE_DELAY_MS`
    /// (Planned: also only once the replica has caught up, with the primary made
    /// read-only at once so it can).
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

    fn gtid(&self, seq: u64) -> String {
        format!("0-{}-{}", self.gtid_server, seq)
    }

    /// Both servers as observed, in fixed order (db-primary, db-replica).
    pub fn observe(&self) -> Vec<DbNode> {
        self.servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i == self.primary {
                    DbNode {
                        status: None,
                        lag_sampled_at: None,
                        name: s.name.to_string(),
                        az: s.az.to_string(),
                        role: ReplicaRole::Primary,
                        reachable: s.reachable,
                        read_only: s.read_only,
                        lag_seconds: None,
                        // A primary has no replication threads running.
                        io_thread: ThreadState::Stopped,
                        sql_thread: ThreadState::Stopped,
                        source: None,
                        gtid_executed: Some(self.gtid(self.seq)),
                        gtid_received: None,
                        last_error: None,
                    }
                } else if !s.reachable {
                    DbNode {
                        status: None,
                        lag_sampled_at: None,
                        name: s.name.to_string(),
                        az: s.az.to_string(),
                        role: ReplicaRole::Replica,
                        reachable: false,
                        read_only: s.read_only,
                        lag_seconds: None,
                        io_thread: ThreadState::Unknown,
                        sql_thread: ThreadState::Unknown,
                        source: Some(self.servers[self.primary].name.to_string()),
                        gtid_executed: None,
                        gtid_received: None,
                        last_error: Some(
                            "fenced after emergency promotion; awaiting rebuild".to_string(),
                        ),
                    }
                } else {
                    DbNode {
                        status: None,
                        lag_sampled_at: None,
                        name: s.name.to_string(),
                        az: s.az.to_string(),
                        role: ReplicaRole::Replica,
                        reachable: true,
                        read_only: s.read_only,
                        lag_seconds: self.lag_seconds(),
                        io_thread: if self.servers[self.primary].reachable {
                            ThreadState::Running
                        } else {
                            ThreadState::Connecting
                        },
                        sql_thread: if self.sql_stopped {
                            ThreadState::Stopped
                        } else {
                            ThreadState::Running
                        },
                        source: Some(self.servers[self.primary].name.to_string()),
                        gtid_executed: Some(self.gtid(self.executed)),
                        gtid_received: Some(self.gtid(self.received)),
                        last_error: self.last_error.clone(),
                    }
                }
            })
            .collect()
    }
}
