//! Log lines on their way from a provider to the log store, packed: the texts
//! of a whole batch in one string, 24 bytes per line beside it, and the few
//! host and AZ names once each. A batch of 12,500 lines (a quarter second at
//! the demo's top rate) is three allocations instead of 37,500, both in the
//! provider that builds it and in the channel that carries it.

use std::fmt;

use super::fleet::{LogLevel, LogLine};
use super::time::Timestamp;

/// One line of a batch: where its text ends in the batch's string, and
/// indexes into the batch's names.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Entry {
    at: Timestamp,
    end: u32,
    host: u16,
    az: u16,
    level: LogLevel,
}

/// A batch of raw (not yet sanitized) log lines, oldest first, and how many
/// lines the source dropped before it could deliver them.
#[derive(Clone, Default, PartialEq)]
pub struct LogBatch {
    text: String,
    entries: Vec<Entry>,
    names: Vec<String>,
    /// Lines the source produced but dropped before this batch (its own queue
    /// was full); the store counts them with its own drops.
    pub dropped: u64,
}

/// One line of a batch, borrowed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawLine<'a> {
    pub at: Timestamp,
    pub host: &'a str,
    pub az: &'a str,
    pub level: LogLevel,
    pub text: &'a str,
}

impl fmt::Debug for LogBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogBatch")
            .field("lines", &self.len())
            .field("text_bytes", &self.text.len())
            .field("dropped", &self.dropped)
            .finish()
    }
}

impl LogBatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for about `lines` lines of `text_bytes` in all.
    pub fn with_capacity(lines: usize, text_bytes: usize) -> Self {
        Self {
            text: String::with_capacity(text_bytes),
            entries: Vec::with_capacity(lines),
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Makes room for `lines` more lines of `text_bytes` more text.
    pub fn reserve(&mut self, lines: usize, text_bytes: usize) {
        self.entries.reserve(lines);
        self.text.reserve(text_bytes);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of text held.
    pub fn text_bytes(&self) -> usize {
        self.text.len()
    }

    /// Heap bytes the batch holds (text, lines and names, by capacity).
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.names.iter().map(String::capacity).sum::<usize>()
    }

    /// Appends a line.
    pub fn push(&mut self, at: Timestamp, host: &str, az: &str, level: LogLevel, text: &str) {
        self.push_with(at, host, az, Some(level), |s| s.push_str(text));
    }

    /// Appends a line whose text `write` appends to the string it is given
    /// (no string of its own). `level: None` detects the level in the text.
    /// A line that would take the batch's text past 4 GiB is counted as
    /// dropped instead.
    pub fn push_with(
        &mut self,
        at: Timestamp,
        host: &str,
        az: &str,
        level: Option<LogLevel>,
        write: impl FnOnce(&mut String),
    ) {
        let start = self.text.len();
        write(&mut self.text);
        let Ok(end) = u32::try_from(self.text.len()) else {
            self.text.truncate(start);
            self.dropped += 1;
            return;
        };
        let level = level.unwrap_or_else(|| LogLevel::detect(&self.text[start..]));
        let host = self.name(host);
        let az = self.name(az);
        self.entries.push(Entry {
            at,
            end,
            host,
            az,
            level,
        });
    }

    /// Every line, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = RawLine<'_>> + ExactSizeIterator {
        (0..self.entries.len()).map(|i| self.line(i))
    }

    fn line(&self, i: usize) -> RawLine<'_> {
        let e = self.entries[i];
        let start = if i == 0 {
            0
        } else {
            self.entries[i - 1].end as usize
        };
        RawLine {
            at: e.at,
            host: &self.names[usize::from(e.host)],
            az: &self.names[usize::from(e.az)],
            level: e.level,
            text: &self.text[start..e.end as usize],
        }
    }

    /// Removes the `n` oldest lines (all when `n` exceeds the length). The
    /// caller counts them in `dropped` if it reports them.
    pub fn drop_oldest(&mut self, n: usize) {
        let n = n.min(self.entries.len());
        if n == 0 {
            return;
        }
        let cut = self.entries[n - 1].end;
        self.text.drain(..cut as usize);
        self.entries.drain(..n);
        for e in &mut self.entries {
            e.end -= cut;
        }
    }

    /// Appends every line of `other` and adds its dropped count.
    pub fn append(&mut self, other: &LogBatch) {
        self.dropped += other.dropped;
        for l in other.iter() {
            self.push(l.at, l.host, l.az, l.level, l.text);
        }
    }

    /// The lines as owned `LogLine`s (tests, headless output).
    pub fn to_lines(&self) -> Vec<LogLine> {
        self.iter()
            .map(|l| LogLine {
                at: l.at,
                host: l.host.to_string(),
                az: l.az.to_string(),
                level: l.level,
                text: l.text.to_string(),
            })
            .collect()
    }

    /// Index of `name` in the names; a batch names a handful of hosts, so a
    /// scan (newest first) beats hashing. Past `u16::MAX` names the last one
    /// is reused rather than failing.
    fn name(&mut self, name: &str) -> u16 {
        if let Some(i) = self.names.iter().rposition(|n| n == name) {
            return i as u16;
        }
        if self.names.len() > usize::from(u16::MAX) {
            return u16::MAX;
        }
        self.names.push(name.to_string());
        (self.names.len() - 1) as u16
    }
}

impl From<Vec<LogLine>> for LogBatch {
    fn from(lines: Vec<LogLine>) -> Self {
        let bytes = lines.iter().map(|l| l.text.len()).sum();
        let mut batch = LogBatch::with_capacity(lines.len(), bytes);
        for l in &lines {
            batch.push(l.at, &l.host, &l.az, l.level, &l.text);
        }
        batch
    }
}

impl FromIterator<LogLine> for LogBatch {
    fn from_iter<I: IntoIterator<Item = LogLine>>(iter: I) -> Self {
        let mut batch = LogBatch::new();
        for l in iter {
            batch.push(l.at, &l.host, &l.az, l.level, &l.text);
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(host: &str, az: &str, text: &str) -> LogLine {
        LogLine {
            at: Timestamp::from_secs(1),
            host: host.into(),
            az: az.into(),
            level: LogLevel::Info,
            text: text.into(),
        }
    }

    #[test]
    fn round_trips_lines_and_shares_names() {
        let lines = vec![
            line("web-a1", "az-a", "one"),
            line("web-c1", "az-c", ""),
            line("web-a1", "az-a", "three ✔"),
        ];
        let batch = LogBatch::from(lines.clone());
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.to_lines(), lines);
        assert_eq!(batch.names.len(), 4);
        assert_eq!(batch.text_bytes(), "one".len() + "three ✔".len());
    }

    #[test]
    fn push_with_detects_the_level() {
        let mut b = LogBatch::new();
        b.push_with(Timestamp::from_secs(2), "h", "a", None, |s| {
            s.push_str("2026-01-01 00:00:00.000  WARN 1 --- slow")
        });
        b.push_with(
            Timestamp::from_secs(2),
            "h",
            "a",
            Some(LogLevel::None),
            |s| s.push_str("WARN but told none"),
        );
        let levels: Vec<_> = b.iter().map(|l| l.level).collect();
        assert_eq!(levels, vec![LogLevel::Warn, LogLevel::None]);
    }

    #[test]
    fn drop_oldest_keeps_the_newest() {
        let mut b: LogBatch = (0..5).map(|i| line("h", "a", &format!("l{i}"))).collect();
        b.drop_oldest(3);
        let texts: Vec<_> = b.iter().map(|l| l.text.to_string()).collect();
        assert_eq!(texts, vec!["l3", "l4"]);
        assert_eq!(
            b.iter().map(|l| l.text.len()).sum::<usize>(),
            b.text_bytes()
        );
        b.drop_oldest(10);
        assert!(b.is_empty());
        assert_eq!(b.text_bytes(), 0);
        assert_eq!(b.dropped, 0, "counting is the caller's");
    }

    #[test]
    fn append_adds_lines_and_drops() {
        let mut a: LogBatch = vec![line("h", "a", "x")].into();
        let mut b: LogBatch = vec![line("g", "c", "y")].into();
        b.dropped = 7;
        a.append(&b);
        assert_eq!(a.len(), 2);
        assert_eq!(a.dropped, 7);
        assert_eq!(
            a.iter().next_back().map(|l| (l.host, l.text)),
            Some(("g", "y"))
        );
    }
}
