//! The built-in demo fleet: a seeded, deterministic simulation of a two-AZ web
//! service, driven by the time the runtime passes in.

mod alert_tracker;
mod backend_sim;
mod cache_cluster;
mod db_cluster;
mod demo_config;
mod demo_fleet;
mod demo_lock;
mod demo_provider;
mod deploy_history;
mod incident;
mod incident_scheduler;
mod log_context;
mod log_generator;
mod scenario;

pub use backend_sim::{DRAIN_MS, RESTART_MS};
pub use db_cluster::{PROMOTE_DELAY_MS, REJOIN_MS};
pub use demo_config::DemoConfig;
pub use demo_fleet::DEMO_PROBE_URL;
pub use demo_fleet::{DemoFleet, MAX_CATCH_UP_MS, STEP_MS};
pub use demo_lock::DemoLock;
pub use demo_provider::DemoProvider;
pub use deploy_history::BROKEN_VERSION;
pub use incident::{Incident, IncidentKind};
pub use scenario::{LB_OUTAGE_EVERY_MS, LB_OUTAGE_FIRST_MS, LB_OUTAGE_MS, Scenario};
