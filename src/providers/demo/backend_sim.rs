//! One simulated backend of the `web` service: its pool membership, health,
//! traffic and the version it runs.

use crate::core::fleet::{Health, TargetState};

/// How long a drain takes for in-flight requests to finish (ms).
pub const DRAIN_MS: i64 = 3_000;
/// How long a backend restarts for during a deploy (ms): it fails health checks
/// meanwhile and reports no version.
pub const RESTART_MS: i64 = 4_000;

/// A backend's simulated state. Fields are updated by `DemoFleet::step`.
#[derive(Clone, Debug)]
pub struct BackendSim {
    pub name: &'static str,
    pub az: &'static str,
    pub address: &'static str,
    pub weight: u32,
    pub target: TargetState,
    /// When the current drain started, while draining.
    pub drain_started_ms: Option<i64>,
    /// In-flight requests when the drain started; they finish linearly.
    pub drain_in_flight: u32,
    pub health: Health,
    /// Health-check round trip; `None` when the check times out.
    pub latency_ms: Option<f64>,
    /// Request latency in seconds, for in-flight estimates and access logs.
    pub request_secs: f64,
    pub rps: f64,
    pub error_rate: f64,
    pub in_flight: u32,
    pub cpu_pct: f64,
    /// The version the backend runs (or will run once its restart finishes).
    pub version: String,
    /// While restarting for a deploy: when the restart ends.
    pub restart_until_ms: Option<i64>,
    /// Process id in application logs; a restart gets a new one.
    pub pid: u32,
    /// Slowly varying traffic noise (AR(1)), so numbers wander instead of jitter.
    pub noise: f64,
}

impl BackendSim {
    pub fn new(
        name: &'static str,
        az: &'static str,
        address: &'static str,
        weight: u32,
        version: &str,
        pid: u32,
    ) -> Self {
        Self {
            name,
            az,
            address,
            weight,
            target: TargetState::Active,
            drain_started_ms: None,
            drain_in_flight: 0,
            health: Health::Ok,
            latency_ms: Some(4.0),
            request_secs: 0.025,
            rps: 0.0,
            error_rate: 0.001,
            in_flight: 0,
            cpu_pct: 20.0,
            version: version.to_string(),
            restart_until_ms: None,
            pid,
            noise: 0.0,
        }
    }

    pub fn is_restarting(&self, elapsed_ms: i64) -> bool {
        self.restart_until_ms
            .is_some_and(|until| elapsed_ms < until)
    }

    /// The version to report: unknown while the process restarts.
    pub fn reported_version(&self, elapsed_ms: i64) -> Option<String> {
        (!self.is_restarting(elapsed_ms)).then(|| self.version.clone())
    }

    /// Whether the load balancer sends it new requests (nginx skips a peer that
    /// fails its checks, and every peer that is not active).
    pub fn takes_traffic(&self) -> bool {
        self.target == TargetState::Active && self.health != Health::Down
    }

    /// Share weight for new requests: degraded peers fail some requests and nginx
    /// backs off from them, so they get about half their share.
    pub fn effective_weight(&self) -> f64 {
        if !self.takes_traffic() {
            0.0
        } else if self.health == Health::Degraded {
            f64::from(self.weight) * 0.5
        } else {
            f64::from(self.weight)
        }
    }

    /// Starts draining; draining or drained backends are left as they are.
    pub fn drain(&mut self, at_ms: i64) {
        if self.target == TargetState::Active || self.target == TargetState::Unknown {
            self.target = TargetState::Draining;
            self.drain_started_ms = Some(at_ms);
            self.drain_in_flight = self.in_flight;
        }
    }

    /// Puts the backend back in the pool at once.
    pub fn undrain(&mut self) {
        self.target = TargetState::Active;
        self.drain_started_ms = None;
        self.drain_in_flight = 0;
    }

    /// Restarts the backend to run `version`.
    pub fn deploy(&mut self, version: &str, at_ms: i64) {
        self.version = version.to_string();
        self.restart_until_ms = Some(at_ms + RESTART_MS);
        self.pid = self.pid.wrapping_mul(31).wrapping_add(17) % 60_000 + 1_000;
    }

    /// Advances the drain: in-flight requests finish over `DRAIN_MS`, then the
    /// target is out of the pool.
    pub fn step_drain(&mut self, elapsed_ms: i64) {
        if self.target != TargetState::Draining {
            return;
        }
        let started = self.drain_started_ms.unwrap_or(elapsed_ms);
        let done = elapsed_ms - started;
        if done >= DRAIN_MS {
            self.target = TargetState::Drained;
            self.drain_started_ms = None;
            self.in_flight = 0;
        } else {
            let left = 1.0 - done as f64 / DRAIN_MS as f64;
            self.in_flight = (f64::from(self.drain_in_flight) * left).ceil() as u32;
        }
    }
}
