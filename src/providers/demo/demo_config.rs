//! Settings of the demo fleet: seed, scenario, log rate and the simulated start time.

use crate::core::Timestamp;

use super::scenario::Scenario;

/// How the demo fleet is built. The same config and the same sequence of calls
/// (with the same `now` values) always produce the same observations.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoConfig {
    /// Seeds every random choice (noise, incidents, log content).
    pub seed: u64,
    pub scenario: Scenario,
    /// Log lines per second over the whole fleet; 20.0 by default, up to 50,000.
    pub log_rate: f64,
    /// Simulated time the fleet starts at; deploy history lies in the three weeks
    /// before it. The runtime usually sets this to its own clock at launch.
    pub start: Timestamp,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            scenario: Scenario::Default,
            log_rate: 20.0,
            start: Timestamp(1_795_000_000_000),
        }
    }
}
