//! What a command run over SSH left behind.

/// The result of [`super::SshConnection::exec`]. Output is decoded as UTF-8
/// (invalid bytes replaced) and is not sanitized: callers that show it on
/// screen must strip control characters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit status; `None` when the command died of a signal or the
    /// server did not say.
    pub status: Option<u32>,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    /// Exited with status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}
