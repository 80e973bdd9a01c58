//! The mutating side of a provider. Only a session that is not read-only holds
//! one of these.

use async_trait::async_trait;

use crate::core::Timestamp;

use super::provider_error::ProviderError;

pub use crate::core::operation::PromoteMode;

/// Changes the fleet. Each call returns once the provider has issued the change;
/// the caller verifies the outcome by observing again.
#[async_trait]
pub trait OperateProvider: Send + Sync {
    /// Takes a backend out of the load-balancer pool.
    async fn drain(&self, backend: &str, now: Timestamp) -> Result<(), ProviderError>;
    /// Puts a backend back into the pool.
    async fn undrain(&self, backend: &str, now: Timestamp) -> Result<(), ProviderError>;
    /// Makes a database or cache node read-only (or writable again).
    async fn set_read_only(
        &self,
        node: &str,
        read_only: bool,
        now: Timestamp,
    ) -> Result<(), ProviderError>;
    /// Promotes a database or cache replica to primary.
    async fn promote(
        &self,
        replica: &str,
        mode: PromoteMode,
        now: Timestamp,
    ) -> Result<(), ProviderError>;
    /// Points the old primary at the new primary as its replica (after a
    /// planned switchover).
    async fn rejoin(
        &self,
        old_primary: &str,
        new_primary: &str,
        now: Timestamp,
    ) -> Result<(), ProviderError>;
    /// Runs `version` of the service on one backend.
    async fn deploy_version(
        &self,
        backend: &str,
        version: &str,
        now: Timestamp,
    ) -> Result<(), ProviderError>;
}
