//! The self-hosted fleet: hosts reached over SSH (russh), nginx as the load
//! balancer (its upstream file and access log), MySQL/MariaDB and Redis pairs
//! spoken to directly, HTTP health probes, Prometheus alerts, and release
//! directories for deploys. It implements the same observe, operate and shell
//! traits as the demo fleet, so every view and operation works unchanged.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;

use crate::config::selfhosted_config::{BackendSettings, SelfHostedConfig};
use crate::core::Timestamp;
use crate::core::capabilities::Capabilities;
use crate::core::fleet::{
    Alert, CacheNode, DbNode, Deploy, DeploysObservation, Health, Host, HostRole, HostState,
    HostsObservation, LoadBalancer, LogLevel, LogLine, ReplicaRole, ReplicationObservation,
    RunningVersion, Target, TargetState,
};
use crate::core::lock::LockHolder;
use crate::providers::ssh::{
    ExecOutput, HeldCommand, HoldStart, PresentedKey, SshConfig, SshError, SshPool, SshShell,
};
use crate::providers::{
    LockError, ObserveProvider, OperateProvider, PromoteMode, ProviderError, ShellProvider,
    SourceInfo,
};

use super::access_log::{TrafficWindow, parse_line};
use super::endpoint::{split_host_port, with_deadline};
use super::fleet_lock::{
    FleetLock, LOCKED, LockState, Refusal, mark_stale, parse_holder, parse_probe, parse_refusal,
};
use super::http_probe;
use super::mysql_node::{MysqlNode, unreachable_db_node};
use super::nginx_upstream;
use super::prometheus::PrometheusClient;
use super::redis_node::{RedisNode, unreachable_cache_node};
use super::release_dirs::{self, DEFAULT_DEPLOY, ReleaseDirs, parse_listing};
use super::shell_text::shell_quote;
use super::upstream_edit::{EDIT_WAIT_SECS, EditOutcome, UpstreamEdit};

/// Lines kept for the console between two polls of `logs()`.
const LOG_QUEUE: usize = 50_000;
/// Requests per second are counted over this window; a drained backend
/// shows 0 once a whole window has passed without a request to it.
const TRAFFIC_WINDOW: Duration = Duration::from_secs(4);
/// How long a dropped log tail waits before reconnecting.
const TAIL_RETRY: Duration = Duration::from_secs(2);
/// A difference between the access log's clock and the console's worth a
/// line in the log file.
const SKEW_WARN_MS: i64 = 2_000;
/// How often the console tells the lock's holding command it is alive.
const LOCK_HEARTBEAT: Duration = Duration::from_secs(3);

/// A database or cache node as configured.
struct Node<T> {
    name: String,
    az: String,
    ssh: Option<String>,
    logs: Vec<String>,
    client: T,
}

/// Credentials an old MySQL primary uses to follow the new one.
struct ReplicationAccount {
    user: String,
    password: String,
}

pub struct SelfHostedProvider {
    environment: String,
    region: Option<String>,
    cfg: SelfHostedConfig,
    pool: Arc<SshPool>,
    mysql: Vec<Node<MysqlNode>>,
    redis: Vec<Node<RedisNode>>,
    replication: Option<ReplicationAccount>,
    prometheus: Option<PrometheusClient>,
    timeout: Duration,
    traffic: Arc<Mutex<TrafficWindow>>,
    /// When the access-log tail last attached; traffic numbers mean nothing
    /// before a whole window has been read.
    traffic_since: Arc<Mutex<Option<std::time::Instant>>>,
    /// Origin of the monotonic clock the access-log tail stamps lines with.
    epoch: std::time::Instant,
    logs: Arc<Mutex<VecDeque<LogLine>>>,
    tails_started: Mutex<bool>,
    /// Host keys hosts presented that are not known yet, until trusted.
    presented: Mutex<HashMap<String, PresentedKey>>,
    /// Last observed role and reachability of database and cache nodes, so
    /// the hosts view can show them between replication polls.
    nodes_seen: Mutex<HashMap<String, (ReplicaRole, bool)>>,
    /// Where the fleet-wide lock lives on the load-balancer host.
    fleet_lock: FleetLock,
    /// The lock while this console holds it: the remote command holding the
    /// `flock`, fed a heartbeat.
    held: tokio::sync::Mutex<Option<(LockHolder, HeldCommand)>>,
    /// End-to-end probes and the LB's own check, from this machine.
    service: super::service_prober::ServiceProber,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn config_error(msg: impl Into<String>) -> ProviderError {
    ProviderError::Failed {
        origin: "config".into(),
        detail: msg.into(),
    }
}

impl SelfHostedProvider {
    /// Builds the provider; reads secrets (by reference) and the SSH config.
    pub fn new(
        environment: &str,
        region: Option<String>,
        cfg: SelfHostedConfig,
    ) -> Result<Self, ProviderError> {
        let ssh = match &cfg.ssh.config {
            Some(path) => SshConfig::load(path),
            None => SshConfig::load_default(),
        }
        .map_err(ProviderError::from)?;
        let mut mysql = Vec::new();
        let mut replication = None;
        if let Some(m) = &cfg.mysql {
            let password = m.password.read().map_err(config_error)?;
            for n in &m.nodes {
                mysql.push(Node {
                    name: n.name.clone(),
                    az: n.az.clone(),
                    ssh: n.ssh.clone(),
                    logs: n.logs.clone(),
                    client: MysqlNode::new(&n.name, &n.address, &m.user, &password),
                });
            }
            let repl_password = match &m.replication_password {
                Some(r) => r.read().map_err(config_error)?,
                None => password.clone(),
            };
            replication = Some(ReplicationAccount {
                user: m.replication_user.clone().unwrap_or_else(|| m.user.clone()),
                password: repl_password,
            });
        }
        let mut redis = Vec::new();
        if let Some(r) = &cfg.redis {
            let password = match &r.password {
                Some(p) => Some(p.read().map_err(config_error)?),
                None => None,
            };
            for n in &r.nodes {
                redis.push(Node {
                    name: n.name.clone(),
                    az: n.az.clone(),
                    ssh: n.ssh.clone(),
                    logs: n.logs.clone(),
                    client: RedisNode::new(&n.name, &n.address, password.clone()),
                });
            }
        }
        let timeout = Duration::from_millis(cfg.timeout_ms.unwrap_or(3000));
        Ok(Self {
            environment: environment.to_string(),
            region,
            prometheus: cfg
                .prometheus
                .as_ref()
                .map(|p| PrometheusClient::new(&p.url)),
            pool: Arc::new(SshPool::new(ssh)),
            mysql,
            redis,
            replication,
            timeout,
            traffic: Arc::new(Mutex::new(TrafficWindow::new(TRAFFIC_WINDOW))),
            traffic_since: Arc::new(Mutex::new(None)),
            epoch: std::time::Instant::now(),
            logs: Arc::new(Mutex::new(VecDeque::new())),
            tails_started: Mutex::new(false),
            presented: Mutex::new(HashMap::new()),
            nodes_seen: Mutex::new(HashMap::new()),
            fleet_lock: FleetLock::new(cfg.lb.lock_file.as_deref(), &cfg.lb.upstream_file),
            held: tokio::sync::Mutex::new(None),
            service: super::service_prober::ServiceProber::new(&cfg.probes, &cfg.lb),
            cfg,
        })
    }

    /// Runs `command` on `alias` over the shared SSH connection; a non-zero
    /// exit is an error carrying stderr.
    async fn run(&self, alias: &str, command: &str) -> Result<String, ProviderError> {
        // A frozen host must cost one timeout, not the SSH connect timeout.
        let conn = with_deadline(alias, self.timeout, async {
            self.pool.get(alias).await.map_err(ProviderError::from)
        })
        .await?;
        let out = conn
            .exec(command, self.timeout)
            .await
            .map_err(ProviderError::from)?;
        out.into_stdout(alias, command)
    }

    fn azs(&self) -> Vec<String> {
        if !self.cfg.azs.is_empty() {
            return self.cfg.azs.clone();
        }
        let mut azs: Vec<String> = Vec::new();
        let all = std::iter::once(self.cfg.lb.az.clone())
            .chain(self.cfg.backends.iter().map(|b| b.az.clone()))
            .chain(self.mysql.iter().map(|n| n.az.clone()))
            .chain(self.redis.iter().map(|n| n.az.clone()));
        for az in all {
            if !azs.contains(&az) {
                azs.push(az);
            }
        }
        azs.sort();
        azs
    }

    /// Starts the log tails once: nginx's access log (also the source of
    /// per-backend traffic) and every configured log file. Each tail shares
    /// its host's SSH connection and reconnects after a drop.
    fn ensure_tails(&self) {
        let mut started = lock(&self.tails_started);
        if *started {
            return;
        }
        *started = true;
        let lb = &self.cfg.lb;
        self.spawn_tail(
            lb.ssh.clone(),
            lb.name.clone(),
            lb.az.clone(),
            lb.access_log.clone(),
            true,
        );
        for b in &self.cfg.backends {
            for file in &b.logs {
                self.spawn_tail(
                    b.ssh.clone(),
                    b.name.clone(),
                    b.az.clone(),
                    file.clone(),
                    false,
                );
            }
        }
        let nodes = self
            .mysql
            .iter()
            .map(|n| (&n.ssh, &n.name, &n.az, &n.logs))
            .chain(self.redis.iter().map(|n| (&n.ssh, &n.name, &n.az, &n.logs)));
        for (ssh, name, az, files) in nodes {
            if let Some(alias) = ssh {
                for file in files {
                    self.spawn_tail(alias.clone(), name.clone(), az.clone(), file.clone(), false);
                }
            }
        }
    }

    fn spawn_tail(&self, alias: String, host: String, az: String, file: String, access_log: bool) {
        let pool = self.pool.clone();
        let queue = self.logs.clone();
        let traffic = self.traffic.clone();
        let since = self.traffic_since.clone();
        let epoch = self.epoch;
        let command = format!("exec tail -n 0 -F {}", shell_quote(&file));
        tokio::spawn(async move {
            loop {
                let stream = match pool.get(&alias).await {
                    Ok(conn) => conn.stream_lines(&command).await,
                    Err(e) => Err(e),
                };
                match stream {
                    Ok(mut rx) => {
                        if access_log {
                            *lock(&since) = Some(std::time::Instant::now());
                            lock(&traffic).attach(monotonic(epoch));
                        }
                        while let Some(line) = rx.recv().await {
                            let at = wall_clock();
                            if access_log && let Some(entry) = parse_line(&line) {
                                lock(&traffic).record_at(&entry, monotonic(epoch));
                            }
                            let level = if access_log {
                                LogLevel::None
                            } else {
                                LogLevel::detect(&line)
                            };
                            let mut q = lock(&queue);
                            if q.len() >= LOG_QUEUE {
                                q.pop_front();
                            }
                            q.push_back(LogLine {
                                at,
                                host: host.clone(),
                                az: az.clone(),
                                level,
                                text: line,
                            });
                        }
                    }
                    Err(e) => {
                        tracing::warn!(host = %host, file = %file, error = %e, "log tail failed")
                    }
                }
                tokio::time::sleep(TAIL_RETRY).await;
            }
        });
    }

    fn backend(&self, name: &str) -> Result<&BackendSettings, ProviderError> {
        self.cfg
            .backends
            .iter()
            .find(|b| b.name == name)
            .ok_or_else(|| ProviderError::Failed {
                origin: self.cfg.lb.name.clone(),
                detail: format!("no backend named '{name}' in the config"),
            })
    }

    /// Waits until the access log has been read for a whole traffic window, so
    /// that "no requests" observed afterwards is evidence, not a cold start.
    async fn warm_traffic(&self) -> Result<(), ProviderError> {
        self.ensure_tails();
        let deadline = std::time::Instant::now() + TRAFFIC_WINDOW + self.timeout * 2;
        loop {
            let since = *lock(&self.traffic_since);
            if since.is_some_and(|t| t.elapsed() >= TRAFFIC_WINDOW) {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(ProviderError::Failed {
                    origin: format!("{}:{}", self.cfg.lb.name, self.cfg.lb.access_log),
                    detail: "cannot read nginx's access log, so a drain could not be verified"
                        .into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Marks `backend` down (or not) in the upstream file with one atomic
    /// edit under the fleet lock (see `upstream_edit`): the live file is
    /// always the old or the new one, and every error says which.
    async fn set_drained(&self, backend: &str, down: bool) -> Result<(), ProviderError> {
        let b = self.backend(backend)?;
        self.warm_traffic().await?;
        let lb = &self.cfg.lb;
        let lock_held = self.holds_lock().await;
        // A changed file means another editor got there first: read it again
        // once and recompute, then give up.
        for attempt in 0..2 {
            let old = self
                .run(&lb.ssh, &format!("cat {}", shell_quote(&lb.upstream_file)))
                .await?;
            let new = nginx_upstream::set_down(&old, &b.address, down)
                .map_err(|e| e.at_file(&lb.upstream_file))?;
            if new == old {
                return Ok(());
            }
            let edit = UpstreamEdit {
                file: &lb.upstream_file,
                old: &old,
                new: &new,
                test_command: &lb.test_command,
                reload_command: &lb.reload_command,
                lock: &self.fleet_lock,
                lock_held,
            };
            // Room for waiting on another console's edit, plus nginx's own time.
            let outcome = match self
                .exec_raw(&lb.ssh, &edit.script(), self.timeout * 2)
                .await
            {
                Ok(out) => UpstreamEdit::outcome(out.status, &out.stdout, &out.stderr),
                Err(e) => EditOutcome::Unknown(e.to_string()),
            };
            let origin = format!("{}:{}", lb.name, lb.upstream_file);
            return match outcome {
                EditOutcome::Applied => {
                    tracing::info!(backend, down, file = %lb.upstream_file, "upstream edit applied: the new file is live");
                    Ok(())
                }
                EditOutcome::TestFailed(message) => Err(ProviderError::Refused {
                    origin,
                    detail: format!(
                        "nginx -t failed, the previous upstream file is back (it is the live one): {message}"
                    ),
                }),
                EditOutcome::ReloadFailed {
                    message,
                    reloaded_old,
                } => Err(ProviderError::Failed {
                    origin,
                    detail: format!(
                        "nginx reload failed after a passing nginx -t: {message}; the previous upstream file is live again{}",
                        if reloaded_old {
                            " and nginx reloaded it"
                        } else {
                            ", but nginx could not be reloaded either"
                        }
                    ),
                }),
                EditOutcome::Changed(_) if attempt == 0 => continue,
                EditOutcome::Changed(sum) => Err(ProviderError::Failed {
                    origin,
                    detail: format!(
                        "the upstream file changed while being edited (another editor?): nothing was changed; the live file is someone else's (sha1 {sum})"
                    ),
                }),
                EditOutcome::Locked(refusal) => Err(ProviderError::Refused {
                    origin,
                    detail: format!(
                        "nothing was changed: {}",
                        refusal_text(&refusal, wall_clock())
                    ),
                }),
                EditOutcome::Unknown(why) => {
                    let settle = self
                        .exec_raw(
                            &lb.ssh,
                            &edit.settle_script(),
                            self.timeout + Duration::from_secs(EDIT_WAIT_SECS + 2),
                        )
                        .await;
                    let live = match settle {
                        Ok(out) => UpstreamEdit::live_file(&out.stdout).map_or_else(
                            || {
                                format!(
                                    "which upstream file is live could not be checked: {}",
                                    crate::core::sanitize::sanitize(out.stderr.trim())
                                )
                            },
                            |l| l.describe(),
                        ),
                        Err(e) => {
                            format!("which upstream file is live could not be checked: {e}")
                        }
                    };
                    Err(ProviderError::Failed {
                        origin,
                        detail: format!("the upstream edit did not finish ({why}); {live}"),
                    })
                }
            };
        }
        Err(ProviderError::Failed {
            origin: lb.name.clone(),
            detail: "the upstream file kept changing while being edited".into(),
        })
    }

    /// Runs `command` on `alias` and returns its output whatever its status.
    async fn exec_raw(
        &self,
        alias: &str,
        command: &str,
        timeout: Duration,
    ) -> Result<ExecOutput, ProviderError> {
        let conn = with_deadline(alias, self.timeout, async {
            self.pool.get(alias).await.map_err(ProviderError::from)
        })
        .await?;
        conn.exec(command, timeout)
            .await
            .map_err(ProviderError::from)
    }

    /// The configured `ssh` alias of the host shown as `name`; a host
    /// without one is refused, never guessed from its display name.
    fn ssh_alias(&self, name: &str) -> Result<String, ProviderError> {
        let lb = &self.cfg.lb;
        let alias = if lb.name == name {
            Some(lb.ssh.clone())
        } else if let Some(b) = self.cfg.backends.iter().find(|b| b.name == name) {
            Some(b.ssh.clone())
        } else if let Some(n) = self.mysql.iter().find(|n| n.name == name) {
            n.ssh.clone()
        } else if let Some(n) = self.redis.iter().find(|n| n.name == name) {
            n.ssh.clone()
        } else {
            return Err(ProviderError::Refused {
                origin: name.to_string(),
                detail:
                    "not a host of this environment's config, so opsdeck has no SSH alias for it"
                        .into(),
            });
        };
        alias.ok_or_else(|| ProviderError::Refused {
            origin: name.to_string(),
            detail: "no `ssh` alias is configured for this host; add `ssh = \"<alias>\"` to its entry (opsdeck never guesses an alias from the display name)".into(),
        })
    }

    /// Whether this console holds the fleet lock (and its command still runs).
    async fn holds_lock(&self) -> bool {
        self.held
            .lock()
            .await
            .as_ref()
            .is_some_and(|(_, cmd)| !cmd.has_ended())
    }

    fn mysql_node(&self, name: &str) -> Option<&Node<MysqlNode>> {
        self.mysql.iter().find(|n| n.name == name)
    }

    fn redis_node(&self, name: &str) -> Option<&Node<RedisNode>> {
        self.redis.iter().find(|n| n.name == name)
    }

    fn unknown_node(name: &str) -> ProviderError {
        ProviderError::Failed {
            origin: name.to_string(),
            detail: "no database or cache node by that name in the config".into(),
        }
    }
}

/// Milliseconds since `epoch` on the monotonic clock, as a `Timestamp` (only
/// ever compared with another one from the same epoch).
fn monotonic(epoch: std::time::Instant) -> Timestamp {
    Timestamp::from_millis(epoch.elapsed().as_millis() as i64)
}

fn wall_clock() -> Timestamp {
    Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}

/// Whether two holders are the same console process.
fn same_process(a: &LockHolder, b: &LockHolder) -> bool {
    a.machine == b.machine && a.pid == b.pid
}

/// Why the lock was not taken, for an operator.
fn refusal_text(refusal: &Refusal, now: Timestamp) -> String {
    match refusal {
        Refusal::Held(Some(h)) => format!("the fleet is locked by {}", h.describe(now)),
        Refusal::Held(None) => {
            "the fleet is locked (the holder has not written its name yet)".into()
        }
        Refusal::Stale(h) => format!(
            "a stale lock is left by {} (its lock is free: its console or command is gone, maybe half-way through); check the fleet, then break the lock",
            h.describe(now)
        ),
        Refusal::Failed(why) => format!("the operation lock is unavailable: {why}"),
    }
}

/// Where a backend keeps its releases (`None`: no `releases_dir`).
fn release_dirs(b: &BackendSettings) -> Option<ReleaseDirs> {
    let releases = b.releases_dir.as_deref()?;
    Some(ReleaseDirs::new(
        releases,
        b.current_link.as_deref(),
        &b.name,
    ))
}

#[async_trait]
impl ObserveProvider for SelfHostedProvider {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            account: None,
            profile: None,
            environment: self.environment.clone(),
            region: self.region.clone(),
            source: "selfhosted".into(),
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            fleet_lock: true,
            ..Capabilities::default()
        }
    }

    async fn lock_holder(&self, _now: Timestamp) -> Result<Option<LockHolder>, ProviderError> {
        let lb = &self.cfg.lb;
        let out = self.run(&lb.ssh, &self.fleet_lock.probe_script()).await?;
        Ok(match parse_probe(&out) {
            LockState::Free => None,
            LockState::Held(h) => Some(h),
            LockState::Stale(h) => Some(mark_stale(h)),
        })
    }

    async fn hosts(&self, now: Timestamp) -> Result<HostsObservation, ProviderError> {
        self.ensure_tails();
        let lb = &self.cfg.lb;
        let upstream = self
            .run(&lb.ssh, &format!("cat {}", shell_quote(&lb.upstream_file)))
            .await;
        let probes = join_all(self.cfg.backends.iter().map(|b| async move {
            let health = http_probe::probe(&b.health_url, self.timeout).await;
            let version = match &b.version_url {
                Some(u) if health.status.is_some() => http_probe::fetch_text(u, self.timeout)
                    .await
                    .ok()
                    .map(|v| crate::core::sanitize::sanitize(v.trim())),
                _ => None,
            };
            (health, version)
        }))
        .await;
        let mut hosts = vec![Host {
            instance_type: None,
            checks: None,
            id: None,
            name: lb.name.clone(),
            az: lb.az.clone(),
            role: HostRole::LoadBalancer,
            state: if upstream.is_ok() {
                HostState::Running
            } else {
                HostState::Unreachable
            },
            health: if upstream.is_ok() {
                Health::Ok
            } else {
                Health::Down
            },
            latency_ms: None,
            cpu_pct: None,
            version: None,
            address: None,
        }];
        let servers = match &upstream {
            Ok(text) => {
                Some(nginx_upstream::servers(text).map_err(|e| e.at_file(&lb.upstream_file))?)
            }
            Err(_) => None,
        };
        let traffic = {
            let mut t = lock(&self.traffic);
            // The window ends at the log's clock now, never the console's:
            // see `TrafficWindow`. Before the first line there is nothing to
            // count, whatever the end.
            let log_now = t.log_now(monotonic(self.epoch)).unwrap_or(now);
            if (log_now.since(now)).abs() > SKEW_WARN_MS {
                tracing::debug!(
                    skew_ms = log_now.since(now),
                    "the access log's clock differs from the console's; traffic is windowed on the log's"
                );
            }
            t.prune(log_now);
            self.cfg
                .backends
                .iter()
                .map(|b| t.traffic(&b.address, log_now))
                .collect::<Vec<_>>()
        };
        let mut targets = Vec::new();
        for ((b, (probe, version)), traffic) in self.cfg.backends.iter().zip(&probes).zip(&traffic)
        {
            let health = match (probe.ok, probe.status) {
                (true, _) => Health::Ok,
                (false, Some(s)) if s < 500 => Health::Degraded,
                _ => Health::Down,
            };
            hosts.push(Host {
                instance_type: None,
                checks: None,
                id: None,
                name: b.name.clone(),
                az: b.az.clone(),
                role: HostRole::Backend,
                state: if probe.status.is_some() {
                    HostState::Running
                } else {
                    HostState::Unreachable
                },
                health,
                latency_ms: probe.status.map(|_| probe.latency_ms),
                cpu_pct: None,
                version: version.clone(),
                address: Some(b.address.clone()),
            });
            let server = servers
                .as_ref()
                .and_then(|s| s.iter().find(|s| s.addr == b.address));
            let state = match server {
                None => TargetState::Unknown,
                Some(s) if s.down && traffic.requests_per_sec > 0.0 => TargetState::Draining,
                Some(s) if s.down => TargetState::Drained,
                Some(_) => TargetState::Active,
            };
            targets.push(Target {
                reason: None,
                drain_ends_at: None,
                backend: b.name.clone(),
                az: b.az.clone(),
                weight: server.map_or(0, |s| s.weight),
                state,
                health,
                requests_per_sec: Some(traffic.requests_per_sec),
                error_rate: Some(traffic.error_rate),
                // nginx does not report in-flight requests per backend; a
                // request is logged when it ends, so requests seen in the
                // window stand in: zero means none started or finished lately.
                in_flight: Some(if state == TargetState::Drained {
                    0
                } else {
                    traffic.requests as u32
                }),
            });
        }
        let seen = lock(&self.nodes_seen).clone();
        // Until replication has been observed, a node's role is the one the
        // config lists it in (first = primary).
        let node_host = |i: usize, name: &str, az: &str, primary: HostRole, replica: HostRole| {
            let (role, reachable) = seen.get(name).copied().map_or(
                (
                    Some(if i == 0 {
                        ReplicaRole::Primary
                    } else {
                        ReplicaRole::Replica
                    }),
                    None,
                ),
                |(r, ok)| (Some(r), Some(ok)),
            );
            Host {
                instance_type: None,
                checks: None,
                id: None,
                name: name.to_string(),
                az: az.to_string(),
                role: match role {
                    Some(ReplicaRole::Replica) => replica,
                    _ => primary,
                },
                state: match reachable {
                    Some(true) => HostState::Running,
                    Some(false) => HostState::Unreachable,
                    None => HostState::Unknown,
                },
                health: match reachable {
                    Some(true) => Health::Ok,
                    Some(false) => Health::Down,
                    None => Health::Unknown,
                },
                latency_ms: None,
                cpu_pct: None,
                version: None,
                address: None,
            }
        };
        for (i, n) in self.mysql.iter().enumerate() {
            hosts.push(node_host(
                i,
                &n.name,
                &n.az,
                HostRole::DbPrimary,
                HostRole::DbReplica,
            ));
        }
        for (i, n) in self.redis.iter().enumerate() {
            hosts.push(node_host(
                i,
                &n.name,
                &n.az,
                HostRole::CachePrimary,
                HostRole::CacheReplica,
            ));
        }
        Ok(HostsObservation {
            faults: Vec::new(),
            azs: self.azs(),
            hosts,
            load_balancer: servers.map(|_| LoadBalancer {
                az_traffic: Vec::new(),
                name: lb.name.clone(),
                kind: "nginx".into(),
                targets,
            }),
        })
    }

    async fn replication(&self, _now: Timestamp) -> Result<ReplicationObservation, ProviderError> {
        // Every node at once: a frozen one costs one timeout, not one each.
        let (db_status, infos) = futures::join!(
            join_all(self.mysql.iter().map(|n| n.client.status(self.timeout))),
            join_all(self.redis.iter().map(|n| n.client.info(self.timeout))),
        );
        let mut databases: Vec<DbNode> = Vec::new();
        let mut seen = HashMap::new();
        for (n, st) in self.mysql.iter().zip(db_status) {
            match st {
                Ok(s) => {
                    seen.insert(n.name.clone(), (s.role, true));
                    let mut node = s.to_db_node(&n.name, &n.az);
                    // Name the source by fleet name when it is one of ours.
                    if let Some(src) = &node.source
                        && let Some(p) = self
                            .mysql
                            .iter()
                            .find(|m| same_endpoint(&m.client.addr, src))
                    {
                        node.source = Some(p.name.clone());
                    }
                    databases.push(node);
                }
                Err(e) => {
                    let role = lock(&self.nodes_seen)
                        .get(&n.name)
                        .map_or(ReplicaRole::Replica, |(r, _)| *r);
                    seen.insert(n.name.clone(), (role, false));
                    databases.push(unreachable_db_node(&n.name, &n.az, role, &e));
                }
            }
        }
        let primary_info = self.redis.iter().zip(&infos).find_map(|(_, i)| {
            i.as_ref()
                .ok()
                .filter(|i| i.role == Some(ReplicaRole::Primary))
        });
        let mut caches: Vec<CacheNode> = Vec::new();
        for (n, info) in self.redis.iter().zip(&infos) {
            match info {
                Ok(i) => {
                    let role = i.role.unwrap_or(ReplicaRole::Primary);
                    seen.insert(n.name.clone(), (role, true));
                    let mut node = n.client.to_cache_node(&n.az, i, primary_info);
                    // Name the source by fleet name: the node at the address
                    // it follows (known even when that node cannot be
                    // observed, say frozen after it was promoted), else the
                    // node observed as primary.
                    let by_address = node.source.as_deref().and_then(|src| {
                        self.redis
                            .iter()
                            .find(|m| m.name != n.name && same_endpoint(&m.client.addr, src))
                    });
                    if role == ReplicaRole::Replica
                        && let Some(p) = by_address.or_else(|| {
                            self.redis.iter().find(|m| {
                                m.name != n.name && infos_primary(&infos, &self.redis, &m.name)
                            })
                        })
                    {
                        node.source = Some(p.name.clone());
                    }
                    caches.push(node);
                }
                Err(_) => {
                    let role = lock(&self.nodes_seen)
                        .get(&n.name)
                        .map_or(ReplicaRole::Replica, |(r, _)| *r);
                    seen.insert(n.name.clone(), (role, false));
                    caches.push(unreachable_cache_node(&n.name, &n.az, role));
                }
            }
        }
        *lock(&self.nodes_seen) = seen;
        Ok(ReplicationObservation {
            faults: Vec::new(),
            databases,
            caches,
        })
    }

    async fn deploys(&self, _now: Timestamp) -> Result<DeploysObservation, ProviderError> {
        let service = self
            .cfg
            .deploys
            .as_ref()
            .map_or("web".to_string(), |d| d.service.clone());
        let listings = join_all(self.cfg.backends.iter().map(|b| async move {
            let Some(dirs) = release_dirs(b) else {
                return Ok((b, None));
            };
            let out = self.run(&b.ssh, &dirs.listing_script()).await?;
            Ok::<_, ProviderError>((b, Some((dirs, parse_listing(&out)))))
        }))
        .await
        // A host that cannot be read fails the panel: its last good history
        // stays on screen, marked stale, rather than a partial one that looks
        // complete.
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        let mut history: Vec<Deploy> = Vec::new();
        let mut running = Vec::new();
        for (b, listing) in listings {
            let mut current = None;
            if let Some((dirs, listing)) = listing {
                release_dirs::merge(&mut history, &service, &dirs, &listing);
                current = listing.current;
            }
            running.push(RunningVersion {
                backend: b.name.clone(),
                az: b.az.clone(),
                version: current,
            });
        }
        release_dirs::sort_history(&mut history);
        Ok(DeploysObservation {
            service,
            history,
            running,
        })
    }

    async fn alerts(&self, now: Timestamp) -> Result<Vec<Alert>, ProviderError> {
        match &self.prometheus {
            Some(p) => p.alerts(now, self.timeout).await,
            None => Ok(Vec::new()),
        }
    }

    async fn service(
        &self,
        _now: Timestamp,
    ) -> Result<crate::core::service::ServiceObservation, ProviderError> {
        Ok(self.service.observe().await)
    }

    async fn logs(&self, _now: Timestamp) -> Result<Vec<LogLine>, ProviderError> {
        self.ensure_tails();
        Ok(lock(&self.logs).drain(..).collect())
    }
}

fn same_endpoint(addr: &str, src: &str) -> bool {
    match (split_host_port(addr), split_host_port(src)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn infos_primary(
    infos: &[Result<super::redis_node::RedisReplication, ProviderError>],
    nodes: &[Node<RedisNode>],
    name: &str,
) -> bool {
    nodes.iter().zip(infos).any(|(n, i)| {
        n.name == name
            && i.as_ref()
                .is_ok_and(|i| i.role == Some(ReplicaRole::Primary))
    })
}

#[async_trait]
impl OperateProvider for SelfHostedProvider {
    async fn acquire_lock(&self, me: &LockHolder, now: Timestamp) -> Result<(), LockError> {
        let mut held = self.held.lock().await;
        if let Some((holder, cmd)) = held.as_ref() {
            if !cmd.has_ended() {
                // One process runs one operation at a time, so a second
                // acquire from this same process (say `opsdeck do` and its
                // runner both taking it) nests inside the first; releasing
                // takes the holder that acquired it.
                return if holder.same_as(me) || same_process(holder, me) {
                    Ok(())
                } else {
                    Err(LockError::Held(holder.clone()))
                };
            }
            tracing::warn!(holder = %holder.describe(now), "the fleet lock had been lost (its command ended)");
            *held = None;
        }
        let lb = &self.cfg.lb;
        let conn = with_deadline(&lb.ssh, self.timeout, async {
            self.pool.get(&lb.ssh).await.map_err(ProviderError::from)
        })
        .await
        .map_err(LockError::Unavailable)?;
        let started = conn
            .hold(
                &self.fleet_lock.acquire_script(me),
                LOCKED,
                LOCK_HEARTBEAT,
                self.timeout + Duration::from_secs(3),
            )
            .await
            .map_err(|e| LockError::Unavailable(e.into()))?;
        match started {
            HoldStart::Held(cmd) => {
                tracing::info!(holder = %me.describe(now), lock = %self.fleet_lock.lock_file, "fleet lock taken");
                *held = Some((me.clone(), cmd));
                Ok(())
            }
            HoldStart::Ended(out) => match parse_refusal(out.status, &out.stdout, &out.stderr) {
                Refusal::Held(Some(h)) => Err(LockError::Held(h)),
                Refusal::Held(None) => Err(LockError::Held(parse_holder(""))),
                other => Err(LockError::Unavailable(ProviderError::Refused {
                    origin: format!("{}:{}", lb.name, self.fleet_lock.lock_file),
                    detail: refusal_text(&other, now),
                })),
            },
        }
    }

    async fn release_lock(&self, me: &LockHolder, now: Timestamp) -> Result<(), ProviderError> {
        let mut held = self.held.lock().await;
        let Some((holder, _)) = held.as_ref() else {
            return Ok(());
        };
        if !holder.same_as(me) {
            return Ok(());
        }
        let Some((_, cmd)) = held.take() else {
            return Ok(());
        };
        let origin = format!("{}:{}", self.cfg.lb.name, self.fleet_lock.lock_file);
        match cmd.release(self.timeout).await {
            Ok(_) => {
                tracing::info!(holder = %me.describe(now), "fleet lock released");
                Ok(())
            }
            Err(e) => Err(ProviderError::Failed {
                origin,
                detail: format!(
                    "the lock had been lost before it was released (missed heartbeats or a dropped connection): {e}"
                ),
            }),
        }
    }

    async fn break_lock(&self, stale: &LockHolder, now: Timestamp) -> Result<(), ProviderError> {
        let lb = &self.cfg.lb;
        let origin = format!("{}:{}", lb.name, self.fleet_lock.lock_file);
        let text = self
            .run(&lb.ssh, &self.fleet_lock.read_holder_script())
            .await?;
        if text.trim().is_empty() {
            return Ok(());
        }
        let current = parse_holder(&text);
        if !current.same_as(stale) {
            return Err(ProviderError::Refused {
                origin,
                detail: format!(
                    "the lock is no longer {}'s: it is {}'s now",
                    stale.describe(now),
                    current.describe(now)
                ),
            });
        }
        let out = self
            .exec_raw(&lb.ssh, &self.fleet_lock.break_script(&text), self.timeout)
            .await?;
        match out.stdout.lines().next().map(str::trim) {
            Some("BROKEN") | Some("GONE") => {
                tracing::warn!(stale = %stale.describe(now), "stale fleet lock broken");
                Ok(())
            }
            Some("HELD") => Err(ProviderError::Refused {
                origin,
                detail: format!(
                    "the lock is not stale: {} still holds it",
                    current.describe(now)
                ),
            }),
            _ => Err(ProviderError::Refused {
                origin,
                detail: format!(
                    "the lock changed while being broken: {}",
                    crate::core::sanitize::sanitize(out.stdout.trim())
                ),
            }),
        }
    }

    async fn drain(&self, backend: &str, _now: Timestamp) -> Result<(), ProviderError> {
        self.set_drained(backend, true).await
    }

    async fn undrain(&self, backend: &str, _now: Timestamp) -> Result<(), ProviderError> {
        self.set_drained(backend, false).await
    }

    async fn set_read_only(
        &self,
        node: &str,
        read_only: bool,
        _now: Timestamp,
    ) -> Result<(), ProviderError> {
        if let Some(n) = self.mysql_node(node) {
            return n.client.set_read_only(read_only, self.timeout).await;
        }
        if self.redis_node(node).is_some() {
            // Redis's FAILOVER pauses writes on the primary by itself while the
            // replica catches up; a separate pause would only block it.
            return Ok(());
        }
        Err(Self::unknown_node(node))
    }

    async fn promote(
        &self,
        replica: &str,
        mode: PromoteMode,
        _now: Timestamp,
    ) -> Result<(), ProviderError> {
        if let Some(n) = self.mysql_node(replica) {
            return n.client.promote(self.timeout).await;
        }
        if let Some(n) = self.redis_node(replica) {
            return match mode {
                PromoteMode::Emergency => n.client.promote_replicaof_no_one(self.timeout).await,
                PromoteMode::Planned => {
                    let primary = self
                        .redis
                        .iter()
                        .find(|p| p.name != replica)
                        .ok_or_else(|| Self::unknown_node("cache primary"))?;
                    n.client
                        .promote_failover(&primary.client, self.timeout * 5)
                        .await
                }
            };
        }
        Err(Self::unknown_node(replica))
    }

    async fn rejoin(
        &self,
        old_primary: &str,
        new_primary: &str,
        _now: Timestamp,
    ) -> Result<(), ProviderError> {
        if let (Some(old), Some(new)) = (self.mysql_node(old_primary), self.mysql_node(new_primary))
        {
            let (host, port) = split_host_port(&new.client.addr).map_err(config_error)?;
            let account = self
                .replication
                .as_ref()
                .ok_or_else(|| config_error("no replication account"))?;
            return old
                .client
                .rejoin(&host, port, &account.user, &account.password, self.timeout)
                .await;
        }
        if let (Some(old), Some(new)) = (self.redis_node(old_primary), self.redis_node(new_primary))
        {
            // FAILOVER already turned the old primary into a replica; this
            // points it at the new primary again only if it is not there yet.
            let info = old.client.info(self.timeout).await?;
            if info.role == Some(ReplicaRole::Replica) {
                return Ok(());
            }
            return old.client.rejoin(&new.client, self.timeout).await;
        }
        Err(Self::unknown_node(old_primary))
    }

    async fn deploy_version(
        &self,
        backend: &str,
        version: &str,
        _now: Timestamp,
    ) -> Result<(), ProviderError> {
        let b = self.backend(backend)?;
        let template = self
            .cfg
            .deploys
            .as_ref()
            .and_then(|d| d.deploy_command.clone())
            .unwrap_or_else(|| DEFAULT_DEPLOY.to_string());
        let dirs = release_dirs(b);
        if let Some(dirs) = &dirs {
            // Refuse a version that is not on the host before touching anything.
            self.run(&b.ssh, &dirs.check_script(version))
                .await
                .map_err(|_| ProviderError::Failed {
                    origin: backend.to_string(),
                    detail: format!("release {version} is not in {}", dirs.releases),
                })?;
        }
        let command = match &dirs {
            Some(dirs) => dirs.fill(&template, version),
            // No release directories: only `{version}` and `{host}` mean anything.
            None => ReleaseDirs::new("", None, &b.name).fill(&template, version),
        };
        self.run(&b.ssh, &command).await.map(|_| ())
    }
}

#[async_trait]
impl ShellProvider for SelfHostedProvider {
    async fn interactive(&self, host: &str) -> Result<(), ProviderError> {
        // The PTY session shares the host's pooled connection, found by the
        // host's configured alias: the display name may mean another machine
        // in ~/.ssh/config.
        let alias = self.ssh_alias(host)?;
        SshShell::new(self.pool.clone()).interactive(&alias).await
    }

    async fn prepare(&self, host: &str) -> Result<(), ProviderError> {
        let alias = self.ssh_alias(host)?;
        let result = with_deadline(host, self.timeout * 2, async {
            Ok(self.pool.get(&alias).await)
        })
        .await?;
        match result {
            Ok(_) => Ok(()),
            Err(SshError::UnknownHostKey {
                presented,
                fingerprint,
                ..
            }) => {
                lock(&self.presented).insert(host.to_string(), *presented);
                Err(ProviderError::UnknownHostKey {
                    origin: host.to_string(),
                    fingerprint,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn trust_host(&self, host: &str) -> Result<(), ProviderError> {
        let removed = lock(&self.presented).remove(host);
        crate::providers::ssh::presented_key::trust_presented(host, removed)?;
        self.pool.forget(&self.ssh_alias(host)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(dir: &std::path::Path) -> SelfHostedProvider {
        let ssh = dir.join("ssh_config");
        std::fs::write(&ssh, "Host web-a1\n  HostName 127.0.0.1\n").expect("write");
        let toml = format!(
            r#"
provider = "selfhosted"
ssh = {{ config = "{ssh}" }}
lb = {{ name = "lb", az = "az-a", ssh = "lb-1", upstream_file = "/u.conf", access_log = "/a.log", test_command = "true", reload_command = "true" }}
backends = [{{ name = "app-east-1", az = "az-a", address = "127.0.1.11:8080", ssh = "web-a1", health_url = "http://127.0.1.11:8080/health" }}]
redis = {{ nodes = [{{ name = "cache-1", az = "az-a", address = "127.0.1.31:6380" }}] }}
"#,
            ssh = ssh.display()
        );
        let env: crate::config::config::EnvConfig = toml::from_str(&toml).expect("config");
        SelfHostedProvider::new("t", None, env.selfhosted().expect("selfhosted")).expect("provider")
    }

    #[test]
    fn ssh_open_uses_the_configured_alias_not_the_display_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = provider(dir.path());
        assert_eq!(p.ssh_alias("app-east-1").expect("alias"), "web-a1");
        assert_eq!(p.ssh_alias("lb").expect("alias"), "lb-1");
        // The alias itself is not a host name of the fleet.
        assert!(p.ssh_alias("web-a1").is_err());
    }

    #[tokio::test]
    async fn a_node_without_an_alias_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = provider(dir.path());
        let err = p.prepare("cache-1").await.expect_err("refused");
        assert!(
            matches!(&err, ProviderError::Refused { origin, detail }
                if origin == "cache-1" && detail.contains("no `ssh` alias is configured")),
            "{err:?}"
        );
        let err = p.interactive("cache-1").await.expect_err("refused");
        assert!(err.to_string().contains("no `ssh` alias"), "{err}");
    }

    #[test]
    fn the_provider_says_it_holds_a_fleet_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(provider(dir.path()).capabilities().fleet_lock);
    }
}
