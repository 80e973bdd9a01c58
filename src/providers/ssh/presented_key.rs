//! The host key a server presented that no known_hosts file has: what the
//! UI shows when it asks, and what `trust` needs once the user says yes.

use std::path::PathBuf;

use russh::keys::PublicKey;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentedKey {
    /// `hostname` or `[hostname]:port`, as known_hosts spells it.
    pub host_port: String,
    pub hostname: String,
    pub port: u16,
    /// e.g. `ssh-ed25519`.
    pub key_type: String,
    pub key: PublicKey,
    /// Where `trust` should append (the first UserKnownHostsFile).
    pub known_hosts: PathBuf,
}

impl PresentedKey {
    /// Records the key as trusted (call after the user confirmed the
    /// fingerprint); the next connection is accepted.
    pub fn trust(&self) -> std::io::Result<()> {
        super::known_hosts::trust(&self.known_hosts, &self.hostname, self.port, &self.key)
    }
}

/// Records `presented` (the key `host` presented earlier in this session,
/// taken out of the provider's map) in its known_hosts file, after the user
/// confirmed its fingerprint; the error says which host or file.
pub fn trust_presented(
    host: &str,
    presented: Option<PresentedKey>,
) -> Result<PresentedKey, crate::providers::ProviderError> {
    use crate::providers::ProviderError;
    let presented = presented.ok_or_else(|| ProviderError::Failed {
        origin: host.to_string(),
        detail: "no unknown key was presented by this host in this session".into(),
    })?;
    presented.trust().map_err(|e| ProviderError::Failed {
        origin: presented.known_hosts.display().to_string(),
        detail: format!("cannot record the host key: {e}"),
    })?;
    tracing::info!(host, known_hosts = %presented.known_hosts.display(), "host key trusted");
    Ok(presented)
}
