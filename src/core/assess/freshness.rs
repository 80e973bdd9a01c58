//! "Is this data too old to act on?": a panel whose newest data is older than
//! its stale limit is marked stale on screen and cannot pass a guard; both
//! say how old it is.

use crate::core::state::Panel;
use crate::core::time::Timestamp;

/// How fresh one panel's data is at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Nothing observed yet.
    NoData,
    Fresh {
        age_ms: i64,
    },
    /// Older than its limit.
    Stale {
        age_ms: i64,
        limit_ms: i64,
    },
}

/// The freshness of `panel` at `now`.
pub fn freshness<T>(panel: &Panel<T>, now: Timestamp) -> Freshness {
    match (&panel.data, panel.age_ms(now)) {
        (Some(_), Some(age_ms)) if age_ms > panel.stale_after_ms => Freshness::Stale {
            age_ms,
            limit_ms: panel.stale_after_ms,
        },
        (Some(_), Some(age_ms)) => Freshness::Fresh { age_ms },
        _ => Freshness::NoData,
    }
}

impl Freshness {
    pub fn is_fresh(self) -> bool {
        matches!(self, Freshness::Fresh { .. })
    }

    /// Why `what` data cannot be trusted, or `None` when it is fresh:
    /// "replication data is 47 s old (limit 15 s)".
    pub fn problem(self, what: &str) -> Option<String> {
        match self {
            Freshness::Fresh { .. } => None,
            Freshness::NoData => Some(format!("there is no {what} data yet")),
            Freshness::Stale { age_ms, limit_ms } => Some(format!(
                "{what} data is {} s old (limit {} s)",
                age_ms / 1000,
                limit_ms / 1000
            )),
        }
    }
}
