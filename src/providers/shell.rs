//! Interactive sessions on fleet hosts (`ssh-open`). Kept apart from the
//! operate side because a read-only session may still be allowed a shell
//! when its environment says so.

use super::provider_error::ProviderError;

/// A program that the console runs with the terminal handed over to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellCommand {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Printed before the program starts (raw mode is off by then).
    pub banner: String,
}

pub trait ShellProvider: Send + Sync {
    /// The command that opens an interactive session on `host`.
    fn shell_command(&self, host: &str) -> Result<ShellCommand, ProviderError>;
}
