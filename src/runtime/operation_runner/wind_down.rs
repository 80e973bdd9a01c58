//! The wind-down of a stopped operation (failure, cancel, refusal). The one
//! rule for a switchover: never two writable primaries. Before a promotion
//! was issued, the old primary is made writable again. Once it was issued
//! (even if the call errored: it may have half happened), the old primary is
//! made writable again only when a fresh observation positively shows the
//! replica still a read-only replica of it; otherwise the old primary is
//! fenced (made or left read-only), and when nothing can be observed it is
//! fenced and the verdict says so. A promotion the provider accepted is
//! watched for a while first: it may still complete.

use std::time::Duration;

use crate::core::operation::{NodeKind, OpKind};

use super::runner::Runner;
use super::step_error::StepError;
use crate::core::assess::node_view::{self as topology, NodeView};

/// How long the wind-down watches a promotion the provider accepted before
/// it gives the old primary its writes back.
const SETTLE_MS: i64 = 10_000;
const SETTLE_POLL: Duration = Duration::from_millis(500);

impl Runner<'_> {
    pub(super) async fn wind_down(&mut self) {
        if let OpKind::Promote {
            replica,
            primary,
            node,
            ..
        } = &self.request.kind
        {
            let (replica, primary, node) = (replica.clone(), primary.clone(), *node);
            self.wind_down_switchover(&replica, &primary, node).await;
        }
        // Pool operations undo nothing on their own: a drained backend stays
        // out (it may be the broken one); the verdict names it and the pool.
    }

    async fn wind_down_switchover(&mut self, replica: &str, primary: &str, node: NodeKind) {
        if !self.promote_issued {
            self.restore_writes("the switchover did not happen").await;
            return;
        }
        // A promotion the service runs on its own (RDS, ElastiCache) cannot
        // be called back once accepted: say that it goes on, and what the
        // old primary is, instead of waiting or fencing what cannot be.
        if let Some(caps) = self.promote_caps().filter(|c| c.takes_ms.is_some())
            && self.promote_accepted
            && !caps.set_read_only
        {
            let now = match self.io.replication().await {
                Ok(rep) => {
                    let views = topology::nodes(&rep, node, &self.made_read_only);
                    topology::describe(&views, &[replica, primary])
                }
                Err(StepError::Failed(e)) => format!("unknown ({e})"),
                Err(StepError::Cancelled) => "unknown".into(),
            };
            let old = if caps.old_primary == crate::core::capabilities::OldPrimary::StaysWritable {
                format!(
                    "{primary} stays writable: point the application at {replica} once it shows as primary, then retire {primary}"
                )
            } else {
                format!("the service makes {primary} a replica of {replica}")
            };
            let said = format!(
                "the service accepted the promotion of {replica} and it cannot be called back: it goes on ({now}); {old}"
            );
            self.wound_down.push(said.clone());
            self.note(said);
            return;
        }
        match self.io.replication().await {
            Ok(rep) => {
                let views = topology::nodes(&rep, node, &self.made_read_only);
                if !topology::still_replica_of(&views, replica, primary) {
                    self.fence(replica, primary, Some(&views)).await;
                } else if !self.promote_accepted {
                    self.restore_writes(&format!(
                        "the promotion did not take effect: {replica} is still a read-only replica of {primary}"
                    ))
                    .await;
                } else {
                    self.settle(replica, primary, node).await;
                }
            }
            Err(StepError::Failed(e)) => {
                self.wound_down.push(format!(
                    "replication could not be observed after the promotion was issued ({e})"
                ));
                self.fence(replica, primary, None).await;
            }
            Err(StepError::Cancelled) => self.fence(replica, primary, None).await,
        }
    }

    /// A promotion the provider accepted may still be under way (the demo
    /// and Redis FAILOVER promote asynchronously): the old primary stays
    /// read-only while the topology is watched for `SETTLE_MS`; only if the
    /// replica is then still a read-only replica of it does it get its
    /// writes back.
    async fn settle(&mut self, replica: &str, primary: &str, node: NodeKind) {
        let start = self.io.now();
        loop {
            let waited = self.io.now().since(start);
            if waited >= SETTLE_MS {
                self.restore_writes(&format!(
                    "the promotion did not take effect: {replica} is still a read-only replica of {primary} {}s after the promotion was accepted",
                    SETTLE_MS / 1000
                ))
                .await;
                return;
            }
            tokio::time::sleep(SETTLE_POLL).await;
            match self.io.replication().await {
                Ok(rep) => {
                    let views = topology::nodes(&rep, node, &self.made_read_only);
                    if !topology::still_replica_of(&views, replica, primary) {
                        let said = format!(
                            "the accepted promotion of {replica} took effect during the wind-down"
                        );
                        self.wound_down.push(said.clone());
                        self.note(said);
                        self.fence(replica, primary, Some(&views)).await;
                        return;
                    }
                }
                Err(StepError::Failed(e)) => {
                    self.wound_down.push(format!(
                        "replication could not be observed after the promotion was accepted ({e})"
                    ));
                    self.fence(replica, primary, None).await;
                    return;
                }
                Err(StepError::Cancelled) => {}
            }
        }
    }

    /// Makes every node this operation made read-only writable again.
    async fn restore_writes(&mut self, why: &str) {
        for n in self.made_read_only.clone() {
            self.audit_step(format!("wind-down: make {n} writable"));
            let now = self.io.now();
            let op = self.io.ctx.operate.clone();
            match self.io.call(op.set_read_only(&n, false, now)).await {
                Ok(()) => {
                    self.made_read_only.retain(|x| *x != n);
                    let said = format!("{n} made writable again ({why})");
                    self.wound_down.push(said.clone());
                    self.note(said);
                }
                Err(StepError::Failed(e)) => {
                    let said =
                        format!("{n} may still be READ-ONLY: making it writable failed: {e}");
                    self.wound_down.push(said.clone());
                    self.note(said);
                }
                Err(StepError::Cancelled) => {}
            }
        }
    }

    /// Leaves or makes the old primary read-only: the replica may be (or
    /// become) a primary. `views` is a fresh observation, if there is one.
    async fn fence(&mut self, replica: &str, primary: &str, views: Option<&[NodeView]>) {
        let observed = views.and_then(|v| topology::view(v, primary));
        let writable = match observed {
            Some(v) => v.writable,
            // Not observed: read-only only if this operation made it so.
            None => !self.made_read_only.iter().any(|n| n == primary),
        };
        if !writable {
            if self.made_read_only.iter().any(|n| n == primary)
                && observed.is_none_or(|v| v.role == crate::core::fleet::ReplicaRole::Primary)
            {
                let said =
                    format!("{primary} stays read-only (fenced): {replica} may have been promoted");
                self.wound_down.push(said.clone());
                self.note(said);
            }
            return;
        }
        if self.promote_caps().is_some_and(|c| !c.set_read_only) {
            let said = format!(
                "{primary} could not be fenced: the service cannot make it read-only, and it still takes writes; {replica} may have been promoted: keep the application writing to one of them only"
            );
            self.wound_down.push(said.clone());
            self.note(said);
            return;
        }
        self.audit_step(format!("wind-down: fence {primary} (make it read-only)"));
        let now = self.io.now();
        let op = self.io.ctx.operate.clone();
        if !self.made_read_only.iter().any(|n| n == primary) {
            self.made_read_only.push(primary.to_string());
        }
        let said = match self.io.call(op.set_read_only(primary, true, now)).await {
            Ok(()) => {
                format!("{primary} made read-only (fenced): {replica} may have been promoted")
            }
            Err(StepError::Failed(e)) => {
                self.made_read_only.retain(|n| n != primary);
                format!("{primary} could NOT be fenced (made read-only): {e}")
            }
            Err(StepError::Cancelled) => String::new(),
        };
        self.wound_down.push(said.clone());
        self.note(said);
    }

    /// The topology as a fresh observation shows it, or what is known when
    /// it cannot be observed.
    pub(super) async fn topology_now(
        &self,
        replica: &str,
        primary: &str,
        node: NodeKind,
    ) -> String {
        match self.io.replication().await {
            Ok(rep) => {
                let views = topology::nodes(&rep, node, &self.made_read_only);
                topology::describe(&views, &[replica, primary])
            }
            Err(StepError::Failed(e)) => {
                let known = if self.made_read_only.iter().any(|n| n == primary) {
                    format!("{primary} was left read-only by this operation")
                } else {
                    format!("{primary}'s state is unknown")
                };
                format!(
                    "unknown, replication could not be observed ({e}); {known}; check before sending writes anywhere"
                )
            }
            Err(StepError::Cancelled) => "unknown".to_string(),
        }
    }
}
