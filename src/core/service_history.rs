//! The service probes' memory: the last minutes of every probe's results (for
//! latency percentiles, success rate and the last error) and the request rate
//! derived from nginx's `stub_status` counter (for traffic drops). Fed by
//! `update` from service observations; judged by `assess::service`.

use std::collections::{BTreeMap, VecDeque};

use super::series::Series;
use super::service::ServiceObservation;
use super::time::Timestamp;

/// Readings of nginx's request counter closer together than this give no
/// rate: a few milliseconds hold no requests, and "0 rps" would be a lie.
const MIN_RATE_SPAN_MS: i64 = 1_000;

/// How long probe results are remembered for the overview's figures: 5 minutes.
pub const PROBE_WINDOW_MS: i64 = 5 * 60 * 1000;

/// One probe result as remembered.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeRecord {
    pub at: Timestamp,
    pub ok: bool,
    pub latency_ms: Option<f64>,
}

/// Results of one probe URL over the window, and its last failure.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeHistory {
    pub records: VecDeque<ProbeRecord>,
    /// The most recent failure: when and why (kept after it recovers, so the
    /// overview can say what the last error was).
    pub last_error: Option<(Timestamp, String)>,
}

/// Everything the service judgements need from the past.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceHistory {
    /// Per probe URL.
    pub probes: BTreeMap<String, ProbeHistory>,
    /// Users' requests per second through the LB, from `stub_status`
    /// (the console's own requests taken out). `None` samples: no reading.
    pub rps: Series,
    /// The previous counter reading: when, requests, own requests.
    last_counter: Option<(Timestamp, u64, u64)>,
    /// The traffic change last reported as an event, so each start and end
    /// of a drop or spike is told once.
    pub traffic_reported: Option<crate::core::assess::TrafficDirection>,
}

impl Default for ServiceHistory {
    fn default() -> Self {
        Self {
            probes: BTreeMap::new(),
            rps: Series::new(super::state::HISTORY_WINDOW_MS),
            last_counter: None,
            traffic_reported: None,
        }
    }
}

impl ServiceHistory {
    /// Remembers one observation made at `at`.
    pub fn record(&mut self, at: Timestamp, obs: &ServiceObservation) {
        for p in &obs.probes {
            let h = self.probes.entry(p.url.clone()).or_default();
            if h.records.back().is_some_and(|r| r.at >= at) {
                continue;
            }
            h.records.push_back(ProbeRecord {
                at,
                ok: p.ok,
                latency_ms: p.latency_ms,
            });
            while h
                .records
                .front()
                .is_some_and(|r| at.since(r.at) > PROBE_WINDOW_MS)
            {
                h.records.pop_front();
            }
            if let Some(e) = &p.error {
                h.last_error = Some((at, e.clone()));
            }
        }
        let stub = obs.lb.as_ref().and_then(|lb| lb.stub);
        match stub {
            Some(s) => {
                if let Some((t0, _, _)) = self.last_counter
                    && at.since(t0) < MIN_RATE_SPAN_MS
                {
                    // Two readings this close (the first poll right after the
                    // start-up round) hold too few requests for a rate: keep
                    // the older one as the base.
                    return;
                }
                if let Some((t0, req0, own0)) = self.last_counter {
                    // A counter that went back means nginx restarted: no rate
                    // from this pair.
                    let rate = (s.requests >= req0).then(|| {
                        let users = (s.requests - req0)
                            .saturating_sub(s.own_requests - own0.min(s.own_requests));
                        users as f64 * 1000.0 / at.since(t0) as f64
                    });
                    self.rps.push(at, rate);
                }
                self.last_counter = Some((at, s.requests, s.own_requests));
            }
            None if obs.lb.is_some() => {
                // No reading: a gap, and the next reading starts a new pair
                // (a rate across the gap would smear the outage away).
                self.rps.push(at, None);
                self.last_counter = None;
            }
            None => {}
        }
    }

    /// Whether `stub_status` gave a rate after `since`, to judge traffic by.
    pub fn has_rate_since(&self, since: Timestamp) -> bool {
        self.rps.points().any(|(at, v)| *at > since && v.is_some())
    }
}
