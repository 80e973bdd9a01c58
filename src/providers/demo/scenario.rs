//! Which story the demo fleet tells: a calm fleet, one with incidents now and
//! then, or one whose load balancer stops answering (the service down for its
//! users while every backend looks fine).

/// lb-outage: the load balancer first freezes this long after start (ms)…
pub const LB_OUTAGE_FIRST_MS: i64 = 90_000;
/// …for this long (ms)…
pub const LB_OUTAGE_MS: i64 = 45_000;
/// …and again this long after each start (ms).
pub const LB_OUTAGE_EVERY_MS: i64 = 300_000;

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
    /// A calm fleet whose load balancer freezes now and then (nginx stops
    /// answering): the service probe fails and traffic falls to zero while
    /// every backend stays healthy.
    LbOutage,
}

impl Scenario {
    /// Every scenario, in the order a `--scenario` help text lists them.
    pub const ALL: [Scenario; 3] = [Scenario::Calm, Scenario::Default, Scenario::LbOutage];

    /// The name used on the command line and in config files.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Calm => "calm",
            Scenario::Default => "default",
            Scenario::LbOutage => "lb-outage",
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

    /// Whether the load balancer is frozen at `elapsed_ms` of simulated time.
    pub(crate) fn lb_frozen(self, elapsed_ms: i64) -> bool {
        self == Scenario::LbOutage
            && elapsed_ms >= LB_OUTAGE_FIRST_MS
            && (elapsed_ms - LB_OUTAGE_FIRST_MS) % LB_OUTAGE_EVERY_MS < LB_OUTAGE_MS
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

    #[test]
    fn only_lb_outage_freezes_the_lb_and_it_comes_back() {
        let at = |s: i64| s * 1000;
        assert!(!Scenario::LbOutage.lb_frozen(at(89)));
        assert!(Scenario::LbOutage.lb_frozen(at(90)));
        assert!(Scenario::LbOutage.lb_frozen(at(134)));
        assert!(!Scenario::LbOutage.lb_frozen(at(135)));
        assert!(Scenario::LbOutage.lb_frozen(at(390)));
        assert!(!Scenario::Default.lb_frozen(at(100)));
        assert!(!Scenario::Calm.lb_frozen(at(100)));
    }
}
