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

impl ExecOutput {
    /// Its stdout when it succeeded; else an error on `origin` naming the
    /// command's first line, its status and its (sanitized) stderr.
    pub fn into_stdout(
        self,
        origin: &str,
        command: &str,
    ) -> Result<String, crate::providers::ProviderError> {
        if self.success() {
            return Ok(self.stdout);
        }
        let err = self.stderr.trim();
        Err(crate::providers::ProviderError::Failed {
            origin: origin.to_string(),
            detail: format!(
                "`{}` exited with {}{}",
                command.lines().next().unwrap_or(command),
                self.status
                    .map_or("no status".to_string(), |s| s.to_string()),
                if err.is_empty() {
                    String::new()
                } else {
                    format!(": {}", crate::core::sanitize::sanitize(err))
                }
            ),
        })
    }
}
