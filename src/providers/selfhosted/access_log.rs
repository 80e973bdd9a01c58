//! nginx access-log lines in opsdeck's own `log_format`, and a sliding window
//! that turns them into requests per second and 5xx rate per backend.
//!
//! Open-source nginx has no per-upstream counters (that is nginx Plus), so the
//! traffic each backend takes is read from `$upstream_addr` in the access log.
//! The format is key=value with quoted free-text fields; nginx's default log
//! escaping turns `"` and control bytes into `\xHH`, so a quoted value never
//! contains a raw quote.

use std::collections::{BTreeMap, VecDeque};
use std::sync::OnceLock;
use std::time::Duration;

use regex::Regex;

use crate::core::Timestamp;

/// Name used in `log_format` and `access_log`.
pub const LOG_FORMAT_NAME: &str = "opsdeck";

/// The format string of `log_format opsdeck '...';`. `$msec` is the log time in
/// seconds with millisecond resolution; `$upstream_addr`, `$upstream_status`
/// and `$upstream_response_time` list one value per attempt (`, ` between
/// retries, ` : ` between internal redirects), `-` when nothing was proxied.
pub const ACCESS_LOG_FORMAT: &str = "time=$msec status=$status rt=$request_time \
up=\"$upstream_addr\" ups=\"$upstream_status\" urt=\"$upstream_response_time\" \
method=$request_method uri=\"$request_uri\" bytes=$body_bytes_sent";

/// The `log_format` directive to put in the `http` block of nginx.conf.
pub fn log_format_directive() -> String {
    format!("log_format {LOG_FORMAT_NAME} '{ACCESS_LOG_FORMAT}';")
}

/// One request as nginx logged it.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessEntry {
    pub time: Timestamp,
    /// Status sent to the client.
    pub status: u16,
    /// Seconds from the first byte read to the last byte sent.
    pub request_time: f64,
    /// Backends tried, in order (several when nginx retried); empty when the
    /// request was not proxied.
    pub upstream: Vec<String>,
    /// Status per attempt, aligned with `upstream`; `None` where nginx wrote `-`.
    pub upstream_status: Vec<Option<u16>>,
    pub method: String,
    pub uri: String,
}

impl AccessEntry {
    /// Whether the attempt at `index` of `upstream` failed with a 5xx (or
    /// failed before any status: nginx only moves to the next server after an
    /// error, so an attempt that was followed by another one failed).
    pub fn attempt_failed(&self, index: usize) -> bool {
        match self.upstream_status.get(index).copied().flatten() {
            Some(status) => status >= 500,
            None if index + 1 < self.upstream.len() => true,
            None => self.status >= 500,
        }
    }
}

/// Parses one line in [`ACCESS_LOG_FORMAT`], or in nginx's `combined` format
/// followed by `upstream=$upstream_addr upstream_status=$upstream_status
/// request_time=$request_time` (time then has one-second resolution). Lines
/// in other formats, or without time, status and request time, give `None`.
pub fn parse_line(line: &str) -> Option<AccessEntry> {
    let (time, status, method, uri, fields) = match combined_prefix(line) {
        Some(prefix) => {
            let fields = fields(prefix.tail)?;
            (
                Some(prefix.time),
                Some(prefix.status),
                prefix.method,
                prefix.uri,
                fields,
            )
        }
        None => {
            let fields = fields(line)?;
            let time = fields
                .get("time")
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|t| t.is_finite())
                .map(|t| Timestamp::from_millis((t * 1000.0).round() as i64));
            let status = fields.get("status").and_then(|s| s.parse::<u16>().ok());
            let method = fields.get("method").cloned().unwrap_or_default();
            let uri = fields.get("uri").cloned().unwrap_or_default();
            (time, status, method, uri, fields)
        }
    };
    let get = |keys: &[&str]| keys.iter().find_map(|k| fields.get(*k)).map(String::as_str);
    let upstream: Vec<String> = list(get(&["up", "upstream", "upstream_addr"]).unwrap_or("-"))
        .into_iter()
        .filter_map(|a| a.map(str::to_string))
        .collect();
    let mut upstream_status: Vec<Option<u16>> =
        list(get(&["ups", "upstream_status"]).unwrap_or("-"))
            .into_iter()
            .map(|s| s.and_then(|s| s.parse::<u16>().ok()))
            .collect();
    if upstream.is_empty() {
        upstream_status.clear();
    }
    Some(AccessEntry {
        time: time?,
        status: status?,
        request_time: get(&["rt", "request_time"])?.parse().ok()?,
        upstream,
        upstream_status,
        method,
        uri,
    })
}

struct CombinedPrefix<'a> {
    time: Timestamp,
    status: u16,
    method: String,
    uri: String,
    tail: &'a str,
}

/// `$remote_addr - $remote_user [$time_local] "$request" $status
/// $body_bytes_sent "$http_referer" "$http_user_agent"`, then the rest.
fn combined_prefix(line: &str) -> Option<CombinedPrefix<'_>> {
    static COMBINED: OnceLock<Option<Regex>> = OnceLock::new();
    let re = COMBINED
        .get_or_init(|| {
            Regex::new(r#"^\S+ \S+ \S+ \[([^\]]+)\] "([^"]*)" (\d{3}) \S+ "[^"]*" "[^"]*"(.*)$"#)
                .ok()
        })
        .as_ref()?;
    let caps = re.captures(line)?;
    let time =
        chrono::DateTime::parse_from_str(caps.get(1)?.as_str(), "%d/%b/%Y:%H:%M:%S %z").ok()?;
    let mut request = caps.get(2)?.as_str().split(' ');
    Some(CombinedPrefix {
        time: Timestamp::from_millis(time.timestamp_millis()),
        method: request.next().unwrap_or_default().to_string(),
        uri: request.next().unwrap_or_default().to_string(),
        status: caps.get(3)?.as_str().parse().ok()?,
        tail: caps.get(4)?.as_str(),
    })
}

/// `key=value` and `key="quoted value"` pairs; `None` if a quote is unclosed.
/// An unquoted value runs to the next ` key=`, so `upstream=a:1, b:2` keeps
/// both addresses.
fn fields(line: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return None;
        }
        let after = &rest[eq + 1..];
        let (value, tail) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => {
                let end = next_key(after).unwrap_or(after.len());
                (after[..end].trim_end(), &after[end..])
            }
        };
        out.insert(key.to_string(), value.to_string());
        rest = tail.trim_start();
    }
    Some(out)
}

/// Offset of the next whitespace that is followed by `identifier=`.
fn next_key(s: &str) -> Option<usize> {
    s.char_indices()
        .filter(|(_, c)| c.is_whitespace())
        .map(|(i, _)| i)
        .find(|&i| {
            let word = s[i..].trim_start();
            let ident = word
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(word.len());
            ident > 0 && word[ident..].starts_with('=')
        })
}

/// Splits an nginx per-attempt list (`a, b : c`); `-` entries become `None`.
/// Only `, ` and ` : ` separate entries: a bare `:` is part of `host:port`.
fn list(value: &str) -> Vec<Option<&str>> {
    value
        .split(", ")
        .flat_map(|part| part.split(" : "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| (s != "-").then_some(s))
        .collect()
}

/// Traffic of one backend over the window.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendTraffic {
    pub addr: String,
    pub requests: u64,
    pub errors: u64,
    pub requests_per_sec: f64,
    /// Fraction of attempts that failed (5xx or no answer), 0.0..=1.0.
    pub error_rate: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bucket {
    second: i64,
    requests: u64,
    errors: u64,
}

/// Requests and failures per backend address over the last `window`, in
/// one-second buckets, so memory is bounded by backends × window seconds.
///
/// Every time in the window is on the log's own clock (the load balancer's):
/// the console's clock may be seconds off, and windowing the log's times on
/// it would count nothing (ahead) or nothing yet (behind), so a drain would
/// "verify" at once while traffic flows. [`TrafficWindow::log_now`] tells the
/// log's time now from the newest line and how long ago (on a monotonic
/// local clock) it arrived.
#[derive(Clone, Debug)]
pub struct TrafficWindow {
    window_secs: i64,
    started: Option<Timestamp>,
    backends: BTreeMap<String, VecDeque<Bucket>>,
    /// The newest line: its time on the log's clock, and when it arrived on
    /// the reader's monotonic clock.
    newest: Option<(Timestamp, Timestamp)>,
}

impl TrafficWindow {
    /// A window of `window` (at least one second).
    pub fn new(window: Duration) -> Self {
        Self {
            window_secs: i64::try_from(window.as_secs()).unwrap_or(i64::MAX).max(1),
            started: None,
            backends: BTreeMap::new(),
            newest: None,
        }
    }

    /// The log's clock now, `local` being the reader's monotonic time: the
    /// newest line's time plus how long ago it arrived. A line is written
    /// when its request ends and read after that, so this never runs ahead
    /// of the log's clock (it lags by up to the log's time resolution),
    /// and a window ending here never skips lines that were written.
    /// `None` before the first line.
    pub fn log_now(&self, local: Timestamp) -> Option<Timestamp> {
        self.newest
            .map(|(time, arrived)| time.plus_millis(local.since(arrived).max(0)))
    }

    /// Counts one request read at `local` (the reader's monotonic time), and
    /// takes its time as the log's clock then.
    pub fn record_at(&mut self, entry: &AccessEntry, local: Timestamp) {
        self.newest = Some((entry.time, local));
        self.record(entry);
    }

    /// A tail (re)attached at `local`: rates count from the log's clock now,
    /// or from the first line read when the log's clock is not known yet.
    pub fn attach(&mut self, local: Timestamp) {
        self.started = self.log_now(local);
    }

    /// Marks when reading the log began. Until a full window has passed, rates
    /// are over the time actually observed, so a fresh tail does not under-report.
    /// Without it the first recorded entry counts as the start.
    pub fn start(&mut self, at: Timestamp) {
        self.started = Some(at);
    }

    /// Counts one request: one attempt for each backend nginx tried.
    pub fn record(&mut self, entry: &AccessEntry) {
        if self.started.is_none_or(|s| entry.time < s) {
            self.started = Some(entry.time);
        }
        let second = entry.time.millis().div_euclid(1000);
        for (i, addr) in entry.upstream.iter().enumerate() {
            let failed = u64::from(entry.attempt_failed(i));
            let buckets = self.backends.entry(addr.clone()).or_default();
            // Lines arrive nearly in order; look back for the bucket of this second.
            let pos = buckets.iter().rposition(|b| b.second <= second);
            match pos {
                Some(p) if buckets[p].second == second => {
                    buckets[p].requests += 1;
                    buckets[p].errors += failed;
                }
                _ => {
                    let at = pos.map_or(0, |p| p + 1);
                    buckets.insert(
                        at,
                        Bucket {
                            second,
                            requests: 1,
                            errors: failed,
                        },
                    );
                }
            }
            // Keep memory bounded even if nobody asks for stats.
            let newest = buckets.back().map_or(second, |b| b.second);
            while buckets
                .front()
                .is_some_and(|b| b.second < newest - self.window_secs)
            {
                buckets.pop_front();
            }
        }
    }

    /// Drops buckets older than the window ending at `now`, and backends left
    /// without any.
    pub fn prune(&mut self, now: Timestamp) {
        let oldest = self.oldest_second(now);
        for buckets in self.backends.values_mut() {
            while buckets.front().is_some_and(|b| b.second < oldest) {
                buckets.pop_front();
            }
        }
        self.backends.retain(|_, b| !b.is_empty());
    }

    /// Requests per second to `addr` over the complete seconds of the window
    /// ending at `now`.
    pub fn rps(&self, addr: &str, now: Timestamp) -> f64 {
        self.traffic(addr, now).requests_per_sec
    }

    /// Fraction of attempts to `addr` that failed; 0.0 without requests.
    pub fn error_rate(&self, addr: &str, now: Timestamp) -> f64 {
        self.traffic(addr, now).error_rate
    }

    /// Traffic of one backend (zero when it took none).
    pub fn traffic(&self, addr: &str, now: Timestamp) -> BackendTraffic {
        let oldest = self.oldest_second(now);
        let (requests, errors) = self
            .backends
            .get(addr)
            .map(|buckets| {
                buckets
                    .iter()
                    .filter(|b| b.second >= oldest && b.second < oldest + self.window_secs)
                    .fold((0, 0), |(r, e), b| (r + b.requests, e + b.errors))
            })
            .unwrap_or((0, 0));
        let seconds = self.observed_secs(now);
        BackendTraffic {
            addr: addr.to_string(),
            requests,
            errors,
            requests_per_sec: requests as f64 / seconds,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
        }
    }

    /// Every backend seen in the window, by address.
    pub fn all(&self, now: Timestamp) -> Vec<BackendTraffic> {
        self.backends
            .keys()
            .map(|addr| self.traffic(addr, now))
            .filter(|t| t.requests > 0)
            .collect()
    }

    /// First second counted. The window is the last `window_secs` complete
    /// seconds before `now`: the current second is still filling, and counting
    /// it would bias every rate low.
    fn oldest_second(&self, now: Timestamp) -> i64 {
        now.millis().div_euclid(1000) - self.window_secs
    }

    /// Complete seconds observed in the window (at least one).
    fn observed_secs(&self, now: Timestamp) -> f64 {
        let current = now.millis().div_euclid(1000);
        let seconds = match self.started {
            Some(start) => (current - start.millis().div_euclid(1000)).clamp(1, self.window_secs),
            None => self.window_secs,
        };
        seconds as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "time=1763778000.123 status=200 rt=0.012 up=\"127.0.1.11:8081\" \
ups=\"200\" urt=\"0.011\" method=GET uri=\"/api/orders?id=7\" bytes=512";

    #[test]
    fn directive_is_valid_nginx_syntax() {
        let d = log_format_directive();
        assert!(d.starts_with("log_format opsdeck 'time=$msec "));
        assert!(d.ends_with("bytes=$body_bytes_sent';"));
        assert!(!ACCESS_LOG_FORMAT.contains('\''));
        for var in ["$upstream_addr", "$request_time", "$status"] {
            assert!(ACCESS_LOG_FORMAT.contains(var), "{var}");
        }
    }

    #[test]
    fn parses_a_simple_line() {
        let e = parse_line(LINE).expect("parses");
        assert_eq!(e.time, Timestamp::from_millis(1_763_778_000_123));
        assert_eq!(e.status, 200);
        assert!((e.request_time - 0.012).abs() < 1e-9);
        assert_eq!(e.upstream, vec!["127.0.1.11:8081".to_string()]);
        assert_eq!(e.upstream_status, vec![Some(200)]);
        assert_eq!(e.method, "GET");
        assert_eq!(e.uri, "/api/orders?id=7");
    }

    #[test]
    fn parses_retries_redirects_and_no_upstream() {
        let retried = "time=1.5 status=200 rt=1.002 up=\"127.0.1.11:8081, 127.0.2.11:8081 : 127.0.9.9:80\" \
ups=\"502, 200 : -\" urt=\"1.000, 0.002 : -\" method=POST uri=\"/x\" bytes=0";
        let e = parse_line(retried).expect("parses");
        assert_eq!(
            e.upstream,
            vec!["127.0.1.11:8081", "127.0.2.11:8081", "127.0.9.9:80"]
        );
        assert_eq!(e.upstream_status, vec![Some(502), Some(200), None]);
        assert!(e.attempt_failed(0));
        assert!(!e.attempt_failed(1));
        assert!(!e.attempt_failed(2));

        let local = "time=2 status=404 rt=0.000 up=\"-\" ups=\"-\" urt=\"-\" method=GET uri=\"/favicon.ico\" bytes=0";
        let e = parse_line(local).expect("parses");
        assert!(e.upstream.is_empty());
        assert_eq!(e.upstream_status, vec![None::<u16>; 0]);
    }

    #[test]
    fn parses_combined_with_upstream_fields() {
        // The lab's nginx (tests/lab/up.sh) logs `combined` plus key=value fields.
        let line = "127.0.0.1 - - [22/Nov/2026:03:19:13 +0000] \"GET /api?x=1 HTTP/1.1\" 502 11 \"-\" \"curl/7.88.1\" \
upstream=127.0.2.11:8080, 127.0.1.11:8080 upstream_status=502, 502 request_time=0.021 upstream_time=0.010, 0.011";
        let e = parse_line(line).expect("parses");
        assert_eq!(e.time, Timestamp::from_secs(1_795_317_553));
        assert_eq!(e.status, 502);
        assert_eq!(e.method, "GET");
        assert_eq!(e.uri, "/api?x=1");
        assert_eq!(e.upstream, vec!["127.0.2.11:8080", "127.0.1.11:8080"]);
        assert_eq!(e.upstream_status, vec![Some(502), Some(502)]);
        assert!((e.request_time - 0.021).abs() < 1e-9);
    }

    #[test]
    fn rejects_other_formats() {
        assert_eq!(
            parse_line("127.0.0.1 - - [22/Nov/2026:02:19:07 +0000] \"GET / HTTP/1.1\" 200 612"),
            None
        );
        assert_eq!(parse_line("time=1 status=200"), None);
        assert_eq!(parse_line("time=1 status=200 rt=0.1 uri=\"/unclosed"), None);
        assert_eq!(parse_line(""), None);
    }

    fn entry(ms: i64, up: &[&str], ups: &[Option<u16>], status: u16) -> AccessEntry {
        AccessEntry {
            time: Timestamp::from_millis(ms),
            status,
            request_time: 0.01,
            upstream: up.iter().map(|s| s.to_string()).collect(),
            upstream_status: ups.to_vec(),
            method: "GET".into(),
            uri: "/".into(),
        }
    }

    #[test]
    fn window_counts_rps_and_errors_per_backend() {
        let mut w = TrafficWindow::new(Duration::from_secs(10));
        w.start(Timestamp::from_secs(1000));
        for i in 0..100 {
            // 10 s of traffic: a takes 6/s, b 4/s with one 5xx in four.
            let t = 1_000_000 + i * 100;
            let (addr, st) = if i % 10 < 6 {
                ("a:1", 200)
            } else if i % 10 == 9 {
                ("b:1", 503)
            } else {
                ("b:1", 200)
            };
            w.record(&entry(t, &[addr], &[Some(st)], st));
        }
        let now = Timestamp::from_secs(1010);
        assert!((w.rps("a:1", now) - 6.0).abs() < 1e-9);
        assert!((w.rps("b:1", now) - 4.0).abs() < 1e-9);
        assert!((w.error_rate("b:1", now) - 0.25).abs() < 1e-9);
        assert_eq!(w.error_rate("a:1", now), 0.0);
        assert_eq!(w.rps("c:1", now), 0.0);
        assert_eq!(w.all(now).len(), 2);

        // Five seconds later half the traffic has left the window.
        let later = Timestamp::from_secs(1015);
        assert!((w.rps("a:1", later) - 3.0).abs() < 1e-9);
        // Long after, nothing.
        let gone = Timestamp::from_secs(2000);
        w.prune(gone);
        assert!(w.all(gone).is_empty());
    }

    #[test]
    fn the_window_runs_on_the_logs_clock_not_the_consoles() {
        let mut w = TrafficWindow::new(Duration::from_secs(4));
        // The load balancer's clock; lines are read on a local monotonic one.
        let lb = 1_795_000_000_000;
        w.attach(Timestamp::from_millis(0));
        for i in 0..6 {
            w.record_at(
                &entry(lb + i * 1000 + 500, &["a:1"], &[Some(200)], 200),
                Timestamp::from_millis(i * 1000 + 600),
            );
        }
        let log_now = w.log_now(Timestamp::from_millis(5_700)).expect("known");
        assert_eq!(log_now, Timestamp::from_millis(lb + 5_600));
        assert!(w.rps("a:1", log_now) >= 1.0, "{}", w.rps("a:1", log_now));
        // On a console clock 10 s ahead or behind, the same lines count as
        // nothing: the defect this clock avoids.
        assert_eq!(w.rps("a:1", Timestamp::from_millis(lb + 15_600)), 0.0);
        assert_eq!(w.rps("a:1", Timestamp::from_millis(lb - 4_400)), 0.0);
        // Once traffic stops, the log's clock still moves with local time,
        // so the window empties: quiet is real quiet.
        let later = w.log_now(Timestamp::from_millis(11_000)).expect("known");
        assert_eq!(w.rps("a:1", later), 0.0);
        // Before any line, the log's clock is unknown.
        assert_eq!(
            TrafficWindow::new(Duration::from_secs(4)).log_now(later),
            None
        );
    }

    #[test]
    fn fresh_window_rates_over_observed_time() {
        let mut w = TrafficWindow::new(Duration::from_secs(60));
        w.start(Timestamp::from_secs(100));
        for i in 0..20 {
            w.record(&entry(100_000 + i * 100, &["a:1"], &[Some(200)], 200));
        }
        // 20 requests in 2 s of observation: 10/s, not 20/60.
        assert!((w.rps("a:1", Timestamp::from_secs(102)) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn retries_count_against_the_failed_backend() {
        let mut w = TrafficWindow::new(Duration::from_secs(5));
        w.record(&entry(5000, &["a:1", "b:1"], &[Some(502), Some(200)], 200));
        w.record(&entry(4000, &["a:1"], &[None], 504)); // out of order, no upstream status
        let now = Timestamp::from_secs(6);
        let a = w.traffic("a:1", now);
        assert_eq!((a.requests, a.errors), (2, 2));
        let b = w.traffic("b:1", now);
        assert_eq!((b.requests, b.errors), (1, 0));
    }

    #[tokio::test]
    async fn lab_access_log_counts_backends() {
        let _lab = crate::providers::selfhosted::lab_env::LOCK.lock().await;
        use crate::providers::selfhosted::lab_env::{LabEnv, answers, skip};
        let test = "access_log::lab_access_log_counts_backends";
        let Some(lab) = LabEnv::load(test) else {
            return;
        };
        let (Some(lb), Some(log), Some(upstream_file)) = (
            lab.get("LAB_LB_URL"),
            lab.get("LAB_ACCESS_LOG"),
            lab.get("LAB_UPSTREAM_FILE"),
        ) else {
            skip(test);
            return;
        };
        if !answers(lb.trim_start_matches("http://")).await {
            skip(test);
            return;
        }
        let offset = std::fs::metadata(log).map(|m| m.len()).unwrap_or(0);
        for _ in 0..20 {
            let r =
                crate::providers::selfhosted::http_probe::probe(lb, Duration::from_secs(3)).await;
            assert!(r.status.is_some(), "{r:?}");
        }
        // nginx writes the line after the response; give it a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let text = std::fs::read(log).expect("access log");
        let tail =
            String::from_utf8_lossy(&text[usize::try_from(offset).unwrap_or(0).min(text.len())..])
                .into_owned();
        let entries: Vec<AccessEntry> = tail.lines().filter_map(parse_line).collect();
        assert!(entries.len() >= 20, "parsed {} of:\n{tail}", entries.len());
        let mut window = TrafficWindow::new(Duration::from_secs(60));
        for e in &entries {
            window.record(e);
        }
        let now = entries
            .iter()
            .map(|e| e.time)
            .max()
            .unwrap_or_default()
            .plus_millis(1000);
        let seen = window.all(now);
        println!("{seen:?}");
        let pool = std::fs::read_to_string(upstream_file).expect("upstream file");
        let pool = crate::providers::selfhosted::nginx_upstream::servers(&pool).expect("parses");
        for t in &seen {
            assert!(
                pool.iter().any(|s| s.addr == t.addr),
                "{} not in the pool",
                t.addr
            );
        }
        let total: u64 = seen.iter().map(|t| t.requests).sum();
        assert!(total >= 20, "{total}");
    }
}
