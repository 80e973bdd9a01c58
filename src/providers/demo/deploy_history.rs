//! The demo service's past deploys: three weeks of releases of `web`, one of which
//! is broken (it failed its health checks when it went out).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::core::Timestamp;
use crate::core::fleet::{Deploy, DeployOutcome};

/// The service every demo backend runs.
pub const SERVICE: &str = "web";

/// The one version in the history whose deploy failed: running it makes a backend
/// fail its health checks. Guards should refuse rolling back to it.
pub const BROKEN_VERSION: &str = "v1.42.2";

/// Releases, oldest first, with how each deploy ended and roughly how many days
/// before the fleet's start it went out. v1.41.1 was rolled back (a regression,
/// not a crash: it runs fine), v1.42.2 failed and was fixed forward by v1.42.3.
const RELEASES: [(&str, DeployOutcome, f64); 13] = [
    ("v1.38.0", DeployOutcome::Succeeded, 20.9),
    ("v1.38.1", DeployOutcome::Succeeded, 19.2),
    ("v1.39.0", DeployOutcome::Succeeded, 17.1),
    ("v1.39.1", DeployOutcome::Succeeded, 15.8),
    ("v1.40.0", DeployOutcome::Succeeded, 13.9),
    ("v1.40.1", DeployOutcome::Succeeded, 12.1),
    ("v1.41.0", DeployOutcome::Succeeded, 10.2),
    ("v1.41.1", DeployOutcome::RolledBack, 9.9),
    ("v1.41.2", DeployOutcome::Succeeded, 8.0),
    ("v1.42.0", DeployOutcome::Succeeded, 5.9),
    ("v1.42.1", DeployOutcome::Succeeded, 3.8),
    ("v1.42.2", DeployOutcome::Failed, 1.3),
    ("v1.42.3", DeployOutcome::Succeeded, 1.2),
];

/// Who pushed deploys: mostly CI, sometimes a person.
const DEPLOYERS: [&str; 5] = ["ci", "ci", "jiwoo.kim", "mina.park", "alex.chen"];

/// Deploy history of the demo service, newest first.
#[derive(Clone, Debug)]
pub struct DeployHistory {
    deploys: Vec<Deploy>,
}

impl DeployHistory {
    /// Builds the history ending just before `start`; the seed only jitters times
    /// and deployers, the versions and outcomes are fixed.
    pub fn new(seed: u64, start: Timestamp) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xDE_9107_u64);
        const DAY_MS: f64 = 86_400_000.0;
        let mut deploys: Vec<Deploy> = RELEASES
            .iter()
            .map(|&(version, outcome, days_ago)| {
                // Up to ±40 minutes of jitter keeps the order while varying times.
                let jitter_ms = rng.random_range(-2_400_000.0..2_400_000.0);
                let at = start.plus_millis(-(days_ago * DAY_MS + jitter_ms) as i64);
                let by = DEPLOYERS[rng.random_range(0..DEPLOYERS.len())];
                Deploy {
                    service: SERVICE.to_string(),
                    version: version.to_string(),
                    artifact: artifact_for(version),
                    at,
                    by: by.to_string(),
                    outcome,
                }
            })
            .collect();
        deploys.reverse();
        Self { deploys }
    }

    /// Newest first.
    pub fn deploys(&self) -> &[Deploy] {
        &self.deploys
    }

    pub fn contains(&self, version: &str) -> bool {
        self.deploys.iter().any(|d| d.version == version)
    }

    /// The version every backend runs at start: the newest that succeeded.
    pub fn current_version(&self) -> &str {
        self.deploys
            .iter()
            .find(|d| d.outcome == DeployOutcome::Succeeded)
            .map(|d| d.version.as_str())
            .unwrap_or("v1.42.3")
    }
}

/// Whether running `version` makes a backend fail its health checks.
pub fn is_broken(version: &str) -> bool {
    version == BROKEN_VERSION
}

/// An image reference with a digest derived from the version alone, so the same
/// version always shows the same digest whatever the seed.
fn artifact_for(version: &str) -> String {
    let mut digest = String::with_capacity(64);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0..4u64 {
        for b in version.bytes().chain(round.to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        digest.push_str(&format!("{h:016x}"));
    }
    format!("registry.example.com/{SERVICE}:{version}@sha256:{digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_newest_first_with_one_failed_and_one_rolled_back() {
        let start = Timestamp(1_795_000_000_000);
        let h = DeployHistory::new(42, start);
        let d = h.deploys();
        assert!(d.len() >= 12);
        assert!(d.windows(2).all(|w| w[0].at > w[1].at));
        assert!(d.iter().all(|x| x.at < start));
        let failed: Vec<_> = d
            .iter()
            .filter(|x| x.outcome == DeployOutcome::Failed)
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].version, BROKEN_VERSION);
        assert_eq!(
            d.iter()
                .filter(|x| x.outcome == DeployOutcome::RolledBack)
                .count(),
            1
        );
        assert_eq!(h.current_version(), "v1.42.3");
        assert!(d[0].artifact.contains("@sha256:"));
        assert_eq!(
            d[0].artifact.split("sha256:").nth(1).map(str::len),
            Some(64)
        );
    }
}
