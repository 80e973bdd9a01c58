//! An operation whose intent is in the audit log with no result after it:
//! the console or `opsdeck do` that ran it was killed (kill -9, power loss)
//! or is still running somewhere. Shown at start so nobody trusts a
//! half-done change without knowing.

/// One intent with no result, and the last step it recorded as started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnfinishedOperation {
    /// The audit log's operation key.
    pub operation: String,
    pub action: String,
    pub target: String,
    pub environment: String,
    pub user: String,
    pub host: String,
    /// When the intent was recorded (RFC 3339, as in the log).
    pub started: String,
    /// The note of the last "step" record, e.g. `started: drain web-a1`.
    pub last_step: Option<String>,
}

impl UnfinishedOperation {
    /// `drain-backend web-a1 by alice@laptop, started 2026-…; last step: started: drain web-a1`.
    pub fn describe(&self) -> String {
        let step = self
            .last_step
            .as_deref()
            .map_or("no step had started".to_string(), |s| {
                format!("last step: {s}")
            });
        format!(
            "{} {} by {}@{} in {}, started {}; {step}; no result recorded",
            self.action, self.target, self.user, self.host, self.environment, self.started
        )
    }
}
