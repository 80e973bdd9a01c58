//! Where FilterLogEvents polling stands in each log group, so that every
//! event is delivered once: each poll asks from the newest timestamp seen
//! (inclusive: events of one millisecond can arrive in two polls) and drops
//! the event ids already delivered at or after that point.

use std::collections::{BTreeMap, BTreeSet};

/// How far back the first poll of a group looks: what an engineer opening
/// the console wants to read first, bounded (FilterLogEvents bills scans).
pub const FIRST_LOOK_BACK_MS: i64 = 10 * 60 * 1000;

#[derive(Debug, Default)]
pub struct LogCursor {
    groups: BTreeMap<String, GroupCursor>,
}

#[derive(Debug, Default)]
struct GroupCursor {
    /// Newest event timestamp delivered.
    newest: Option<i64>,
    /// Ids delivered at `newest` (the only ones a next poll can repeat).
    ids_at_newest: BTreeSet<String>,
}

impl LogCursor {
    /// The start time (ms) for the next poll of `group`.
    pub fn start_ms(&self, group: &str, now_ms: i64) -> i64 {
        self.groups
            .get(group)
            .and_then(|g| g.newest)
            .unwrap_or(now_ms - FIRST_LOOK_BACK_MS)
    }

    /// Keeps the events of `group` not delivered before, oldest first, and
    /// remembers them. Events are `(event id, timestamp ms, payload)`.
    pub fn admit<T>(&mut self, group: &str, mut events: Vec<(String, i64, T)>) -> Vec<(i64, T)> {
        let g = self.groups.entry(group.to_string()).or_default();
        events.sort_by_key(|(_, ts, _)| *ts);
        let mut out = Vec::with_capacity(events.len());
        for (id, ts, payload) in events {
            match g.newest {
                Some(n) if ts < n => continue,
                Some(n) if ts == n && g.ids_at_newest.contains(&id) => continue,
                Some(n) if ts == n => {
                    g.ids_at_newest.insert(id);
                }
                _ => {
                    g.newest = Some(ts);
                    g.ids_at_newest.clear();
                    g.ids_at_newest.insert(id);
                }
            }
            out.push((ts, payload));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, ts: i64) -> (String, i64, String) {
        (id.to_string(), ts, id.to_string())
    }

    #[test]
    fn no_duplicates_across_polls() {
        let mut c = LogCursor::default();
        assert_eq!(c.start_ms("g", 1_000_000), 1_000_000 - FIRST_LOOK_BACK_MS);
        let first = c.admit("g", vec![ev("b", 20), ev("a", 10), ev("c", 20)]);
        assert_eq!(
            first.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            [10, 20, 20]
        );
        assert_eq!(c.start_ms("g", 0), 20);
        // The next poll starts at 20 inclusive: b and c come again, d is new
        // at the same millisecond, e later.
        let second = c.admit(
            "g",
            vec![ev("b", 20), ev("c", 20), ev("d", 20), ev("e", 30)],
        );
        assert_eq!(
            second.into_iter().map(|(_, p)| p).collect::<Vec<_>>(),
            ["d", "e"]
        );
        assert!(c.admit("g", vec![ev("e", 30), ev("a", 10)]).is_empty());
        // Groups are separate.
        assert_eq!(c.admit("h", vec![ev("a", 10)]).len(), 1);
    }
}
