//! IO adapters behind two kinds of trait: `ObserveProvider` (read-only) and
//! `OperateProvider` (mutating). Read-only sessions are built without any
//! `OperateProvider`, so no code path can mutate the fleet.

#[cfg(feature = "aws")]
pub mod aws;
pub mod demo;
pub mod observe;
pub mod operate;
pub mod provider_error;
pub mod selfhosted;
pub mod shell;
pub mod ssh;

pub use observe::{ObserveProvider, SourceInfo};
pub use operate::{LockError, OperateProvider, PromoteMode};
pub use provider_error::ProviderError;
pub use shell::ShellProvider;
