//! Time as data. The core never reads a clock: the runtime passes `Timestamp`s in.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn from_secs(s: i64) -> Self {
        Self(s * 1000)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    pub fn plus_secs_f64(self, s: f64) -> Self {
        Self(self.0.saturating_add((s * 1000.0) as i64))
    }

    /// Milliseconds elapsed from `earlier` to `self`; zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> i64 {
        (self.0 - earlier.0).max(0)
    }

    /// `2026-11-22 02:19:07` in UTC.
    pub fn format_datetime(self) -> String {
        self.format("%Y-%m-%d %H:%M:%S")
    }

    /// `02:19:07.123` in UTC.
    pub fn format_time_millis(self) -> String {
        self.format("%H:%M:%S%.3f")
    }

    /// `02:19:07` in UTC.
    pub fn format_time(self) -> String {
        self.format("%H:%M:%S")
    }

    /// RFC 3339, for JSON output.
    pub fn to_rfc3339(self) -> String {
        self.format("%Y-%m-%dT%H:%M:%S%.3fZ")
    }

    fn format(self, fmt: &str) -> String {
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(dt) => dt.format(fmt).to_string(),
            None => "?".to_string(),
        }
    }
}

/// Short human age: `4s`, `3m`, `2h`, `5d`.
pub fn format_age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        let t = Timestamp::from_secs(1_700_000_000);
        assert_eq!(t.format_datetime(), "2023-11-14 22:13:20");
        assert_eq!(t.to_rfc3339(), "2023-11-14T22:13:20.000Z");
    }

    #[test]
    fn ages() {
        assert_eq!(format_age(999), "0s");
        assert_eq!(format_age(61_000), "1m");
        assert_eq!(format_age(7_300_000), "2h");
        assert_eq!(format_age(-5), "0s");
    }
}
