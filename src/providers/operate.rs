//! The mutating side of a provider. Only a session that is not read-only holds
//! one of these.

use async_trait::async_trait;

use crate::core::Timestamp;
use crate::core::lock::LockHolder;

use super::provider_error::ProviderError;

pub use crate::core::operation::PromoteMode;

/// Why the fleet-wide operation lock was not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it.
    #[error("the fleet is locked by {}", .0.operator)]
    Held(LockHolder),
    /// The lock could not be read or written (host down, permissions).
    #[error("the operation lock is unavailable: {0}")]
    Unavailable(ProviderError),
}

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
    /// Takes the fleet-wide operation lock for `me`, or says who holds it.
    /// The default (a provider without a fleet-wide lock) always succeeds;
    /// such a provider's `capabilities().fleet_lock` is false and the runner
    /// says so.
    async fn acquire_lock(&self, _me: &LockHolder, _now: Timestamp) -> Result<(), LockError> {
        Ok(())
    }
    /// Gives the lock back (only if `me` holds it).
    async fn release_lock(&self, _me: &LockHolder, _now: Timestamp) -> Result<(), ProviderError> {
        Ok(())
    }
    /// Breaks a stale lock held by `stale` (after a typed confirmation), only
    /// if it is still that holder's.
    async fn break_lock(&self, _stale: &LockHolder, _now: Timestamp) -> Result<(), ProviderError> {
        Ok(())
    }
}
