//! The demo fleet's state and its stepping: a load balancer with four backends in
//! two AZs, a MySQL pair, a Redis pair and a monitoring host, advanced in fixed
//! steps up to the time each call passes in. All logic lives here, synchronous,
//! so tests drive it directly; `DemoProvider` only wraps it.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::core::Timestamp;
use crate::core::fleet::{
    Alert, DeploysObservation, Health, Host, HostRole, HostState, HostsObservation, LoadBalancer,
    LogLine, ReplicaRole, ReplicationObservation, RunningVersion, Severity, Target, TargetState,
};
use crate::core::log_batch::LogBatch;
use crate::core::service::{LbCheck, ProbeSample, ServiceObservation, StubStatus};
use crate::providers::{PromoteMode, ProviderError};

use super::alert_tracker::{AlertTracker, Condition};
use super::backend_sim::BackendSim;
use super::cache_cluster::CacheCluster;
use super::db_cluster::DbCluster;
use super::demo_config::DemoConfig;
use super::deploy_history::{self, DeployHistory, SERVICE};
use super::incident::{Incident, IncidentKind};
use super::incident_scheduler::IncidentScheduler;
use super::log_context::{BackendLog, LogContext, NodeLog};
use super::log_generator::LogGenerator;

/// Simulation step (ms). State changes only on step boundaries, so the fleet at
/// a given time does not depend on how often it is polled.
pub const STEP_MS: i64 = 250;
/// At most this much time is simulated step by step; a longer gap is skipped.
pub const MAX_CATCH_UP_MS: i64 = 10 * 60 * 1000;
/// Requests per second over the whole pool.
const TOTAL_RPS: f64 = 400.0;

/// The demo service's end-to-end probe and nginx status page.
pub const DEMO_PROBE_URL: &str = "http://10.0.1.10:80/healthz";
const DEMO_STATUS_URL: &str = "http://10.0.1.10:80/nginx_status";

pub const AZ_A: &str = "ap-northeast-2a";
pub const AZ_C: &str = "ap-northeast-2c";

/// The whole simulated fleet.
pub struct DemoFleet {
    cfg: DemoConfig,
    rng: ChaCha8Rng,
    /// Wall time = `origin_ms` + `elapsed_ms`. Skipping a long gap moves the
    /// origin, so everything scheduled in simulated time stays consistent.
    origin_ms: i64,
    elapsed_ms: i64,
    advanced: bool,
    backends: Vec<BackendSim>,
    db: DbCluster,
    cache: CacheCluster,
    history: DeployHistory,
    incidents: IncidentScheduler,
    alerts: AlertTracker,
    logs: LogGenerator,
    traffic_phase: f64,
    /// The load balancer does not answer (lb-outage scenario).
    lb_frozen: bool,
    /// nginx's `stub_status` request counter.
    lb_requests: f64,
    /// While history is replayed up to this time, log lines older than what
    /// the logs view keeps by then are not made (at 50,000 lines/s, three
    /// minutes of history would be nine million lines, all dropped).
    history_end: Option<i64>,
}

/// Log lines the logs view keeps (its ring's capacity): the most a replay
/// needs to make.
const LOG_LINES_KEPT: f64 = 100_000.0;

impl DemoFleet {
    pub fn new(cfg: DemoConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let history = DeployHistory::new(cfg.seed, cfg.start);
        let version = history.current_version().to_string();
        let backends = vec![
            BackendSim::new("web-a1", AZ_A, "10.0.1.11", 3, &version, 4242),
            BackendSim::new("web-a2", AZ_A, "10.0.1.12", 2, &version, 4317),
            BackendSim::new("web-c1", AZ_C, "10.0.2.11", 3, &version, 3981),
            BackendSim::new("web-c2", AZ_C, "10.0.2.12", 2, &version, 4120),
        ];
        let db = DbCluster::new(&mut rng);
        let cache = CacheCluster::new(&mut rng);
        let incidents =
            IncidentScheduler::new(cfg.seed, cfg.scenario.has_incidents(), backends.len());
        let logs = LogGenerator::new(cfg.seed, cfg.log_rate, cfg.start);
        let traffic_phase = rng.random_range(0.0..std::f64::consts::TAU);
        let mut fleet = Self {
            origin_ms: cfg.start.millis(),
            cfg,
            rng,
            elapsed_ms: 0,
            advanced: false,
            backends,
            db,
            cache,
            history,
            incidents,
            alerts: AlertTracker::default(),
            logs,
            traffic_phase,
            lb_frozen: false,
            lb_requests: 0.0,
            history_end: None,
        };
        // Settle traffic numbers so the very first observation is not all zeros.
        fleet.step_backends(0);
        fleet
    }

    pub fn config(&self) -> &DemoConfig {
        &self.cfg
    }

    /// Simulated wall time the fleet has reached.
    pub fn now(&self) -> Timestamp {
        Timestamp(self.origin_ms + self.elapsed_ms)
    }

    /// Incidents started so far (for tests and diagnostics).
    pub fn incidents(&self) -> &[Incident] {
        self.incidents.started()
    }

    pub fn dropped_log_lines(&self) -> u64 {
        self.logs.dropped()
    }

    /// Advances the simulation to `now` in `STEP_MS` steps and generates the log
    /// lines up to it. Time going backwards is ignored; a gap longer than
    /// `MAX_CATCH_UP_MS` is skipped, simulating only its last part.
    pub fn advance_to(&mut self, now: Timestamp) {
        let now = now.millis();
        if !self.advanced {
            self.advanced = true;
            if now < self.origin_ms {
                // The runtime's clock is before the configured start: start the
                // simulation at its clock rather than freezing until `start`.
                self.origin_ms = now;
                self.logs.reset_clock(Timestamp(now));
            }
        }
        let gap = now - self.origin_ms - self.elapsed_ms;
        if gap <= 0 {
            return;
        }
        if gap > MAX_CATCH_UP_MS {
            self.origin_ms += gap - MAX_CATCH_UP_MS;
        }
        while self.elapsed_ms + STEP_MS <= now - self.origin_ms {
            self.elapsed_ms += STEP_MS;
            self.step();
        }
        let kept_from = self
            .history_end
            .map(|end| end - (LOG_LINES_KEPT / self.cfg.log_rate.max(0.001) * 1000.0) as i64);
        if kept_from.is_some_and(|from| now < from) {
            self.logs.reset_clock(Timestamp(now));
            return;
        }
        let ctx = self.log_context();
        self.logs.generate(Timestamp(now), &ctx);
    }

    /// See [`crate::providers::ObserveProvider::replaying_history`].
    pub fn replay_history_until(&mut self, until: Option<Timestamp>) {
        self.history_end = until.map(Timestamp::millis);
    }

    /// Simulated time of an operation issued at wall time `now` (after advancing).
    fn op_time(&self, now: Timestamp) -> i64 {
        (now.millis() - self.origin_ms).max(self.elapsed_ms)
    }

    fn step(&mut self) {
        let t = self.elapsed_ms;
        self.lb_frozen = self.cfg.scenario.lb_frozen(t);
        self.incidents.step(t);
        let lag = self.incidents.current().and_then(|i| i.lag_effect(t));
        self.db.step(t, STEP_MS, lag, &mut self.rng);
        self.cache.step(t, STEP_MS, &mut self.rng);
        self.step_backends(t);
        let conditions = self.conditions();
        self.alerts.update(t, conditions);
    }

    fn step_backends(&mut self, t: i64) {
        let incident = self.incidents.current().cloned();
        let read_only = self.db.primary_read_only();
        for (i, b) in self.backends.iter_mut().enumerate() {
            if b.restart_until_ms.is_some_and(|until| t >= until) {
                b.restart_until_ms = None;
            }
            let base_latency = 4.0 + self.rng.random_range(-1.5..3.0);
            let base_error = 0.001 * self.rng.random_range(0.4..1.6);
            let effect = incident.as_ref().and_then(|inc| inc.backend_effect(i, t));
            if b.is_restarting(t) {
                b.health = Health::Down;
                b.latency_ms = None;
                b.request_secs = 0.0;
                b.error_rate = 0.0;
            } else if deploy_history::is_broken(&b.version) {
                // The broken build starts but its health check answers 503.
                b.health = Health::Down;
                b.latency_ms = Some(base_latency * 2.0);
                b.request_secs = 0.005;
                b.error_rate = 0.6 + self.rng.random_range(-0.05..0.05);
            } else if let Some(e) = effect {
                b.health = e.health;
                b.latency_ms =
                    (e.health != Health::Down).then_some(base_latency * e.latency_factor);
                b.request_secs = 0.025 * e.latency_factor.max(1.0);
                b.error_rate = e.error_rate.max(base_error);
            } else {
                b.health = Health::Ok;
                b.latency_ms = Some(base_latency);
                b.request_secs = 0.025 * self.rng.random_range(0.8..1.3);
                b.error_rate = base_error;
            }
            if read_only && !b.is_restarting(t) {
                // Writes fail while the database refuses them.
                b.error_rate += 0.01;
            }
            b.step_drain(t);
            b.noise = 0.9 * b.noise + 0.1 * self.rng.random_range(-1.0..1.0);
        }

        // Traffic: new requests split by weight among targets that take them.
        self.traffic_phase += STEP_MS as f64 / 1000.0 * 0.01;
        // A frozen load balancer passes nothing on.
        let total = if self.lb_frozen {
            0.0
        } else {
            TOTAL_RPS * (1.0 + 0.05 * self.traffic_phase.sin())
        };
        self.lb_requests += total * STEP_MS as f64 / 1000.0;
        let weight_sum: f64 = self.backends.iter().map(BackendSim::effective_weight).sum();
        for b in &mut self.backends {
            let w = b.effective_weight();
            b.rps = if weight_sum > 0.0 && w > 0.0 {
                (total * w / weight_sum * (1.0 + 0.04 * b.noise)).max(0.0)
            } else {
                0.0
            };
            if b.target == TargetState::Drained {
                // Nothing reaches a drained backend, so it has no errors to count.
                b.error_rate = 0.0;
            }
            if b.target != TargetState::Draining {
                // Little's law: in flight = arrival rate × time in system.
                b.in_flight = (b.rps * b.request_secs).round() as u32;
            }
            b.cpu_pct = if b.is_restarting(t) {
                85.0 + 10.0 * b.noise.abs()
            } else if b.health == Health::Degraded {
                88.0 + 8.0 * b.noise.abs()
            } else {
                (6.0 + b.rps * 0.3 + 3.0 * b.noise).clamp(1.0, 100.0)
            };
        }
    }

    /// Problems the fleet shows now, as alert conditions.
    fn conditions(&self) -> Vec<Condition> {
        let t = self.elapsed_ms;
        let mut out = Vec::new();
        if self.lb_frozen {
            // What a blackbox probe's alert says.
            out.push(Condition {
                name: "ServiceProbeFailing",
                severity: Severity::Critical,
                target: "lb".to_string(),
                summary: format!("{DEMO_PROBE_URL} does not answer"),
            });
        }
        for b in &self.backends {
            // A deploy's restart is expected downtime (as if silenced).
            if b.is_restarting(t) {
                continue;
            }
            match b.health {
                Health::Down => out.push(Condition {
                    name: "BackendDown",
                    severity: Severity::Critical,
                    target: b.name.to_string(),
                    summary: format!("{} fails its health check (GET /actuator/health)", b.name),
                }),
                Health::Degraded => out.push(Condition {
                    name: "HighLatency",
                    severity: Severity::Warning,
                    target: b.name.to_string(),
                    summary: format!(
                        "{} health check takes {:.0} ms",
                        b.name,
                        b.latency_ms.unwrap_or(0.0)
                    ),
                }),
                _ => {}
            }
            if b.error_rate > 0.02 && b.target != TargetState::Drained {
                out.push(Condition {
                    name: "HighErrorRate",
                    severity: Severity::Warning,
                    target: b.name.to_string(),
                    summary: format!(
                        "{} answers {:.1}% of requests with 5xx",
                        b.name,
                        b.error_rate * 100.0
                    ),
                });
            }
        }
        let replica = &self.db.servers[self.db.replica()];
        match self.db.lag_seconds() {
            None => out.push(Condition {
                name: "ReplicationBroken",
                severity: Severity::Critical,
                target: replica.name.to_string(),
                summary: if replica.reachable {
                    format!("{}: SQL thread stopped, lag unknown", replica.name)
                } else {
                    format!("{} unreachable, replication state unknown", replica.name)
                },
            }),
            Some(lag) if lag > 5.0 => out.push(Condition {
                name: "ReplicaLagHigh",
                severity: Severity::Warning,
                target: replica.name.to_string(),
                summary: format!(
                    "{} is {lag:.0} s behind {}",
                    replica.name, self.db.servers[self.db.primary].name
                ),
            }),
            Some(_) => {}
        }
        let cache_replica = &self.cache.servers[self.cache.replica()];
        match self.cache.lag_seconds(t) {
            None => out.push(Condition {
                name: "ReplicationBroken",
                severity: Severity::Critical,
                target: cache_replica.name.to_string(),
                summary: format!("{}: link to primary down", cache_replica.name),
            }),
            Some(lag) if lag > 5.0 => out.push(Condition {
                name: "ReplicaLagHigh",
                severity: Severity::Warning,
                target: cache_replica.name.to_string(),
                summary: format!(
                    "{} last heard from its primary {lag:.0} s ago",
                    cache_replica.name
                ),
            }),
            Some(_) => {}
        }
        out
    }

    fn log_context(&self) -> LogContext {
        let t = self.elapsed_ms;
        LogContext {
            backends: self
                .backends
                .iter()
                .map(|b| BackendLog {
                    name: b.name,
                    az: b.az,
                    address: b.address,
                    weight: b.weight,
                    pid: b.pid,
                    version: b.version.clone(),
                    rps: b.rps,
                    request_secs: b.request_secs,
                    error_rate: b.error_rate,
                    health: b.health,
                    restarting: b.is_restarting(t),
                })
                .collect(),
            databases: self
                .db
                .servers
                .iter()
                .enumerate()
                .map(|(i, s)| NodeLog {
                    name: s.name,
                    az: s.az,
                    primary: i == self.db.primary,
                    reachable: s.reachable,
                })
                .collect(),
            caches: self
                .cache
                .servers
                .iter()
                .enumerate()
                .map(|(i, s)| NodeLog {
                    name: s.name,
                    az: s.az,
                    primary: i == self.cache.primary,
                    reachable: s.reachable,
                })
                .collect(),
            db_lag: self.db.lag_seconds(),
            db_sql_stopped: self.db.sql_stopped(),
            db_read_only: self.db.primary_read_only(),
        }
    }

    // ----- observations -------------------------------------------------------

    pub fn hosts(&self) -> HostsObservation {
        let t = self.elapsed_ms;
        let serving = self.backends.iter().any(BackendSim::takes_traffic);
        let total_rps: f64 = self.backends.iter().map(|b| b.rps).sum();
        let mut hosts = vec![Host {
            instance_type: None,
            checks: None,
            id: None,
            name: "lb".to_string(),
            az: AZ_A.to_string(),
            role: HostRole::LoadBalancer,
            state: HostState::Running,
            // With no backend to send to, nginx answers every request with 502.
            health: if serving {
                Health::Ok
            } else {
                Health::Degraded
            },
            latency_ms: Some(1.2),
            cpu_pct: Some((3.0 + total_rps * 0.02).min(100.0)),
            version: None,
            address: Some("10.0.1.10".to_string()),
        }];
        for b in &self.backends {
            hosts.push(Host {
                instance_type: None,
                checks: None,
                id: None,
                name: b.name.to_string(),
                az: b.az.to_string(),
                role: HostRole::Backend,
                state: HostState::Running,
                health: b.health,
                latency_ms: b.latency_ms.map(round1),
                cpu_pct: Some(round1(b.cpu_pct)),
                version: b.reported_version(t),
                address: Some(b.address.to_string()),
            });
        }
        let lag = self.db.lag_seconds();
        for (i, s) in self.db.servers.iter().enumerate() {
            let primary = i == self.db.primary;
            let health = if !s.reachable {
                Health::Down
            } else if primary {
                Health::Ok
            } else {
                match lag {
                    None => Health::Degraded,
                    Some(l) if l > 5.0 => Health::Degraded,
                    Some(_) => Health::Ok,
                }
            };
            hosts.push(Host {
                instance_type: None,
                checks: None,
                id: None,
                name: s.name.to_string(),
                az: s.az.to_string(),
                role: if primary {
                    HostRole::DbPrimary
                } else {
                    HostRole::DbReplica
                },
                state: if s.reachable {
                    HostState::Running
                } else {
                    HostState::Unreachable
                },
                health,
                latency_ms: s.reachable.then_some(if primary { 0.9 } else { 1.4 }),
                cpu_pct: s.reachable.then_some(if primary { 31.0 } else { 12.0 }),
                version: None,
                address: Some(s.address.to_string()),
            });
        }
        for (i, s) in self.cache.servers.iter().enumerate() {
            let primary = i == self.cache.primary;
            hosts.push(Host {
                instance_type: None,
                checks: None,
                id: None,
                name: s.name.to_string(),
                az: s.az.to_string(),
                role: if primary {
                    HostRole::CachePrimary
                } else {
                    HostRole::CacheReplica
                },
                state: if s.reachable {
                    HostState::Running
                } else {
                    HostState::Unreachable
                },
                health: if s.reachable {
                    Health::Ok
                } else {
                    Health::Down
                },
                latency_ms: s.reachable.then_some(0.4),
                cpu_pct: s.reachable.then_some(if primary { 9.0 } else { 4.0 }),
                version: None,
                address: Some(s.address.to_string()),
            });
        }
        hosts.push(Host {
            instance_type: None,
            checks: None,
            id: None,
            name: "mon-1".to_string(),
            az: AZ_A.to_string(),
            role: HostRole::Monitoring,
            state: HostState::Running,
            health: Health::Ok,
            latency_ms: Some(2.1),
            cpu_pct: Some(14.0),
            version: None,
            address: Some("10.0.1.40".to_string()),
        });
        HostsObservation {
            faults: Vec::new(),
            azs: vec![AZ_A.to_string(), AZ_C.to_string()],
            hosts,
            load_balancer: Some(LoadBalancer {
                az_traffic: Vec::new(),
                name: "lb".to_string(),
                kind: "nginx".to_string(),
                targets: self
                    .backends
                    .iter()
                    .map(|b| Target {
                        reason: None,
                        drain_ends_at: None,
                        backend: b.name.to_string(),
                        az: b.az.to_string(),
                        weight: b.weight,
                        state: b.target,
                        health: b.health,
                        requests_per_sec: Some(round1(b.rps)),
                        error_rate: Some((b.error_rate * 10_000.0).round() / 10_000.0),
                        in_flight: Some(b.in_flight),
                    })
                    .collect(),
            }),
        }
    }

    /// The simulated end-to-end probe through the load balancer, and the
    /// LB's own check with its `stub_status` counters.
    pub fn service(&self) -> ServiceObservation {
        let serving: Vec<&BackendSim> = self
            .backends
            .iter()
            .filter(|b| b.takes_traffic() && b.health != Health::Down)
            .collect();
        let probe = if self.lb_frozen {
            ProbeSample {
                url: DEMO_PROBE_URL.to_string(),
                ok: false,
                status: None,
                expect_status: 200,
                latency_ms: None,
                error: Some(format!("GET {DEMO_PROBE_URL}: timed out after 2000 ms")),
            }
        } else if serving.is_empty() {
            // nginx answers, but has no backend to send to.
            ProbeSample {
                url: DEMO_PROBE_URL.to_string(),
                ok: false,
                status: Some(502),
                expect_status: 200,
                latency_ms: Some(1.2),
                error: Some(format!("GET {DEMO_PROBE_URL}: HTTP 502 (expected 200)")),
            }
        } else {
            let mean =
                serving.iter().filter_map(|b| b.latency_ms).sum::<f64>() / serving.len() as f64;
            ProbeSample {
                url: DEMO_PROBE_URL.to_string(),
                ok: true,
                status: Some(200),
                expect_status: 200,
                latency_ms: Some(round1(mean + 1.2)),
                error: None,
            }
        };
        let stub = (!self.lb_frozen).then(|| StubStatus {
            active: self
                .backends
                .iter()
                .map(|b| u64::from(b.in_flight))
                .sum::<u64>()
                + 40,
            accepts: self.lb_requests as u64 / 8,
            handled: self.lb_requests as u64 / 8,
            requests: self.lb_requests as u64,
            reading: 0,
            writing: 3,
            waiting: 37,
            own_requests: 0,
        });
        ServiceObservation {
            probes: vec![probe.clone()],
            lb: Some(LbCheck {
                name: "lb".to_string(),
                url: Some(DEMO_PROBE_URL.to_string()),
                answered: !self.lb_frozen,
                error: self.lb_frozen.then(|| probe.error.clone()).flatten(),
                stub,
                stub_error: self
                    .lb_frozen
                    .then(|| format!("{DEMO_STATUS_URL}: timed out after 1000 ms")),
            }),
        }
    }

    pub fn replication(&self) -> ReplicationObservation {
        ReplicationObservation {
            faults: Vec::new(),
            databases: self.db.observe(),
            caches: self.cache.observe(self.elapsed_ms),
        }
    }

    pub fn deploys(&self) -> DeploysObservation {
        let t = self.elapsed_ms;
        DeploysObservation {
            service: SERVICE.to_string(),
            history: self.history.deploys().to_vec(),
            running: self
                .backends
                .iter()
                .map(|b| RunningVersion {
                    backend: b.name.to_string(),
                    az: b.az.to_string(),
                    version: b.reported_version(t),
                })
                .collect(),
        }
    }

    pub fn alerts(&self) -> Vec<Alert> {
        self.alerts.alerts(self.origin_ms)
    }

    /// Queued log lines, oldest first; the queue is emptied.
    pub fn take_logs(&mut self) -> Vec<LogLine> {
        self.logs.take().to_lines()
    }

    /// Queued log lines, packed, with the lines dropped since the last take.
    pub fn take_log_batch(&mut self) -> LogBatch {
        self.logs.take()
    }

    // ----- operations ---------------------------------------------------------

    fn backend_mut(&mut self, name: &str) -> Result<&mut BackendSim, ProviderError> {
        self.backends
            .iter_mut()
            .find(|b| b.name == name)
            .ok_or_else(|| ProviderError::Failed {
                origin: "lb".to_string(),
                detail: format!("no backend named '{name}' in upstream"),
            })
    }

    pub fn drain(&mut self, backend: &str, now: Timestamp) -> Result<(), ProviderError> {
        let at = self.op_time(now);
        self.backend_mut(backend)?.drain(at);
        Ok(())
    }

    pub fn undrain(&mut self, backend: &str) -> Result<(), ProviderError> {
        self.backend_mut(backend)?.undrain();
        Ok(())
    }

    pub fn set_read_only(&mut self, node: &str, read_only: bool) -> Result<(), ProviderError> {
        if let Some(i) = self.db.index_of(node) {
            self.db.set_read_only(i, read_only)
        } else if let Some(i) = self.cache.index_of(node) {
            self.cache.set_read_only(i, read_only)
        } else {
            Err(unknown_node(node))
        }
    }

    pub fn promote(
        &mut self,
        replica: &str,
        mode: PromoteMode,
        now: Timestamp,
    ) -> Result<(), ProviderError> {
        let at = self.op_time(now);
        if let Some(i) = self.db.index_of(replica) {
            self.db.promote(i, mode, at)
        } else if let Some(i) = self.cache.index_of(replica) {
            self.cache.promote(i, mode, at)
        } else {
            Err(unknown_node(replica))
        }
    }

    pub fn deploy_version(
        &mut self,
        backend: &str,
        version: &str,
        now: Timestamp,
    ) -> Result<(), ProviderError> {
        if !self.history.contains(version) {
            return Err(ProviderError::Failed {
                origin: backend.to_string(),
                detail: format!("version '{version}' of {SERVICE} not found in the registry"),
            });
        }
        let at = self.op_time(now);
        self.backend_mut(backend)?.deploy(version, at);
        Ok(())
    }

    /// Whether a database or cache node accepts writes now (reachable and
    /// not read-only). A cache primary's paused writes are not in its
    /// observation, so fault tests read the truth here.
    pub fn accepts_writes(&self, node: &str) -> Option<bool> {
        if let Some(i) = self.db.index_of(node) {
            let s = &self.db.servers[i];
            Some(s.reachable && !s.read_only)
        } else {
            self.cache.index_of(node).map(|i| {
                let s = &self.cache.servers[i];
                s.reachable && !s.read_only
            })
        }
    }

    /// Role of a database or cache node now (for tests and diagnostics).
    pub fn role_of(&self, node: &str) -> Option<ReplicaRole> {
        if let Some(i) = self.db.index_of(node) {
            Some(if i == self.db.primary {
                ReplicaRole::Primary
            } else {
                ReplicaRole::Replica
            })
        } else {
            self.cache.index_of(node).map(|i| {
                if i == self.cache.primary {
                    ReplicaRole::Primary
                } else {
                    ReplicaRole::Replica
                }
            })
        }
    }

    /// Whether any incident of `kind` has started.
    pub fn had_incident(&self, kind: IncidentKind) -> bool {
        self.incidents.started().iter().any(|i| i.kind == kind)
    }
}

fn unknown_node(node: &str) -> ProviderError {
    ProviderError::Failed {
        origin: node.to_string(),
        detail: format!("no database or cache node named '{node}'"),
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fleet::{DeployOutcome, LogLevel, ThreadState};
    use crate::providers::demo::Scenario;

    const START: Timestamp = Timestamp(1_795_000_000_000);

    fn fleet(seed: u64, scenario: Scenario) -> DemoFleet {
        DemoFleet::new(DemoConfig {
            seed,
            scenario,
            log_rate: 20.0,
            start: START,
        })
    }

    fn at(secs: f64) -> Timestamp {
        START.plus_secs_f64(secs)
    }

    fn target(f: &DemoFleet, name: &str) -> Target {
        f.hosts()
            .load_balancer
            .and_then(|lb| lb.target(name).cloned())
            .expect("target exists")
    }

    #[test]
    fn same_seed_same_observations_different_seed_differs() {
        let run = |seed: u64| {
            let mut f = fleet(seed, Scenario::Default);
            let mut out = Vec::new();
            for s in 0..600 {
                let now = at(f64::from(s) * 1.3);
                f.advance_to(now);
                if s == 100 {
                    f.drain("web-a2", now).expect("drain");
                }
                if s == 200 {
                    f.promote("db-replica", PromoteMode::Planned, now)
                        .expect("promote");
                }
                out.push(format!(
                    "{:?}{:?}{:?}{:?}{:?}",
                    f.hosts(),
                    f.replication(),
                    f.deploys(),
                    f.alerts(),
                    f.take_logs()
                ));
            }
            out
        };
        let a = run(42);
        assert_eq!(a, run(42));
        assert_ne!(a, run(43));
    }

    #[test]
    fn state_does_not_depend_on_poll_frequency() {
        let mut a = fleet(7, Scenario::Default);
        let mut b = fleet(7, Scenario::Default);
        for s in 0..=300 {
            a.advance_to(at(f64::from(s)));
        }
        b.advance_to(at(300.0));
        assert_eq!(a.hosts(), b.hosts());
        assert_eq!(a.replication(), b.replication());
        assert_eq!(a.alerts(), b.alerts());
    }

    #[test]
    fn calm_has_no_incidents_for_30_minutes() {
        let mut f = fleet(42, Scenario::Calm);
        for s in 0..=1800 {
            f.advance_to(at(f64::from(s)));
            let hosts = f.hosts();
            assert!(
                hosts.hosts.iter().all(|h| h.health == Health::Ok),
                "at {s}: {hosts:?}"
            );
            let lb = hosts.load_balancer.expect("lb");
            assert!(
                lb.targets
                    .iter()
                    .all(|t| t.health == Health::Ok && t.requests_per_sec.is_some_and(|r| r > 0.0))
            );
            assert!(lb.error_rate().expect("the demo reports traffic") < 0.005);
            let total = lb.total_rps().expect("the demo reports traffic");
            assert!((total - 400.0).abs() < 60.0, "{total}");
            let repl = f.replication();
            let lag = repl.databases[1].lag_seconds.expect("lag known");
            assert!(lag <= 1.0, "lag {lag}");
            assert!(f.alerts().is_empty(), "at {s}: {:?}", f.alerts());
        }
        assert!(f.incidents().is_empty());
    }

    #[test]
    fn default_has_every_kind_of_incident_within_an_hour() {
        let mut f = fleet(42, Scenario::Default);
        let mut seen = std::collections::BTreeSet::new();
        let mut lag_unknown = false;
        let mut first_alert = None;
        for s in 0..=3600 {
            f.advance_to(at(f64::from(s)));
            for a in f.alerts() {
                first_alert.get_or_insert(s);
                seen.insert(a.name);
            }
            let repl = f.replication();
            if repl.databases[1].lag_seconds.is_none() {
                lag_unknown = true;
                assert_eq!(repl.databases[1].sql_thread, ThreadState::Stopped);
            }
        }
        for kind in IncidentKind::ALL {
            assert!(f.had_incident(kind), "{kind:?}");
        }
        for name in [
            "BackendDown",
            "HighLatency",
            "ReplicaLagHigh",
            "HighErrorRate",
        ] {
            assert!(seen.contains(name), "{name} never fired: {seen:?}");
        }
        assert!(lag_unknown, "lag never unknown");
        assert!(seen.contains("ReplicationBroken"));
        let first = f.incidents()[0].started_ms;
        assert!((60_000..=120_000).contains(&first), "{first}");
        assert!(first_alert.is_some_and(|s| s <= 180));
        // Incidents are spaced and bounded.
        for w in f.incidents().windows(2) {
            assert!(w[1].started_ms >= w[0].ends_ms());
            assert!((30_000..=90_000).contains(&w[0].duration_ms));
        }
    }

    #[test]
    fn drain_shifts_traffic_and_undrain_restores_it() {
        let mut f = fleet(1, Scenario::Calm);
        f.advance_to(at(10.0));
        let before: Vec<Target> = f.hosts().load_balancer.expect("lb").targets;
        f.drain("web-a1", at(10.0)).expect("drain");
        f.advance_to(at(11.0));
        let t = target(&f, "web-a1");
        assert_eq!(t.state, TargetState::Draining);
        assert_eq!(t.requests_per_sec, Some(0.0));
        f.advance_to(at(15.0));
        let t = target(&f, "web-a1");
        assert_eq!(t.state, TargetState::Drained);
        assert_eq!(t.requests_per_sec, Some(0.0));
        assert_eq!(t.in_flight, Some(0));
        let after = f.hosts().load_balancer.expect("lb");
        for (b, a) in before.iter().zip(&after.targets).skip(1) {
            assert!(
                a.requests_per_sec.expect("known") > b.requests_per_sec.expect("known") * 1.2,
                "{b:?} -> {a:?}"
            );
        }
        assert!((after.total_rps().expect("known") - 400.0).abs() < 60.0);
        // Idempotent.
        f.drain("web-a1", at(15.0)).expect("drain again");
        assert_eq!(target(&f, "web-a1").state, TargetState::Drained);
        f.undrain("web-a1").expect("undrain");
        f.advance_to(at(16.0));
        let t = target(&f, "web-a1");
        assert_eq!(t.state, TargetState::Active);
        assert!(t.requests_per_sec.is_some_and(|r| r > 80.0), "{t:?}");
        assert!(matches!(
            f.drain("web-z9", at(16.0)),
            Err(ProviderError::Failed { detail, .. }) if detail.contains("web-z9")
        ));
    }

    #[test]
    fn draining_in_flight_decays_over_the_drain_time() {
        let mut f = fleet(3, Scenario::Calm);
        f.advance_to(at(5.0));
        f.drain("web-c1", at(5.0)).expect("drain");
        let mut last = u32::MAX;
        for ms in (250..3000).step_by(250) {
            f.advance_to(at(5.0 + f64::from(ms) / 1000.0));
            let t = target(&f, "web-c1");
            assert_eq!(t.state, TargetState::Draining);
            let n = t.in_flight.expect("the demo reports in-flight");
            assert!(n <= last);
            last = n;
        }
        f.advance_to(at(8.0));
        assert_eq!(target(&f, "web-c1").state, TargetState::Drained);
    }

    #[test]
    fn planned_promote_swaps_roles_after_the_delay() {
        let mut f = fleet(5, Scenario::Calm);
        f.advance_to(at(30.0));
        assert!(matches!(
            f.promote("db-primary", PromoteMode::Planned, at(30.0)),
            Err(ProviderError::Failed { .. })
        ));
        f.promote("db-replica", PromoteMode::Planned, at(30.0))
            .expect("promote");
        f.promote("cache-replica", PromoteMode::Planned, at(30.0))
            .expect("promote cache");
        f.advance_to(at(31.0));
        assert_eq!(f.role_of("db-replica"), Some(ReplicaRole::Replica));
        f.advance_to(at(33.0));
        assert_eq!(f.role_of("db-replica"), Some(ReplicaRole::Primary));
        assert_eq!(f.role_of("db-primary"), Some(ReplicaRole::Replica));
        assert_eq!(f.role_of("cache-replica"), Some(ReplicaRole::Primary));
        let repl = f.replication();
        let new_primary = &repl.databases[1];
        assert!(!new_primary.read_only);
        assert_eq!(new_primary.source, None);
        let old = &repl.databases[0];
        assert_eq!(old.role, ReplicaRole::Replica);
        assert!(old.reachable && old.read_only);
        assert_eq!(old.source.as_deref(), Some("db-replica"));
        assert_eq!(repl.caches[0].source.as_deref(), Some("cache-replica"));
        let hosts = f.hosts();
        assert_eq!(
            hosts.host("db-replica").map(|h| h.role),
            Some(HostRole::DbPrimary)
        );
        // Writes go to the new primary; the old one follows it.
        let g0 = repl.databases[1].gtid_executed.clone();
        f.advance_to(at(40.0));
        let repl = f.replication();
        assert_ne!(repl.databases[1].gtid_executed, g0);
        assert!(repl.databases[0].lag_seconds.is_some());
        // And back again.
        f.promote("db-primary", PromoteMode::Planned, at(40.0))
            .expect("promote back");
        f.advance_to(at(45.0));
        assert_eq!(f.role_of("db-primary"), Some(ReplicaRole::Primary));
    }

    #[test]
    fn emergency_promote_fences_the_old_primary_until_rebuilt() {
        let mut f = fleet(5, Scenario::Calm);
        f.advance_to(at(30.0));
        f.promote("db-replica", PromoteMode::Emergency, at(30.0))
            .expect("promote");
        f.advance_to(at(32.5));
        let repl = f.replication();
        assert_eq!(repl.databases[1].role, ReplicaRole::Primary);
        assert!(!repl.databases[0].reachable);
        assert_eq!(repl.databases[0].role, ReplicaRole::Replica);
        assert_eq!(repl.databases[0].lag_seconds, None);
        assert!(
            f.alerts()
                .iter()
                .any(|a| a.name == "ReplicationBroken" && a.target == "db-primary")
        );
        f.advance_to(at(32.5 + REJOIN_SECS + 30.0));
        let repl = f.replication();
        assert!(repl.databases[0].reachable);
        assert!(repl.databases[0].lag_seconds.is_some_and(|l| l <= 1.0));
        assert_eq!(repl.databases[0].sql_thread, ThreadState::Running);
    }

    const REJOIN_SECS: f64 = super::super::db_cluster::REJOIN_MS as f64 / 1000.0;

    #[test]
    fn read_only_primary_stops_writes_and_replica_catches_up() {
        let mut f = fleet(9, Scenario::Calm);
        f.advance_to(at(20.0));
        f.set_read_only("db-primary", true).expect("ro");
        f.advance_to(at(22.0));
        let g = f.replication().databases[0].gtid_executed.clone();
        f.advance_to(at(30.0));
        let repl = f.replication();
        assert_eq!(repl.databases[0].gtid_executed, g);
        assert!(repl.databases[0].read_only);
        assert_eq!(repl.databases[1].lag_seconds, Some(0.0));
        assert_eq!(repl.databases[1].gtid_executed, g);
        f.set_read_only("cache-primary", true).expect("ro cache");
        f.advance_to(at(33.0));
        let c = f.replication().caches;
        assert_eq!(c[1].lag_bytes, Some(0));
        assert_eq!(c[0].offset, c[1].offset);
        f.set_read_only("db-primary", false).expect("rw");
        f.advance_to(at(35.0));
        assert_ne!(f.replication().databases[0].gtid_executed, g);
        assert!(f.set_read_only("nope", true).is_err());
    }

    #[test]
    fn deploying_the_broken_version_fails_health_and_a_good_one_recovers() {
        let mut f = fleet(11, Scenario::Calm);
        f.advance_to(at(10.0));
        let broken = f
            .deploys()
            .history
            .iter()
            .find(|d| d.outcome == DeployOutcome::Failed)
            .map(|d| d.version.clone())
            .expect("a failed deploy");
        assert_eq!(broken, super::super::deploy_history::BROKEN_VERSION);
        f.deploy_version("web-c2", &broken, at(10.0))
            .expect("deploy");
        f.advance_to(at(11.0));
        let running = f.deploys().running;
        assert_eq!(running[3].version, None, "restarting");
        assert_eq!(target(&f, "web-c2").health, Health::Down);
        f.advance_to(at(30.0));
        let t = target(&f, "web-c2");
        assert_eq!(t.health, Health::Down);
        assert!(t.error_rate.is_some_and(|e| e > 0.3));
        assert_eq!(t.requests_per_sec, Some(0.0));
        assert_eq!(
            f.deploys().running[3].version.as_deref(),
            Some(broken.as_str())
        );
        assert!(
            f.alerts()
                .iter()
                .any(|a| a.name == "BackendDown" && a.target == "web-c2")
        );
        f.deploy_version("web-c2", "v1.41.2", at(30.0))
            .expect("deploy good");
        f.advance_to(at(36.0));
        let t = target(&f, "web-c2");
        assert_eq!(t.health, Health::Ok);
        assert!(t.requests_per_sec.is_some_and(|r| r > 0.0));
        assert_eq!(f.deploys().running[3].version.as_deref(), Some("v1.41.2"));
        assert_eq!(
            f.hosts()
                .host("web-c2")
                .and_then(|h| h.version.clone())
                .as_deref(),
            Some("v1.41.2")
        );
        assert!(f.alerts().is_empty());
        assert!(matches!(
            f.deploy_version("web-c2", "v9.9.9", at(36.0)),
            Err(ProviderError::Failed { .. })
        ));
        assert_eq!(f.deploys().history.len(), 13, "history unchanged");
    }

    #[test]
    fn initial_fleet_shape() {
        let mut f = fleet(42, Scenario::Default);
        f.advance_to(START);
        let h = f.hosts();
        assert_eq!(h.azs, vec![AZ_A, AZ_C]);
        let names: Vec<&str> = h.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "lb",
                "web-a1",
                "web-a2",
                "web-c1",
                "web-c2",
                "db-primary",
                "db-replica",
                "cache-primary",
                "cache-replica",
                "mon-1"
            ]
        );
        let lb = h.load_balancer.expect("lb");
        assert_eq!(lb.kind, "nginx");
        let weights: Vec<u32> = lb.targets.iter().map(|t| t.weight).collect();
        assert_eq!(weights, [3, 2, 3, 2]);
        assert!(lb.total_rps().is_some_and(|r| r > 300.0));
        let d = f.deploys();
        assert!(
            d.running
                .iter()
                .all(|r| r.version.as_deref() == Some("v1.42.3"))
        );
        let repl = f.replication();
        assert!(
            repl.databases[0]
                .gtid_executed
                .as_deref()
                .is_some_and(|g| g.starts_with("0-1-"))
        );
    }

    #[test]
    fn long_gaps_are_skipped_and_time_going_back_is_ignored() {
        let mut f = fleet(42, Scenario::Default);
        let later = START.plus_millis(6 * 3600 * 1000);
        let t0 = std::time::Instant::now();
        f.advance_to(later);
        assert!(t0.elapsed().as_secs() < 5);
        assert_eq!(f.now().millis() / STEP_MS, later.millis() / STEP_MS);
        let logs = f.take_logs();
        assert!(logs.len() <= 110, "{}", logs.len());
        assert!(logs.iter().all(|l| l.at.millis() > later.millis() - 5_001));
        let before = f.hosts();
        f.advance_to(START);
        assert_eq!(f.hosts(), before);
    }

    fn log_fleet(rate: f64) -> DemoFleet {
        DemoFleet::new(DemoConfig {
            seed: 42,
            scenario: Scenario::Default,
            log_rate: rate,
            start: START,
        })
    }

    #[test]
    fn log_rate_is_respected() {
        let mut f = log_fleet(50_000.0);
        f.advance_to(START);
        assert!(f.take_logs().is_empty());
        f.advance_to(at(1.0));
        // More than the queue holds: the rest is counted as dropped.
        let batch = f.take_log_batch();
        let n = batch.len() as u64 + batch.dropped;
        assert!(batch.dropped > 0);
        assert!((45_000..=55_000).contains(&n), "{n}");

        let mut f = log_fleet(20.0);
        f.advance_to(START);
        let mut total = 0;
        for s in 1..=60 {
            f.advance_to(at(f64::from(s)));
            total += f.take_logs().len();
        }
        assert!((1_080..=1_320).contains(&total), "{total}");
    }

    #[test]
    fn logs_have_traces_both_azs_and_increasing_timestamps() {
        let mut f = log_fleet(2_000.0);
        let mut all = Vec::new();
        for q in 1..=240 {
            f.advance_to(START.plus_millis(q * 250));
            all.extend(f.take_logs());
        }
        assert!(all.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(all.iter().any(|l| l.az == AZ_A));
        assert!(all.iter().any(|l| l.az == AZ_C));
        for host in [
            "lb",
            "web-a1",
            "web-c2",
            "db-primary",
            "db-replica",
            "cache-primary",
            "mon-1",
        ] {
            assert!(all.iter().any(|l| l.host == host), "{host}");
        }
        let traces = all
            .windows(2)
            .filter(|w| w[0].level == LogLevel::Error && w[1].text.contains("Exception"))
            .count();
        assert!(traces > 0);
        assert!(
            all.iter()
                .any(|l| l.text.starts_with("\tat ") && l.level == LogLevel::None)
        );
        assert!(all.iter().any(|l| l.text.starts_with("Caused by: ")));
        assert!(all.iter().any(|l| l.level == LogLevel::Warn));
        assert!(all.iter().any(|l| l.level == LogLevel::Info));
        let access = all.iter().find(|l| l.host == "lb").expect("access line");
        assert!(access.text.contains("HTTP/1.1\""), "{}", access.text);
        let app = all
            .iter()
            .find(|l| l.host == "web-a1" && l.level == LogLevel::Info)
            .expect("app line");
        assert!(app.text.contains(" --- [nio-8080-exec-"), "{}", app.text);
    }

    /// Nobody takes lines for 6 s at 50,000 lines/s (300,000 lines, about
    /// 60 MB): the queue keeps at most `QUEUE_CAP_BYTES` of the newest, and
    /// every other line is counted as dropped, none twice and none missing.
    #[test]
    fn undelivered_logs_are_bounded_and_drops_counted() {
        use super::super::log_generator::QUEUE_CAP_BYTES;
        let mut f = log_fleet(50_000.0);
        f.advance_to(START);
        for q in 1..=24 {
            f.advance_to(START.plus_millis(q * 250));
            assert!(f.logs.queued_bytes() <= QUEUE_CAP_BYTES);
        }
        let batch = f.take_log_batch();
        assert!(batch.text_bytes() <= QUEUE_CAP_BYTES);
        assert!(batch.text_bytes() > QUEUE_CAP_BYTES / 2, "{batch:?}");
        assert_eq!(batch.dropped, f.dropped_log_lines());
        let total = batch.len() as u64 + batch.dropped;
        // A stack trace may run a few lines past the owed count.
        assert!((299_999..=300_020).contains(&total), "{total}");
        // The newest lines were kept.
        let newest = batch.iter().next_back().map(|l| l.at.millis());
        assert!(
            newest > Some(START.plus_millis(5_990).millis()),
            "{newest:?}"
        );
        // The next take reports only what was dropped since.
        f.advance_to(START.plus_millis(6_250));
        let next = f.take_log_batch();
        assert_eq!(next.dropped, 0);
        assert!((12_000..=13_000).contains(&next.len()), "{}", next.len());
    }

    /// A jump of 6 hours (a laptop waking up) builds no more lines than the
    /// queue holds: the rest are counted without being generated.
    #[test]
    fn a_long_gap_builds_at_most_a_queue_of_lines() {
        use super::super::log_generator::QUEUE_CAP_BYTES;
        let mut f = log_fleet(50_000.0);
        f.advance_to(START);
        f.advance_to(START.plus_millis(6 * 3600 * 1000));
        let batch = f.take_log_batch();
        assert!(batch.text_bytes() <= QUEUE_CAP_BYTES);
        // The catch-up is 5 s of lines, nearly all of it counted, not built.
        assert!(batch.dropped > 200_000, "{batch:?}");
        assert!(batch.len() < 30_000, "{batch:?}");
    }

    /// Speed lives in the `logs` benchmark (criterion); here, the count: at
    /// 50,000 lines/s, 2 s of simulated time in 250 ms steps yields 2 s of
    /// lines, none dropped while they are taken as they come.
    #[test]
    fn log_generation_keeps_the_configured_rate() {
        let mut f = log_fleet(50_000.0);
        f.advance_to(START);
        let mut lines = 0;
        for q in 1..=8 {
            f.advance_to(START.plus_millis(q * 250));
            lines += f.take_logs().len();
        }
        assert!(
            (95_000..=105_000).contains(&lines),
            "{lines} lines in 2 s at 50,000/s"
        );
        assert_eq!(f.dropped_log_lines(), 0);
    }
}
