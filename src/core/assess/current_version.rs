//! "Which version does the service run now?": the one rollback starts from,
//! drift is measured against, and the screen shows.

use std::collections::BTreeMap;

use super::version_order::compare_versions;
use crate::core::fleet::DeploysObservation;

/// The version most backends run. A tie goes to the one deployed most
/// recently (first in the newest-first history), then to the greater version
/// in natural order, so `v10` beats `v9`. `None` when no backend's version is
/// known.
pub fn current_version(deploys: &DeploysObservation) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in deploys.running.iter().filter_map(|r| r.version.as_deref()) {
        *counts.entry(v).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    let recency = |v: &str| {
        deploys
            .history
            .iter()
            .position(|d| d.version == v)
            .unwrap_or(usize::MAX)
    };
    counts
        .into_iter()
        .filter(|(_, n)| *n == best)
        .map(|(v, _)| v)
        .min_by(|a, b| {
            recency(a)
                .cmp(&recency(b))
                .then_with(|| compare_versions(b, a))
        })
        .map(str::to_string)
}
