//! `StepError`: why a step stopped early.

use crate::providers::ProviderError;

pub(super) enum StepError {
    Failed(String),
    Cancelled,
}

impl From<ProviderError> for StepError {
    fn from(e: ProviderError) -> Self {
        StepError::Failed(e.to_string())
    }
}
