//! Errors from the SSH layer. Every variant names the host alias it is about
//! (or, for a config error, the file and line), so a panel can say which part
//! of the fleet it cannot reach and why.

use std::path::PathBuf;

use crate::providers::ProviderError;

use super::presented_key::PresentedKey;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SshError {
    /// Connecting, authenticating, opening a channel or running a command
    /// took longer than allowed.
    #[error("{host}: timed out after {after_ms} ms while {what}")]
    Timeout {
        host: String,
        what: String,
        after_ms: u64,
    },
    /// TCP connect, the SSH handshake or the jump host failed.
    #[error("{host}: cannot connect to {addr}: {detail}")]
    Connect {
        host: String,
        addr: String,
        detail: String,
    },
    /// No identity was accepted; `detail` lists what was tried.
    #[error("{host}: authentication as {user} failed: {detail}")]
    Auth {
        host: String,
        user: String,
        detail: String,
    },
    /// The server's key is in no known_hosts file. Not accepted silently:
    /// the UI shows the fingerprint, asks, then calls
    /// [`PresentedKey::trust`] (or [`crate::providers::ssh::trust`]).
    #[error(
        "{host}: the authenticity of host '{}' can't be established; \
         its {} key fingerprint is {fingerprint}; \
         if you trust it, add it with `opsdeck ssh-trust {host}`",
        presented.host_port,
        presented.key_type
    )]
    UnknownHostKey {
        host: String,
        /// `SHA256:...`, as `ssh-keygen -l` prints it.
        fingerprint: String,
        presented: Box<PresentedKey>,
    },
    /// known_hosts holds a different key of the same type for this host.
    #[error(
        "{host}: REMOTE HOST IDENTIFICATION HAS CHANGED (possible man-in-the-middle); \
         refusing to connect; {file}:{line} expects {expected_fingerprint}, \
         the server presented {got_fingerprint}; if the change is expected, \
         remove that line and trust the new key",
        file = file.display()
    )]
    ChangedHostKey {
        host: String,
        expected_fingerprint: String,
        got_fingerprint: String,
        file: PathBuf,
        line: usize,
    },
    /// known_hosts marks the presented key `@revoked`.
    #[error(
        "{host}: the host key {fingerprint} is marked @revoked in {file}:{line}; refusing to connect",
        file = file.display()
    )]
    RevokedHostKey {
        host: String,
        fingerprint: String,
        file: PathBuf,
        line: usize,
    },
    /// A channel could not be opened, or the connection dropped under it.
    #[error("{host}: {detail}")]
    Channel { host: String, detail: String },
    /// The local terminal could not be handed to an interactive session.
    #[error("{host}: local terminal: {detail}")]
    Terminal { host: String, detail: String },
    /// The ssh client config is wrong; `line` is 1-based, 0 for the whole file.
    #[error("{}{}: {msg}", file.display(), if *line > 0 { format!(":{line}") } else { String::new() })]
    Config {
        file: PathBuf,
        line: usize,
        msg: String,
    },
}

impl SshError {
    /// The host alias the error is about (for a config error, the file).
    pub fn host(&self) -> String {
        match self {
            SshError::Timeout { host, .. }
            | SshError::Connect { host, .. }
            | SshError::Auth { host, .. }
            | SshError::UnknownHostKey { host, .. }
            | SshError::ChangedHostKey { host, .. }
            | SshError::RevokedHostKey { host, .. }
            | SshError::Channel { host, .. }
            | SshError::Terminal { host, .. } => host.clone(),
            SshError::Config { file, .. } => file.display().to_string(),
        }
    }

    pub(crate) fn channel(host: &str, detail: impl std::fmt::Display) -> SshError {
        SshError::Channel {
            host: host.to_string(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn timeout(host: &str, what: &str, after: std::time::Duration) -> SshError {
        SshError::Timeout {
            host: host.to_string(),
            what: what.to_string(),
            after_ms: u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl From<SshError> for ProviderError {
    fn from(e: SshError) -> ProviderError {
        let origin = e.host();
        let detail = e.to_string();
        // The message already starts with the host; drop it so the panel
        // does not say it twice.
        let detail = detail
            .strip_prefix(&format!("{origin}: "))
            .map(str::to_string)
            .unwrap_or(detail);
        match e {
            SshError::Timeout { after_ms, .. } => ProviderError::Timeout { origin, after_ms },
            SshError::Connect { .. } => ProviderError::Unreachable { origin, detail },
            SshError::UnknownHostKey { fingerprint, .. } => ProviderError::UnknownHostKey {
                origin,
                fingerprint,
            },
            SshError::Auth { .. }
            | SshError::ChangedHostKey { .. }
            | SshError::RevokedHostKey { .. } => ProviderError::Refused { origin, detail },
            SshError::Channel { .. } | SshError::Terminal { .. } | SshError::Config { .. } => {
                ProviderError::Failed { origin, detail }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_error_names_the_host() {
        let e = SshError::Auth {
            host: "web-a1".into(),
            user: "deploy".into(),
            detail: "no identity accepted".into(),
        };
        let p = ProviderError::from(e);
        assert_eq!(p.source_name(), "web-a1");
        assert_eq!(
            p.to_string(),
            "web-a1: refused: authentication as deploy failed: no identity accepted"
        );
        let t = ProviderError::from(SshError::timeout(
            "db-b",
            "running `uptime`",
            std::time::Duration::from_millis(1500),
        ));
        assert_eq!(
            t,
            ProviderError::Timeout {
                origin: "db-b".into(),
                after_ms: 1500
            }
        );
    }

    #[test]
    fn config_error_names_file_and_line() {
        let e = SshError::Config {
            file: "/home/u/.ssh/config".into(),
            line: 7,
            msg: "bad port".into(),
        };
        assert_eq!(e.to_string(), "/home/u/.ssh/config:7: bad port");
    }
}
