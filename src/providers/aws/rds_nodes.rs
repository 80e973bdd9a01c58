//! RDS instances as database nodes: the topology from DescribeDBInstances
//! (a replica names its source), the status and status infos, and the lag
//! from CloudWatch's `ReplicaLag`, where -1 or a missing sample is unknown.

use aws_sdk_rds::types::DbInstance;

use crate::core::Timestamp;
use crate::core::fleet::{DbNode, ReplicaRole, ThreadState};

/// Statuses in which the instance serves queries.
fn serves(status: &str) -> bool {
    matches!(
        status,
        "available"
            | "backing-up"
            | "modifying"
            | "configuring-enhanced-monitoring"
            | "configuring-log-exports"
            | "configuring-iam-database-auth"
            | "storage-optimization"
            | "upgrading"
            | "maintenance"
            | "renaming"
            | "resetting-master-credentials"
    )
}

/// A lag sample older than this says nothing about now: the metric is
/// published every minute, so five minutes without one means replication
/// (or its reporting) stopped.
pub const MAX_LAG_SAMPLE_AGE_MS: i64 = 5 * 60 * 1000;

/// A lag sample as CloudWatch gave it: -1 (replication not active), no
/// sample or a sample too old is unknown, never 0. The sample time is kept
/// either way, so the screen can say how old the last one is.
pub fn lag_of(
    sample: Option<(Timestamp, f64)>,
    now: Timestamp,
) -> (Option<f64>, Option<Timestamp>) {
    match sample {
        Some((at, v)) if v >= 0.0 && v.is_finite() && now.since(at) <= MAX_LAG_SAMPLE_AGE_MS => {
            (Some(v), Some(at))
        }
        Some((at, _)) => (None, Some(at)),
        None => (None, None),
    }
}

/// One DB instance; `lag` is its latest `ReplicaLag` sample, if any.
pub fn from_sdk(db: &DbInstance, lag: Option<(Timestamp, f64)>, now: Timestamp) -> Option<DbNode> {
    let name = db.db_instance_identifier()?.to_string();
    let status = db.db_instance_status().unwrap_or("unknown").to_string();
    let source = db
        .read_replica_source_db_instance_identifier()
        .filter(|s| !s.is_empty())
        .map(|s| {
            // A cross-region source is an ARN: show its identifier.
            s.rsplit(':').next().unwrap_or(s).to_string()
        });
    let role = if source.is_some() {
        ReplicaRole::Replica
    } else {
        ReplicaRole::Primary
    };
    // `read replication` status infos: replicating, replication degraded,
    // error, stopped, terminated.
    let info = db
        .status_infos()
        .iter()
        .find(|i| i.status_type() == Some("read replication"));
    let (thread, last_error) = match info {
        _ if role == ReplicaRole::Primary => (ThreadState::Unknown, None),
        Some(i) => {
            let state = match i.status() {
                Some("replicating") => ThreadState::Running,
                Some("replication degraded") => ThreadState::Connecting,
                Some("error" | "stopped" | "terminated") => ThreadState::Stopped,
                _ => ThreadState::Unknown,
            };
            let err = (!i.normal().unwrap_or(true)).then(|| {
                format!(
                    "read replication {}{}",
                    i.status().unwrap_or("?"),
                    i.message().map_or(String::new(), |m| format!(": {m}"))
                )
            });
            (state, err)
        }
        None => (ThreadState::Unknown, None),
    };
    let (lag_seconds, lag_sampled_at) = match role {
        ReplicaRole::Replica => lag_of(lag, now),
        ReplicaRole::Primary => (None, None),
    };
    Some(DbNode {
        name,
        az: db.availability_zone().unwrap_or("?").to_string(),
        role,
        reachable: serves(&status),
        // RDS MySQL replicas are read-only unless a parameter group says
        // otherwise; a primary takes writes.
        read_only: role == ReplicaRole::Replica,
        lag_seconds,
        io_thread: thread,
        sql_thread: thread,
        source,
        gtid_executed: None,
        gtid_received: None,
        last_error,
        status: Some(status),
        lag_sampled_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::DbInstanceStatusInfo;

    fn replica(status_info: Option<(&str, bool)>) -> DbInstance {
        let mut b = DbInstance::builder()
            .db_instance_identifier("prod-db-replica")
            .db_instance_status("available")
            .availability_zone("ap-northeast-2c")
            .read_replica_source_db_instance_identifier("prod-db");
        if let Some((s, normal)) = status_info {
            b = b.status_infos(
                DbInstanceStatusInfo::builder()
                    .status_type("read replication")
                    .status(s)
                    .normal(normal)
                    .message("IO thread stopped")
                    .build(),
            );
        }
        b.build()
    }

    #[test]
    fn topology_and_lag() {
        let at = Timestamp::from_millis(1_000_000);
        let r = from_sdk(&replica(Some(("replicating", true))), Some((at, 1.5)), at).expect("node");
        assert_eq!(r.role, ReplicaRole::Replica);
        assert_eq!(r.source.as_deref(), Some("prod-db"));
        assert_eq!((r.lag_seconds, r.lag_sampled_at), (Some(1.5), Some(at)));
        assert_eq!(r.io_thread, ThreadState::Running);
        assert!(r.reachable && r.read_only);
        let p = from_sdk(
            &DbInstance::builder()
                .db_instance_identifier("prod-db")
                .db_instance_status("available")
                .read_replica_db_instance_identifiers("prod-db-replica")
                .build(),
            None,
            Timestamp::from_millis(0),
        )
        .expect("node");
        assert_eq!(
            (p.role, p.read_only, p.lag_seconds),
            (ReplicaRole::Primary, false, None)
        );
    }

    #[test]
    fn minus_one_or_no_sample_is_unknown_never_zero() {
        let at = Timestamp::from_millis(5);
        assert_eq!(lag_of(Some((at, -1.0)), at), (None, Some(at)));
        assert_eq!(lag_of(None, at), (None, None));
        assert_eq!(lag_of(Some((at, 0.0)), at), (Some(0.0), Some(at)));
        let r = from_sdk(&replica(None), Some((at, -1.0)), at).expect("node");
        assert_eq!(r.lag_seconds, None);
        // A sample older than five minutes is not the lag now.
        let later = at.plus_millis(MAX_LAG_SAMPLE_AGE_MS + 1);
        assert_eq!(lag_of(Some((at, 0.5)), later), (None, Some(at)));
    }

    #[test]
    fn status_infos_and_status() {
        let now = Timestamp::from_millis(0);
        let r = from_sdk(&replica(Some(("error", false))), None, now).expect("node");
        assert_eq!(r.io_thread, ThreadState::Stopped);
        assert_eq!(
            r.last_error.as_deref(),
            Some("read replication error: IO thread stopped")
        );
        let mut rebooting = replica(Some(("replicating", true)));
        rebooting.db_instance_status = Some("rebooting".into());
        let r = from_sdk(&rebooting, None, now).expect("node");
        assert!(!r.reachable);
        assert_eq!(r.status.as_deref(), Some("rebooting"));
    }
}
