//! One Redis server: `INFO replication` parsed into [`RedisReplication`], mapped
//! to the fleet's [`CacheNode`], and the switchover commands.
//!
//! Switchover, as opsdeck does it:
//! - Planned: [`RedisNode::promote_failover`] sends `FAILOVER TO <replica>` to the
//!   live primary (Redis ≥ 6.2). `FAILOVER` pauses writes on the primary
//!   itself (`CLIENT PAUSE WRITE`), waits until the chosen replica has the
//!   primary's offset, then swaps roles, so no separate read-only step is
//!   needed; [`RedisNode::pause_writes`] exists for a manual freeze.
//! - Emergency (primary dead): [`RedisNode::promote_replicaof_no_one`].
//! - Afterwards the old primary follows the new one: [`RedisNode::rejoin`].
//!
//! Each call opens its own connection under one deadline.

use std::time::Duration;

use redis::{AsyncConnectionConfig, IntoConnectionInfo, RedisConnectionInfo};
use tokio::time::Instant;

use crate::core::fleet::{CacheNode, ReplicaRole};
use crate::core::sanitize::sanitize;
use crate::providers::ProviderError;

use super::endpoint::{origin, split_host_port, with_deadline};

/// How long [`RedisNode::promote_failover`] may spend on `FAILOVER ABORT`
/// after a failover that did not complete.
pub const ABORT_TIMEOUT: Duration = Duration::from_secs(2);

/// The IP addresses `addr` (`host:port`) resolves to; empty when it does not.
async fn resolve(addr: &str, timeout: Duration) -> Vec<std::net::IpAddr> {
    match tokio::time::timeout(timeout, tokio::net::lookup_host(addr)).await {
        Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
        _ => Vec::new(),
    }
}

/// One `slaveN:` line of a primary's `INFO replication`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisReplicaEntry {
    /// Address as the primary sees the replica's connection.
    pub ip: String,
    /// The replica's listening port (`REPLCONF listening-port`).
    pub port: u16,
    /// `online`, `wait_bgsave`, `send_bulk`.
    pub state: String,
    pub offset: Option<u64>,
    /// Seconds since the replica's last ACK.
    pub lag: Option<u64>,
}

/// `INFO replication`, parsed. Absent fields are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedisReplication {
    /// `role:master` → `Primary`, `role:slave` → `Replica`.
    pub role: Option<ReplicaRole>,
    pub connected_slaves: Vec<RedisReplicaEntry>,
    pub master_host: Option<String>,
    pub master_port: Option<u16>,
    /// `master_link_status:up` → `Some(true)`.
    pub master_link_up: Option<bool>,
    /// `None` when Redis reports -1 (never, or link down).
    pub master_last_io_seconds_ago: Option<u64>,
    pub master_sync_in_progress: Option<bool>,
    pub master_repl_offset: Option<u64>,
    pub slave_repl_offset: Option<u64>,
}

impl RedisReplication {
    /// The entry for the replica listening at `addr` (`host:port`): the exact
    /// address, else the only replica with that port (the primary sees the
    /// replica's source address, which on loopback or behind NAT differs
    /// from the one it listens on).
    pub fn replica_entry(&self, addr: &str) -> Option<&RedisReplicaEntry> {
        let (host, port) = split_host_port(addr).ok()?;
        if let Some(e) = self
            .connected_slaves
            .iter()
            .find(|e| e.ip == host && e.port == port)
        {
            return Some(e);
        }
        let mut same_port = self.connected_slaves.iter().filter(|e| e.port == port);
        match (same_port.next(), same_port.next()) {
            (Some(e), None) => Some(e),
            _ => None,
        }
    }
}

/// Parses the text of `INFO replication` (or full `INFO`).
pub fn parse_info_replication(text: &str) -> RedisReplication {
    let mut info = RedisReplication::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "role" => {
                info.role = match value {
                    "master" => Some(ReplicaRole::Primary),
                    "slave" | "replica" => Some(ReplicaRole::Replica),
                    _ => None,
                }
            }
            "master_host" => info.master_host = Some(value.to_string()),
            "master_port" => info.master_port = value.parse().ok(),
            "master_link_status" => info.master_link_up = Some(value == "up"),
            "master_last_io_seconds_ago" => info.master_last_io_seconds_ago = value.parse().ok(),
            "master_sync_in_progress" => info.master_sync_in_progress = Some(value == "1"),
            "master_repl_offset" => info.master_repl_offset = value.parse().ok(),
            "slave_repl_offset" => info.slave_repl_offset = value.parse().ok(),
            k if k.starts_with("slave")
                && k[5..].bytes().all(|b| b.is_ascii_digit())
                && k.len() > 5 =>
            {
                if let Some(entry) = parse_replica_entry(value) {
                    info.connected_slaves.push(entry);
                }
            }
            _ => {}
        }
    }
    info
}

/// `ip=127.0.0.1,port=6381,state=online,offset=1234,lag=0`.
fn parse_replica_entry(value: &str) -> Option<RedisReplicaEntry> {
    let mut entry = RedisReplicaEntry {
        ip: String::new(),
        port: 0,
        state: String::new(),
        offset: None,
        lag: None,
    };
    for pair in value.split(',') {
        let (k, v) = pair.split_once('=')?;
        match k {
            "ip" => entry.ip = v.to_string(),
            "port" => entry.port = v.parse().ok()?,
            "state" => entry.state = v.to_string(),
            "offset" => entry.offset = v.parse().ok(),
            "lag" => entry.lag = v.parse().ok(),
            _ => {}
        }
    }
    (!entry.ip.is_empty() && entry.port != 0).then_some(entry)
}

/// How to reach one Redis server.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisNode {
    /// Fleet name (`cache-replica`), used in every error.
    pub name: String,
    /// `host:port` as this console reaches it.
    pub addr: String,
    pub password: Option<String>,
}

impl std::fmt::Debug for RedisNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisNode")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

/// A node that did not answer: everything about it unknown.
pub fn unreachable_cache_node(name: &str, az: &str, role: ReplicaRole) -> CacheNode {
    CacheNode {
        lag_sampled_at: None,
        name: name.to_string(),
        az: az.to_string(),
        role,
        reachable: false,
        link_up: None,
        offset: None,
        lag_bytes: None,
        lag_seconds: None,
        source: None,
    }
}

impl RedisNode {
    pub fn new(name: impl Into<String>, addr: impl Into<String>, password: Option<String>) -> Self {
        Self {
            name: name.into(),
            addr: addr.into(),
            password,
        }
    }

    /// `cache-replica (127.0.2.31:6381)`.
    pub fn origin(&self) -> String {
        origin(&self.name, &self.addr)
    }

    /// `INFO replication`, parsed.
    pub async fn info(&self, timeout: Duration) -> Result<RedisReplication, ProviderError> {
        let text: String = self.command(&["INFO", "replication"], timeout).await?;
        Ok(parse_info_replication(&text))
    }

    /// This node as the fleet shows it, from its own `INFO` and, for a
    /// replica, its primary's (`None` when the primary did not answer).
    ///
    /// A replica's `lag_bytes` is the primary's `master_repl_offset` minus
    /// its `slave_repl_offset`; `lag_seconds` is the primary's `lag=` for it,
    /// else `master_last_io_seconds_ago`. With the link down both are unknown.
    pub fn to_cache_node(
        &self,
        az: &str,
        own: &RedisReplication,
        primary: Option<&RedisReplication>,
    ) -> CacheNode {
        let role = own.role.unwrap_or(ReplicaRole::Primary);
        if role == ReplicaRole::Primary {
            return CacheNode {
                lag_sampled_at: None,
                name: self.name.clone(),
                az: az.to_string(),
                role,
                reachable: true,
                link_up: None,
                offset: own.master_repl_offset,
                lag_bytes: None,
                lag_seconds: None,
                source: None,
            };
        }
        let link_up = own.master_link_up.unwrap_or(false);
        let (lag_bytes, lag_seconds) = if link_up {
            let entry = primary.and_then(|p| p.replica_entry(&self.addr));
            let bytes = match (
                primary.and_then(|p| p.master_repl_offset),
                own.slave_repl_offset,
            ) {
                (Some(p), Some(r)) => Some(p.saturating_sub(r)),
                _ => None,
            };
            let seconds = entry
                .and_then(|e| e.lag)
                .or(own.master_last_io_seconds_ago)
                .map(|s| s as f64);
            (bytes, seconds)
        } else {
            (None, None)
        };
        CacheNode {
            lag_sampled_at: None,
            name: self.name.clone(),
            az: az.to_string(),
            role,
            reachable: true,
            link_up: Some(link_up),
            offset: own.slave_repl_offset,
            lag_bytes,
            lag_seconds,
            source: match (&own.master_host, own.master_port) {
                (Some(h), Some(p)) => Some(format!("{h}:{p}")),
                (Some(h), None) => Some(h.clone()),
                _ => None,
            },
        }
    }

    /// Planned switchover to this replica: `FAILOVER TO <this> TIMEOUT <ms>` on
    /// `primary`, then waits until this node reports `role:master` and the old
    /// primary `role:slave`. Needs Redis ≥ 6.2 and a live primary; FAILOVER
    /// pauses writes on the primary while the replica catches up. Refused
    /// when the primary sees this replica at an address that is not this
    /// node's (no `replica-announce-ip` behind NAT or on loopback aliases). A
    /// failover that does not complete in time is aborted (`FAILOVER ABORT`).
    pub async fn promote_failover(
        &self,
        primary: &RedisNode,
        timeout: Duration,
    ) -> Result<(), ProviderError> {
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        let primary_info = primary.info(left()).await?;
        let Some(entry) = primary_info.replica_entry(&self.addr) else {
            return Err(ProviderError::Refused {
                origin: primary.origin(),
                detail: format!("{} is not among its connected replicas", self.origin()),
            });
        };
        // The old primary will replicate from the address it sees this replica
        // at. Behind NAT or on loopback aliases without `replica-announce-ip`
        // that address is not this node, and the failover would hang half-way.
        let ours = resolve(&self.addr, left()).await;
        let seen: Option<std::net::IpAddr> = entry.ip.parse().ok();
        let (host, _) = split_host_port(&self.addr).unwrap_or_default();
        if entry.ip != host && !seen.is_some_and(|ip| ours.contains(&ip)) {
            return Err(ProviderError::Refused {
                origin: primary.origin(),
                detail: format!(
                    "it sees {} as {}:{}, not {}; FAILOVER would make it replicate from there \
                     (set replica-announce-ip on every node, or promote with REPLICAOF NO ONE)",
                    self.name, entry.ip, entry.port, self.addr
                ),
            });
        }
        let port = entry.port.to_string();
        let ms = left().as_millis().max(1).to_string();
        let _: String = primary
            .command(
                &["FAILOVER", "TO", &entry.ip, &port, "TIMEOUT", &ms],
                left(),
            )
            .await?;
        let swapped = async {
            loop {
                let mine = self.info(left()).await?;
                let theirs = primary.info(left()).await?;
                if mine.role == Some(ReplicaRole::Primary)
                    && theirs.role == Some(ReplicaRole::Replica)
                {
                    return Ok(());
                }
                if left() < Duration::from_millis(100) {
                    return Err(ProviderError::Timeout {
                        origin: self.origin(),
                        after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                    });
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        .await;
        if swapped.is_err() {
            // Leave the primary a primary rather than paused mid-failover; this
            // cleanup may take up to ABORT_TIMEOUT past `timeout`.
            let _ = primary
                .command::<String>(&["FAILOVER", "ABORT"], ABORT_TIMEOUT)
                .await;
        }
        swapped
    }

    /// Emergency promotion: `REPLICAOF NO ONE`. Writes not yet replicated
    /// from the old primary are lost to this node.
    pub async fn promote_replicaof_no_one(&self, timeout: Duration) -> Result<(), ProviderError> {
        let _: String = self.command(&["REPLICAOF", "NO", "ONE"], timeout).await?;
        Ok(())
    }

    /// Makes this node a replica of `primary`: `REPLICAOF host port` (and
    /// `masterauth` when the primary has a password). `primary.addr` must be
    /// reachable from this node, not only from the console.
    pub async fn rejoin(
        &self,
        primary: &RedisNode,
        timeout: Duration,
    ) -> Result<(), ProviderError> {
        let (host, port) =
            split_host_port(&primary.addr).map_err(|detail| ProviderError::Failed {
                origin: primary.origin(),
                detail,
            })?;
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        if let Some(password) = &primary.password {
            let _: String = self
                .command(&["CONFIG", "SET", "masterauth", password], left())
                .await?;
        }
        let _: String = self
            .command(&["REPLICAOF", &host, &port.to_string()], left())
            .await?;
        Ok(())
    }

    /// `CLIENT PAUSE <ms> WRITE` (Redis ≥ 6.2): holds writes, lets reads through.
    pub async fn pause_writes(
        &self,
        pause: Duration,
        timeout: Duration,
    ) -> Result<(), ProviderError> {
        let ms = pause.as_millis().to_string();
        let _: String = self
            .command(&["CLIENT", "PAUSE", &ms, "WRITE"], timeout)
            .await?;
        Ok(())
    }

    /// `CLIENT UNPAUSE`.
    pub async fn unpause(&self, timeout: Duration) -> Result<(), ProviderError> {
        let _: String = self.command(&["CLIENT", "UNPAUSE"], timeout).await?;
        Ok(())
    }

    /// Runs one command on a fresh connection under `timeout`.
    async fn command<T: redis::FromRedisValue>(
        &self,
        args: &[&str],
        timeout: Duration,
    ) -> Result<T, ProviderError> {
        let origin = self.origin();
        let shown = match args.first() {
            Some(&"CONFIG") => "CONFIG SET masterauth".to_string(),
            _ => args.join(" "),
        };
        with_deadline(&origin, timeout, async {
            let (host, port) =
                split_host_port(&self.addr).map_err(|detail| ProviderError::Failed {
                    origin: origin.clone(),
                    detail,
                })?;
            let mut settings = RedisConnectionInfo::default().set_skip_set_lib_name();
            if let Some(password) = &self.password {
                settings = settings.set_password(password);
            }
            let info = (host, port)
                .into_connection_info()
                .map_err(|e| self.connect_error(&e))?
                .set_redis_settings(settings);
            let client = redis::Client::open(info).map_err(|e| self.connect_error(&e))?;
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout));
            let mut conn = client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map_err(|e| self.connect_error(&e))?;
            let mut cmd = redis::cmd(args.first().copied().unwrap_or("PING"));
            for arg in args.iter().skip(1) {
                cmd.arg(*arg);
            }
            cmd.query_async::<T>(&mut conn)
                .await
                .map_err(|e| ProviderError::Failed {
                    origin: origin.clone(),
                    detail: sanitize(&format!("{shown}: {e}")),
                })
        })
        .await
    }

    fn connect_error(&self, e: &redis::RedisError) -> ProviderError {
        if e.is_timeout() {
            ProviderError::Unreachable {
                origin: self.origin(),
                detail: "connect timed out".into(),
            }
        } else if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
            ProviderError::Unreachable {
                origin: self.origin(),
                detail: sanitize(&e.to_string()),
            }
        } else {
            ProviderError::Failed {
                origin: self.origin(),
                detail: sanitize(&e.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::selfhosted::lab_env::{LabEnv, answers, skip};

    // As printed by Redis 7.0 (CRLF line ends).
    const PRIMARY: &str = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n\
slave0:ip=127.0.0.1,port=6381,state=online,offset=5000,lag=1\r\n\
master_failover_state:no-failover\r\nmaster_replid:8f2d0c6f0a\r\nmaster_replid2:0000\r\n\
master_repl_offset:5400\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:1\r\n";

    const REPLICA: &str = "# Replication\r\nrole:slave\r\nmaster_host:127.0.1.31\r\nmaster_port:6380\r\n\
master_link_status:up\r\nmaster_last_io_seconds_ago:0\r\nmaster_sync_in_progress:0\r\n\
slave_read_repl_offset:5000\r\nslave_repl_offset:5000\r\nslave_priority:100\r\nslave_read_only:1\r\n\
replica_announced:1\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n\
master_repl_offset:5000\r\n";

    const REPLICA_LINK_DOWN: &str = "# Replication\r\nrole:slave\r\nmaster_host:127.0.1.31\r\nmaster_port:6380\r\n\
master_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\nmaster_sync_in_progress:0\r\n\
slave_repl_offset:4900\r\nmaster_link_down_since_seconds:12\r\n";

    #[test]
    fn parses_primary_info() {
        let p = parse_info_replication(PRIMARY);
        assert_eq!(p.role, Some(ReplicaRole::Primary));
        assert_eq!(p.master_repl_offset, Some(5400));
        assert_eq!(
            p.connected_slaves,
            vec![RedisReplicaEntry {
                ip: "127.0.0.1".into(),
                port: 6381,
                state: "online".into(),
                offset: Some(5000),
                lag: Some(1),
            }]
        );
        assert!(
            p.replica_entry("127.0.2.31:6381").is_some(),
            "port fallback"
        );
        assert!(p.replica_entry("127.0.2.31:6390").is_none());
    }

    #[test]
    fn parses_replica_info() {
        let r = parse_info_replication(REPLICA);
        assert_eq!(r.role, Some(ReplicaRole::Replica));
        assert_eq!(r.master_host.as_deref(), Some("127.0.1.31"));
        assert_eq!(r.master_port, Some(6380));
        assert_eq!(r.master_link_up, Some(true));
        assert_eq!(r.master_last_io_seconds_ago, Some(0));
        assert_eq!(r.slave_repl_offset, Some(5000));
        assert!(r.connected_slaves.is_empty());
        let down = parse_info_replication(REPLICA_LINK_DOWN);
        assert_eq!(down.master_link_up, Some(false));
        assert_eq!(down.master_last_io_seconds_ago, None, "-1 is unknown");
    }

    #[test]
    fn maps_to_cache_nodes() {
        let p = parse_info_replication(PRIMARY);
        let r = parse_info_replication(REPLICA);
        let primary = RedisNode::new("cache-primary", "127.0.1.31:6380", None);
        let replica = RedisNode::new("cache-replica", "127.0.2.31:6381", None);
        let pn = primary.to_cache_node("az-a", &p, None);
        assert_eq!(pn.role, ReplicaRole::Primary);
        assert_eq!(pn.offset, Some(5400));
        assert_eq!(pn.link_up, None);
        let rn = replica.to_cache_node("az-b", &r, Some(&p));
        assert_eq!(
            rn,
            CacheNode {
                lag_sampled_at: None,
                name: "cache-replica".into(),
                az: "az-b".into(),
                role: ReplicaRole::Replica,
                reachable: true,
                link_up: Some(true),
                offset: Some(5000),
                lag_bytes: Some(400),
                lag_seconds: Some(1.0),
                source: Some("127.0.1.31:6380".into()),
            }
        );
        // Primary unknown: bytes unknown, seconds from the replica's own view.
        let alone = replica.to_cache_node("az-b", &r, None);
        assert_eq!(alone.lag_bytes, None);
        assert_eq!(alone.lag_seconds, Some(0.0));
        // Link down: lag unknown, never 0.
        let down =
            replica.to_cache_node("az-b", &parse_info_replication(REPLICA_LINK_DOWN), Some(&p));
        assert_eq!(down.link_up, Some(false));
        assert_eq!((down.lag_bytes, down.lag_seconds), (None, None));
        assert_eq!(down.offset, Some(4900));
    }

    #[test]
    fn debug_hides_the_password() {
        let n = RedisNode::new("c", "127.0.0.1:6380", Some("hunter2".into()));
        assert!(!format!("{n:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn unreachable_and_silent_servers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        drop(listener);
        let node = RedisNode::new("cache-replica", addr.clone(), None);
        let err = node
            .info(Duration::from_secs(2))
            .await
            .expect_err("refused");
        assert!(matches!(err, ProviderError::Unreachable { .. }), "{err}");
        assert_eq!(err.source_name(), format!("cache-replica ({addr})"));

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
        let node = RedisNode::new("cache-primary", addr.clone(), None);
        let started = Instant::now();
        let err = node
            .info(Duration::from_millis(300))
            .await
            .expect_err("silent");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(err.source_name(), format!("cache-primary ({addr})"));
    }

    async fn lab_nodes(test: &str) -> Option<(RedisNode, RedisNode)> {
        let lab = LabEnv::load(test)?;
        let password = lab.file("LAB_REDIS_PASSWORD_FILE");
        let primary = lab.get("LAB_REDIS_PRIMARY").unwrap_or("127.0.1.31:6380");
        let replica = lab.get("LAB_REDIS_REPLICA").unwrap_or("127.0.2.31:6381");
        if !answers(primary).await || !answers(replica).await {
            skip(test);
            return None;
        }
        Some((
            RedisNode::new("cache-primary", primary, password.clone()),
            RedisNode::new("cache-replica", replica, password),
        ))
    }

    #[tokio::test]
    async fn lab_info_of_both() {
        let _lab = crate::providers::selfhosted::lab_env::LOCK.lock().await;
        let Some((primary, replica)) = lab_nodes("redis_node::lab_info_of_both").await else {
            return;
        };
        let t = Duration::from_secs(3);
        let p = primary.info(t).await.expect("primary info");
        let r = replica.info(t).await.expect("replica info");
        println!("primary: {p:?}\nreplica: {r:?}");
        assert_eq!(p.role, Some(ReplicaRole::Primary));
        assert_eq!(r.role, Some(ReplicaRole::Replica));
        assert!(p.replica_entry(&replica.addr).is_some(), "{p:?}");
        let node = replica.to_cache_node("az-b", &r, Some(&p));
        println!("{node:?}");
        assert_eq!(node.link_up, Some(true));
        assert!(node.lag_bytes.is_some());
        assert!(node.lag_seconds.is_some());
    }

    async fn roles(
        primary: &RedisNode,
        replica: &RedisNode,
    ) -> (Option<ReplicaRole>, Option<ReplicaRole>) {
        let t = Duration::from_secs(3);
        let p = primary.info(t).await.ok().and_then(|i| i.role);
        let r = replica.info(t).await.ok().and_then(|i| i.role);
        (p, r)
    }

    async fn wait_link_up(replica: &RedisNode) -> bool {
        for _ in 0..100 {
            if let Ok(info) = replica.info(Duration::from_secs(2)).await
                && info.master_link_up == Some(true)
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// REPLICAOF NO ONE and rejoin, then FAILOVER there and back. Flips the
    /// lab's roles for a few seconds, so it runs only with OPSDECK_LAB_SWITCHOVER=1.
    #[tokio::test]
    async fn lab_failover_round_trip() {
        let _lab = crate::providers::selfhosted::lab_env::LOCK.lock().await;
        let test = "redis_node::lab_failover_round_trip";
        if std::env::var("OPSDECK_LAB_SWITCHOVER").as_deref() != Ok("1") {
            println!("SKIPPED {test}: set OPSDECK_LAB_SWITCHOVER=1 to flip the lab's roles");
            return;
        }
        let Some((primary, replica)) = lab_nodes(test).await else {
            return;
        };
        let t = Duration::from_secs(10);
        // Emergency path: detach the replica, then rejoin it.
        replica
            .promote_replicaof_no_one(t)
            .await
            .expect("replicaof no one");
        let alone = roles(&primary, &replica).await;
        replica.rejoin(&primary, t).await.expect("rejoin");
        assert_eq!(
            alone,
            (Some(ReplicaRole::Primary), Some(ReplicaRole::Primary))
        );
        assert!(wait_link_up(&replica).await, "replica linked again");
        assert_eq!(
            roles(&primary, &replica).await,
            (Some(ReplicaRole::Primary), Some(ReplicaRole::Replica))
        );

        // Planned path: FAILOVER there and back.
        let there = replica.promote_failover(&primary, t).await;
        let swapped = roles(&primary, &replica).await;
        let linked = wait_link_up(&primary).await;
        let back = primary.promote_failover(&replica, t).await;
        if back.is_err() && roles(&primary, &replica).await.0 != Some(ReplicaRole::Primary) {
            // Restore the lab the emergency way before reporting.
            let _ = primary.promote_replicaof_no_one(t).await;
            let _ = replica.rejoin(&primary, t).await;
        }
        let restored = roles(&primary, &replica).await;
        let relinked = wait_link_up(&replica).await;
        there.expect("failover to the replica");
        assert_eq!(
            swapped,
            (Some(ReplicaRole::Replica), Some(ReplicaRole::Primary))
        );
        assert!(linked, "old primary follows the new one");
        assert_eq!(
            restored,
            (Some(ReplicaRole::Primary), Some(ReplicaRole::Replica))
        );
        assert!(relinked);
        back.expect("failover back");
    }
}
