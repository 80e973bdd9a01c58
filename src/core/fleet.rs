//! The fleet as providers observe it: hosts, load-balancer targets, database and
//! cache replication, deploys, alerts and log lines. These are plain data; every
//! provider (demo, SSH, AWS) produces them and the UI only reads them.

use serde::{Deserialize, Serialize};

use super::time::Timestamp;

/// Health as seen by probes. `Unknown` is shown as unknown, never as ok.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    Ok,
    Degraded,
    Down,
    Unknown,
}

impl Health {
    pub fn label(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Degraded => "degraded",
            Health::Down => "down",
            Health::Unknown => "unknown",
        }
    }

    /// A symbol so health never depends on colour alone.
    pub fn symbol(self) -> &'static str {
        match self {
            Health::Ok => "●",
            Health::Degraded => "▲",
            Health::Down => "✖",
            Health::Unknown => "?",
        }
    }

    pub fn is_problem(self) -> bool {
        !matches!(self, Health::Ok)
    }
}

/// What a host does in the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostRole {
    LoadBalancer,
    Backend,
    DbPrimary,
    DbReplica,
    CachePrimary,
    CacheReplica,
    Monitoring,
    Bastion,
}

impl HostRole {
    pub fn label(self) -> &'static str {
        match self {
            HostRole::LoadBalancer => "lb",
            HostRole::Backend => "backend",
            HostRole::DbPrimary => "db-primary",
            HostRole::DbReplica => "db-replica",
            HostRole::CachePrimary => "cache-primary",
            HostRole::CacheReplica => "cache-replica",
            HostRole::Monitoring => "monitoring",
            HostRole::Bastion => "bastion",
        }
    }
}

/// Machine state (EC2 instance state, or reachability for self-hosted hosts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostState {
    Running,
    Stopped,
    Unreachable,
    Unknown,
}

impl HostState {
    pub fn label(self) -> &'static str {
        match self {
            HostState::Running => "running",
            HostState::Stopped => "stopped",
            HostState::Unreachable => "unreachable",
            HostState::Unknown => "unknown",
        }
    }
}

/// One machine of the fleet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub name: String,
    pub az: String,
    pub role: HostRole,
    pub state: HostState,
    pub health: Health,
    /// Health-check round trip, when probed.
    pub latency_ms: Option<f64>,
    pub cpu_pct: Option<f64>,
    /// Version of the service this host runs (backends only).
    pub version: Option<String>,
    /// Address as the provider reaches it (`10.0.1.12`, `127.0.1.1:8081`).
    pub address: Option<String>,
    /// Machine type (`t3.small`), where the provider knows it (EC2).
    #[serde(default)]
    pub instance_type: Option<String>,
    /// The platform's own status checks (`2/2 ok`, `instance impaired`), where
    /// it has them (EC2); `None` where it has none.
    #[serde(default)]
    pub checks: Option<String>,
    /// The provider's own id (`i-0abc…`), when it differs from the name.
    #[serde(default)]
    pub id: Option<String>,
}

/// Membership of a backend in the load-balancer pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetState {
    /// In the pool and taking traffic.
    Active,
    /// Leaving the pool: no new requests, in-flight ones finishing.
    Draining,
    /// Out of the pool (nginx `down`, ALB deregistered).
    Drained,
    Unknown,
}

impl TargetState {
    pub fn label(self) -> &'static str {
        match self {
            TargetState::Active => "active",
            TargetState::Draining => "draining",
            TargetState::Drained => "drained",
            TargetState::Unknown => "unknown",
        }
    }
}

/// One backend as the load balancer sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub backend: String,
    pub az: String,
    pub weight: u32,
    pub state: TargetState,
    pub health: Health,
    /// `None`: the load balancer does not report it per target (an ALB).
    /// Unknown is never 0: a drain is not verified by a number nobody measured.
    pub requests_per_sec: Option<f64>,
    /// Fraction of requests answered with 5xx, 0.0..=1.0; `None` when unknown.
    pub error_rate: Option<f64>,
    /// Requests in progress; `None` when unknown.
    pub in_flight: Option<u32>,
    /// Why the load balancer judges it so (`Target.FailedHealthChecks`).
    #[serde(default)]
    pub reason: Option<String>,
    /// Draining: when the load balancer's deregistration delay ends.
    #[serde(default)]
    pub drain_ends_at: Option<Timestamp>,
}

/// The load balancer in front of the backends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub name: String,
    /// `nginx`, `alb`.
    pub kind: String,
    pub targets: Vec<Target>,
    /// Traffic per availability zone, where the load balancer reports it
    /// only so (an ALB's CloudWatch metrics); empty for nginx.
    #[serde(default)]
    pub az_traffic: Vec<AzTraffic>,
}

impl LoadBalancer {
    pub fn target(&self, backend: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.backend == backend)
    }

    /// Requests per second over all targets; `None` when a target's is unknown.
    /// A load balancer that reports traffic only per AZ (an ALB) gives the sum
    /// of its zones instead, when every zone's is known.
    pub fn total_rps(&self) -> Option<f64> {
        let per_target: Option<f64> = self.targets.iter().map(|t| t.requests_per_sec).sum();
        per_target.or_else(|| {
            if self.az_traffic.is_empty() {
                return None;
            }
            self.az_traffic.iter().map(|z| z.requests_per_sec).sum()
        })
    }

    /// Request-weighted error rate over all targets; `None` when a target's
    /// traffic or errors are unknown.
    pub fn error_rate(&self) -> Option<f64> {
        let rps = self.total_rps()?;
        if rps <= 0.0 {
            return Some(0.0);
        }
        let errors: Option<f64> = self
            .targets
            .iter()
            .map(|t| Some(t.requests_per_sec? * t.error_rate?))
            .sum();
        let errors = errors.or_else(|| {
            if self.az_traffic.is_empty() {
                return None;
            }
            self.az_traffic
                .iter()
                .map(|z| Some(z.requests_per_sec? * z.error_rate?))
                .sum()
        });
        Some(errors? / rps)
    }
}

/// Hosts and load balancer, observed together.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostsObservation {
    /// Availability zones in display order.
    pub azs: Vec<String>,
    pub hosts: Vec<Host>,
    pub load_balancer: Option<LoadBalancer>,
    /// Parts that failed while the rest answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<SourceFault>,
}

impl HostsObservation {
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
}

/// Primary or replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicaRole {
    Primary,
    Replica,
}

impl ReplicaRole {
    pub fn label(self) -> &'static str {
        match self {
            ReplicaRole::Primary => "primary",
            ReplicaRole::Replica => "replica",
        }
    }
}

/// State of a MySQL replication thread (`Slave_IO_Running`, `Slave_SQL_Running`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThreadState {
    Running,
    Connecting,
    Stopped,
    Unknown,
}

impl ThreadState {
    pub fn label(self) -> &'static str {
        match self {
            ThreadState::Running => "running",
            ThreadState::Connecting => "connecting",
            ThreadState::Stopped => "stopped",
            ThreadState::Unknown => "unknown",
        }
    }
}

/// A MySQL/MariaDB/RDS instance and its replication status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DbNode {
    pub name: String,
    pub az: String,
    pub role: ReplicaRole,
    pub reachable: bool,
    pub read_only: bool,
    /// `Seconds_Behind_Master`; `None` is unknown (NULL), never zero.
    pub lag_seconds: Option<f64>,
    /// Replicas only.
    pub io_thread: ThreadState,
    pub sql_thread: ThreadState,
    /// Source this replica reads from.
    pub source: Option<String>,
    /// GTID position executed (primary: binlog position; replica: applied).
    pub gtid_executed: Option<String>,
    /// Replica: GTID position received by the IO thread.
    pub gtid_received: Option<String>,
    /// The platform's own status (`available`, `modifying`), where it has one (RDS).
    #[serde(default)]
    pub status: Option<String>,
    /// When the lag was sampled, where it comes from metrics (CloudWatch);
    /// `None` when read live from the node.
    #[serde(default)]
    pub lag_sampled_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// Requests and errors of one availability zone, from the load balancer's metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AzTraffic {
    pub az: String,
    pub requests_per_sec: Option<f64>,
    /// Fraction of requests answered with 5xx, 0.0..=1.0.
    pub error_rate: Option<f64>,
    /// When the newest sample was taken (metrics arrive minutes late).
    pub sampled_at: Option<Timestamp>,
}

/// One part of a source that failed while the rest answered (the cache API
/// hung while the database API answered): the panel keeps the rest live and
/// shows this. `stale` names what is shown from the last answer instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFault {
    pub source: String,
    pub message: String,
    #[serde(default)]
    pub stale: Vec<String>,
}

/// A Redis / ElastiCache node and its replication status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheNode {
    pub name: String,
    pub az: String,
    pub role: ReplicaRole,
    pub reachable: bool,
    /// Replicas: `master_link_status:up`.
    pub link_up: Option<bool>,
    /// `master_repl_offset` (primary) or `slave_repl_offset` (replica).
    pub offset: Option<u64>,
    /// Primary offset minus replica offset; replicas only.
    pub lag_bytes: Option<u64>,
    /// Seconds since the last interaction with the primary; replicas only.
    pub lag_seconds: Option<f64>,
    /// When the lag was sampled, where it comes from metrics (CloudWatch).
    #[serde(default)]
    pub lag_sampled_at: Option<Timestamp>,
    pub source: Option<String>,
}

/// Database and cache replication, observed together.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicationObservation {
    pub databases: Vec<DbNode>,
    pub caches: Vec<CacheNode>,
    /// Parts that failed while the rest answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<SourceFault>,
}

/// How a deploy ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployOutcome {
    Succeeded,
    Failed,
    RolledBack,
    InProgress,
}

impl DeployOutcome {
    pub fn label(self) -> &'static str {
        match self {
            DeployOutcome::Succeeded => "succeeded",
            DeployOutcome::Failed => "failed",
            DeployOutcome::RolledBack => "rolled-back",
            DeployOutcome::InProgress => "in-progress",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            DeployOutcome::Succeeded => "✔",
            DeployOutcome::Failed => "✖",
            DeployOutcome::RolledBack => "↶",
            DeployOutcome::InProgress => "…",
        }
    }
}

/// One deploy of the service, newest first in histories.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deploy {
    pub service: String,
    pub version: String,
    /// Image reference or commit.
    pub artifact: String,
    pub at: Timestamp,
    pub by: String,
    pub outcome: DeployOutcome,
}

/// The version one backend runs now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunningVersion {
    pub backend: String,
    pub az: String,
    pub version: Option<String>,
}

/// Deploy history plus the version each backend runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploysObservation {
    pub service: String,
    /// Newest first.
    pub history: Vec<Deploy>,
    pub running: Vec<RunningVersion>,
}

/// Alert severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Severity::Info => "i",
            Severity::Warning => "!",
            Severity::Critical => "‼",
        }
    }
}

/// A firing alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub name: String,
    pub severity: Severity,
    pub target: String,
    pub since: Timestamp,
    pub summary: String,
}

/// Log level parsed from a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    /// Lines without a level (access logs, stack-trace continuations).
    None,
}

impl LogLevel {
    pub fn label(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::None => "-",
        }
    }

    /// Finds a Spring Boot / logback style level token in a line.
    pub fn detect(line: &str) -> LogLevel {
        for token in line.split_whitespace().take(6) {
            // logfmt (`level=warn`, Prometheus and Go services); plain lower-case
            // words elsewhere are prose, not levels.
            let upper;
            let token = match token.strip_prefix("level=") {
                Some(value) => {
                    upper = value.to_ascii_uppercase();
                    upper.as_str()
                }
                None => token,
            };
            match token.trim_matches(|c: char| !c.is_ascii_alphabetic()) {
                "ERROR" | "FATAL" => return LogLevel::Error,
                "WARN" | "WARNING" => return LogLevel::Warn,
                "INFO" => return LogLevel::Info,
                "DEBUG" => return LogLevel::Debug,
                "TRACE" => return LogLevel::Trace,
                _ => {}
            }
        }
        LogLevel::None
    }
}

/// One log line from one host. `text` is raw as received; the log buffer
/// sanitizes it on the way in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: Timestamp,
    pub host: String,
    pub az: String,
    pub level: LogLevel,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_spring_boot_levels() {
        let line = "2026-11-22 02:19:07.123  WARN 4242 --- [nio-8080-exec-1] c.e.web.Api : slow";
        assert_eq!(LogLevel::detect(line), LogLevel::Warn);
        assert_eq!(
            LogLevel::detect("10.0.0.1 - - [22/Nov/2026] \"GET / HTTP/1.1\" 200"),
            LogLevel::None
        );
        assert_eq!(LogLevel::detect("[ERROR] boom"), LogLevel::Error);
        assert_eq!(
            LogLevel::detect("ts=2026-11-18T11:12:39Z caller=scrape.go:1284 level=warn msg=x"),
            LogLevel::Warn
        );
    }

    #[test]
    fn lb_error_rate_is_request_weighted() {
        let t = |rps, err| Target {
            reason: None,
            drain_ends_at: None,
            backend: "b".into(),
            az: "a".into(),
            weight: 1,
            state: TargetState::Active,
            health: Health::Ok,
            requests_per_sec: Some(rps),
            error_rate: Some(err),
            in_flight: Some(0),
        };
        let lb = LoadBalancer {
            az_traffic: Vec::new(),
            name: "lb".into(),
            kind: "nginx".into(),
            targets: vec![t(300.0, 0.0), t(100.0, 0.1)],
        };
        assert!((lb.error_rate().expect("known") - 0.025).abs() < 1e-9);
        // One target that cannot report: the totals are unknown, not smaller.
        let mut alb = lb.clone();
        alb.targets[1].requests_per_sec = None;
        assert_eq!(alb.total_rps(), None);
        assert_eq!(alb.error_rate(), None);
    }
}
