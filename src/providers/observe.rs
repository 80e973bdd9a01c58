//! The read-only side of a provider: everything the console shows.

use async_trait::async_trait;

use crate::core::Timestamp;
use crate::core::capabilities::Capabilities;
use crate::core::fleet::{
    Alert, DeploysObservation, HostsObservation, LogLine, ReplicationObservation,
};
use crate::core::lock::LockHolder;
use crate::core::log_batch::LogBatch;
use crate::core::service::ServiceObservation;

use super::provider_error::ProviderError;

/// What a provider says about itself, for the status bar and `status --json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    pub environment: String,
    pub region: Option<String>,
    /// `demo`, `ssh`, `aws`.
    pub source: String,
    /// The cloud account the session reads (AWS: from STS), for the status bar.
    pub account: Option<String>,
    /// The credentials profile in use, where there is one.
    pub profile: Option<String>,
}

/// Observes the fleet. Every call is read-only; each is polled on its own
/// schedule with its own timeout, so a slow part degrades only its panel.
/// `now` is the runtime's clock: real providers may ignore it; the demo
/// simulation advances to it, which keeps it deterministic under test.
#[async_trait]
pub trait ObserveProvider: Send + Sync {
    fn info(&self) -> SourceInfo;
    /// What this provider's operations can do; plans follow it.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    async fn hosts(&self, now: Timestamp) -> Result<HostsObservation, ProviderError>;
    async fn replication(&self, now: Timestamp) -> Result<ReplicationObservation, ProviderError>;
    async fn deploys(&self, now: Timestamp) -> Result<DeploysObservation, ProviderError>;
    async fn alerts(&self, now: Timestamp) -> Result<Vec<Alert>, ProviderError>;
    /// Log lines that arrived since the previous call, oldest first.
    async fn logs(&self, now: Timestamp) -> Result<Vec<LogLine>, ProviderError>;
    /// The same lines packed for the log store, with how many the provider
    /// dropped before it could deliver them. The poller calls this; the
    /// default packs `logs`. A provider that produces many lines (the demo
    /// at 50,000 a second) builds the batch directly, with no string per line.
    async fn log_batch(&self, now: Timestamp) -> Result<LogBatch, ProviderError> {
        Ok(LogBatch::from(self.logs(now).await?))
    }
    /// The service as its users reach it: every configured end-to-end probe
    /// (each on its own deadline) and the load balancer's own check. A failed
    /// probe is data, not an error. The default probes nothing.
    async fn service(&self, _now: Timestamp) -> Result<ServiceObservation, ProviderError> {
        Ok(ServiceObservation::default())
    }
    /// The logs view opened (`true`) or closed. A provider whose live log
    /// stream costs money while open (CloudWatch Logs live tail) streams
    /// only while it is visible; the default does nothing.
    fn logs_visible(&self, _visible: bool) {}
    /// The runtime replays history up to `until` (the demo fleet before its
    /// first frame), `None` when done: log lines no view would still keep by
    /// `until` need not be made. The default does nothing.
    fn replaying_history(&self, _until: Option<Timestamp>) {}
    /// What this session has asked of a paid API so far (the cost meter);
    /// `None` for a provider that calls none.
    fn usage(&self, _now: Timestamp) -> Option<crate::core::usage::UsageReport> {
        None
    }
    /// Who holds the fleet-wide operation lock now, if anyone. Read-only: every
    /// console (read-only ones included) shows the holder.
    async fn lock_holder(&self, _now: Timestamp) -> Result<Option<LockHolder>, ProviderError> {
        Ok(None)
    }
}
