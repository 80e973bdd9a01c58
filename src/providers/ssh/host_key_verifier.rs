//! The russh client handler: checks the server's host key against
//! known_hosts during the handshake. russh only learns "rejected", so the
//! precise verdict (unknown with its fingerprint, changed with file:line) is
//! left in a shared slot for the connection to report.

use std::sync::{Arc, Mutex};

use russh::client;
use russh::keys::PublicKeyOrCertificate;

use super::host_key_check::HostKeyCheck;
use super::known_hosts::{KnownHosts, trust};
use super::presented_key::PresentedKey;
use super::ssh_error::SshError;
use super::ssh_target::{SshTarget, StrictHostKeyChecking};

pub(crate) type Verdict = Arc<Mutex<Option<SshError>>>;

pub(crate) struct HostKeyVerifier {
    alias: String,
    hostname: String,
    port: u16,
    known_hosts: KnownHosts,
    strict: StrictHostKeyChecking,
    verdict: Verdict,
}

impl HostKeyVerifier {
    pub(crate) fn new(target: &SshTarget, verdict: Verdict) -> HostKeyVerifier {
        HostKeyVerifier {
            alias: target.alias.clone(),
            hostname: target.hostname.clone(),
            port: target.port,
            known_hosts: KnownHosts::new(target.known_hosts.clone()),
            strict: target.strict_host_key_checking,
            verdict,
        }
    }

    fn refuse(&self, e: SshError) -> bool {
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(e);
        }
        false
    }

    fn verify(&self, key: &russh::keys::PublicKey) -> bool {
        let host_port = super::ssh_target::host_port(&self.hostname, self.port);
        match self.known_hosts.check(&self.hostname, self.port, key) {
            HostKeyCheck::Known => true,
            HostKeyCheck::Unknown { fingerprint } => {
                let first = self.known_hosts.files().first().cloned();
                match (self.strict, first) {
                    (StrictHostKeyChecking::No, _) => {
                        tracing::warn!(host = %self.alias, %fingerprint, "accepting an unknown host key (StrictHostKeyChecking no)");
                        true
                    }
                    (StrictHostKeyChecking::AcceptNew, Some(file)) => {
                        match trust(&file, &self.hostname, self.port, key) {
                            Ok(()) => {
                                tracing::info!(host = %self.alias, %fingerprint, file = %file.display(), "recorded a new host key (StrictHostKeyChecking accept-new)");
                                true
                            }
                            Err(e) => self.refuse(SshError::Connect {
                                host: self.alias.clone(),
                                addr: host_port,
                                detail: format!(
                                    "cannot record the new host key in {}: {e}",
                                    file.display()
                                ),
                            }),
                        }
                    }
                    (_, file) => self.refuse(SshError::UnknownHostKey {
                        host: self.alias.clone(),
                        fingerprint,
                        presented: Box::new(PresentedKey {
                            host_port,
                            hostname: self.hostname.clone(),
                            port: self.port,
                            key_type: key.algorithm().to_string(),
                            key: key.clone(),
                            known_hosts: file.unwrap_or_default(),
                        }),
                    }),
                }
            }
            HostKeyCheck::Changed {
                expected_fingerprint,
                got_fingerprint,
                file,
                line,
            } => self.refuse(SshError::ChangedHostKey {
                host: self.alias.clone(),
                expected_fingerprint,
                got_fingerprint,
                file,
                line,
            }),
            HostKeyCheck::Revoked {
                fingerprint,
                file,
                line,
            } => self.refuse(SshError::RevokedHostKey {
                host: self.alias.clone(),
                fingerprint,
                file,
                line,
            }),
        }
    }
}

impl client::Handler for HostKeyVerifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => Ok(self.verify(key)),
            PublicKeyOrCertificate::Certificate(_) => Ok(self.refuse(SshError::Connect {
                host: self.alias.clone(),
                addr: super::ssh_target::host_port(&self.hostname, self.port),
                detail:
                    "the server presented a host certificate; opsdeck checks plain host keys only"
                        .into(),
            })),
        }
    }
}
