//! Operating an AWS fleet: drain and undrain through the ALB's target
//! groups (DeregisterTargets / RegisterTargets, the target's state checked
//! first), promotion of an RDS read replica (PromoteReadReplica) or of an
//! ElastiCache replica (ModifyReplicationGroup's PrimaryClusterId, or
//! TestFailover where automatic failover is on), and the fleet-wide lock as a
//! tag on the first target group. Only a session that is not read-only has
//! the write clients these use.
//!
//! Rollback uses the same waves as a self-hosted fleet (drain through the
//! ALB, deploy over SSH through the bastion, wait healthy, register, verify
//! serving): see `aws_deploys.rs`. Without `[aws.deploys]` and `[aws.ssh]`
//! the capabilities say so and the decision refuses it before anything is
//! sent.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{Tag, TargetDescription};

use crate::core::Timestamp;
use crate::core::capabilities::{Capabilities, OldPrimary, PromoteCaps};
use crate::core::lock::LockHolder;
use crate::providers::{LockError, OperateProvider, PromoteMode, ProviderError};

use super::aws_error::origin;
use super::aws_provider::AwsProvider;
use super::lock_tag::{self, LOCK_TAG};

/// Slack over the target group's deregistration delay before a drain wait
/// gives up (the API lists a target a little after its delay ends).
const DRAIN_SLACK_MS: i64 = 30_000;
/// How long a lock write settles before it is read back.
const LOCK_SETTLE_MS: u64 = 700;
/// How long an RDS promotion may take to show (AWS: "several minutes"; a
/// busy instance with a long backlog takes longer).
const RDS_PROMOTE_TAKES_MS: i64 = 30 * 60_000;
/// How long an ElastiCache primary change may take to show.
const CACHE_PROMOTE_TAKES_MS: i64 = 10 * 60_000;

impl AwsProvider {
    pub(super) fn aws_capabilities(&self) -> Capabilities {
        let delay_ms = self.longest_delay_s().map(|s| i64::from(s) * 1000);
        let none = |what: &str| Some(format!("no {what} is configured in this environment"));
        Capabilities {
            // The ALB reports traffic per AZ, not per target.
            per_target_traffic: false,
            // AWS's default delay (300 s) until the target group's is read.
            drain_takes_ms: Some(delay_ms.unwrap_or(300_000) + DRAIN_SLACK_MS),
            fleet_lock: self.has_target_groups(),
            deploy_unavailable: self.deploy_unavailable(),
            database: PromoteCaps {
                unavailable: self
                    .settings()
                    .rds
                    .as_ref()
                    .is_none_or(|r| r.instances.is_empty())
                    .then(|| none("RDS instance"))
                    .flatten(),
                // RDS cannot make an instance read-only or rejoin it: the
                // promoted replica becomes a standalone instance and the old
                // primary stays one too.
                set_read_only: false,
                old_primary: OldPrimary::StaysWritable,
                takes_ms: Some(RDS_PROMOTE_TAKES_MS),
                downtime: Some(
                    "RDS reboots the replica to promote it (typically 1 to 5 min); it takes no writes until then, and the application must then be pointed at it."
                        .into(),
                ),
            },
            cache: PromoteCaps {
                unavailable: self
                    .settings()
                    .elasticache
                    .as_ref()
                    .is_none_or(|r| r.replication_groups.is_empty())
                    .then(|| none("ElastiCache replication group"))
                    .flatten(),
                set_read_only: false,
                // ElastiCache makes the old primary a replica of the new one.
                old_primary: OldPrimary::Follows,
                takes_ms: Some(CACHE_PROMOTE_TAKES_MS),
                downtime: Some(
                    "ElastiCache moves the primary endpoint to the replica: writes fail for seconds (up to about a minute)."
                        .into(),
                ),
            },
        }
    }

    fn write(&self) -> Result<&aws_sdk_elasticloadbalancingv2::Client, ProviderError> {
        self.clients()
            .elbv2_write
            .as_ref()
            .ok_or_else(|| read_only_refusal("elbv2"))
    }

    /// The lock's target group (the first configured one, as last observed).
    async fn lock_arn(&self, now: Timestamp) -> Result<String, ProviderError> {
        if let Some(arn) = self.target_group_arns().into_iter().next() {
            return Ok(arn);
        }
        // Not observed yet (a fresh `opsdeck do`): one observation finds it.
        self.hosts_for_operation(now).await?;
        self.target_group_arns()
            .into_iter()
            .next()
            .ok_or_else(|| ProviderError::Failed {
                origin: origin("elbv2"),
                detail: "no configured target group was found: nowhere to hold the lock".into(),
            })
    }

    async fn read_lock(&self, arn: &str) -> Result<Option<LockHolder>, ProviderError> {
        let out = self
            .clients()
            .elbv2
            .describe_tags()
            .resource_arns(arn)
            .send()
            .await
            .map_err(|e| self.clients().error("elbv2", "DescribeTags", &e))?;
        Ok(out
            .tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .find(|t| t.key() == Some(LOCK_TAG))
            .and_then(|t| t.value())
            .and_then(lock_tag::decode))
    }

    async fn remove_lock(&self, arn: &str) -> Result<(), ProviderError> {
        self.write()?
            .remove_tags()
            .resource_arns(arn)
            .tag_keys(LOCK_TAG)
            .send()
            .await
            .map_err(|e| self.clients().error("elbv2", "RemoveTags", &e))?;
        Ok(())
    }

    /// The target groups `backend` is in, with its instance id and port.
    async fn placements(
        &self,
        backend: &str,
        now: Timestamp,
    ) -> Result<(String, Vec<(String, Option<i32>, Option<String>)>), ProviderError> {
        if self.instance_id(backend).is_none() {
            self.hosts_for_operation(now).await?;
        }
        let id = self
            .instance_id(backend)
            .ok_or_else(|| ProviderError::Failed {
                origin: origin("ec2"),
                detail: format!("no instance named {backend} among the configured instances"),
            })?;
        Ok((id.clone(), self.target_placements(&id)))
    }
}

#[async_trait]
impl OperateProvider for AwsProvider {
    async fn drain(&self, backend: &str, now: Timestamp) -> Result<(), ProviderError> {
        let write = self.write()?;
        // Fresh state first: deregister only where it is registered now.
        self.hosts_for_operation(now).await?;
        let (id, groups) = self.placements(backend, now).await?;
        let serving: Vec<_> = groups
            .into_iter()
            .filter(|(_, _, state)| {
                !matches!(
                    state.as_deref(),
                    None | Some("unused" | "draining" | "unhealthy.draining")
                )
            })
            .collect();
        if serving.is_empty() {
            return Err(ProviderError::Failed {
                origin: origin("elbv2"),
                detail: format!("{backend} ({id}) is in no configured target group's pool now"),
            });
        }
        for (arn, port, _) in serving {
            write
                .deregister_targets()
                .target_group_arn(&arn)
                .targets(TargetDescription::builder().id(&id).set_port(port).build())
                .send()
                .await
                .map_err(|e| self.clients().error("elbv2", "DeregisterTargets", &e))?;
        }
        Ok(())
    }

    async fn undrain(&self, backend: &str, now: Timestamp) -> Result<(), ProviderError> {
        let write = self.write()?;
        self.hosts_for_operation(now).await?;
        let (id, groups) = self.placements(backend, now).await?;
        // Where it was registered before (the port kept), else every
        // configured group at its default port.
        let mut targets: Vec<(String, Option<i32>)> = groups
            .iter()
            .filter(|(_, _, state)| {
                !matches!(state.as_deref(), Some("healthy" | "initial" | "unhealthy"))
            })
            .map(|(arn, port, _)| (arn.clone(), *port))
            .collect();
        if groups.is_empty() {
            targets = self
                .target_group_arns()
                .into_iter()
                .map(|a| (a, None))
                .collect();
        }
        if targets.is_empty() {
            // Already in every group's pool: nothing to send.
            return Ok(());
        }
        for (arn, port) in targets {
            write
                .register_targets()
                .target_group_arn(&arn)
                .targets(TargetDescription::builder().id(&id).set_port(port).build())
                .send()
                .await
                .map_err(|e| self.clients().error("elbv2", "RegisterTargets", &e))?;
        }
        Ok(())
    }

    async fn set_read_only(
        &self,
        node: &str,
        _ro: bool,
        _now: Timestamp,
    ) -> Result<(), ProviderError> {
        Err(ProviderError::Refused {
            origin: origin("rds"),
            detail: format!("{node}: RDS and ElastiCache cannot make an instance read-only"),
        })
    }

    async fn promote(
        &self,
        replica: &str,
        _mode: PromoteMode,
        _now: Timestamp,
    ) -> Result<(), ProviderError> {
        // Both modes send the same call; an emergency only skips what a
        // planned switchover checks first (the guards said so already).
        if self.is_rds_instance(replica) {
            self.promote_rds(replica).await
        } else {
            self.promote_cache(replica).await
        }
    }

    async fn rejoin(&self, old: &str, _new: &str, _now: Timestamp) -> Result<(), ProviderError> {
        Err(ProviderError::Refused {
            origin: origin("rds"),
            detail: format!("{old}: RDS cannot rejoin a primary as a replica"),
        })
    }

    async fn deploy_version(
        &self,
        backend: &str,
        version: &str,
        _now: Timestamp,
    ) -> Result<(), ProviderError> {
        self.deploy_release(backend, version).await
    }

    async fn acquire_lock(&self, me: &LockHolder, now: Timestamp) -> Result<(), LockError> {
        let arn = self.lock_arn(now).await.map_err(LockError::Unavailable)?;
        match self.read_lock(&arn).await.map_err(LockError::Unavailable)? {
            Some(h) if !h.same_as(me) => return Err(LockError::Held(h)),
            // Ours already (a nested take by the same process).
            Some(_) => return Ok(()),
            None => {}
        }
        self.write()
            .map_err(LockError::Unavailable)?
            .add_tags()
            .resource_arns(&arn)
            .tags(
                Tag::builder()
                    .key(LOCK_TAG)
                    .value(lock_tag::encode(me))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| LockError::Unavailable(self.clients().error("elbv2", "AddTags", &e)))?;
        tokio::time::sleep(std::time::Duration::from_millis(LOCK_SETTLE_MS)).await;
        match self.read_lock(&arn).await.map_err(LockError::Unavailable)? {
            Some(h) if h.same_as(me) => Ok(()),
            // Another console's write landed after ours: it won, we yield.
            Some(h) => Err(LockError::Held(h)),
            None => Err(LockError::Unavailable(ProviderError::Failed {
                origin: origin("elbv2"),
                detail: "the lock tag was written but is gone on reading it back".into(),
            })),
        }
    }

    async fn release_lock(&self, me: &LockHolder, now: Timestamp) -> Result<(), ProviderError> {
        let arn = self.lock_arn(now).await?;
        match self.read_lock(&arn).await? {
            Some(h) if h.same_as(me) => self.remove_lock(&arn).await,
            // Someone broke it and took it since: theirs now, left alone.
            _ => Ok(()),
        }
    }

    async fn break_lock(&self, stale: &LockHolder, now: Timestamp) -> Result<(), ProviderError> {
        let arn = self.lock_arn(now).await?;
        match self.read_lock(&arn).await? {
            Some(h) if h.same_as(stale) => self.remove_lock(&arn).await,
            _ => Ok(()),
        }
    }
}

impl AwsProvider {
    /// Who holds the lock now (read-only: any console may ask).
    pub(super) async fn lock_holder_now(
        &self,
        now: Timestamp,
    ) -> Result<Option<LockHolder>, ProviderError> {
        let _ = now;
        // Until the first hosts round has found the target groups there is
        // no tag to read (a few hundred ms after start).
        match self.target_group_arns().into_iter().next() {
            Some(arn) => self.read_lock(&arn).await,
            None => Ok(None),
        }
    }
}

impl AwsProvider {
    fn is_rds_instance(&self, name: &str) -> bool {
        self.settings()
            .rds
            .as_ref()
            .is_some_and(|r| r.instances.iter().any(|i| i == name))
    }

    /// PromoteReadReplica, after a fresh look: the instance must still be a
    /// replica, and available (RDS refuses others, and says so less clearly).
    async fn promote_rds(&self, replica: &str) -> Result<(), ProviderError> {
        let write = self
            .clients()
            .rds_write
            .as_ref()
            .ok_or_else(|| read_only_refusal("rds"))?;
        let out = self
            .clients()
            .rds
            .describe_db_instances()
            .db_instance_identifier(replica)
            .send()
            .await
            .map_err(|e| self.clients().error("rds", "DescribeDBInstances", &e))?;
        let db = out
            .db_instances()
            .first()
            .ok_or_else(|| ProviderError::Failed {
                origin: origin("rds"),
                detail: format!("{replica}: no such DB instance"),
            })?;
        if db
            .read_replica_source_db_instance_identifier()
            .is_none_or(str::is_empty)
        {
            return Err(ProviderError::Failed {
                origin: origin("rds"),
                detail: format!("{replica} is not a read replica now (already promoted?)"),
            });
        }
        let status = db.db_instance_status().unwrap_or("unknown");
        if status != "available" {
            return Err(ProviderError::Failed {
                origin: origin("rds"),
                detail: format!("{replica} is {status}: RDS promotes only an available replica"),
            });
        }
        write
            .promote_read_replica()
            .db_instance_identifier(replica)
            .send()
            .await
            .map_err(|e| self.clients().error("rds", "PromoteReadReplica", &e))?;
        Ok(())
    }

    /// A primary change on the node's replication group: TestFailover where
    /// automatic failover is on (AWS refuses a PrimaryClusterId change
    /// then), else ModifyReplicationGroup with PrimaryClusterId, applied now.
    async fn promote_cache(&self, replica: &str) -> Result<(), ProviderError> {
        let write = self
            .clients()
            .elasticache_write
            .as_ref()
            .ok_or_else(|| read_only_refusal("elasticache"))?;
        let groups = self.cache_groups().await?;
        let found = groups.iter().find_map(|g| {
            g.node_groups()
                .iter()
                .find(|ng| {
                    ng.node_group_members()
                        .iter()
                        .any(|m| m.cache_cluster_id() == Some(replica))
                })
                .map(|ng| (g, ng))
        });
        let Some((group, node_group)) = found else {
            return Err(ProviderError::Failed {
                origin: origin("elasticache"),
                detail: format!("{replica} is in no configured replication group"),
            });
        };
        let group_id = group.replication_group_id().unwrap_or_default();
        let members = node_group.node_group_members();
        if members
            .iter()
            .any(|m| m.cache_cluster_id() == Some(replica) && m.current_role() == Some("primary"))
        {
            return Err(ProviderError::Failed {
                origin: origin("elasticache"),
                detail: format!("{replica} is the primary of {group_id} already"),
            });
        }
        use aws_sdk_elasticache::types::AutomaticFailoverStatus as Af;
        let automatic = matches!(group.automatic_failover(), Some(Af::Enabled | Af::Enabling));
        if automatic {
            let replicas = members
                .iter()
                .filter(|m| m.current_role() != Some("primary"))
                .count();
            if replicas > 1 {
                return Err(ProviderError::Refused {
                    origin: origin("elasticache"),
                    detail: format!(
                        "{group_id} has automatic failover on and {replicas} replicas: TestFailover would let ElastiCache pick which one, not {replica}; turn automatic failover off to choose"
                    ),
                });
            }
            write
                .test_failover()
                .replication_group_id(group_id)
                .node_group_id(node_group.node_group_id().unwrap_or("0001"))
                .send()
                .await
                .map_err(|e| self.clients().error("elasticache", "TestFailover", &e))?;
        } else {
            write
                .modify_replication_group()
                .replication_group_id(group_id)
                .primary_cluster_id(replica)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| {
                    self.clients()
                        .error("elasticache", "ModifyReplicationGroup", &e)
                })?;
        }
        Ok(())
    }
}

fn read_only_refusal(service: &str) -> ProviderError {
    ProviderError::Refused {
        origin: origin(service),
        detail: "this session is read-only: it has no client that can change the fleet".into(),
    }
}
