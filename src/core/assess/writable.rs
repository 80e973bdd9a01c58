//! "Is this node a writable primary?": what a switchover verifies on the new
//! primary and must never find true of two nodes at once.

use super::judgement::Judgement;
use crate::core::fleet::{ReplicaRole, ReplicationObservation};

/// Whether `node` is a reachable primary that takes writes (databases: not
/// read-only; Redis primaries always take writes).
pub fn writable_primary(rep: &ReplicationObservation, node: &str) -> Judgement {
    if let Some(d) = rep.databases.iter().find(|d| d.name == node) {
        let state = if !d.reachable {
            "unreachable"
        } else if d.read_only {
            "read-only"
        } else {
            "writable"
        };
        let detail = format!("{node}: {}, {state}", d.role.label());
        return if d.role == ReplicaRole::Primary && d.reachable && !d.read_only {
            Judgement::yes(detail)
        } else {
            Judgement::no(detail)
        };
    }
    if let Some(c) = rep.caches.iter().find(|c| c.name == node) {
        let state = if c.reachable { "" } else { ", unreachable" };
        let detail = format!("{node}: {}{state}", c.role.label());
        return if c.role == ReplicaRole::Primary && c.reachable {
            Judgement::yes(detail)
        } else {
            Judgement::no(detail)
        };
    }
    Judgement::missing(node)
}
