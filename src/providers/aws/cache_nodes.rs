//! ElastiCache replication groups as cache nodes: each member's role and AZ
//! from DescribeReplicationGroups (`NodeGroupMembers`), lag from
//! CloudWatch's `ReplicationLag` (replicas only).

use aws_sdk_elasticache::types::ReplicationGroup;

use crate::core::Timestamp;
use crate::core::fleet::{CacheNode, ReplicaRole};

/// The nodes of one group; `lag` gives a replica's latest lag sample by its
/// cache cluster id.
pub fn from_sdk(
    group: &ReplicationGroup,
    lag: impl Fn(&str) -> Option<(Timestamp, f64)>,
    now: Timestamp,
) -> Vec<CacheNode> {
    // `modifying` (a failover, a resize) still serves; these do not.
    let available = !matches!(
        group.status(),
        Some("creating" | "deleting" | "create-failed")
    );
    let mut out = Vec::new();
    for ng in group.node_groups() {
        let primary = ng
            .node_group_members()
            .iter()
            .find(|m| m.current_role() == Some("primary"))
            .and_then(|m| m.cache_cluster_id())
            .map(str::to_string);
        for m in ng.node_group_members() {
            let Some(id) = m.cache_cluster_id() else {
                continue;
            };
            let role = match m.current_role() {
                Some("primary") => ReplicaRole::Primary,
                _ => ReplicaRole::Replica,
            };
            let (lag_seconds, lag_sampled_at) = match role {
                ReplicaRole::Replica => super::rds_nodes::lag_of(lag(id), now),
                ReplicaRole::Primary => (None, None),
            };
            out.push(CacheNode {
                name: id.to_string(),
                az: m
                    .preferred_availability_zone()
                    .or(m.preferred_outpost_arn())
                    .unwrap_or("?")
                    .to_string(),
                role,
                reachable: available,
                // ElastiCache does not expose the replica's link; a fresh
                // ReplicationLag sample is published only while it replicates.
                link_up: (role == ReplicaRole::Replica && available && lag_seconds.is_some())
                    .then_some(true),
                offset: None,
                lag_bytes: None,
                lag_seconds,
                source: match role {
                    ReplicaRole::Replica => primary.clone(),
                    ReplicaRole::Primary => None,
                },
                lag_sampled_at,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticache::types::{NodeGroup, NodeGroupMember};

    fn member(id: &str, role: &str, az: &str) -> NodeGroupMember {
        NodeGroupMember::builder()
            .cache_cluster_id(id)
            .cache_node_id("0001")
            .current_role(role)
            .preferred_availability_zone(az)
            .build()
    }

    #[test]
    fn roles_azs_and_lag() {
        let g = ReplicationGroup::builder()
            .replication_group_id("prod-redis")
            .status("available")
            .node_groups(
                NodeGroup::builder()
                    .node_group_id("0001")
                    .node_group_members(member("prod-redis-001", "primary", "ap-northeast-2a"))
                    .node_group_members(member("prod-redis-002", "replica", "ap-northeast-2c"))
                    .build(),
            )
            .build();
        let at = Timestamp::from_millis(9);
        let nodes = from_sdk(&g, |id| (id == "prod-redis-002").then_some((at, 0.25)), at);
        assert_eq!(nodes.len(), 2);
        assert_eq!(
            (nodes[0].role, nodes[0].az.as_str()),
            (ReplicaRole::Primary, "ap-northeast-2a")
        );
        assert_eq!(nodes[0].lag_seconds, None);
        assert_eq!(
            (nodes[1].role, nodes[1].lag_seconds),
            (ReplicaRole::Replica, Some(0.25))
        );
        assert_eq!(nodes[1].source.as_deref(), Some("prod-redis-001"));
        assert_eq!(
            nodes[1].link_up,
            Some(true),
            "a fresh lag sample means it replicates"
        );
        // Roles swapped (a failover): the mapping follows CurrentRole.
        let swapped = ReplicationGroup::builder()
            .status("modifying")
            .node_groups(
                NodeGroup::builder()
                    .node_group_members(member("prod-redis-001", "replica", "ap-northeast-2a"))
                    .node_group_members(member("prod-redis-002", "primary", "ap-northeast-2c"))
                    .build(),
            )
            .build();
        let nodes = from_sdk(&swapped, |_| Some((at, -1.0)), at);
        assert_eq!(nodes[0].role, ReplicaRole::Replica);
        assert_eq!(nodes[0].source.as_deref(), Some("prod-redis-002"));
        assert_eq!(nodes[0].lag_seconds, None, "-1 is unknown");
        assert_eq!(nodes[0].link_up, None, "and so is the link");
        assert!(nodes[0].reachable, "a modifying group still serves");
    }
}
