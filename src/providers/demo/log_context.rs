//! A snapshot of the fleet that the log generator reads: which backends take
//! traffic, how they fail, how replication is doing. Built once per generation
//! call so per-line work stays cheap.

use crate::core::fleet::Health;

/// One backend as its logs see it.
#[derive(Clone, Debug)]
pub struct BackendLog {
    pub name: &'static str,
    pub az: &'static str,
    pub address: &'static str,
    pub weight: u32,
    pub pid: u32,
    pub version: String,
    /// Requests per second the load balancer sends it now.
    pub rps: f64,
    pub request_secs: f64,
    pub error_rate: f64,
    pub health: Health,
    pub restarting: bool,
}

/// One database or cache server as its logs see it.
#[derive(Clone, Debug)]
pub struct NodeLog {
    pub name: &'static str,
    pub az: &'static str,
    pub primary: bool,
    pub reachable: bool,
}

/// What the log generator needs to know about the fleet right now.
#[derive(Clone, Debug, Default)]
pub struct LogContext {
    pub backends: Vec<BackendLog>,
    pub databases: Vec<NodeLog>,
    pub caches: Vec<NodeLog>,
    /// Database replica lag; `None` when unknown.
    pub db_lag: Option<f64>,
    pub db_sql_stopped: bool,
    /// The database primary refuses writes (apps log failed writes).
    pub db_read_only: bool,
}
