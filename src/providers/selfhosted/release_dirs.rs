//! Release directories on a backend, read and switched over SSH: the deploy
//! history is `releases_dir/<version>` (a `FAILED` file in a release marks
//! it failed), the running version is where the `current` symlink points,
//! and a deploy runs a command template (by default it switches the
//! symlink). Shared by the self-hosted and the AWS providers: only how they
//! reach the host differs.

use crate::core::Timestamp;
use crate::core::fleet::{Deploy, DeployOutcome};
use crate::core::sanitize::sanitize;

use super::shell_text::shell_quote;

/// Default deploy: switch the release symlink.
pub const DEFAULT_DEPLOY: &str = "ln -sfn {releases_dir}/{version} {current}";

/// Where one backend keeps its releases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseDirs {
    /// `releases_dir`: one directory per version.
    pub releases: String,
    /// The symlink to the running release.
    pub current: String,
    /// The backend's display name (`{host}` in a template).
    pub host: String,
}

/// What one backend's release directories hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// The release `current` points at (its last path component).
    pub current: Option<String>,
    /// (version, mtime, owner, failed) of every release directory.
    pub releases: Vec<(String, Timestamp, String, bool)>,
}

impl ReleaseDirs {
    /// `current` defaults to `current` beside the releases directory
    /// (`/srv/app/releases` → `/srv/app/current`).
    pub fn new(releases: &str, current: Option<&str>, host: &str) -> ReleaseDirs {
        let current = current.map(str::to_string).unwrap_or_else(|| {
            format!(
                "{}/current",
                releases
                    .trim_end_matches('/')
                    .rsplit_once('/')
                    .map_or(".", |(d, _)| d)
            )
        });
        ReleaseDirs {
            releases: releases.to_string(),
            current,
            host: host.to_string(),
        }
    }

    /// `template` with `{version}`, `{releases_dir}`, `{current}` and
    /// `{host}` filled in, each quoted for `sh`.
    pub fn fill(&self, template: &str, version: &str) -> String {
        template
            .replace("{version}", &shell_quote(version))
            .replace("{releases_dir}", &shell_quote(&self.releases))
            .replace("{current}", &shell_quote(&self.current))
            .replace("{host}", &shell_quote(&self.host))
    }

    /// One command that lists the releases and reads the symlink.
    pub fn listing_script(&self) -> String {
        format!(
            "cd {dir} && for v in */; do v=${{v%/}}; printf '%s\\t%s\\t%s\\t%s\\n' \"$v\" \"$(stat -c %Y \"$v\")\" \"$(stat -c %U \"$v\")\" \"$([ -e \"$v/FAILED\" ] && echo failed || echo ok)\"; done; printf 'CURRENT\\t%s\\n' \"$(readlink {current})\"",
            dir = shell_quote(&self.releases),
            current = shell_quote(&self.current),
        )
    }

    /// Succeeds only when `version` is a release directory on the host: a
    /// deploy refuses a version that is not there before touching anything.
    pub fn check_script(&self, version: &str) -> String {
        format!(
            "test -d {}/{}",
            shell_quote(&self.releases),
            shell_quote(version)
        )
    }

    /// Prints the running release (empty when `current` is not a link).
    pub fn current_script(&self) -> String {
        format!("readlink {}", shell_quote(&self.current))
    }

    pub fn artifact(&self, version: &str) -> String {
        format!("{}/{version}", self.releases)
    }
}

/// The last path component of a symlink's target (`releases/v42/` → `v42`).
pub fn release_of_link(target: &str) -> Option<String> {
    target
        .trim()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|v| !v.is_empty())
        .map(sanitize)
}

/// Parses the output of [`ReleaseDirs::listing_script`].
pub fn parse_listing(out: &str) -> Listing {
    let mut listing = Listing::default();
    for line in out.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.first() == Some(&"CURRENT") {
            listing.current = f.get(1).and_then(|p| release_of_link(p));
            continue;
        }
        let [version, mtime, owner, state] = f[..] else {
            continue;
        };
        listing.releases.push((
            version.to_string(),
            Timestamp::from_secs(mtime.parse().unwrap_or(0)),
            owner.to_string(),
            state == "failed",
        ));
    }
    listing
}

/// Adds one backend's releases to the fleet's history: a version seen on
/// several backends counts once, dated by its oldest directory, and failed
/// if any backend marks it failed.
pub fn merge(history: &mut Vec<Deploy>, service: &str, dirs: &ReleaseDirs, listing: &Listing) {
    for (version, at, owner, failed) in &listing.releases {
        let outcome = if *failed {
            DeployOutcome::Failed
        } else {
            DeployOutcome::Succeeded
        };
        match history.iter_mut().find(|d| &d.version == version) {
            Some(d) => {
                d.at = d.at.min(*at);
                if outcome == DeployOutcome::Failed {
                    d.outcome = outcome;
                }
            }
            None => history.push(Deploy {
                service: service.to_string(),
                version: sanitize(version),
                artifact: dirs.artifact(version),
                at: *at,
                by: sanitize(owner),
                outcome,
            }),
        }
    }
}

/// Newest first (by date, then by version).
pub fn sort_history(history: &mut [Deploy]) {
    history.sort_by(|a, b| {
        b.at.cmp(&a.at)
            .then_with(|| crate::core::assess::compare_versions(&b.version, &a.version))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_defaults_beside_the_releases() {
        let d = ReleaseDirs::new("/srv/app/releases/", None, "web-a1");
        assert_eq!(d.current, "/srv/app/current");
        let d = ReleaseDirs::new("/srv/app/releases", Some("/srv/live"), "web-a1");
        assert_eq!(d.current, "/srv/live");
        assert_eq!(
            d.fill(DEFAULT_DEPLOY, "v41"),
            "ln -sfn '/srv/app/releases'/'v41' '/srv/live'"
        );
        assert_eq!(
            d.fill("deploy {host} {version}", "it's"),
            "deploy 'web-a1' 'it'\\''s'"
        );
    }

    #[test]
    fn a_listing_merges_across_backends() {
        let dirs = ReleaseDirs::new("/r", None, "a");
        let a = parse_listing(
            "v41\t200\tdeploy\tfailed\nv42\t300\tdeploy\tok\nCURRENT\treleases/v42\n",
        );
        let b = parse_listing("v41\t100\tci\tok\nv42\t400\tci\tok\nCURRENT\t/r/v41/\n");
        assert_eq!(a.current.as_deref(), Some("v42"));
        assert_eq!(b.current.as_deref(), Some("v41"));
        let mut h = Vec::new();
        merge(&mut h, "web", &dirs, &a);
        merge(&mut h, "web", &dirs, &b);
        sort_history(&mut h);
        let got: Vec<_> = h
            .iter()
            .map(|d| (d.version.as_str(), d.at.millis() / 1000, d.outcome))
            .collect();
        assert_eq!(
            got,
            vec![
                ("v42", 300, DeployOutcome::Succeeded),
                ("v41", 100, DeployOutcome::Failed)
            ]
        );
        assert_eq!(parse_listing("CURRENT\t\n").current, None);
    }
}
