//! SSH to EC2 instances: to the instance's **private IP** (as
//! DescribeInstances gave it; never its Name tag, which the ssh config may
//! spell as another host), through the configured bastion (ProxyJump),
//! over the shared SSH layer with its strict known_hosts checking. Used for
//! `ssh-open` and for the release directories behind deploys and rollback.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::config::aws_config::AwsSshSettings;
use crate::providers::selfhosted::endpoint::with_deadline;
use crate::providers::ssh::{ExecOutput, PresentedKey, SshConfig, SshError, SshPool, SshShell};
use crate::providers::ssh::{SshConnection, SshTarget};
use crate::providers::{ProviderError, ShellProvider};

use super::aws_provider::AwsProvider;

/// Per-command timeout when `[aws.ssh] timeout_ms` is not set.
const DEFAULT_TIMEOUT_MS: u64 = 5_000;

/// What `ssh-open` and rollback say when `[aws.ssh]` is missing.
pub const NOT_CONFIGURED: &str = "SSH to AWS instances is not configured: add [environments.NAME.aws.ssh] with `bastion` (the bastion's alias in your ssh config), `user` and, if needed, `port` and `known_hosts`";

pub struct AwsSsh {
    settings: AwsSshSettings,
    pool: Arc<SshPool>,
    timeout: Duration,
    /// Host keys instances (or the bastion) presented that are not known
    /// yet, by display name, until the operator trusts them.
    presented: Mutex<HashMap<String, PresentedKey>>,
}

impl AwsSsh {
    /// Loads the ssh client config `[aws.ssh]` names (else ~/.ssh/config).
    pub fn new(settings: &AwsSshSettings) -> Result<AwsSsh, String> {
        let config = match &settings.config {
            Some(path) => SshConfig::load(path),
            None => SshConfig::load_default(),
        }
        .map_err(|e| e.to_string())?;
        Ok(AwsSsh {
            settings: settings.clone(),
            pool: Arc::new(SshPool::new(config)),
            timeout: Duration::from_millis(settings.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS)),
            presented: Mutex::new(HashMap::new()),
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How to reach the instance `name` at `private_ip`: the ssh config's
    /// settings for that IP (`Host 10.0.*` patterns apply), with `[aws.ssh]`
    /// over them, through the bastion.
    pub fn target(&self, name: &str, private_ip: &str) -> SshTarget {
        let config = self.pool.config();
        let mut t = config.resolve(private_ip);
        // Errors and logs name the instance and where it was reached.
        t.alias = format!("{name} ({private_ip})");
        t.hostname = private_ip.to_string();
        if let Some(user) = &self.settings.user {
            t.user = user.clone();
        }
        if let Some(port) = self.settings.port {
            t.port = port;
        }
        if let Some(known) = &self.settings.known_hosts {
            t.known_hosts = vec![known.clone()];
        }
        if let Some(bastion) = &self.settings.bastion {
            t.proxy_jump = Some(Box::new(config.resolve(bastion)));
        }
        t
    }

    /// The pooled connection to the instance, bounded (two handshakes when
    /// through the bastion). An unknown host key is kept to be trusted.
    async fn connect(
        &self,
        name: &str,
        private_ip: &str,
    ) -> Result<Arc<SshConnection>, ProviderError> {
        let target = self.target(name, private_ip);
        let result = with_deadline(name, self.timeout * 2, async {
            Ok(self.pool.get_target(&target).await)
        })
        .await?;
        match result {
            Ok(conn) => Ok(conn),
            Err(SshError::UnknownHostKey {
                presented,
                fingerprint,
                host,
            }) => {
                self.lock().insert(name.to_string(), *presented);
                Err(ProviderError::UnknownHostKey {
                    origin: if host == target.alias {
                        name.to_string()
                    } else {
                        // The bastion's own key.
                        format!("{name} (bastion {host})")
                    },
                    fingerprint,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Runs `command` on the instance; its output, whatever its status.
    pub async fn exec(
        &self,
        name: &str,
        private_ip: &str,
        command: &str,
    ) -> Result<ExecOutput, ProviderError> {
        let conn = self.connect(name, private_ip).await?;
        conn.exec(command, self.timeout)
            .await
            .map_err(ProviderError::from)
    }

    /// Runs `command` on the instance; its stdout, or an error naming the
    /// command and its status when it fails.
    pub async fn run(
        &self,
        name: &str,
        private_ip: &str,
        command: &str,
    ) -> Result<String, ProviderError> {
        self.exec(name, private_ip, command)
            .await?
            .into_stdout(name, command)
    }

    /// Checks that a session on the instance can start (bastion and
    /// instance reachable, both host keys known).
    pub async fn prepare(&self, name: &str, private_ip: &str) -> Result<(), ProviderError> {
        self.connect(name, private_ip).await.map(|_| ())
    }

    /// Records the key `name` (or its bastion) presented in `prepare`.
    pub fn trust(&self, name: &str, private_ip: &str) -> Result<(), ProviderError> {
        let removed = self.lock().remove(name);
        crate::providers::ssh::presented_key::trust_presented(name, removed)?;
        let target = self.target(name, private_ip);
        if let Some(jump) = &target.proxy_jump {
            self.pool.forget_target(jump);
        }
        self.pool.forget_target(&target);
        Ok(())
    }

    /// A login shell on the instance with the terminal, until it exits.
    pub async fn interactive(&self, name: &str, private_ip: &str) -> Result<(), ProviderError> {
        let target = self.target(name, private_ip);
        SshShell::new(self.pool.clone())
            .interactive_target(name, &target)
            .await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PresentedKey>> {
        self.presented
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl AwsProvider {
    /// The instance `name` and its private IP, to SSH to.
    async fn ssh_address(&self, name: &str) -> Result<(&AwsSsh, String), ProviderError> {
        let ssh = self.ssh().map_err(|e| match e {
            ProviderError::Refused { detail, .. } => ProviderError::Refused {
                origin: name.to_string(),
                detail,
            },
            other => other,
        })?;
        let i = self.instance_named(name).await?;
        let ip = i.private_ip.ok_or_else(|| ProviderError::Refused {
            origin: name.to_string(),
            detail: format!("{} has no private IP to connect to", i.id),
        })?;
        Ok((ssh, ip))
    }
}

/// `ssh-open` on an AWS fleet: a login shell on the instance's private IP
/// through the bastion; never by its Name tag.
#[async_trait]
impl ShellProvider for AwsProvider {
    async fn interactive(&self, host: &str) -> Result<(), ProviderError> {
        let (ssh, ip) = self.ssh_address(host).await?;
        ssh.interactive(host, &ip).await
    }

    async fn prepare(&self, host: &str) -> Result<(), ProviderError> {
        let (ssh, ip) = self.ssh_address(host).await?;
        ssh.prepare(host, &ip).await
    }

    async fn trust_host(&self, host: &str) -> Result<(), ProviderError> {
        let (ssh, ip) = self.ssh_address(host).await?;
        ssh.trust(host, &ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_the_private_ip_through_the_bastion_never_the_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("ssh_config");
        // A decoy: the instance's Name is also a Host of the ssh config.
        std::fs::write(
            &config,
            "Host web-a1\n  HostName 10.9.9.9\n\nHost bastion\n  HostName 127.0.0.10\n  Port 2222\n  User jump\n\nHost 10.0.*\n  User ec2-user\n",
        )
        .expect("write");
        let ssh = AwsSsh::new(&AwsSshSettings {
            bastion: Some("bastion".into()),
            config: Some(config),
            port: Some(2200),
            known_hosts: Some(dir.path().join("kh")),
            ..AwsSshSettings::default()
        })
        .expect("ssh");
        let t = ssh.target("web-a1", "10.0.1.11");
        assert_eq!(t.hostname, "10.0.1.11");
        assert_eq!(t.port, 2200);
        assert_eq!(t.user, "ec2-user", "the config's Host pattern for the IP");
        assert_eq!(t.known_hosts, vec![dir.path().join("kh")]);
        let jump = t.proxy_jump.as_ref().expect("through the bastion");
        assert_eq!(
            (jump.hostname.as_str(), jump.port, jump.user.as_str()),
            ("127.0.0.10", 2222, "jump")
        );
        assert_eq!(
            t.describe(),
            "ec2-user@10.0.1.11:2200 via jump@127.0.0.10:2222"
        );
    }
}
