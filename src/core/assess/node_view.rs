//! Each node as far as writes are concerned, read off a replication
//! observation: who is writable and who follows whom. A switchover's
//! wind-down decides with it, its verdict states it ("db-replica: writable
//! primary; db-primary: read-only, follows nobody"), and [`super::Topology`]
//! counts writable nodes with the same definition.

use crate::core::fleet::{ReplicaRole, ReplicationObservation};
use crate::core::operation::NodeKind;

/// One node as far as writes are concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    pub name: String,
    pub reachable: bool,
    pub writable: bool,
    pub role: ReplicaRole,
    /// The node it replicates from; `None`: it follows nobody.
    pub source: Option<String>,
}

/// The nodes of one kind. A cache node reports no read-only flag, so a
/// cache primary counts as writable unless this operation paused its writes
/// (`paused`) and did not undo it.
pub fn nodes(rep: &ReplicationObservation, kind: NodeKind, paused: &[String]) -> Vec<NodeView> {
    match kind {
        NodeKind::Database => rep
            .databases
            .iter()
            .map(|d| NodeView {
                name: d.name.clone(),
                reachable: d.reachable,
                writable: d.reachable && !d.read_only,
                role: d.role,
                source: d.source.clone(),
            })
            .collect(),
        NodeKind::Cache => rep
            .caches
            .iter()
            .map(|c| NodeView {
                name: c.name.clone(),
                reachable: c.reachable,
                writable: c.reachable
                    && c.role == ReplicaRole::Primary
                    && !paused.contains(&c.name),
                role: c.role,
                source: c.source.clone(),
            })
            .collect(),
    }
}

/// "writable primary", "read-only, follows nobody", "read-only, follows
/// db-replica", "writable, follows db-primary", "unreachable".
pub fn node_phrase(reachable: bool, writable: bool, source: Option<&str>) -> String {
    if !reachable {
        return "unreachable".to_string();
    }
    match (writable, source) {
        (true, None) => "writable primary".to_string(),
        (true, Some(s)) => format!("writable, follows {s}"),
        (false, None) => "read-only, follows nobody".to_string(),
        (false, Some(s)) => format!("read-only, follows {s}"),
    }
}

/// The nodes, `first` ones first (the promoted replica, then the old
/// primary), each with its phrase, joined by "; ".
pub fn describe(views: &[NodeView], first: &[&str]) -> String {
    let mut ordered: Vec<&NodeView> = Vec::new();
    for f in first {
        ordered.extend(views.iter().filter(|v| v.name == *f));
    }
    ordered.extend(views.iter().filter(|v| !first.contains(&v.name.as_str())));
    ordered
        .iter()
        .map(|v| {
            format!(
                "{}: {}",
                v.name,
                node_phrase(v.reachable, v.writable, v.source.as_deref())
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether the observation positively shows `replica` still a read-only
/// replica of `primary`: only then may a switchover's wind-down make the old
/// primary writable again once a promotion was issued.
pub fn still_replica_of(views: &[NodeView], replica: &str, primary: &str) -> bool {
    views.iter().any(|v| {
        v.name == replica
            && v.reachable
            && !v.writable
            && v.role == ReplicaRole::Replica
            && v.source.as_deref() == Some(primary)
    })
}

/// The observed view of one node, if present.
pub fn view<'a>(views: &'a [NodeView], name: &str) -> Option<&'a NodeView> {
    views.iter().find(|v| v.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(name: &str, writable: bool, role: ReplicaRole, source: Option<&str>) -> NodeView {
        NodeView {
            name: name.into(),
            reachable: true,
            writable,
            role,
            source: source.map(str::to_string),
        }
    }

    #[test]
    fn the_sentence_names_who_is_writable_and_who_follows_whom() {
        let views = vec![
            v("db-primary", false, ReplicaRole::Primary, None),
            v("db-replica", true, ReplicaRole::Primary, None),
        ];
        assert_eq!(
            describe(&views, &["db-replica", "db-primary"]),
            "db-replica: writable primary; db-primary: read-only, follows nobody"
        );
        assert!(!still_replica_of(&views, "db-replica", "db-primary"));
        let before = vec![
            v("db-primary", true, ReplicaRole::Primary, None),
            v(
                "db-replica",
                false,
                ReplicaRole::Replica,
                Some("db-primary"),
            ),
        ];
        assert!(still_replica_of(&before, "db-replica", "db-primary"));
        // A writable replica is not "still a read-only replica".
        let writable_replica = vec![v(
            "db-replica",
            true,
            ReplicaRole::Replica,
            Some("db-primary"),
        )];
        assert!(!still_replica_of(
            &writable_replica,
            "db-replica",
            "db-primary"
        ));
        assert_eq!(node_phrase(false, true, None), "unreachable");
        assert_eq!(
            node_phrase(true, true, Some("x")),
            "writable, follows x",
            "a writable replica is called out"
        );
    }
}
