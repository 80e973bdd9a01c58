//! The merged live log: sanitized lines from every host kept within a byte
//! budget, a count of the lines dropped to stay within it, and the filter that
//! the logs view applies.
//!
//! Layout: lines are appended to text chunks (one `String` of fixed capacity
//! each, 256 KiB at the default budget) with a 16-byte record per line beside
//! them (time, offset, host and AZ ids, level). Host and AZ names are interned
//! once. Memory is counted by capacity, so what `used_bytes` says is what the
//! heap holds, and it never exceeds the budget: the oldest whole chunk is
//! evicted (its lines counted as dropped) before a new one is allocated.
//! Lines are borrowed out as `LogRef`s; the view builds its spans when it
//! draws.
//!
//! Hand-written rather than a crate: the ring of chunks, eviction by whole
//! chunk and the budget counted by capacity are the point of this type, and
//! the interner serves a few dozen names (a `Vec` and a `HashMap`); arena and
//! interner crates (bumpalo, lasso) free nothing until dropped whole, which a
//! ring needs.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use regex::Regex;

use super::fleet::{LogLevel, LogLine};
use super::log_batch::LogBatch;
use super::sanitize::{sanitize, sanitize_into};
use super::time::Timestamp;

const MIB: usize = 1024 * 1024;

/// Bytes kept by default (text, records and chunk headers).
pub const DEFAULT_LOG_BUDGET: usize = 32 * MIB;
/// The smallest budget `set_budget` accepts.
pub const MIN_LOG_BUDGET: usize = 64 * 1024;
/// Longest line kept (after sanitizing); longer ones are cut, marked with `…`
/// and counted in `truncated`.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Text capacity of one chunk at most: a 64 KiB line always fits a fresh one,
/// and evicting one chunk drops under 1 % of a 32 MiB budget.
const MAX_CHUNK_BYTES: usize = 256 * 1024;
/// Most distinct host (and AZ) names interned; names past it share the last
/// slot, so a source inventing a name per line cannot grow the table.
const MAX_NAMES: usize = 4096;
const MAX_AZS: usize = 255;

/// A line as stored, borrowed: sanitized, numbered, names shared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogRef<'a> {
    /// Monotonic sequence number; survives eviction so a paused view can anchor.
    pub seq: u64,
    pub at: Timestamp,
    pub host: &'a str,
    pub az: &'a str,
    pub level: LogLevel,
    pub text: &'a str,
    host_id: u16,
    az_id: u8,
}

/// One line's record: 16 bytes.
#[derive(Clone, Copy, Debug)]
struct Rec {
    at: i64,
    /// Start of the text in its chunk; it ends where the next line starts.
    off: u32,
    host: u16,
    az: u8,
    level: LogLevel,
}

const REC_BYTES: usize = std::mem::size_of::<Rec>();
const _: () = assert!(REC_BYTES == 16);

/// Lines `first_seq..` in one text allocation and one record allocation.
#[derive(Clone, Debug)]
struct Chunk {
    first_seq: u64,
    text: String,
    recs: Vec<Rec>,
}

impl Chunk {
    fn with_capacity(first_seq: u64, text: usize, recs: usize) -> Self {
        Self {
            first_seq,
            text: String::with_capacity(text),
            recs: Vec::with_capacity(recs),
        }
    }

    /// Heap and header bytes, by capacity.
    fn cost(&self) -> usize {
        cost(self.text.capacity(), self.recs.capacity())
    }

    fn fits(&self, len: usize) -> bool {
        self.recs.len() < self.recs.capacity() && self.text.capacity() - self.text.len() >= len
    }

    fn text(&self, i: usize) -> &str {
        let start = self.recs[i].off as usize;
        let end = self
            .recs
            .get(i + 1)
            .map_or(self.text.len(), |r| r.off as usize);
        &self.text[start..end]
    }

    fn end_seq(&self) -> u64 {
        self.first_seq + self.recs.len() as u64
    }
}

fn cost(text: usize, recs: usize) -> usize {
    text + recs * REC_BYTES + std::mem::size_of::<Chunk>()
}

/// Sanitized names, each stored once, looked up by their raw spelling.
#[derive(Clone, Debug, Default)]
struct Names {
    names: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, usize>,
    /// The last name looked up: consecutive lines mostly share a host.
    last: Option<(Arc<str>, usize)>,
}

impl Names {
    fn id(&mut self, raw: &str, max: usize) -> usize {
        if let Some((name, id)) = &self.last
            && **name == *raw
        {
            return *id;
        }
        let id = match self.ids.get(raw) {
            Some(&id) => id,
            None if self.names.len() >= max => max - 1,
            None => {
                let id = self.names.len();
                self.names.push(Arc::from(sanitize(raw)));
                self.ids.insert(Arc::from(raw), id);
                id
            }
        };
        if let Some(raw_name) = self.ids.get_key_value(raw).map(|(k, _)| k.clone()) {
            self.last = Some((raw_name, id));
        }
        id
    }

    fn get(&self, id: usize) -> &str {
        self.names.get(id).map_or("?", |n| n)
    }

    fn find(&self, sanitized: &str) -> Option<usize> {
        self.names.iter().position(|n| **n == *sanitized)
    }

    fn len(&self) -> usize {
        self.names.len()
    }
}

/// The merged log within a byte budget.
#[derive(Debug)]
pub struct LogBuffer {
    chunks: VecDeque<Chunk>,
    budget: usize,
    used: usize,
    next_seq: u64,
    dropped: u64,
    truncated: u64,
    hosts: Names,
    azs: Names,
    /// Level of the last levelled line per host id, for stack-trace continuations.
    last_level: Vec<LogLevel>,
    /// Records to give the next chunk, from the line length seen so far.
    recs_per_chunk: usize,
    /// Where a line that needs rewriting (control characters, too long) is
    /// sanitized before it is copied into a chunk.
    scratch: String,
}

impl Default for LogBuffer {
    fn default() -> Self {
        Self::with_budget(DEFAULT_LOG_BUDGET)
    }
}

impl Clone for LogBuffer {
    fn clone(&self) -> Self {
        let chunks: VecDeque<Chunk> = self.chunks.clone();
        // A cloned string or vector has capacity == length: count it anew.
        let used = chunks.iter().map(Chunk::cost).sum();
        Self {
            chunks,
            used,
            hosts: self.hosts.clone(),
            azs: self.azs.clone(),
            last_level: self.last_level.clone(),
            scratch: String::new(),
            ..*self
        }
    }
}

impl LogBuffer {
    /// An empty buffer that keeps at most `budget` bytes (at least `MIN_LOG_BUDGET`).
    pub fn with_budget(budget: usize) -> Self {
        let budget = budget.max(MIN_LOG_BUDGET);
        Self {
            chunks: VecDeque::new(),
            budget,
            used: 0,
            next_seq: 0,
            dropped: 0,
            truncated: 0,
            hosts: Names::default(),
            azs: Names::default(),
            last_level: Vec::new(),
            recs_per_chunk: chunk_text_bytes(budget) / 128,
            scratch: String::new(),
        }
    }

    /// Bytes the buffer may keep.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Changes the budget (at least `MIN_LOG_BUDGET`), evicting the oldest
    /// chunks at once if the buffer holds more.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget.max(MIN_LOG_BUDGET);
        self.evict_to(0);
    }

    /// Bytes held now: chunk text and records by capacity, and chunk headers.
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    pub fn len(&self) -> usize {
        (self.next_seq - self.first_seq()) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lines dropped: evicted to stay within the budget, and lines the source
    /// reported dropping before it could deliver them.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Lines cut to `MAX_LINE_BYTES`.
    pub fn truncated(&self) -> u64 {
        self.truncated
    }

    /// Lines ever stored.
    pub fn received(&self) -> u64 {
        self.next_seq
    }

    /// Sequence number of the oldest line kept (the next one when empty).
    fn first_seq(&self) -> u64 {
        self.chunks
            .iter()
            .find(|c| !c.recs.is_empty())
            .map_or(self.next_seq, |c| c.first_seq)
    }

    /// Sequence number of the newest line, if any.
    pub fn last_seq(&self) -> Option<u64> {
        (!self.is_empty()).then(|| self.next_seq - 1)
    }

    pub fn push(&mut self, line: LogLine) {
        self.push_parts(line.at, &line.host, &line.az, line.level, &line.text);
    }

    pub fn extend(&mut self, lines: impl IntoIterator<Item = LogLine>) {
        for line in lines {
            self.push(line);
        }
    }

    /// Stores every line of `batch` and counts the lines its source dropped.
    pub fn extend_batch(&mut self, batch: &LogBatch) {
        self.dropped += batch.dropped;
        for l in batch.iter() {
            self.push_parts(l.at, l.host, l.az, l.level, l.text);
        }
    }

    /// Stores one line, sanitizing its names and text on the way in.
    pub fn push_parts(&mut self, at: Timestamp, host: &str, az: &str, level: LogLevel, text: &str) {
        let host = self.hosts.id(host, MAX_NAMES);
        let az = self.azs.id(az, MAX_AZS);
        if self.last_level.len() <= host {
            self.last_level.resize(host + 1, LogLevel::None);
        }
        let level = match level {
            LogLevel::None if is_continuation(text) => self.last_level[host],
            LogLevel::None => LogLevel::None,
            other => {
                self.last_level[host] = other;
                other
            }
        };
        let max = chunk_text_bytes(self.budget).min(MAX_LINE_BYTES);
        let plain = text.len() <= max && text.bytes().all(|b| (0x20..0x7f).contains(&b));
        let mut scratch = std::mem::take(&mut self.scratch);
        let line: &str = if plain {
            text
        } else {
            scratch.clear();
            // Sanitizing can triple a line's length; never more of it is read.
            let raw = &text[..text.floor_char_boundary(max)];
            sanitize_into(&mut scratch, raw);
            if raw.len() < text.len() || scratch.len() > max {
                let keep = scratch.floor_char_boundary(max - '…'.len_utf8());
                scratch.truncate(keep);
                scratch.push('…');
                self.truncated += 1;
            }
            &scratch
        };
        if !self.chunks.back().is_some_and(|c| c.fits(line.len())) {
            self.open_chunk();
        }
        if let Some(chunk) = self.chunks.back_mut() {
            chunk.recs.push(Rec {
                at: at.millis(),
                off: chunk.text.len() as u32,
                host: host as u16,
                az: az as u8,
                level,
            });
            chunk.text.push_str(line);
            self.next_seq += 1;
        }
        if scratch.capacity() > 4 * MAX_LINE_BYTES {
            scratch = String::new();
        }
        self.scratch = scratch;
    }

    /// Closes the newest chunk (giving back what it did not use) and opens a
    /// new one, evicting the oldest chunks first as the budget needs.
    fn open_chunk(&mut self) {
        if let Some(last) = self.chunks.back_mut() {
            let before = last.cost();
            if !last.recs.is_empty() {
                let avg = (last.text.len() / last.recs.len()).max(8);
                let text = chunk_text_bytes(self.budget);
                // A little more than the lines of that length fit, so that
                // text rather than records usually fills a chunk.
                self.recs_per_chunk = text / avg + text / avg / 8 + 16;
            }
            if last.text.capacity() - last.text.len() > last.text.capacity() / 8 {
                last.text.shrink_to_fit();
            }
            if last.recs.capacity() - last.recs.len() > last.recs.capacity() / 8 {
                last.recs.shrink_to_fit();
            }
            self.used = self.used + last.cost() - before;
        }
        let text = chunk_text_bytes(self.budget);
        let recs = self.recs_per_chunk.clamp(16, text / 8);
        self.evict_to(cost(text, recs));
        let chunk = Chunk::with_capacity(self.next_seq, text, recs);
        self.used += chunk.cost();
        self.chunks.push_back(chunk);
    }

    /// Evicts the oldest chunks until `room` more bytes fit in the budget.
    fn evict_to(&mut self, room: usize) {
        while self.used + room > self.budget {
            let Some(old) = self.chunks.pop_front() else {
                break;
            };
            self.used -= old.cost();
            self.dropped += old.recs.len() as u64;
        }
    }

    fn line<'a>(&'a self, chunk: &'a Chunk, i: usize) -> LogRef<'a> {
        let r = chunk.recs[i];
        LogRef {
            seq: chunk.first_seq + i as u64,
            at: Timestamp(r.at),
            host: self.hosts.get(usize::from(r.host)),
            az: self.azs.get(usize::from(r.az)),
            level: r.level,
            text: chunk.text(i),
            host_id: r.host,
            az_id: r.az,
        }
    }

    /// Lines with sequence numbers in `lo..hi`, oldest first.
    fn range(&self, lo: u64, hi: u64) -> impl DoubleEndedIterator<Item = LogRef<'_>> {
        let lo = lo.max(self.first_seq());
        let hi = hi.min(self.next_seq).max(lo);
        let find = |seq: u64| self.chunks.partition_point(|c| c.first_seq <= seq);
        let (a, b) = if lo == hi {
            (0, 0)
        } else {
            (find(lo).saturating_sub(1), find(hi - 1))
        };
        self.chunks.range(a..b).flat_map(move |c| {
            let from = lo.saturating_sub(c.first_seq).min(c.recs.len() as u64) as usize;
            let to = (hi.min(c.end_seq()).saturating_sub(c.first_seq)) as usize;
            (from..to.max(from)).map(move |i| self.line(c, i))
        })
    }

    /// Every line, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = LogRef<'_>> {
        self.range(0, u64::MAX)
    }

    /// Up to `n` lines that match `filter`, ending at sequence `until` (inclusive;
    /// `None` is the newest), oldest first.
    pub fn tail_matching(
        &self,
        filter: &LogFilter,
        until: Option<u64>,
        n: usize,
    ) -> Vec<LogRef<'_>> {
        let m = filter.matcher(self);
        let hi = until.map_or(u64::MAX, |u| u.saturating_add(1));
        let mut out: Vec<LogRef<'_>> = self
            .range(0, hi)
            .rev()
            .filter(|l| m.matches(l))
            .take(n)
            .collect();
        out.reverse();
        out
    }

    /// Sequence number `n` matching lines before `from` (towards older lines),
    /// clamped at the oldest match. Used to scroll a paused view.
    pub fn seq_before(&self, filter: &LogFilter, from: u64, n: usize) -> Option<u64> {
        let m = filter.matcher(self);
        let mut last = None;
        for (i, line) in self
            .range(0, from.saturating_add(1))
            .rev()
            .filter(|l| m.matches(l))
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
        let m = filter.matcher(self);
        self.range(from.saturating_add(1), u64::MAX)
            .filter(|l| m.matches(l))
            .nth(n.saturating_sub(1))
            .map(|l| l.seq)
            .filter(|&s| Some(s) != self.last_seq())
    }

    /// Sequence number of the `n`th matching line from the oldest (0 is the
    /// oldest match); `None` when fewer match.
    pub fn seq_from_oldest(&self, filter: &LogFilter, n: usize) -> Option<u64> {
        let m = filter.matcher(self);
        self.iter().filter(|l| m.matches(l)).nth(n).map(|l| l.seq)
    }
}

/// Text capacity of each chunk for `budget`: an eighth of it, 4 KiB to 256 KiB.
fn chunk_text_bytes(budget: usize) -> usize {
    (budget / 8).clamp(4096, MAX_CHUNK_BYTES)
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

/// A filter resolved against one buffer's names: host and AZ tests become
/// id lookups, and the pattern is tried on each host name once, not per line.
struct Matcher<'f> {
    filter: &'f LogFilter,
    /// `Some(id)`: only that host; `Some(None)`: a host the buffer never saw.
    host: Option<Option<usize>>,
    az: Option<Option<usize>>,
    host_matches_pattern: Vec<bool>,
}

impl Matcher<'_> {
    fn matches(&self, line: &LogRef<'_>) -> bool {
        if let Some(h) = self.host
            && h != Some(usize::from(line.host_id))
        {
            return false;
        }
        if let Some(az) = self.az
            && az != Some(usize::from(line.az_id))
        {
            return false;
        }
        if let Some(min) = self.filter.min_level
            && (line.level == LogLevel::None || line.level < min)
        {
            return false;
        }
        match &self.filter.pattern {
            Some(re) => {
                self.host_matches_pattern[usize::from(line.host_id)] || re.is_match(line.text)
            }
            None => true,
        }
    }
}

impl LogFilter {
    pub fn is_empty(&self) -> bool {
        self.pattern.is_none()
            && self.host.is_none()
            && self.az.is_none()
            && self.min_level.is_none()
    }

    fn matcher(&self, buf: &LogBuffer) -> Matcher<'_> {
        Matcher {
            filter: self,
            host: self.host.as_deref().map(|h| buf.hosts.find(h)),
            az: self.az.as_deref().map(|a| buf.azs.find(a)),
            host_matches_pattern: (0..buf.hosts.len())
                .map(|i| {
                    self.pattern
                        .as_ref()
                        .is_some_and(|re| re.is_match(buf.hosts.get(i)))
                })
                .collect(),
        }
    }

    pub fn matches(&self, line: &LogRef<'_>) -> bool {
        if let Some(h) = &self.host
            && line.host != h
        {
            return false;
        }
        if let Some(az) = &self.az
            && line.az != az
        {
            return false;
        }
        if let Some(min) = self.min_level
            && (line.level == LogLevel::None || line.level < min)
        {
            return false;
        }
        match &self.pattern {
            Some(re) => re.is_match(line.text) || re.is_match(line.host),
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
mod tests;
