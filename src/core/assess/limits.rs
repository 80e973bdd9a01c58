//! The thresholds judgements use, from the config's `[guards]` (global or per
//! environment). One lag threshold serves the screen's colour, node health and
//! the promote guard; the guard has its own limit only when the config names
//! one (`max_promote_lag_seconds`).

/// Thresholds of the judgements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Replica lag above this is "too high": shown as high, the node is
    /// degraded, and promotion is refused (unless `promote_lag_seconds` is set).
    pub lag_high_seconds: f64,
    /// An explicitly configured, separate limit for the promote guard.
    pub promote_lag_seconds: Option<f64>,
}

/// The default lag threshold: the stricter of the two that used to exist
/// (10 s on screen, 5 s in the guard), so nothing the guard refused before
/// passes now.
pub const DEFAULT_LAG_HIGH_SECONDS: f64 = 5.0;

impl Default for Limits {
    fn default() -> Self {
        Self {
            lag_high_seconds: DEFAULT_LAG_HIGH_SECONDS,
            promote_lag_seconds: None,
        }
    }
}

impl Limits {
    /// The lag above which promotion is refused.
    pub fn promote_limit(&self) -> f64 {
        self.promote_lag_seconds.unwrap_or(self.lag_high_seconds)
    }
}
