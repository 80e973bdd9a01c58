//! The answer to a yes/no question about the fleet, with the evidence an
//! operator reads ("applied 0-1-100, primary at 0-1-100").

/// A yes/no judgement and what it was based on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// The answer. `false` whenever the evidence is missing: unknown is never yes.
    pub done: bool,
    /// The evidence, one line.
    pub detail: String,
    /// The node asked about is in the observation. `false` lets a caller fail
    /// at once instead of waiting for a node that does not exist.
    pub found: bool,
}

impl Judgement {
    pub fn yes(detail: impl Into<String>) -> Self {
        Self {
            done: true,
            detail: detail.into(),
            found: true,
        }
    }

    pub fn no(detail: impl Into<String>) -> Self {
        Self {
            done: false,
            detail: detail.into(),
            found: true,
        }
    }

    /// The node is not in the observation.
    pub fn missing(node: &str) -> Self {
        Self {
            done: false,
            detail: format!("{node} is not in the replication data"),
            found: false,
        }
    }
}
