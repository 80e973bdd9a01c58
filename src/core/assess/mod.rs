//! The one home of every judgement about the fleet: which version is current
//! and how versions order, whether a replica has caught up, who is a writable
//! primary, when lag is too high, how healthy a node or host is, when data is
//! too old, whether the service answers its users (probes, the LB's own
//! health, traffic drops), and the headline's verdict. The screen, the guards, the operation
//! runner and headless output all call these functions, so they cannot
//! disagree. Thresholds come from [`Limits`] (the config's `[guards]`).

pub mod caught_up;
pub mod current_version;
pub mod freshness;
pub mod gtid;
pub mod headline;
pub mod judgement;
pub mod lag;
pub mod limits;
pub mod node_health;
pub mod node_view;
pub mod problem;
pub mod service_view;
pub mod topology;
pub mod traffic;
pub mod version_order;
pub mod writable;

pub use caught_up::caught_up;
pub use current_version::current_version;
pub use freshness::{Freshness, freshness};
pub use gtid::gtid_covers;
pub use headline::Headline;
pub use judgement::Judgement;
pub use lag::{LagLevel, lag_level};
pub use limits::Limits;
pub use node_health::{cache_health, db_health, host_health};
pub use node_view::NodeView;
pub use problem::{Problem, ProblemKind};
pub use service_view::{
    LbView, ProbeView, ServiceStatus, ServiceView, traffic_now, traffic_series,
};
pub use topology::Topology;
pub use traffic::{TrafficChange, TrafficDirection, traffic_change};
pub use version_order::compare_versions;
pub use writable::writable_primary;

#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod tests;
