//! The verdict on a server's host key after looking it up in known_hosts.

use std::path::PathBuf;

/// What known_hosts says about the key a server presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostKeyCheck {
    /// A known_hosts line has exactly this key for this host.
    Known,
    /// No line has a key of this type for this host. `fingerprint` is
    /// `SHA256:...` as `ssh-keygen -l` prints it.
    Unknown { fingerprint: String },
    /// A line has a different key of the same type for this host.
    Changed {
        expected_fingerprint: String,
        got_fingerprint: String,
        file: PathBuf,
        line: usize,
    },
    /// The key is listed under `@revoked`.
    Revoked {
        fingerprint: String,
        file: PathBuf,
        line: usize,
    },
}
