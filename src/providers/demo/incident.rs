//! One simulated incident: what goes wrong, where, when and how badly. The fleet
//! asks an incident how it shapes a backend or the replication link at a moment.

use crate::core::fleet::Health;

/// What kind of trouble an incident is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IncidentKind {
    /// A backend goes degraded, then down, then recovers.
    BackendUnhealthy,
    /// The database replica falls behind (sometimes its SQL thread stops), then
    /// catches up.
    ReplicaLag,
    /// A bad build on one backend raises its error rate for a while.
    ErrorBurst,
}

impl IncidentKind {
    pub const ALL: [IncidentKind; 3] = [
        IncidentKind::BackendUnhealthy,
        IncidentKind::ReplicaLag,
        IncidentKind::ErrorBurst,
    ];
}

/// How an incident shapes one backend at a moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BackendEffect {
    pub health: Health,
    /// Multiplies the normal health-check and request latency.
    pub latency_factor: f64,
    /// Error rate the backend answers with, overriding the normal one when higher.
    pub error_rate: f64,
}

/// How an incident shapes the database replication link at a moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LagEffect {
    /// Replica lag the incident pushes the replica to, seconds.
    pub lag_seconds: f64,
    /// The SQL thread is stopped (lag unknown).
    pub sql_stopped: bool,
}

/// A scheduled incident. Times are simulated milliseconds since the fleet started.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub kind: IncidentKind,
    /// Index of the backend it hits (backend kinds only).
    pub backend: usize,
    pub started_ms: i64,
    pub duration_ms: i64,
    /// Peak lag in seconds (ReplicaLag) or peak error rate (ErrorBurst).
    pub peak: f64,
    /// Progress window (fractions of the duration) in which the replica's SQL
    /// thread is stopped, for lag incidents that briefly make lag unknown.
    pub unknown_window: Option<(f64, f64)>,
}

impl Incident {
    pub fn ends_ms(&self) -> i64 {
        self.started_ms + self.duration_ms
    }

    /// Progress through the incident, 0.0..1.0, or `None` when not active.
    pub fn progress(&self, elapsed_ms: i64) -> Option<f64> {
        if elapsed_ms < self.started_ms || elapsed_ms >= self.ends_ms() {
            return None;
        }
        Some((elapsed_ms - self.started_ms) as f64 / self.duration_ms.max(1) as f64)
    }

    /// The incident's effect on backend `index`, if it hits it now.
    pub fn backend_effect(&self, index: usize, elapsed_ms: i64) -> Option<BackendEffect> {
        if self.backend != index {
            return None;
        }
        let p = self.progress(elapsed_ms)?;
        match self.kind {
            // Degraded first (slow health checks), then failing them, then slowly
            // recovering: the shape of a JVM running out of heap or a stuck pool.
            IncidentKind::BackendUnhealthy => Some(if p < 0.3 {
                BackendEffect {
                    health: Health::Degraded,
                    latency_factor: 40.0 + 200.0 * p,
                    error_rate: 0.01,
                }
            } else if p < 0.8 {
                BackendEffect {
                    health: Health::Down,
                    latency_factor: 0.0,
                    error_rate: 0.35,
                }
            } else {
                BackendEffect {
                    health: Health::Degraded,
                    latency_factor: 10.0 + 60.0 * (1.0 - p),
                    error_rate: 0.008,
                }
            }),
            IncidentKind::ErrorBurst => {
                // Ramps up fast, holds, ramps down as the bad path cools off.
                let envelope = if p < 0.1 {
                    p / 0.1
                } else if p > 0.85 {
                    (1.0 - p) / 0.15
                } else {
                    1.0
                };
                Some(BackendEffect {
                    health: Health::Ok,
                    latency_factor: 1.5,
                    error_rate: self.peak * envelope,
                })
            }
            IncidentKind::ReplicaLag => None,
        }
    }

    /// The incident's effect on replication, if it is a lag incident active now.
    pub fn lag_effect(&self, elapsed_ms: i64) -> Option<LagEffect> {
        if self.kind != IncidentKind::ReplicaLag {
            return None;
        }
        let p = self.progress(elapsed_ms)?;
        // Rises over the first 55 %, then the replica catches up.
        let lag_seconds = if p < 0.55 {
            self.peak * (p / 0.55)
        } else {
            self.peak * (1.0 - p) / 0.45
        };
        let sql_stopped = self
            .unknown_window
            .is_some_and(|(from, to)| p >= from && p < to);
        Some(LagEffect {
            lag_seconds,
            sql_stopped,
        })
    }
}
