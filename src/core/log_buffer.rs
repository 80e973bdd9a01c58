//! The merged live log: a bounded ring buffer of sanitized lines from every host,
//! with a count of lines dropped when it overflowed, and the filter that the logs
//! view applies.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use regex::Regex;

use super::fleet::{LogLevel, LogLine};
use super::sanitize::sanitize;
use super::time::Timestamp;

/// Lines kept by default.
pub const DEFAULT_LOG_CAPACITY: usize = 100_000;

/// A line as stored: sanitized, numbered, host names shared.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredLine {
    /// Monotonic sequence number; survives eviction so a paused view can anchor.
    pub seq: u64,
    pub at: Timestamp,
    pub host: Arc<str>,
    pub az: Arc<str>,
    pub level: LogLevel,
    pub text: String,
}

/// Ring buffer of the merged log.
#[derive(Clone, Debug)]
pub struct LogBuffer {
    lines: VecDeque<StoredLine>,
    capacity: usize,
    next_seq: u64,
    dropped: u64,
    names: HashMap<String, Arc<str>>,
    /// Level of the last levelled line per host, for stack-trace continuations.
    last_level: HashMap<Arc<str>, LogLevel>,
}

impl Default for LogBuffer {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_LOG_CAPACITY)
    }
}

impl LogBuffer {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            lines: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            next_seq: 0,
            dropped: 0,
            names: HashMap::new(),
            last_level: HashMap::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Lines evicted because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Lines ever received.
    pub fn received(&self) -> u64 {
        self.next_seq
    }

    /// Sequence number of the newest line, if any.
    pub fn last_seq(&self) -> Option<u64> {
        self.lines.back().map(|l| l.seq)
    }

    pub fn push(&mut self, line: LogLine) {
        let host = self.intern(&line.host);
        let az = self.intern(&line.az);
        let level = match line.level {
            LogLevel::None if is_continuation(&line.text) => self
                .last_level
                .get(&host)
                .copied()
                .unwrap_or(LogLevel::None),
            LogLevel::None => LogLevel::None,
            other => {
                self.last_level.insert(host.clone(), other);
                other
            }
        };
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(StoredLine {
            seq: self.next_seq,
            at: line.at,
            host,
            az,
            level,
            text: sanitize(&line.text),
        });
        self.next_seq += 1;
    }

    pub fn extend(&mut self, lines: impl IntoIterator<Item = LogLine>) {
        for line in lines {
            self.push(line);
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &StoredLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// Up to `n` lines that match `filter`, ending at sequence `until` (inclusive;
    /// `None` is the newest), oldest first.
    pub fn tail_matching(
        &self,
        filter: &LogFilter,
        until: Option<u64>,
        n: usize,
    ) -> Vec<&StoredLine> {
        let mut out: Vec<&StoredLine> = self
            .lines
            .iter()
            .rev()
            .filter(|l| until.is_none_or(|u| l.seq <= u))
            .filter(|l| filter.matches(l))
            .take(n)
            .collect();
        out.reverse();
        out
    }

    /// Sequence number `n` matching lines before `from` (towards older lines),
    /// clamped at the oldest match. Used to scroll a paused view.
    pub fn seq_before(&self, filter: &LogFilter, from: u64, n: usize) -> Option<u64> {
        let mut last = None;
        for (i, line) in self
            .lines
            .iter()
            .rev()
            .filter(|l| l.seq <= from)
            .filter(|l| filter.matches(l))
            .enumerate()
        {
            last = Some(line.seq);
            if i == n {
                break;
            }
        }
        last
    }

    /// Sequence number `n` matching lines after `from` (towards newer lines), or
    /// `None` when that reaches the newest line.
    pub fn seq_after(&self, filter: &LogFilter, from: u64, n: usize) -> Option<u64> {
        self.lines
            .iter()
            .filter(|l| l.seq > from)
            .filter(|l| filter.matches(l))
            .nth(n.saturating_sub(1))
            .map(|l| l.seq)
            .filter(|&s| Some(s) != self.last_seq())
    }

    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.get(name) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(sanitize(name).as_str());
        self.names.insert(name.to_string(), n.clone());
        n
    }
}

/// Lines that belong to the previous line of the same host: indented frames,
/// `Caused by:`, and exception headers such as `java.lang.IllegalStateException: x`.
fn is_continuation(text: &str) -> bool {
    if text.starts_with([' ', '\t'])
        || text.starts_with("Caused by:")
        || text.starts_with("at ")
        || text.starts_with("...")
    {
        return true;
    }
    let first = text.split_whitespace().next().unwrap_or("");
    let name = first.trim_end_matches(':');
    name.contains('.')
        && !name.contains('/')
        && (name.ends_with("Exception") || name.ends_with("Error"))
}

/// What the logs view shows: a regex over the text, and optional host, AZ and
/// minimum level.
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    pub pattern: Option<Regex>,
    pub host: Option<String>,
    pub az: Option<String>,
    pub min_level: Option<LogLevel>,
}

impl PartialEq for LogFilter {
    fn eq(&self, other: &Self) -> bool {
        self.pattern.as_ref().map(Regex::as_str) == other.pattern.as_ref().map(Regex::as_str)
            && self.host == other.host
            && self.az == other.az
            && self.min_level == other.min_level
    }
}

impl LogFilter {
    pub fn is_empty(&self) -> bool {
        self.pattern.is_none()
            && self.host.is_none()
            && self.az.is_none()
            && self.min_level.is_none()
    }

    pub fn matches(&self, line: &StoredLine) -> bool {
        if let Some(h) = &self.host
            && *line.host != **h
        {
            return false;
        }
        if let Some(az) = &self.az
            && *line.az != **az
        {
            return false;
        }
        if let Some(min) = self.min_level
            && (line.level == LogLevel::None || line.level < min)
        {
            return false;
        }
        match &self.pattern {
            Some(re) => re.is_match(&line.text) || re.is_match(&line.host),
            None => true,
        }
    }

    /// One-line description for the view's title.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(re) = &self.pattern {
            parts.push(format!("/{}/", re.as_str()));
        }
        if let Some(h) = &self.host {
            parts.push(format!("host={h}"));
        }
        if let Some(az) = &self.az {
            parts.push(format!("az={az}"));
        }
        if let Some(l) = self.min_level {
            parts.push(format!("level>={}", l.label()));
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(host: &str, level: LogLevel, text: &str) -> LogLine {
        LogLine {
            at: Timestamp::from_secs(1),
            host: host.into(),
            az: "az-a".into(),
            level,
            text: text.into(),
        }
    }

    #[test]
    fn ring_buffer_counts_dropped_lines() {
        let mut buf = LogBuffer::with_capacity(3);
        for i in 0..5 {
            buf.push(line("h", LogLevel::Info, &format!("line {i}")));
        }
        assert_eq!(buf.len(), 3);
        assert_eq!(buf.dropped(), 2);
        assert_eq!(buf.iter().next().map(|l| l.text.as_str()), Some("line 2"));
        assert_eq!(buf.last_seq(), Some(4));
    }

    #[test]
    fn hostile_lines_are_stored_inert() {
        let mut buf = LogBuffer::default();
        buf.push(line(
            "h\x1b[1m",
            LogLevel::Info,
            "\x1b]52;c;ZXZpbA==\x07 \x1b[?1049l",
        ));
        let stored = buf.iter().next().expect("one line");
        assert!(!stored.text.contains('\x1b'));
        assert!(!stored.host.contains('\x1b'));
    }

    #[test]
    fn stack_trace_continuations_inherit_level() {
        let mut buf = LogBuffer::default();
        buf.push(line("h", LogLevel::Error, "ERROR boom"));
        buf.push(line(
            "h",
            LogLevel::None,
            "\tat com.example.Foo.bar(Foo.java:42)",
        ));
        buf.push(line("h", LogLevel::None, "10.0.0.1 GET / 200"));
        let levels: Vec<_> = buf.iter().map(|l| l.level).collect();
        assert_eq!(
            levels,
            vec![LogLevel::Error, LogLevel::Error, LogLevel::None]
        );
    }

    #[test]
    fn filter_and_tail() {
        let mut buf = LogBuffer::default();
        buf.push(line("web-a1", LogLevel::Info, "hello"));
        buf.push(line("web-c1", LogLevel::Warn, "slow query"));
        buf.push(line("web-a1", LogLevel::Error, "timeout talking to db"));
        let f = LogFilter {
            pattern: Regex::new("slow|timeout").ok(),
            ..LogFilter::default()
        };
        let got: Vec<_> = buf
            .tail_matching(&f, None, 10)
            .iter()
            .map(|l| l.seq)
            .collect();
        assert_eq!(got, vec![1, 2]);
        let f = LogFilter {
            host: Some("web-a1".into()),
            min_level: Some(LogLevel::Warn),
            ..LogFilter::default()
        };
        let got: Vec<_> = buf
            .tail_matching(&f, None, 10)
            .iter()
            .map(|l| l.seq)
            .collect();
        assert_eq!(got, vec![2]);
        assert_eq!(
            buf.tail_matching(&LogFilter::default(), Some(1), 10).len(),
            2
        );
    }
}
