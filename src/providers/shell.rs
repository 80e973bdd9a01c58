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

    /// Checks, while the console still owns the terminal, that a session on
    /// `host` can start (reachable, host key known). An unknown key comes back
    /// as `ProviderError::UnknownHostKey` so the console can ask.
    async fn prepare(&self, _host: &str) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Records the key `host` presented in `prepare`, after the operator
    /// compared its fingerprint.
    async fn trust_host(&self, host: &str) -> Result<(), ProviderError> {
        Err(ProviderError::Failed {
            origin: host.to_string(),
            detail: "this provider has no host keys to trust".into(),
        })
    }
}
