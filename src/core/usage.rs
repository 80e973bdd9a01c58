//! What a session costs its cloud account: API calls per service, the
//! CloudWatch metrics requested (what GetMetricData is billed by), log
//! bytes received and live tail time, this session and per hour, with the
//! monthly cost they imply at list price.

use serde::Serialize;

use super::time::Timestamp;

/// The date of the price table below. Prices change: check the CloudWatch
/// pricing page for your region.
pub const PRICE_TABLE_DATE: &str = "2026-12-02";
/// CloudWatch list prices, US East (N. Virginia), as of `PRICE_TABLE_DATE`.
/// GetMetricData: per 1,000 metrics requested.
pub const USD_PER_1000_METRICS: f64 = 0.01;
/// Other CloudWatch and CloudWatch Logs API requests (DescribeAlarms,
/// FilterLogEvents): per 1,000 requests, beyond the free tier.
pub const USD_PER_1000_REQUESTS: f64 = 0.01;
/// Live tail: per session-minute.
pub const USD_PER_LIVE_TAIL_MINUTE: f64 = 0.01;
/// Hours in an average month (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Calls of one operation of one service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UsageLine {
    pub service: String,
    pub operation: String,
    pub calls: u64,
}

/// A session's use of a paid API.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UsageReport {
    pub started: Timestamp,
    pub at: Timestamp,
    pub calls: Vec<UsageLine>,
    pub metrics_requested: u64,
    pub log_events: u64,
    pub log_bytes: u64,
    pub live_tail_sessions: u64,
    pub live_tail_ms: i64,
}

/// The monthly cost a report's rates imply, in US dollars.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CostEstimate {
    pub metrics: f64,
    pub requests: f64,
    pub live_tail: f64,
    pub total: f64,
}

impl UsageReport {
    /// The session's length in hours (at least a minute, so the first
    /// seconds do not extrapolate wildly).
    pub fn hours(&self) -> f64 {
        (self.at.since(self.started).max(60_000) as f64) / 3_600_000.0
    }

    pub fn per_hour(&self, n: u64) -> f64 {
        n as f64 / self.hours()
    }

    pub fn calls_of(&self, service: &str) -> u64 {
        self.calls
            .iter()
            .filter(|l| l.service == service)
            .map(|l| l.calls)
            .sum()
    }

    /// Calls billed per request: CloudWatch's and Logs' other than
    /// GetMetricData (billed per metric) and StartLiveTail (per minute).
    pub fn billed_requests(&self) -> u64 {
        self.calls
            .iter()
            .filter(|l| matches!(l.service.as_str(), "cloudwatch" | "logs"))
            .filter(|l| !matches!(l.operation.as_str(), "GetMetricData" | "StartLiveTail"))
            .map(|l| l.calls)
            .sum()
    }

    /// This session's rates, kept up for a month, at list price.
    pub fn monthly(&self) -> CostEstimate {
        let metrics =
            self.per_hour(self.metrics_requested) * HOURS_PER_MONTH * USD_PER_1000_METRICS / 1000.0;
        let requests =
            self.per_hour(self.billed_requests()) * HOURS_PER_MONTH * USD_PER_1000_REQUESTS
                / 1000.0;
        let tail_minutes_per_hour = (self.live_tail_ms as f64 / 60_000.0) / self.hours();
        let live_tail = tail_minutes_per_hour * HOURS_PER_MONTH * USD_PER_LIVE_TAIL_MINUTE;
        CostEstimate {
            metrics,
            requests,
            live_tail,
            total: metrics + requests + live_tail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(minutes: i64) -> UsageReport {
        UsageReport {
            started: Timestamp::from_millis(0),
            at: Timestamp::from_millis(minutes * 60_000),
            calls: vec![
                UsageLine {
                    service: "cloudwatch".into(),
                    operation: "GetMetricData".into(),
                    calls: 60,
                },
                UsageLine {
                    service: "cloudwatch".into(),
                    operation: "DescribeAlarms".into(),
                    calls: 120,
                },
                UsageLine {
                    service: "ec2".into(),
                    operation: "DescribeInstances".into(),
                    calls: 360,
                },
            ],
            metrics_requested: 600,
            live_tail_ms: 30 * 60_000,
            ..UsageReport::default()
        }
    }

    #[test]
    fn rates_and_monthly_cost() {
        let r = report(60);
        assert!((r.hours() - 1.0).abs() < 1e-9);
        assert_eq!(r.per_hour(600), 600.0);
        assert_eq!(r.billed_requests(), 120, "EC2 Describe calls are free");
        let m = r.monthly();
        // 600 metrics/h × 730 h × $0.01/1000 = $4.38
        assert!((m.metrics - 4.38).abs() < 1e-9, "{m:?}");
        // 120 requests/h × 730 × $0.01/1000 = $0.876
        assert!((m.requests - 0.876).abs() < 1e-9, "{m:?}");
        // 30 tail minutes/h × 730 × $0.01 = $219
        assert!((m.live_tail - 219.0).abs() < 1e-9, "{m:?}");
        assert!((m.total - (4.38 + 0.876 + 219.0)).abs() < 1e-9);
    }

    #[test]
    fn the_first_seconds_do_not_extrapolate_wildly() {
        let r = report(0);
        assert!((r.hours() - 1.0 / 60.0).abs() < 1e-9);
    }
}

/// What the console itself did this session, for the diagnostics panel
/// (`:diagnostics`) and `status --json`. An idle console draws nothing: its
/// frames and terminal bytes stay flat while nothing changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConsoleCounters {
    pub started: Timestamp,
    /// Frames drawn.
    pub frames: u64,
    /// Messages handled by the event loop (keys, ticks, poll results).
    pub messages: u64,
    /// Poll results received (answers and failures).
    pub polls: u64,
    /// Bytes written to the terminal.
    pub terminal_bytes: u64,
}

impl ConsoleCounters {
    pub fn new(started: Timestamp) -> Self {
        ConsoleCounters {
            started,
            ..Default::default()
        }
    }

    /// `n` per hour over the session up to `now` (at least a second of it).
    pub fn per_hour(&self, n: u64, now: Timestamp) -> f64 {
        let hours = (now.since(self.started).max(1000) as f64) / 3_600_000.0;
        n as f64 / hours
    }
}
