//! The service as its users reach it, as observed: end-to-end probes through
//! the load balancer, and the load balancer's own health (does nginx answer,
//! and what its `stub_status` counts). Plain data; every provider produces it
//! and `core::assess::service` judges it.

use serde::{Deserialize, Serialize};

/// One round of the service probes and the load balancer's own check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceObservation {
    /// Every configured probe, in config order.
    pub probes: Vec<ProbeSample>,
    /// The load balancer's own check; `None` when the provider has none.
    pub lb: Option<LbCheck>,
}

/// The outcome of one probe of one URL. A failed probe is data, not an error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeSample {
    /// The URL probed (sanitized by the provider before it gets here).
    pub url: String,
    /// Answered with the expected status within its deadline.
    pub ok: bool,
    /// The status that came back, if any answer did.
    pub status: Option<u16>,
    pub expect_status: u16,
    /// Round trip; `None` when nothing answered.
    pub latency_ms: Option<f64>,
    /// Why it failed, naming the URL ("timed out after 2 s"); `None` when ok.
    pub error: Option<String>,
}

impl ProbeSample {
    /// Something spoke HTTP back (whatever the status): the server is up.
    pub fn answered(&self) -> bool {
        self.status.is_some()
    }
}

/// The load balancer's own health, seen from the console's machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LbCheck {
    pub name: String,
    /// What was asked to see whether nginx answers (its `health_url`, or the
    /// first probe's URL).
    pub url: Option<String>,
    /// nginx answered HTTP (any status). `false` is "the LB is down".
    pub answered: bool,
    /// Why it did not answer.
    pub error: Option<String>,
    /// `stub_status` figures, when a status URL is configured and answered.
    pub stub: Option<StubStatus>,
    /// The status URL was configured but did not answer (or did not parse).
    pub stub_error: Option<String>,
}

/// nginx `stub_status`: global counters that do not depend on log timestamps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StubStatus {
    pub active: u64,
    pub accepts: u64,
    pub handled: u64,
    /// Requests nginx has handled since it started (monotonic until a restart).
    pub requests: u64,
    pub reading: u64,
    pub writing: u64,
    pub waiting: u64,
    /// Requests this console itself sent to this nginx so far (probes and
    /// status reads), so its own polling is not counted as users' traffic.
    pub own_requests: u64,
}

impl StubStatus {
    /// Parses nginx's `stub_status` page:
    ///
    /// ```text
    /// Active connections: 2
    /// server accepts handled requests
    ///  17 17 42
    /// Reading: 0 Writing: 1 Waiting: 1
    /// ```
    pub fn parse(text: &str) -> Option<StubStatus> {
        let mut s = StubStatus::default();
        let mut lines = text.lines().map(str::trim);
        s.active = lines
            .next()?
            .strip_prefix("Active connections:")?
            .trim()
            .parse()
            .ok()?;
        if !lines.next()?.starts_with("server accepts handled requests") {
            return None;
        }
        let nums: Vec<u64> = lines
            .next()?
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let [accepts, handled, requests] = nums[..] else {
            return None;
        };
        (s.accepts, s.handled, s.requests) = (accepts, handled, requests);
        let words: Vec<&str> = lines.next()?.split_whitespace().collect();
        for pair in words.chunks(2) {
            let [key, value] = pair else { return None };
            let v: u64 = value.parse().ok()?;
            match *key {
                "Reading:" => s.reading = v,
                "Writing:" => s.writing = v,
                "Waiting:" => s.waiting = v,
                _ => return None,
            }
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nginx_stub_status_and_refuses_other_text() {
        let page = "Active connections: 2 \nserver accepts handled requests\n 17 17 42 \nReading: 0 Writing: 1 Waiting: 1 \n";
        let s = StubStatus::parse(page).expect("parses");
        assert_eq!(
            (s.active, s.accepts, s.handled, s.requests),
            (2, 17, 17, 42)
        );
        assert_eq!((s.reading, s.writing, s.waiting), (0, 1, 1));
        assert_eq!(StubStatus::parse("<html>502 Bad Gateway</html>"), None);
        assert_eq!(
            StubStatus::parse(
                "Active connections: 2\nserver accepts handled requests\n 1 2\nReading: 0 Writing: 1 Waiting: 1"
            ),
            None
        );
    }
}
