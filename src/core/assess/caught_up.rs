//! "Has this replica applied everything its primary wrote?": the wait of a
//! planned switchover. Databases compare GTID positions per domain (or, with
//! no GTIDs, lag 0 with both threads running); caches compare replication
//! offsets with the link up. Missing evidence is never "caught up".

use super::gtid::gtid_covers;
use super::judgement::Judgement;
use crate::core::fleet::{CacheNode, DbNode, ReplicaRole, ReplicationObservation, ThreadState};

/// Whether `replica` has caught up with its primary in `rep`.
pub fn caught_up(rep: &ReplicationObservation, replica: &str) -> Judgement {
    if let Some(r) = rep.databases.iter().find(|d| d.name == replica) {
        let primary = primary_of(&rep.databases, r.source.as_deref(), replica, |d| {
            (&d.name, d.role)
        });
        return db_caught_up(r, primary);
    }
    if let Some(r) = rep.caches.iter().find(|c| c.name == replica) {
        let primary = primary_of(&rep.caches, r.source.as_deref(), replica, |c| {
            (&c.name, c.role)
        });
        return cache_caught_up(r, primary);
    }
    Judgement::missing(replica)
}

/// The primary a replica follows: the one its `source` names, else the only
/// other primary there is.
fn primary_of<'a, T>(
    nodes: &'a [T],
    source: Option<&str>,
    replica: &str,
    key: impl Fn(&T) -> (&String, ReplicaRole),
) -> Option<&'a T> {
    let primaries = || {
        nodes.iter().filter(|n| {
            let (name, role) = key(n);
            role == ReplicaRole::Primary && name != replica
        })
    };
    primaries()
        .find(|n| Some(key(n).0.as_str()) == source)
        .or_else(|| primaries().next())
}

fn db_caught_up(r: &DbNode, primary: Option<&DbNode>) -> Judgement {
    if !r.reachable {
        return Judgement::no(format!("{} is unreachable", r.name));
    }
    let Some(p) = primary else {
        return Judgement::no(format!("{} has no primary in the replication data", r.name));
    };
    if !p.reachable {
        return Judgement::no(format!(
            "{} is unreachable: its position is unknown",
            p.name
        ));
    }
    match (r.gtid_executed.as_deref(), p.gtid_executed.as_deref()) {
        (Some(mine), Some(theirs)) => {
            let detail = format!("applied {mine}, {} at {theirs}", p.name);
            match gtid_covers(mine, theirs) {
                Some(true) => Judgement::yes(detail),
                Some(false) => Judgement::no(detail),
                None => Judgement::no(format!("{detail}: the positions cannot be compared")),
            }
        }
        (mine, theirs) if mine.is_some() || theirs.is_some() => Judgement::no(format!(
            "applied {}, {} at {}",
            mine.unwrap_or("unknown"),
            p.name,
            theirs.unwrap_or("unknown")
        )),
        _ => {
            // Without GTIDs, lag 0 with both threads running is the best
            // evidence there is.
            let running =
                r.io_thread == ThreadState::Running && r.sql_thread == ThreadState::Running;
            let lag = r
                .lag_seconds
                .map_or("unknown".to_string(), |l| format!("{l:.0}s"));
            let detail = format!(
                "no GTIDs: lag {lag}, IO thread {}, SQL thread {}",
                r.io_thread.label(),
                r.sql_thread.label()
            );
            if running && r.lag_seconds == Some(0.0) {
                Judgement::yes(detail)
            } else {
                Judgement::no(detail)
            }
        }
    }
}

fn cache_caught_up(r: &CacheNode, primary: Option<&CacheNode>) -> Judgement {
    if !r.reachable {
        return Judgement::no(format!("{} is unreachable", r.name));
    }
    match r.link_up {
        Some(true) => {}
        Some(false) => return Judgement::no(format!("{}'s link to its primary is down", r.name)),
        None => {
            return Judgement::no(format!("{}'s link to its primary is unknown", r.name));
        }
    }
    // Offsets read from both sides are the direct evidence; the replica's
    // own lag in bytes is next best.
    if let (Some(mine), Some(theirs)) = (
        r.offset,
        primary.filter(|p| p.reachable).and_then(|p| p.offset),
    ) {
        let behind = theirs.saturating_sub(mine);
        let detail = format!("offset {mine}, primary at {theirs} ({behind} bytes behind)");
        return if mine >= theirs {
            Judgement::yes(detail)
        } else {
            Judgement::no(detail)
        };
    }
    match r.lag_bytes {
        Some(0) => Judgement::yes("0 bytes behind"),
        Some(n) => Judgement::no(format!("{n} bytes behind")),
        None => Judgement::no("? bytes behind: the offsets are unknown"),
    }
}
