//! Errors from providers. Each names the source (host, API, file) it came from,
//! so a panel can say which part of the fleet it cannot see.

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("{origin}: timed out after {after_ms} ms")]
    Timeout { origin: String, after_ms: u64 },
    #[error("{origin}: unreachable: {detail}")]
    Unreachable { origin: String, detail: String },
    #[error("{origin}: {detail}")]
    Failed { origin: String, detail: String },
    #[error("{origin}: refused: {detail}")]
    Refused { origin: String, detail: String },
    /// The host presented an SSH key no known_hosts file has: the console
    /// asks the operator to compare the fingerprint before trusting it.
    #[error("{origin}: unknown host key {fingerprint}")]
    UnknownHostKey { origin: String, fingerprint: String },
}

impl ProviderError {
    /// The host, API or file the error came from.
    pub fn source_name(&self) -> &str {
        match self {
            ProviderError::Timeout { origin, .. }
            | ProviderError::Unreachable { origin, .. }
            | ProviderError::Failed { origin, .. }
            | ProviderError::Refused { origin, .. }
            | ProviderError::UnknownHostKey { origin, .. } => origin,
        }
    }
}
