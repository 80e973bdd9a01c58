//! `ssh-open` over the pooled russh connections: the [`ShellProvider`] the
//! runtime calls between suspending and resuming the TUI.

use std::sync::Arc;

use async_trait::async_trait;

use crate::providers::{ProviderError, ShellProvider};

use super::interactive::run_interactive;
use super::ssh_error::SshError;
use super::ssh_pool::SshPool;
use super::ssh_target::SshTarget;

/// Opens a login shell on a PTY over the host's pooled connection and
/// hands it the local terminal until it exits.
pub struct SshShell {
    pool: Arc<SshPool>,
}

impl SshShell {
    pub fn new(pool: Arc<SshPool>) -> SshShell {
        SshShell { pool }
    }

    async fn open(
        &self,
        target: &SshTarget,
        term: &str,
        cols: u16,
        rows: u16,
    ) -> Result<super::PtySession, SshError> {
        let conn = self.pool.get_target(target).await?;
        match conn.open_pty(term, cols, rows).await {
            // The pooled connection may have died without keepalives noticing
            // yet: one fresh connection, then give up.
            Err(SshError::Channel { .. }) => {
                self.pool.forget_target(target);
                self.pool
                    .get_target(target)
                    .await?
                    .open_pty(term, cols, rows)
                    .await
            }
            other => other,
        }
    }

    /// Runs a login shell on `target` (a host that comes from inventory, not
    /// from an alias of the ssh config) with the terminal until it exits;
    /// `host` names it in logs and errors.
    pub async fn interactive_target(
        &self,
        host: &str,
        target: &SshTarget,
    ) -> Result<(), ProviderError> {
        let (cols, rows) = crossterm::terminal::size().unwrap_or((80, 24));
        let term = std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".to_string());
        let session = self.open(target, &term, cols, rows).await?;
        match run_interactive(session).await? {
            Some(status) => {
                tracing::info!(host, status, "ssh session ended");
                Ok(())
            }
            None => Err(ProviderError::Failed {
                origin: host.to_string(),
                detail: "the session ended without an exit status (connection dropped, or the shell was killed)"
                    .to_string(),
            }),
        }
    }
}

#[async_trait]
impl ShellProvider for SshShell {
    async fn interactive(&self, host: &str) -> Result<(), ProviderError> {
        let target = self.pool.config().resolve(host);
        self.interactive_target(host, &target).await
    }
}
