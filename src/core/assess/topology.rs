//! Who is writable and who follows whom, as observed: what an operation's
//! result states it left behind, and the check that there are never two
//! writable primaries.

use super::writable::writable_primary;
use crate::core::fleet::{ReplicaRole, ReplicationObservation};

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
        let mut t = Topology::default();
        for d in &rep.databases {
            if !d.reachable {
                t.unreachable.push(d.name.clone());
            } else if writable_primary(rep, &d.name).done {
                t.writable_databases.push(d.name.clone());
            }
            if d.role == ReplicaRole::Replica
                && let Some(s) = &d.source
            {
                t.follows.push((d.name.clone(), s.clone()));
            }
        }
        for c in &rep.caches {
            if !c.reachable {
                t.unreachable.push(c.name.clone());
            } else if writable_primary(rep, &c.name).done {
                t.writable_caches.push(c.name.clone());
            }
            if c.role == ReplicaRole::Replica
                && let Some(s) = &c.source
            {
                t.follows.push((c.name.clone(), s.clone()));
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
