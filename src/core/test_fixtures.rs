//! Fleet pieces shared by unit tests across modules (test builds only).

use super::fleet::{DbNode, ReplicaRole, ThreadState};

/// A reachable database node in az-a with both replication threads running;
/// a replica is read-only and follows `db-primary`.
pub(crate) fn db(name: &str, role: ReplicaRole, lag: Option<f64>) -> DbNode {
    DbNode {
        name: name.into(),
        az: "az-a".into(),
        role,
        reachable: true,
        read_only: role == ReplicaRole::Replica,
        lag_seconds: lag,
        io_thread: ThreadState::Running,
        sql_thread: ThreadState::Running,
        source: (role == ReplicaRole::Replica).then(|| "db-primary".to_string()),
        gtid_executed: None,
        gtid_received: None,
        last_error: None,
    }
}
