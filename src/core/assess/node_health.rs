//! How healthy a database node, a cache node or a host is, and why: the
//! symbol on screen, the headline, `status` and the guards read the same
//! answer.

use super::lag::{LagLevel, lag_level};
use super::limits::Limits;
use crate::core::fleet::{
    CacheNode, DbNode, Health, Host, ReplicaRole, Target, TargetState, ThreadState,
};

/// Health of a database node, and why.
pub fn db_health(d: &DbNode, limits: &Limits) -> (Health, &'static str) {
    if !d.reachable {
        return (Health::Down, "unreachable");
    }
    if d.role == ReplicaRole::Primary {
        return (Health::Ok, "ok");
    }
    if d.io_thread == ThreadState::Stopped {
        return (Health::Down, "IO thread stopped");
    }
    if d.sql_thread == ThreadState::Stopped {
        return (Health::Down, "SQL thread stopped");
    }
    if d.io_thread == ThreadState::Connecting {
        return (Health::Degraded, "IO thread connecting");
    }
    match lag_level(d.lag_seconds, limits) {
        LagLevel::Unknown => (Health::Unknown, "lag unknown"),
        LagLevel::High => (Health::Degraded, "lag high"),
        LagLevel::Ok => (Health::Ok, "ok"),
    }
}

/// Health of a cache node, and why.
pub fn cache_health(c: &CacheNode, limits: &Limits) -> (Health, &'static str) {
    if !c.reachable {
        return (Health::Down, "unreachable");
    }
    if c.role == ReplicaRole::Primary {
        return (Health::Ok, "ok");
    }
    match c.link_up {
        Some(false) => return (Health::Down, "link down"),
        None => return (Health::Unknown, "link unknown"),
        Some(true) => {}
    }
    match lag_level(c.lag_seconds, limits) {
        LagLevel::Unknown => (Health::Unknown, "lag unknown"),
        LagLevel::High => (Health::Degraded, "lag high"),
        LagLevel::Ok => (Health::Ok, "ok"),
    }
}

/// Down first, then unknown, then degraded, then ok.
pub fn severity_rank(h: Health) -> u8 {
    match h {
        Health::Down => 3,
        Health::Unknown => 2,
        Health::Degraded => 1,
        Health::Ok => 0,
    }
}

/// A host's health: the worse of its own probe and the load balancer's view
/// of it (a backend the LB marks down is down, whatever its probe says).
pub fn host_health(host: &Host, target: Option<&Target>) -> Health {
    match target {
        // A target out of the pool (or leaving it) is not health-checked by
        // an ALB: its "unknown" says nothing about the host.
        Some(t) if t.health == Health::Unknown && t.state != TargetState::Active => host.health,
        Some(t) if severity_rank(t.health) > severity_rank(host.health) => t.health,
        _ => host.health,
    }
}
