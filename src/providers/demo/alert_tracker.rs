//! Turns the conditions the fleet sees at each step into firing alerts that
//! remember since when they fire, the way Alertmanager reports `startsAt`.

use std::collections::BTreeMap;

use crate::core::Timestamp;
use crate::core::fleet::{Alert, Severity};

/// One condition true at a step.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub name: &'static str,
    pub severity: Severity,
    pub target: String,
    pub summary: String,
}

#[derive(Clone, Debug)]
struct Firing {
    severity: Severity,
    since_ms: i64,
    summary: String,
}

/// Firing alerts keyed by (name, target); a BTreeMap keeps output order stable.
#[derive(Clone, Debug, Default)]
pub struct AlertTracker {
    firing: BTreeMap<(&'static str, String), Firing>,
}

impl AlertTracker {
    /// Replaces the firing set with `conditions`, keeping `since` for alerts that
    /// were already firing.
    pub fn update(&mut self, elapsed_ms: i64, conditions: Vec<Condition>) {
        let mut next = BTreeMap::new();
        for c in conditions {
            let key = (c.name, c.target);
            let since_ms = self.firing.get(&key).map_or(elapsed_ms, |f| f.since_ms);
            next.insert(
                key,
                Firing {
                    severity: c.severity,
                    since_ms,
                    summary: c.summary,
                },
            );
        }
        self.firing = next;
    }

    /// Firing alerts, most severe first, then by name and target. `origin_ms` maps
    /// simulated time to wall time.
    pub fn alerts(&self, origin_ms: i64) -> Vec<Alert> {
        let mut out: Vec<Alert> = self
            .firing
            .iter()
            .map(|((name, target), f)| Alert {
                name: (*name).to_string(),
                severity: f.severity,
                target: target.clone(),
                since: Timestamp(origin_ms + f.since_ms),
                summary: f.summary.clone(),
            })
            .collect();
        out.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.target.cmp(&b.target))
        });
        out
    }
}
