//! Deploys on an AWS fleet: the release directories on each backend
//! instance, read and switched over SSH (to its private IP, through the
//! bastion) with the same code as a self-hosted fleet. The running version
//! is where `current` points; a backend out of the ALB's pool (which the ALB
//! no longer health-checks) is judged by the configured health check run on
//! the instance itself.

use std::collections::BTreeMap;

use futures::future::join_all;

use crate::config::aws_config::AwsDeploySettings;
use crate::core::fleet::{Deploy, DeploysObservation, HostRole, HostState, RunningVersion};
use crate::providers::ProviderError;
use crate::providers::selfhosted::endpoint::with_deadline;
use crate::providers::selfhosted::release_dirs::{
    self, DEFAULT_DEPLOY, ReleaseDirs, parse_listing, release_of_link,
};
use crate::providers::selfhosted::shell_text::shell_quote;

use super::aws_provider::AwsProvider;
use super::aws_ssh::AwsSsh;
use super::instances::Ec2Instance;

/// The last line of the probe: the health check's exit status.
const HEALTH_MARK: &str = "OPSDECK-HEALTH ";

/// What one backend's probe found.
#[derive(Clone, Debug, Default)]
pub struct ReleaseProbe {
    /// The release `current` points at.
    pub version: Option<String>,
    /// The health check's verdict (asked only for backends out of the pool).
    pub healthy: Option<bool>,
    /// Why the backend could not be read.
    pub error: Option<ProviderError>,
}

impl AwsProvider {
    /// `[aws.deploys]` with the SSH it needs, when both are configured.
    fn deploy_access(&self) -> Option<(&AwsDeploySettings, &AwsSsh)> {
        Some((self.settings().deploys.as_ref()?, self.ssh().ok()?))
    }

    /// Why rollback cannot run here (`None`: it can).
    pub(super) fn deploy_unavailable(&self) -> Option<String> {
        let env = self.environment();
        match (&self.settings().deploys, &self.settings().ssh) {
            (Some(_), Some(_)) => None,
            (None, _) => Some(format!(
                "not configured on this AWS fleet: add [environments.{env}.aws.deploys] (releases_dir, health_check) and [environments.{env}.aws.ssh] (bastion, user)"
            )),
            (Some(_), None) => Some(format!(
                "needs SSH to the instances: add [environments.{env}.aws.ssh] (bastion, user)"
            )),
        }
    }

    /// The release directories of instance `i`.
    fn release_dirs_of(d: &AwsDeploySettings, i: &Ec2Instance) -> ReleaseDirs {
        let ip = i.private_ip.as_deref().unwrap_or_default();
        let place = |t: &str| t.replace("{host}", &i.name).replace("{private_ip}", ip);
        ReleaseDirs::new(
            &place(&d.releases_dir),
            d.current.as_deref().map(place).as_deref(),
            &i.name,
        )
    }

    /// The health check as run on instance `i`.
    fn health_command(d: &AwsDeploySettings, i: &Ec2Instance) -> String {
        d.health_check
            .replace(
                "{private_ip}",
                &shell_quote(i.private_ip.as_deref().unwrap_or_default()),
            )
            .replace("{host}", &shell_quote(&i.name))
    }

    /// Backends that can be reached now (running, with a private IP).
    fn reachable_backends(found: &[Ec2Instance]) -> impl Iterator<Item = (&Ec2Instance, &str)> {
        found.iter().filter_map(|i| {
            (i.role == HostRole::Backend && i.state == HostState::Running)
                .then_some(())
                .and(i.private_ip.as_deref().map(|ip| (i, ip)))
        })
    }

    /// One SSH command per running backend: the version `current` points
    /// at, and for those in `out_of_pool` the health check's verdict.
    pub(super) async fn probe_releases(
        &self,
        found: &[Ec2Instance],
        out_of_pool: &[String],
    ) -> BTreeMap<String, ReleaseProbe> {
        let Some((d, ssh)) = self.deploy_access() else {
            return BTreeMap::new();
        };
        let probes = Self::reachable_backends(found).map(|(i, ip)| async move {
            let dirs = Self::release_dirs_of(d, i);
            let mut script = format!("{}; echo", dirs.current_script());
            if out_of_pool.contains(&i.name) {
                script.push_str(&format!(
                    "; ( {} ) </dev/null >/dev/null 2>&1; echo \"{HEALTH_MARK}$?\"",
                    Self::health_command(d, i)
                ));
            }
            let out =
                with_deadline(&i.name, ssh.timeout() * 3, ssh.exec(&i.name, ip, &script)).await;
            let probe = match out {
                Ok(out) => {
                    let mut lines = out.stdout.lines();
                    let version = lines.next().and_then(release_of_link);
                    let healthy = lines
                        .find_map(|l| l.strip_prefix(HEALTH_MARK))
                        .map(|status| status.trim() == "0");
                    ReleaseProbe {
                        version,
                        healthy,
                        error: None,
                    }
                }
                Err(e) => ReleaseProbe {
                    error: Some(e),
                    ..ReleaseProbe::default()
                },
            };
            (i.name.clone(), probe)
        });
        join_all(probes).await.into_iter().collect()
    }

    /// The deploy history from every backend's release directories (empty
    /// when `[aws.deploys]` is not configured).
    pub(super) async fn release_history(&self) -> Result<DeploysObservation, ProviderError> {
        let Some((d, ssh)) = self.deploy_access() else {
            return Ok(DeploysObservation::default());
        };
        let service = d.service.clone().unwrap_or_else(|| "web".into());
        let mut found = self.instances_seen();
        if found.is_empty() {
            // Not observed yet (a fresh `opsdeck do`): one DescribeInstances.
            found = self.refresh_instances().await?;
        }
        let listings = join_all(Self::reachable_backends(&found).map(|(i, ip)| async move {
            let dirs = Self::release_dirs_of(d, i);
            let out = with_deadline(
                &i.name,
                ssh.timeout() * 3,
                ssh.run(&i.name, ip, &dirs.listing_script()),
            )
            .await?;
            Ok::<_, ProviderError>((i.name.clone(), dirs, parse_listing(&out)))
        }))
        .await
        // A backend that cannot be read fails the panel: its last good
        // history stays on screen, marked stale, rather than a partial one
        // that looks complete.
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        let mut history: Vec<Deploy> = Vec::new();
        let mut current: BTreeMap<String, Option<String>> = BTreeMap::new();
        for (name, dirs, listing) in listings {
            release_dirs::merge(&mut history, &service, &dirs, &listing);
            current.insert(name, listing.current);
        }
        release_dirs::sort_history(&mut history);
        let running = found
            .iter()
            .filter(|i| i.role == HostRole::Backend)
            .map(|i| RunningVersion {
                backend: i.name.clone(),
                az: i.az.clone(),
                version: current.get(&i.name).cloned().flatten(),
            })
            .collect();
        Ok(DeploysObservation {
            service,
            history,
            running,
        })
    }

    /// Deploys `version` on `backend` over SSH: refused before anything
    /// runs when the release is not on the instance.
    pub(super) async fn deploy_release(
        &self,
        backend: &str,
        version: &str,
    ) -> Result<(), ProviderError> {
        let ssh = self.ssh()?;
        let d = self
            .settings()
            .deploys
            .as_ref()
            .ok_or_else(|| ProviderError::Refused {
                origin: backend.to_string(),
                detail: self.deploy_unavailable().unwrap_or_default(),
            })?;
        let i = self.instance_named(backend).await?;
        let ip = i.private_ip.clone().ok_or_else(|| ProviderError::Failed {
            origin: backend.to_string(),
            detail: format!("{} has no private IP to reach it by", i.id),
        })?;
        let dirs = Self::release_dirs_of(d, &i);
        ssh.run(backend, &ip, &dirs.check_script(version))
            .await
            .map_err(|e| match e {
                ProviderError::Failed { .. } => ProviderError::Failed {
                    origin: backend.to_string(),
                    detail: format!("release {version} is not in {}", dirs.releases),
                },
                other => other,
            })?;
        let template = d.deploy_command.as_deref().unwrap_or(DEFAULT_DEPLOY);
        ssh.run(backend, &ip, &dirs.fill(template, version))
            .await
            .map(|_| ())
    }
}
