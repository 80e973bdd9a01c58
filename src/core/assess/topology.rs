//! Who is writable and who follows whom, as observed: what an operation's
//! result states it left behind, and the check that there are never two
//! writable primaries.

use super::node_view;
use crate::core::fleet::{ReplicaRole, ReplicationObservation};
use crate::core::operation::NodeKind;

/// The replication topology in one observation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    /// Databases that take writes.
    pub writable_databases: Vec<String>,
    /// Caches that take writes.
    pub writable_caches: Vec<String>,
    /// (replica, the node it follows), databases then caches.
    pub follows: Vec<(String, String)>,
    /// Nodes that did not answer: their role is not known now.
    pub unreachable: Vec<String>,
}

impl Topology {
    pub fn of(rep: &ReplicationObservation) -> Topology {
        // "Writable" has one definition, the node view's: a database that is
        // not read-only (whatever its role: a writable replica counts), a
        // cache primary.
        let mut t = Topology::default();
        for (kind, writable) in [
            (NodeKind::Database, &mut t.writable_databases),
            (NodeKind::Cache, &mut t.writable_caches),
        ] {
            for v in node_view::nodes(rep, kind, &[]) {
                if !v.reachable {
                    t.unreachable.push(v.name.clone());
                } else if v.writable {
                    writable.push(v.name.clone());
                }
                if v.role == ReplicaRole::Replica
                    && let Some(s) = v.source
                {
                    t.follows.push((v.name, s));
                }
            }
        }
        t
    }

    /// More than one writable database, or more than one writable cache.
    pub fn split_brain(&self) -> bool {
        self.writable_databases.len() > 1 || self.writable_caches.len() > 1
    }

    /// One line: "writable: db-replica, cache-primary; db-primary follows
    /// db-replica; unreachable: x".
    pub fn describe(&self) -> String {
        let writable: Vec<&str> = self
            .writable_databases
            .iter()
            .chain(&self.writable_caches)
            .map(String::as_str)
            .collect();
        let mut parts = vec![if writable.is_empty() {
            "writable: none".to_string()
        } else {
            format!("writable: {}", writable.join(", "))
        }];
        parts.extend(self.follows.iter().map(|(r, s)| format!("{r} follows {s}")));
        if !self.unreachable.is_empty() {
            parts.push(format!("unreachable: {}", self.unreachable.join(", ")));
        }
        parts.join("; ")
    }
}
