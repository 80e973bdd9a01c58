//! Which story the demo fleet tells: a calm fleet, or one with incidents now and then.

/// The demo fleet's scenario. `Calm` never starts an incident; `Default` starts one
/// every few minutes so every panel and alert has something to show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// No incidents at all: every backend healthy, replication lag near zero.
    Calm,
    /// Incidents now and then: an unhealthy backend, a replica-lag spike, an
    /// error-rate burst after a bad deploy.
    #[default]
    Default,
}

impl Scenario {
    /// Every scenario, in the order a `--scenario` help text lists them.
    pub const ALL: [Scenario; 2] = [Scenario::Calm, Scenario::Default];

    /// The name used on the command line and in config files.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Calm => "calm",
            Scenario::Default => "default",
        }
    }

    /// Parses a name as written by [`Scenario::name`] (case-insensitive).
    pub fn from_name(name: &str) -> Option<Scenario> {
        let name = name.trim();
        Scenario::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// Whether the simulation schedules incidents.
    pub(crate) fn has_incidents(self) -> bool {
        matches!(self, Scenario::Default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_name(s.name()), Some(s));
        }
        assert_eq!(Scenario::from_name("CALM"), Some(Scenario::Calm));
        assert_eq!(Scenario::from_name("chaos"), None);
    }
}
