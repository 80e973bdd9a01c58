//! `opsdeck ssh-trust`: checks a host's SSH key and adds it to known_hosts
//! once the user has compared its fingerprint.

use std::process::ExitCode;

use crate::runtime::outln;

use super::ask::ask_yes_no;
use super::do_operation::EXIT_FAILED;
use super::session::{LaunchError, Resolved};

/// `opsdeck ssh-trust HOST`: shows the key a host presents and records it in
/// known_hosts once the user confirms the fingerprint.
pub async fn run(resolved: &Resolved, host: &str, yes: bool) -> Result<ExitCode, LaunchError> {
    use crate::providers::ssh::{SshConfig, SshError, SshPool};
    let ssh_config = resolved
        .environment
        .as_ref()
        .and_then(|(_, e)| e.ssh.as_ref())
        .and_then(|s| s.config.clone());
    let config = match &ssh_config {
        Some(path) => SshConfig::load(path),
        None => SshConfig::load_default(),
    }
    .map_err(|e| LaunchError::Config(e.to_string()))?;
    let pool = SshPool::new(config);
    match pool.get(host).await {
        Ok(_) => {
            outln!("{host}: the host key is already known; nothing to do");
            Ok(ExitCode::SUCCESS)
        }
        Err(SshError::UnknownHostKey {
            fingerprint,
            presented,
            ..
        }) => {
            outln!(
                "{host} ({}) presents a {} key with fingerprint\n  {fingerprint}",
                presented.host_port,
                presented.key_type
            );
            let ok = yes
                || ask_yes_no(
                    "Does it match the host's own (ssh-keygen -lf on the host)? Trust it?",
                )
                .unwrap_or_else(|| {
                    outln!("not a terminal: compare the fingerprint, then run again with --yes");
                    false
                });
            if !ok {
                outln!("not trusted: nothing was written");
                return Ok(ExitCode::from(EXIT_FAILED));
            }
            presented.trust().map_err(|e| {
                LaunchError::Config(format!("{}: {e}", presented.known_hosts.display()))
            })?;
            outln!("added to {}", presented.known_hosts.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(LaunchError::Config(e.to_string())),
    }
}
