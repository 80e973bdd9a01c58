//! Errors from providers. Each names the source (host, API, file) it came from,
//! so a panel can say which part of the fleet it cannot see.

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("{source}: timed out after {after_ms} ms")]
    Timeout { source: String, after_ms: u64 },
    #[error("{source}: unreachable: {detail}")]
    Unreachable { source: String, detail: String },
    #[error("{source}: {detail}")]
    Failed { source: String, detail: String },
    #[error("{source}: refused: {detail}")]
    Refused { source: String, detail: String },
}

impl ProviderError {
    /// The host, API or file the error came from.
    pub fn source_name(&self) -> &str {
        match self {
            ProviderError::Timeout { source, .. }
            | ProviderError::Unreachable { source, .. }
            | ProviderError::Failed { source, .. }
            | ProviderError::Refused { source, .. } => source,
        }
    }
}
