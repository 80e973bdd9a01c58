//! "Did the traffic just fall off a cliff (or jump)?": the request rate of the
//! last seconds against the baseline of the minutes before. Whatever the cause
//! (the LB, DNS, a CDN in front, the backends), users' requests stopping is
//! news, and so is a sudden flood.

use crate::core::series::Series;
use crate::core::time::Timestamp;

/// The recent window the current rate is taken over.
pub const RECENT_MS: i64 = 15_000;
/// How far back the baseline reaches (before the recent window).
pub const BASELINE_MS: i64 = 5 * 60 * 1000;
/// The baseline must span at least this long to be one.
pub const MIN_BASELINE_SPAN_MS: i64 = 20_000;
/// Below this baseline rate a drop is noise, not news (requests per second).
pub const MIN_BASELINE_RPS: f64 = 1.0;
/// A drop: the recent rate is at most this fraction of the baseline.
pub const DROP_FRACTION: f64 = 0.2;
/// A spike: the recent rate is at least this many times the baseline…
pub const SPIKE_FACTOR: f64 = 3.0;
/// …and at least this many requests per second above it.
pub const SPIKE_MIN_EXTRA_RPS: f64 = 10.0;

/// Which way the traffic moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrafficDirection {
    Drop,
    Spike,
}

/// A sudden change of the request rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrafficChange {
    pub direction: TrafficDirection,
    /// Baseline and recent requests per second.
    pub baseline_rps: f64,
    pub recent_rps: f64,
    /// The recent window, ms.
    pub over_ms: i64,
}

impl TrafficChange {
    /// "traffic fell 100 % in 15 s" / "traffic rose 420 % in 15 s".
    pub fn text(&self) -> String {
        let secs = self.over_ms / 1000;
        match self.direction {
            TrafficDirection::Drop => {
                let pct = (1.0 - self.recent_rps / self.baseline_rps) * 100.0;
                format!("traffic fell {:.0} % in {secs} s", pct.clamp(0.0, 100.0))
            }
            TrafficDirection::Spike => {
                let pct = (self.recent_rps / self.baseline_rps - 1.0) * 100.0;
                format!("traffic rose {pct:.0} % in {secs} s")
            }
        }
    }
}

/// The change of `rps` at `now`, if the recent rate left its baseline.
/// Unknown samples count for nothing: a recent window with no known sample
/// says nothing (the source's own failure is reported elsewhere).
pub fn traffic_change(rps: &Series, now: Timestamp) -> Option<TrafficChange> {
    let recent_from = now.plus_millis(-RECENT_MS);
    let baseline_from = recent_from.plus_millis(-BASELINE_MS);
    let mut recent = Vec::new();
    let mut baseline = Vec::new();
    for (at, v) in rps.points() {
        let Some(v) = v else { continue };
        if *at > now {
            continue;
        }
        if *at > recent_from {
            recent.push(*v);
        } else if *at > baseline_from {
            baseline.push((*at, *v));
        }
    }
    let span = match (baseline.first(), baseline.last()) {
        (Some((a, _)), Some((b, _))) => b.since(*a),
        _ => 0,
    };
    if recent.is_empty() || baseline.len() < 3 || span < MIN_BASELINE_SPAN_MS {
        return None;
    }
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let baseline_rps = mean(&baseline.iter().map(|(_, v)| *v).collect::<Vec<_>>());
    let recent_rps = mean(&recent);
    let direction =
        if baseline_rps >= MIN_BASELINE_RPS && recent_rps <= baseline_rps * DROP_FRACTION {
            TrafficDirection::Drop
        } else if recent_rps >= baseline_rps.max(MIN_BASELINE_RPS) * SPIKE_FACTOR
            && recent_rps - baseline_rps >= SPIKE_MIN_EXTRA_RPS
        {
            TrafficDirection::Spike
        } else {
            return None;
        };
    Some(TrafficChange {
        direction,
        baseline_rps,
        recent_rps,
        over_ms: RECENT_MS,
    })
}
