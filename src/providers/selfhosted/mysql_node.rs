//! One MySQL/MariaDB server: its replication status, and the switchover steps
//! (read-only, promote, rejoin) as the lab notes measured them on MariaDB 10.11.
//!
//! Every call opens its own connection under one deadline and closes it: a
//! poll every few seconds costs one handshake, and a dropped call can never
//! leave a pooled connection half-way through a result. Rows are turned into
//! `column → Option<String>` maps first, so the mapping to [`DbStatus`] is a
//! pure function, tested without a server. SQL NULL stays `None` all the way:
//! a NULL `Seconds_Behind_Master` is unknown lag, never zero.

use std::collections::BTreeMap;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row, Value};

use crate::core::fleet::{DbNode, ReplicaRole, ThreadState};
use crate::core::sanitize::sanitize;
use crate::providers::ProviderError;

use super::endpoint::{origin, split_host_port, with_deadline};

/// Column (or variable alias) → value; `None` is SQL NULL.
pub type SqlRow = BTreeMap<String, Option<String>>;

/// How to reach one server.
#[derive(Clone, PartialEq, Eq)]
pub struct MysqlNode {
    /// Fleet name (`db-replica`), used in every error.
    pub name: String,
    /// `host:port` as this console reaches it.
    pub addr: String,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for MysqlNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlNode")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Replication status of one server, in the terms of [`DbNode`].
#[derive(Clone, Debug, PartialEq)]
pub struct DbStatus {
    /// Replica iff `SHOW REPLICA STATUS` has a row.
    pub role: ReplicaRole,
    pub read_only: bool,
    /// `Seconds_Behind_Master`; `None` when NULL (SQL thread stopped, IO
    /// thread not connected) or on a primary.
    pub lag_seconds: Option<f64>,
    pub io_thread: ThreadState,
    pub sql_thread: ThreadState,
    /// `Master_Host:Master_Port`.
    pub source: Option<String>,
    /// Primary: `@@gtid_binlog_pos`; replica: `@@gtid_slave_pos` (applied).
    /// MySQL: `@@gtid_executed`.
    pub gtid_executed: Option<String>,
    /// `Gtid_IO_Pos` (MySQL: `Retrieved_Gtid_Set`).
    pub gtid_received: Option<String>,
    /// `Last_IO_Error` / `Last_SQL_Error` when not empty, sanitized.
    pub last_error: Option<String>,
    /// `@@gtid_binlog_pos` as read, for rejoin and catch-up checks.
    pub gtid_binlog_pos: Option<String>,
}

impl DbStatus {
    /// The status as the fleet model shows it.
    pub fn to_db_node(&self, name: &str, az: &str) -> DbNode {
        DbNode {
            lag_sampled_at: None,
            status: None,
            name: name.to_string(),
            az: az.to_string(),
            role: self.role,
            reachable: true,
            read_only: self.read_only,
            lag_seconds: self.lag_seconds,
            io_thread: self.io_thread,
            sql_thread: self.sql_thread,
            source: self.source.clone(),
            gtid_executed: self.gtid_executed.clone(),
            gtid_received: self.gtid_received.clone(),
            last_error: self.last_error.clone(),
        }
    }

    /// Whether this replica has applied every transaction `primary` has
    /// written (per GTID domain, its sequence is at least the primary's).
    /// False when either position is unknown.
    pub fn caught_up_with(&self, primary: &DbStatus) -> bool {
        let Some(mine) = self.gtid_executed.as_deref() else {
            return false;
        };
        let theirs = primary
            .gtid_binlog_pos
            .as_deref()
            .or(primary.gtid_executed.as_deref());
        match theirs {
            Some(theirs) => gtid_covers(mine, theirs).unwrap_or(false),
            None => false,
        }
    }
}

/// A server that did not answer, in the terms of [`DbNode`]: everything
/// about it is unknown, and the error says why.
pub fn unreachable_db_node(
    name: &str,
    az: &str,
    role: ReplicaRole,
    error: &ProviderError,
) -> DbNode {
    DbNode {
        lag_sampled_at: None,
        status: None,
        name: name.to_string(),
        az: az.to_string(),
        role,
        reachable: false,
        read_only: false,
        lag_seconds: None,
        io_thread: ThreadState::Unknown,
        sql_thread: ThreadState::Unknown,
        source: None,
        gtid_executed: None,
        gtid_received: None,
        last_error: Some(sanitize(&error.to_string())),
    }
}

impl MysqlNode {
    pub fn new(
        name: impl Into<String>,
        addr: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            addr: addr.into(),
            user: user.into(),
            password: password.into(),
        }
    }

    /// `db-replica (127.0.2.21:3308)`.
    pub fn origin(&self) -> String {
        origin(&self.name, &self.addr)
    }

    /// Reads replication status and the GTID positions.
    pub async fn status(&self, timeout: Duration) -> Result<DbStatus, ProviderError> {
        let origin = self.origin();
        with_deadline(&origin, timeout, async {
            let mut conn = self.connect().await?;
            let result = self.read_status(&mut conn).await;
            let _ = conn.disconnect().await;
            result
        })
        .await
    }

    /// `SET GLOBAL read_only`. Accounts with SUPER still write: this stops
    /// the application, not an administrator.
    pub async fn set_read_only(
        &self,
        read_only: bool,
        timeout: Duration,
    ) -> Result<(), ProviderError> {
        let value = if read_only { "ON" } else { "OFF" };
        self.run(&[&format!("SET GLOBAL read_only = {value}")], timeout)
            .await
    }

    /// Makes this replica a writable primary: `STOP REPLICA; RESET REPLICA ALL;
    /// SET GLOBAL read_only = OFF`. Check [`DbStatus::caught_up_with`] first:
    /// transactions it has not applied are lost to it.
    pub async fn promote(&self, timeout: Duration) -> Result<(), ProviderError> {
        self.run(
            &[
                "STOP REPLICA",
                "RESET REPLICA ALL",
                "SET GLOBAL read_only = OFF",
            ],
            timeout,
        )
        .await
    }

    /// Turns this (old primary) into a read-only replica of
    /// `primary_host:primary_port`, starting from its own binlog position:
    /// `SET GLOBAL read_only=1; SET GLOBAL gtid_slave_pos=@@gtid_binlog_pos;
    /// CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos; START REPLICA`.
    /// `primary_host` is the address as this server reaches the primary.
    pub async fn rejoin(
        &self,
        primary_host: &str,
        primary_port: u16,
        repl_user: &str,
        repl_password: &str,
        timeout: Duration,
    ) -> Result<(), ProviderError> {
        let change = change_master_sql(primary_host, primary_port, repl_user, repl_password);
        self.run(
            &[
                // Literals below are quoted with backslash escapes.
                "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')",
                "SET GLOBAL read_only = ON",
                "STOP REPLICA",
                "SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos",
                &change,
                "START REPLICA",
            ],
            timeout,
        )
        .await
    }

    /// Polls this replica and `primary` until the replica has applied
    /// everything the primary has written; returns the replica's last status.
    /// Make the primary read-only first, or it may never be caught.
    pub async fn wait_caught_up(
        &self,
        primary: &MysqlNode,
        timeout: Duration,
    ) -> Result<DbStatus, ProviderError> {
        let origin = self.origin();
        with_deadline(&origin, timeout, async {
            loop {
                let theirs = primary.status(timeout).await?;
                let mine = self.status(timeout).await?;
                if mine.caught_up_with(&theirs) {
                    return Ok(mine);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
    }

    async fn connect(&self) -> Result<Conn, ProviderError> {
        let origin = self.origin();
        let (host, port) = split_host_port(&self.addr).map_err(|detail| ProviderError::Failed {
            origin: origin.clone(),
            detail,
        })?;
        let opts = OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port)
            .user(Some(self.user.clone()))
            .pass(Some(self.password.clone()))
            // A loopback server would otherwise be re-dialled over its Unix
            // socket, which is not the server this node names in a namespace lab.
            .prefer_socket(false);
        Conn::new(opts).await.map_err(|e| match e {
            mysql_async::Error::Server(ref s) => ProviderError::Failed {
                origin: origin.clone(),
                detail: sanitize(&s.to_string()),
            },
            other => ProviderError::Unreachable {
                origin: origin.clone(),
                detail: sanitize(&other.to_string()),
            },
        })
    }

    /// Runs `statements` in order on one connection; the first failure stops
    /// and names the statement.
    async fn run(&self, statements: &[&str], timeout: Duration) -> Result<(), ProviderError> {
        let origin = self.origin();
        with_deadline(&origin, timeout, async {
            let mut conn = self.connect().await?;
            let mut result = Ok(());
            for sql in statements {
                if let Err(e) = conn.query_drop(*sql).await {
                    result = Err(self.failed(&format!("{}: {e}", redact(sql))));
                    break;
                }
            }
            let _ = conn.disconnect().await;
            result
        })
        .await
    }

    async fn read_status(&self, conn: &mut Conn) -> Result<DbStatus, ProviderError> {
        let replica = match conn.query_first::<Row, _>("SHOW REPLICA STATUS").await {
            Ok(row) => row,
            // Before MariaDB 10.5.1 / MySQL 8.0.22.
            Err(mysql_async::Error::Server(ref s)) if s.code == ER_PARSE_ERROR => conn
                .query_first::<Row, _>("SHOW SLAVE STATUS")
                .await
                .map_err(|e| self.failed(&format!("SHOW SLAVE STATUS: {e}")))?,
            Err(e) => return Err(self.failed(&format!("SHOW REPLICA STATUS: {e}"))),
        };
        let vars = match conn.query_first::<Row, _>(MARIADB_VARS).await {
            Ok(row) => row,
            // MySQL has no gtid_binlog_pos / gtid_slave_pos.
            Err(mysql_async::Error::Server(ref s)) if s.code == ER_UNKNOWN_SYSTEM_VARIABLE => conn
                .query_first::<Row, _>(MYSQL_VARS)
                .await
                .map_err(|e| self.failed(&format!("reading variables: {e}")))?,
            Err(e) => return Err(self.failed(&format!("reading variables: {e}"))),
        };
        let vars = vars.as_ref().map(row_map).unwrap_or_default();
        Ok(status_from(replica.as_ref().map(row_map).as_ref(), &vars))
    }

    fn failed(&self, detail: &str) -> ProviderError {
        ProviderError::Failed {
            origin: self.origin(),
            detail: sanitize(detail),
        }
    }
}

const ER_PARSE_ERROR: u16 = 1064;
const ER_UNKNOWN_SYSTEM_VARIABLE: u16 = 1193;

const MARIADB_VARS: &str = "SELECT @@GLOBAL.read_only AS read_only, \
@@GLOBAL.gtid_binlog_pos AS gtid_binlog_pos, @@GLOBAL.gtid_slave_pos AS gtid_slave_pos, \
@@GLOBAL.gtid_current_pos AS gtid_current_pos";

const MYSQL_VARS: &str =
    "SELECT @@GLOBAL.read_only AS read_only, @@GLOBAL.gtid_executed AS gtid_executed";

fn row_map(row: &Row) -> SqlRow {
    row.columns_ref()
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let value = match row.as_ref(i) {
                None | Some(Value::NULL) => None,
                Some(Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                Some(Value::Int(n)) => Some(n.to_string()),
                Some(Value::UInt(n)) => Some(n.to_string()),
                Some(Value::Float(n)) => Some(n.to_string()),
                Some(Value::Double(n)) => Some(n.to_string()),
                Some(other) => Some(other.as_sql(true)),
            };
            (column.name_str().into_owned(), value)
        })
        .collect()
}

/// The first of `names` present in `row`, as text; `None` for NULL or absent.
fn field<'a>(row: &'a SqlRow, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| row.get(*n))
        .and_then(|v| v.as_deref())
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `Slave_IO_Running` / `Slave_SQL_Running` text to a thread state.
pub fn thread_state(value: Option<&str>) -> ThreadState {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("yes") => ThreadState::Running,
        Some("no") => ThreadState::Stopped,
        Some("connecting" | "preparing") => ThreadState::Connecting,
        _ => ThreadState::Unknown,
    }
}

/// Maps the `SHOW REPLICA STATUS` row (if any) and the variables row to a status.
/// Reads MariaDB's and MySQL 8's column names alike.
pub fn status_from(replica: Option<&SqlRow>, vars: &SqlRow) -> DbStatus {
    let read_only = matches!(
        field(vars, &["read_only"])
            .map(|v| v.trim().to_ascii_uppercase())
            .as_deref(),
        Some("1" | "ON")
    );
    let binlog_pos = non_empty(field(vars, &["gtid_binlog_pos"]));
    let slave_pos = non_empty(field(vars, &["gtid_slave_pos"]));
    let current_pos = non_empty(field(vars, &["gtid_current_pos"]));
    let mysql_executed = non_empty(field(vars, &["gtid_executed"]));
    let Some(r) = replica else {
        return DbStatus {
            role: ReplicaRole::Primary,
            read_only,
            lag_seconds: None,
            io_thread: ThreadState::Stopped,
            sql_thread: ThreadState::Stopped,
            source: None,
            gtid_executed: binlog_pos.clone().or(current_pos).or(mysql_executed),
            gtid_received: None,
            last_error: None,
            gtid_binlog_pos: binlog_pos,
        };
    };
    let lag_seconds = field(r, &["Seconds_Behind_Master", "Seconds_Behind_Source"])
        .and_then(|v| v.trim().parse::<f64>().ok());
    let host = field(r, &["Master_Host", "Source_Host"]);
    let port = field(r, &["Master_Port", "Source_Port"]);
    let source = match (host, port) {
        (Some(h), Some(p)) if !h.is_empty() => Some(format!("{h}:{p}")),
        (Some(h), _) if !h.is_empty() => Some(h.to_string()),
        _ => None,
    };
    let io_error = non_empty(field(r, &["Last_IO_Error"]));
    let sql_error = non_empty(field(r, &["Last_SQL_Error"]));
    let last_error = match (io_error, sql_error) {
        (Some(io), Some(sql)) => Some(format!("IO: {io}; SQL: {sql}")),
        (Some(io), None) => Some(io),
        (None, Some(sql)) => Some(sql),
        (None, None) => None,
    }
    .map(|e| sanitize(&e));
    DbStatus {
        role: ReplicaRole::Replica,
        read_only,
        lag_seconds,
        io_thread: thread_state(field(r, &["Slave_IO_Running", "Replica_IO_Running"])),
        sql_thread: thread_state(field(r, &["Slave_SQL_Running", "Replica_SQL_Running"])),
        source,
        gtid_executed: slave_pos
            .or(current_pos)
            .or(mysql_executed)
            .or_else(|| non_empty(field(r, &["Executed_Gtid_Set"]))),
        gtid_received: non_empty(field(r, &["Gtid_IO_Pos", "Retrieved_Gtid_Set"])),
        last_error,
        gtid_binlog_pos: binlog_pos,
    }
}

/// Whether position `have` includes everything in `want`: the judgement
/// lives in `core::assess` (per GTID domain for MariaDB).
pub use crate::core::assess::gtid_covers;

/// A string literal for MariaDB with backslash escapes (the session turns
/// `NO_BACKSLASH_ESCAPES` off first).
pub fn sql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn change_master_sql(host: &str, port: u16, user: &str, password: &str) -> String {
    format!(
        "CHANGE MASTER TO MASTER_HOST={}, MASTER_PORT={port}, MASTER_USER={}, \
MASTER_PASSWORD={}, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=2",
        sql_string(host),
        sql_string(user),
        sql_string(password)
    )
}

/// A statement as it may appear in an error: passwords left out.
fn redact(sql: &str) -> String {
    match sql.find("MASTER_PASSWORD=") {
        Some(i) => format!("{}MASTER_PASSWORD=…", &sql[..i]),
        None => sql.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::selfhosted::lab_env::{LabEnv, answers, skip};

    fn row(pairs: &[(&str, Option<&str>)]) -> SqlRow {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    fn replica_row(lag: Option<&str>, io: &str, sql: &str) -> SqlRow {
        row(&[
            ("Slave_IO_State", Some("Waiting for master to send event")),
            ("Master_Host", Some("127.0.1.21")),
            ("Master_Port", Some("3307")),
            ("Slave_IO_Running", Some(io)),
            ("Slave_SQL_Running", Some(sql)),
            ("Last_IO_Error", Some("")),
            ("Last_SQL_Error", Some("")),
            ("Seconds_Behind_Master", lag),
            ("Gtid_IO_Pos", Some("0-1-120")),
        ])
    }

    fn vars(ro: &str, binlog: &str, slave: &str) -> SqlRow {
        row(&[
            ("read_only", Some(ro)),
            ("gtid_binlog_pos", Some(binlog)),
            ("gtid_slave_pos", Some(slave)),
            ("gtid_current_pos", Some(binlog)),
        ])
    }

    #[test]
    fn maps_a_running_replica() {
        let s = status_from(
            Some(&replica_row(Some("3"), "Yes", "Yes")),
            &vars("1", "0-1-118", "0-1-118"),
        );
        assert_eq!(s.role, ReplicaRole::Replica);
        assert!(s.read_only);
        assert_eq!(s.lag_seconds, Some(3.0));
        assert_eq!(
            (s.io_thread, s.sql_thread),
            (ThreadState::Running, ThreadState::Running)
        );
        assert_eq!(s.source.as_deref(), Some("127.0.1.21:3307"));
        assert_eq!(s.gtid_executed.as_deref(), Some("0-1-118"));
        assert_eq!(s.gtid_received.as_deref(), Some("0-1-120"));
        assert_eq!(s.last_error, None);
        let node = s.to_db_node("db-replica", "az-b");
        assert!(node.reachable);
        assert_eq!(node.lag_seconds, Some(3.0));
    }

    #[test]
    fn null_lag_is_unknown_never_zero() {
        let s = status_from(
            Some(&replica_row(None, "Yes", "No")),
            &vars("1", "", "0-1-100"),
        );
        assert_eq!(s.lag_seconds, None);
        assert_eq!(s.sql_thread, ThreadState::Stopped);
        let s = status_from(
            Some(&replica_row(Some("0"), "Connecting", "Yes")),
            &vars("0", "", ""),
        );
        assert_eq!(s.lag_seconds, Some(0.0));
        assert_eq!(s.io_thread, ThreadState::Connecting);
        assert_eq!(s.gtid_executed, None);
    }

    #[test]
    fn maps_a_primary_and_errors() {
        let p = status_from(None, &vars("OFF", "0-1-120", ""));
        assert_eq!(p.role, ReplicaRole::Primary);
        assert!(!p.read_only);
        assert_eq!(p.gtid_executed.as_deref(), Some("0-1-120"));
        assert_eq!(p.lag_seconds, None);

        let mut r = replica_row(None, "No", "Yes");
        r.insert(
            "Last_IO_Error".into(),
            Some("error connecting to master 'repl@127.0.1.21:3307' - retry-time: 1\x1b[2J".into()),
        );
        let s = status_from(Some(&r), &vars("1", "", "0-1-100"));
        assert_eq!(
            s.last_error.as_deref(),
            Some("error connecting to master 'repl@127.0.1.21:3307' - retry-time: 1␛[2J")
        );
        assert_eq!(s.io_thread, ThreadState::Stopped);
    }

    #[test]
    fn reads_mysql_8_column_names() {
        let r = row(&[
            ("Source_Host", Some("10.0.1.5")),
            ("Source_Port", Some("3306")),
            ("Replica_IO_Running", Some("Yes")),
            ("Replica_SQL_Running", Some("Yes")),
            ("Seconds_Behind_Source", Some("12")),
            (
                "Retrieved_Gtid_Set",
                Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5"),
            ),
        ]);
        let v = row(&[
            ("read_only", Some("1")),
            (
                "gtid_executed",
                Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4"),
            ),
        ]);
        let s = status_from(Some(&r), &v);
        assert_eq!(s.lag_seconds, Some(12.0));
        assert_eq!(s.source.as_deref(), Some("10.0.1.5:3306"));
        assert_eq!(
            s.gtid_executed.as_deref(),
            Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4")
        );
    }

    #[test]
    fn gtid_comparison_per_domain() {
        assert_eq!(gtid_covers("0-1-100", "0-1-100"), Some(true));
        assert_eq!(gtid_covers("0-2-101", "0-1-100"), Some(true));
        assert_eq!(gtid_covers("0-1-99", "0-1-100"), Some(false));
        assert_eq!(gtid_covers("0-1-100,1-1-5", "1-1-5,0-1-100"), Some(true));
        assert_eq!(gtid_covers("0-1-100", "0-1-100,1-1-5"), Some(false));
        assert_eq!(gtid_covers("0-1-5", ""), Some(true));
        assert_eq!(gtid_covers("uuid:1-5", "uuid:1-5"), Some(true));
        assert_eq!(gtid_covers("uuid:1-4", "uuid:1-5"), None);

        let primary = status_from(None, &vars("0", "0-1-120", ""));
        let behind = status_from(
            Some(&replica_row(Some("1"), "Yes", "Yes")),
            &vars("1", "", "0-1-118"),
        );
        let caught = status_from(
            Some(&replica_row(Some("0"), "Yes", "Yes")),
            &vars("1", "", "0-1-120"),
        );
        assert!(!behind.caught_up_with(&primary));
        assert!(caught.caught_up_with(&primary));
        let unknown = status_from(Some(&replica_row(None, "Yes", "Yes")), &vars("1", "", ""));
        assert!(!unknown.caught_up_with(&primary));
    }

    #[test]
    fn quotes_and_redacts() {
        assert_eq!(sql_string("it's a \\ test"), "'it\\'s a \\\\ test'");
        let sql = change_master_sql("127.0.1.21", 3307, "repl", "s3cr'et");
        assert!(sql.contains("MASTER_PASSWORD='s3cr\\'et'"), "{sql}");
        assert!(sql.contains("MASTER_USE_GTID=slave_pos"));
        assert!(!redact(&sql).contains("s3cr"));
    }

    #[test]
    fn debug_hides_the_password() {
        let n = MysqlNode::new("db", "127.0.0.1:3307", "root", "hunter2");
        assert!(!format!("{n:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn unreachable_server_is_named() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        drop(listener);
        let node = MysqlNode::new("db-replica", addr.clone(), "root", "");
        let err = node
            .status(Duration::from_secs(2))
            .await
            .expect_err("refused");
        assert!(matches!(err, ProviderError::Unreachable { .. }), "{err}");
        assert_eq!(err.source_name(), format!("db-replica ({addr})"));
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        // Accepts TCP but never sends the handshake.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let _keep = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                held.push(sock);
            }
        });
        let node = MysqlNode::new("db-primary", addr.clone(), "root", "");
        let err = node
            .status(Duration::from_millis(300))
            .await
            .expect_err("silent");
        assert_eq!(
            err,
            ProviderError::Timeout {
                origin: format!("db-primary ({addr})"),
                after_ms: 300
            }
        );
    }

    /// Primary and replica from lab.env, or `None` (skipped) without the lab.
    async fn lab_nodes(test: &str) -> Option<(MysqlNode, MysqlNode)> {
        let lab = LabEnv::load(test)?;
        let user = lab.get("LAB_DB_USER").unwrap_or("root");
        let password = lab.file("LAB_DB_PASSWORD_FILE").unwrap_or_default();
        let primary = lab.get("LAB_DB_PRIMARY").unwrap_or("127.0.1.21:3307");
        let replica = lab.get("LAB_DB_REPLICA").unwrap_or("127.0.2.21:3308");
        if !answers(primary).await || !answers(replica).await {
            skip(test);
            return None;
        }
        Some((
            MysqlNode::new("db-primary", primary, user, password.clone()),
            MysqlNode::new("db-replica", replica, user, password),
        ))
    }

    #[tokio::test]
    async fn lab_status_of_primary_and_replica() {
        let _lab = crate::providers::selfhosted::lab_env::LOCK.lock().await;
        let Some((primary, replica)) =
            lab_nodes("mysql_node::lab_status_of_primary_and_replica").await
        else {
            return;
        };
        let t = Duration::from_secs(5);
        let p = primary.status(t).await.expect("primary status");
        println!("primary: {p:?}");
        assert_eq!(p.role, ReplicaRole::Primary);
        assert!(p.gtid_executed.is_some());
        let r = replica.status(t).await.expect("replica status");
        println!("replica: {r:?}");
        assert_eq!(r.role, ReplicaRole::Replica);
        assert_eq!(r.io_thread, ThreadState::Running);
        assert_eq!(r.sql_thread, ThreadState::Running);
        assert!(r.lag_seconds.is_some(), "{r:?}");
        assert!(r.source.is_some());
        // Give replication a moment to apply what the primary has.
        let mut caught = r.caught_up_with(&p);
        for _ in 0..20 {
            if caught {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            let p = primary.status(t).await.expect("primary status");
            caught = replica.status(t).await.expect("replica").caught_up_with(&p);
        }
        assert!(caught);
    }

    #[tokio::test]
    async fn lab_stopped_sql_thread_makes_lag_unknown() {
        let _lab = crate::providers::selfhosted::lab_env::LOCK.lock().await;
        let Some((_primary, replica)) =
            lab_nodes("mysql_node::lab_stopped_sql_thread_makes_lag_unknown").await
        else {
            return;
        };
        let t = Duration::from_secs(5);
        replica
            .run(&["STOP REPLICA SQL_THREAD"], t)
            .await
            .expect("stop sql thread");
        let observed = replica.status(t).await;
        // Restore before asserting, so a failure leaves the lab replicating.
        let restored = replica.run(&["START REPLICA SQL_THREAD"], t).await;
        let s = observed.expect("status");
        restored.expect("start sql thread");
        println!("with SQL thread stopped: {s:?}");
        assert_eq!(s.sql_thread, ThreadState::Stopped);
        assert_eq!(
            s.lag_seconds, None,
            "NULL Seconds_Behind_Master is unknown, not 0"
        );
        let mut back = replica.status(t).await.expect("status");
        for _ in 0..20 {
            if back.sql_thread == ThreadState::Running && back.lag_seconds.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            back = replica.status(t).await.expect("status");
        }
        assert_eq!(back.sql_thread, ThreadState::Running);
        assert!(back.lag_seconds.is_some());
    }

    /// Planned switchover from `old` to `new` and the checks after it.
    async fn switch_over(
        old: &MysqlNode,
        new: &MysqlNode,
        repl: (&str, &str),
    ) -> Result<(), String> {
        let t = Duration::from_secs(10);
        let e = |e: ProviderError| e.to_string();
        old.set_read_only(true, t).await.map_err(e)?;
        new.wait_caught_up(old, t).await.map_err(e)?;
        new.promote(t).await.map_err(e)?;
        let (host, port) = split_host_port(&new.addr)?;
        old.rejoin(&host, port, repl.0, repl.1, t)
            .await
            .map_err(e)?;
        let promoted = new.status(t).await.map_err(e)?;
        if promoted.role != ReplicaRole::Primary || promoted.read_only {
            return Err(format!("{} not a writable primary: {promoted:?}", new.name));
        }
        // A write on the new primary reaches the old one.
        new.run(
            &["INSERT INTO lab.t (v) VALUES ('opsdeck switchover test')"],
            t,
        )
        .await
        .map_err(e)?;
        let rejoined = old.wait_caught_up(new, t).await.map_err(e)?;
        if rejoined.role != ReplicaRole::Replica
            || !rejoined.read_only
            || rejoined.source.as_deref() != Some(new.addr.as_str())
        {
            return Err(format!("{} did not rejoin: {rejoined:?}", old.name));
        }
        Ok(())
    }

    /// Promote, rejoin and back again. Flips the lab's roles for a few
    /// seconds, so it runs only with OPSDECK_LAB_SWITCHOVER=1.
    #[tokio::test]
    async fn lab_switchover_round_trip() {
        let _lab = crate::providers::selfhosted::lab_env::LOCK.lock().await;
        let test = "mysql_node::lab_switchover_round_trip";
        if std::env::var("OPSDECK_LAB_SWITCHOVER").as_deref() != Ok("1") {
            println!("SKIPPED {test}: set OPSDECK_LAB_SWITCHOVER=1 to flip the lab's roles");
            return;
        }
        let Some((primary, replica)) = lab_nodes(test).await else {
            return;
        };
        let Some(lab) = LabEnv::load(test) else {
            return;
        };
        let user = lab.get("LAB_DB_REPL_USER").unwrap_or("repl").to_string();
        let password = lab.file("LAB_DB_REPL_PASSWORD_FILE").unwrap_or_default();
        let there = switch_over(&primary, &replica, (&user, &password)).await;
        // Always try to restore the lab's original roles.
        let back = switch_over(&replica, &primary, (&user, &password)).await;
        there.expect("switchover to the replica");
        back.expect("switchover back to the primary");
    }
}
