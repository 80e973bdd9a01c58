//! One problem the headline names, and its kind.

use crate::core::fleet::{Health, Severity};

/// One problem the headline names.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The host, node or source it is about (sanitized), when there is one.
    pub subject: String,
    /// Sanitized, ready to show: "▲ db-replica lag high".
    pub text: String,
}

/// What kind of problem, for its colour and for callers that count.
#[derive(Clone, Debug, PartialEq)]
pub enum ProblemKind {
    /// A source's last poll failed.
    SourceFailing,
    /// A panel's data is older than its limit (and its source did not fail:
    /// a failing source's item carries its data's age).
    Stale,
    /// A host or a database/cache node is not ok. `lag_seconds` is set when
    /// the reason is a replica's high lag (the screen prints it its own way).
    Health {
        health: Health,
        lag_seconds: Option<f64>,
    },
    Alerts(Severity),
    /// Backends that run another version than the service's current one.
    Drift,
    /// A backend out of the pool (drained, draining): worth knowing, not broken.
    TargetNotActive,
    /// An end-to-end probe failed (`Down`: every probe failed; `Degraded`:
    /// some did).
    Service(Health),
    /// The load balancer itself: `Down` when nginx does not answer.
    LoadBalancer(Health),
    /// Users' traffic fell or jumped against its baseline.
    Traffic(super::traffic::TrafficDirection),
}
