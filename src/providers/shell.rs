//! Interactive sessions on fleet hosts (`ssh-open`). Kept apart from the
//! operate side because a read-only session may still be allowed a shell
//! when its environment says so.

use async_trait::async_trait;

use super::provider_error::ProviderError;

#[async_trait]
pub trait ShellProvider: Send + Sync {
    /// Runs an interactive session on `host` with the terminal, which the
    /// caller has already handed over (raw mode off, main screen), and
    /// returns when the session ends or drops.
    async fn interactive(&self, host: &str) -> Result<(), ProviderError>;
}
