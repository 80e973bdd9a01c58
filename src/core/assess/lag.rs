//! "Is this lag too high?": one judgement for the screen's colour, node health
//! and the promote guard. Unknown lag is its own answer, never 0.

use super::limits::Limits;

/// How a replica's lag reads against the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LagLevel {
    Ok,
    High,
    /// No number (NULL `Seconds_Behind_Master`, replica unreachable).
    Unknown,
}

/// Judges `lag_seconds` against `limits.lag_high_seconds`; at the limit is ok.
pub fn lag_level(lag_seconds: Option<f64>, limits: &Limits) -> LagLevel {
    match lag_seconds {
        None => LagLevel::Unknown,
        // A NaN is not a measurement.
        Some(s) if s.is_nan() => LagLevel::Unknown,
        Some(s) if s > limits.lag_high_seconds => LagLevel::High,
        Some(_) => LagLevel::Ok,
    }
}

/// Whether promoting a replica with this lag is too risky: `Some(reason)`
/// when the lag is unknown or above the promote limit.
pub fn promote_lag_refusal(
    replica: &str,
    lag_seconds: Option<f64>,
    limits: &Limits,
) -> Option<String> {
    let limit = limits.promote_limit();
    let promote_limits = Limits {
        lag_high_seconds: limit,
        promote_lag_seconds: None,
    };
    match (lag_level(lag_seconds, &promote_limits), lag_seconds) {
        (LagLevel::Ok, _) => None,
        (LagLevel::High, Some(l)) => Some(format!(
            "{replica} is {l:.0}s behind (limit {limit:.0}s): up to {l:.0}s of writes may be lost"
        )),
        _ => Some(format!(
            "{replica}'s lag is unknown: how much data would be lost cannot be told"
        )),
    }
}
