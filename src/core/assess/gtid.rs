//! Whether one GTID position includes another. MariaDB positions
//! (`0-1-100,1-2-50`: domain-server-sequence) compare per replication domain:
//! every domain of the wanted position must be present with at least its
//! sequence. MySQL GTID sets (`uuid:1-5:7,uuid2:1-3`) compare interval by
//! interval per source UUID.

use std::collections::BTreeMap;

/// MariaDB position as domain → highest sequence number; `None` if `pos` is
/// not a MariaDB position.
fn mariadb_position(pos: &str) -> Option<BTreeMap<u32, u64>> {
    let mut out = BTreeMap::new();
    for gtid in pos.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut parts = gtid.split('-');
        let domain = parts.next()?.parse::<u32>().ok()?;
        let _server = parts.next()?.parse::<u32>().ok()?;
        let seq = parts.next()?.parse::<u64>().ok()?;
        if parts.next().is_some() {
            return None;
        }
        let entry = out.entry(domain).or_insert(0);
        *entry = (*entry).max(seq);
    }
    Some(out)
}

/// MySQL GTID set as source UUID (lower case) → closed intervals; `None` if
/// `set` is not a MySQL GTID set.
fn mysql_set(set: &str) -> Option<BTreeMap<String, Vec<(u64, u64)>>> {
    let mut out: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for entry in set
        .split(',')
        .map(|p| p.split_whitespace().collect::<String>())
    {
        if entry.is_empty() {
            continue;
        }
        let mut parts = entry.split(':');
        let uuid = parts.next()?.to_ascii_lowercase();
        if uuid.is_empty() || !uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return None;
        }
        let intervals = out.entry(uuid).or_default();
        let mut any = false;
        for interval in parts {
            any = true;
            let (lo, hi) = match interval.split_once('-') {
                Some((a, b)) => (a.parse::<u64>().ok()?, b.parse::<u64>().ok()?),
                None => {
                    let n = interval.parse::<u64>().ok()?;
                    (n, n)
                }
            };
            if lo > hi {
                return None;
            }
            intervals.push((lo, hi));
        }
        if !any {
            return None;
        }
    }
    for intervals in out.values_mut() {
        intervals.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (lo, hi) in intervals.drain(..) {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        *intervals = merged;
    }
    Some(out)
}

/// Whether position `have` includes everything in `want`. `None` when the
/// two cannot be compared (different or unknown formats): the caller must
/// treat that as "not known to be caught up".
pub fn gtid_covers(have: &str, want: &str) -> Option<bool> {
    if let (Some(have), Some(want)) = (mariadb_position(have), mariadb_position(want)) {
        return Some(
            want.iter()
                .all(|(domain, seq)| have.get(domain).is_some_and(|h| h >= seq)),
        );
    }
    let (Some(have), Some(want)) = (mysql_set(have), mysql_set(want)) else {
        // Unparsed text: only the very same set is known to be covered.
        return (normalize(have) == normalize(want)).then_some(true);
    };
    Some(want.iter().all(|(uuid, intervals)| {
        let mine = have.get(uuid).map(Vec::as_slice).unwrap_or(&[]);
        intervals
            .iter()
            .all(|(lo, hi)| mine.iter().any(|(a, b)| a <= lo && hi <= b))
    }))
}

/// A set's entries, whitespace removed, lower case, sorted.
fn normalize(set: &str) -> Vec<String> {
    let mut parts: Vec<String> = set
        .split(',')
        .map(|p| {
            p.split_whitespace()
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .filter(|p| !p.is_empty())
        .collect();
    parts.sort();
    parts
}
