//! Decides when the next incident starts and what it is, from the seeded RNG.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::incident::{Incident, IncidentKind};

/// First incident between these times after start (ms).
const FIRST_INCIDENT_MS: std::ops::Range<i64> = 60_000..120_000;
/// Time from one incident's start to the next (ms).
const INCIDENT_SPACING_MS: std::ops::Range<i64> = 120_000..240_000;
/// Quiet time at least between one incident's end and the next start (ms).
const MIN_QUIET_MS: i64 = 20_000;
/// How long an incident lasts (ms).
const INCIDENT_DURATION_MS: std::ops::Range<i64> = 30_000..90_000;

/// Schedules incidents one at a time. Kinds come in shuffled rounds of all three,
/// so every kind happens within any three consecutive incidents (about 12 minutes)
/// whatever the seed.
#[derive(Clone, Debug)]
pub struct IncidentScheduler {
    rng: ChaCha8Rng,
    enabled: bool,
    backends: usize,
    next_start_ms: i64,
    round: Vec<IncidentKind>,
    current: Option<Incident>,
    started: Vec<Incident>,
}

impl IncidentScheduler {
    pub fn new(seed: u64, enabled: bool, backends: usize) -> Self {
        // Its own RNG stream, so operator actions that draw noise do not change
        // which incidents happen when.
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1C1D_E4E7);
        let next_start_ms = rng.random_range(FIRST_INCIDENT_MS);
        Self {
            rng,
            enabled,
            backends: backends.max(1),
            next_start_ms,
            round: Vec::new(),
            current: None,
            started: Vec::new(),
        }
    }

    /// Ends the current incident when it is over and starts the next when due.
    pub fn step(&mut self, elapsed_ms: i64) {
        if !self.enabled {
            return;
        }
        if self
            .current
            .as_ref()
            .is_some_and(|i| elapsed_ms >= i.ends_ms())
        {
            self.current = None;
        }
        if self.current.is_none() && elapsed_ms >= self.next_start_ms {
            let incident = self.make_incident(elapsed_ms);
            let spacing = self.rng.random_range(INCIDENT_SPACING_MS);
            self.next_start_ms = (elapsed_ms + spacing).max(incident.ends_ms() + MIN_QUIET_MS);
            self.started.push(incident.clone());
            self.current = Some(incident);
        }
    }

    /// The incident in progress, if any.
    pub fn current(&self) -> Option<&Incident> {
        self.current.as_ref()
    }

    /// Every incident started so far, oldest first.
    pub fn started(&self) -> &[Incident] {
        &self.started
    }

    fn make_incident(&mut self, elapsed_ms: i64) -> Incident {
        if self.round.is_empty() {
            let mut kinds = IncidentKind::ALL.to_vec();
            // Fisher–Yates with the seeded RNG.
            for i in (1..kinds.len()).rev() {
                let j = self.rng.random_range(0..=i);
                kinds.swap(i, j);
            }
            self.round = kinds;
        }
        let kind = self.round.pop().unwrap_or(IncidentKind::BackendUnhealthy);
        let duration_ms = self.rng.random_range(INCIDENT_DURATION_MS);
        let backend = self.rng.random_range(0..self.backends);
        let (peak, unknown_window) = match kind {
            IncidentKind::ReplicaLag => {
                let peak = self.rng.random_range(20.0..60.0);
                // Sometimes the SQL thread stops for a while near the peak.
                let window = self.rng.random_bool(0.4).then_some((0.35, 0.5));
                (peak, window)
            }
            IncidentKind::ErrorBurst => (self.rng.random_range(0.05..0.10), None),
            IncidentKind::BackendUnhealthy => (0.0, None),
        };
        Incident {
            kind,
            backend,
            started_ms: elapsed_ms,
            duration_ms,
            peak,
            unknown_window,
        }
    }
}
