//! `[environments.NAME.aws]`: everything AWS-specific about an environment
//! whose `provider = "aws"`. Unknown keys are errors (a typo such as
//! `target_group` would otherwise silently observe nothing).
//!
//! These settings are plain data and build without the SDK (the `aws` cargo
//! feature), so `opsdeck check` validates them in every build.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// The services an endpoint override may name (`endpoints = { logs = "…" }`).
pub const AWS_SERVICES: [&str; 7] = [
    "ec2",
    "elbv2",
    "rds",
    "elasticache",
    "cloudwatch",
    "logs",
    "sts",
];

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    /// Named profile: `--profile` beats this, this beats `AWS_PROFILE`, which
    /// beats the default chain.
    pub profile: Option<String>,
    /// One endpoint for every service (moto, LocalStack).
    pub endpoint_url: Option<String>,
    /// Per-service endpoints, over `endpoint_url`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// Checked with STS before anything else: a session on the wrong account
    /// stops before it shows (or touches) anything.
    pub expected_account: Option<String>,
    /// Attempts per call, retries included (default 3, at most 10).
    pub max_attempts: Option<u32>,
    /// Per-attempt timeout in milliseconds (default 2000); a call with its
    /// retries gives up after `attempt × max_attempts` plus backoff.
    pub timeout_ms: Option<u64>,
    pub instances: Option<AwsInstances>,
    pub alb: Option<AwsAlb>,
    pub rds: Option<AwsRds>,
    pub elasticache: Option<AwsElastiCache>,
    pub alarms: Option<AwsAlarms>,
    pub logs: Option<AwsLogs>,
    /// SSH to the instances (private IP, through the bastion): `ssh-open`,
    /// and the release directories of `deploys`.
    pub ssh: Option<AwsSshSettings>,
    /// Deploy history and rollback from release directories over SSH.
    pub deploys: Option<AwsDeploySettings>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsSshSettings {
    /// The bastion's alias in the ssh client config (its `HostName`, `User`,
    /// `IdentityFile`, known hosts): every instance is reached through it
    /// (ProxyJump). Without one, instances are reached directly (a VPN).
    pub bastion: Option<String>,
    /// OpenSSH client config (default `~/.ssh/config`); `Host` patterns that
    /// match an instance's private IP apply to it.
    pub config: Option<PathBuf>,
    /// Login user on the instances (default: the ssh config's for the IP).
    pub user: Option<String>,
    /// sshd port on the instances (default: the ssh config's, else 22).
    pub port: Option<u16>,
    /// known_hosts file for the instances (default: the ssh config's). An
    /// unknown key is refused and shown with its fingerprint to trust.
    pub known_hosts: Option<PathBuf>,
    /// Per-command timeout in milliseconds (default 5000).
    pub timeout_ms: Option<u64>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsDeploySettings {
    /// The service name shown in the deploys view (default `web`).
    pub service: Option<String>,
    /// One directory per version on every backend; `{host}` is the
    /// instance's name.
    pub releases_dir: String,
    /// The symlink to the running release (default `current` beside
    /// `releases_dir`); `{host}` as above.
    pub current: Option<String>,
    /// Run on the backend over SSH to deploy (default
    /// `ln -sfn {releases_dir}/{version} {current}`).
    pub deploy_command: Option<String>,
    /// Run on the backend over SSH: exit 0 means healthy. The ALB does not
    /// check a deregistered target, so a rollback waits on this before it
    /// registers the backend again; `{private_ip}` and `{host}` are filled in.
    pub health_check: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsInstances {
    /// Tag filters, ANDed (`{ Environment = "prod" }`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The tag that names an instance (default `Name`; the instance id when absent).
    #[serde(default = "default_name_tag")]
    pub name_tag: String,
    /// The tag that gives its role: `backend`, `bastion`, `monitoring` (default `Role`).
    #[serde(default = "default_role_tag")]
    pub role_tag: String,
}

fn default_name_tag() -> String {
    "Name".into()
}

fn default_role_tag() -> String {
    "Role".into()
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsAlb {
    /// Target group names or ARNs.
    #[serde(default)]
    pub target_groups: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsRds {
    /// DB instance identifiers (primary and replicas).
    #[serde(default)]
    pub instances: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsElastiCache {
    #[serde(default)]
    pub replication_groups: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsAlarms {
    /// Only alarms whose name starts with this are shown.
    pub prefix: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsLogs {
    /// Log groups; stream names are instance ids or Name tags.
    #[serde(default)]
    pub groups: Vec<String>,
}

impl AwsSettings {
    /// What is wrong with these settings, if anything (beyond what serde checks).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for key in self.endpoints.keys() {
            if !AWS_SERVICES.contains(&key.as_str()) {
                out.push(format!(
                    "aws.endpoints: unknown service '{key}' (known: {})",
                    AWS_SERVICES.join(", ")
                ));
            }
        }
        let urls = self.endpoint_url.iter().chain(self.endpoints.values());
        for url in urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                out.push(format!(
                    "aws: endpoint '{url}' must start with http:// or https://"
                ));
            }
        }
        if let Some(n) = self.max_attempts
            && !(1..=10).contains(&n)
        {
            out.push(format!("aws.max_attempts: {n} is outside 1..=10"));
        }
        if let Some(a) = &self.expected_account
            && (a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            out.push(format!(
                "aws.expected_account: '{a}' is not a 12-digit account id"
            ));
        }
        if self.instances.is_none() && self.alb.is_none() {
            out.push(
                "aws: configure [environments.NAME.aws.instances] or [environments.NAME.aws.alb] \
                 (nothing to observe)"
                    .into(),
            );
        }
        if let Some(d) = &self.deploys {
            if self.ssh.is_none() {
                out.push(
                    "aws.deploys needs [environments.NAME.aws.ssh] (bastion, user): the release directories are read over SSH"
                        .into(),
                );
            }
            if d.releases_dir.trim().is_empty() {
                out.push("aws.deploys.releases_dir is empty".into());
            }
            if d.health_check.trim().is_empty() {
                out.push("aws.deploys.health_check is empty".into());
            }
        }
        if let Some(s) = &self.ssh {
            if s.bastion.as_deref().is_some_and(|b| b.trim().is_empty()) {
                out.push("aws.ssh.bastion is empty (omit it to connect directly)".into());
            }
            if s.port == Some(0) {
                out.push("aws.ssh.port: 0 is not a port".into());
            }
            if s.timeout_ms == Some(0) {
                out.push("aws.ssh.timeout_ms: 0 would time out every command".into());
            }
        }
        out
    }

    /// The endpoint for one service: its own override, else the shared one.
    pub fn endpoint_for(&self, service: &str) -> Option<&str> {
        self.endpoints
            .get(service)
            .or(self.endpoint_url.as_ref())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AwsSettings, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn the_documented_shape_parses() {
        let s = parse(
            r#"
profile = "prod"
endpoint_url = "http://127.0.0.1:5000"
endpoints = { logs = "http://127.0.0.1:5001" }
expected_account = "123456789012"
max_attempts = 3
[instances]
tags = { Environment = "prod" }
name_tag = "Name"
role_tag = "Role"
[alb]
target_groups = ["prod-web"]
[rds]
instances = ["prod-db", "prod-db-replica"]
[elasticache]
replication_groups = ["prod-redis"]
[alarms]
prefix = "prod-"
[logs]
groups = ["/prod/web/app"]
"#,
        )
        .expect("parses");
        assert!(s.problems().is_empty(), "{:?}", s.problems());
        assert_eq!(s.endpoint_for("logs"), Some("http://127.0.0.1:5001"));
        assert_eq!(s.endpoint_for("ec2"), Some("http://127.0.0.1:5000"));
        assert_eq!(s.instances.expect("instances").tags["Environment"], "prod");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e = parse("[alb]\ntarget_group = [\"x\"]\n").expect_err("typo refused");
        assert!(e.contains("target_group"), "{e}");
        let s = parse(
            "endpoints = { s3 = \"http://x\" }\nmax_attempts = 0\nexpected_account = \"12\"\n[alb]\n",
        )
        .expect("parses");
        let p = s.problems().join("\n");
        assert!(p.contains("unknown service 's3'"), "{p}");
        assert!(p.contains("max_attempts: 0"), "{p}");
        assert!(p.contains("12-digit"), "{p}");
    }

    #[test]
    fn ssh_and_deploys_parse_and_deploys_need_ssh() {
        let s = parse(
            r#"
[instances]
[ssh]
bastion = "prod-bastion"
config = "/etc/opsdeck/ssh_config"
user = "deploy"
port = 2222
known_hosts = "/etc/opsdeck/known_hosts"
timeout_ms = 4000
[deploys]
service = "web"
releases_dir = "/srv/app/releases"
current = "/srv/app/current"
deploy_command = "ln -sfn {releases_dir}/{version} {current}"
health_check = "curl -fsS -m 2 http://{private_ip}:8080/health"
"#,
        )
        .expect("parses");
        assert!(s.problems().is_empty(), "{:?}", s.problems());
        assert_eq!(
            s.ssh.as_ref().and_then(|x| x.bastion.as_deref()),
            Some("prod-bastion")
        );
        let e = parse("[ssh]\nbastoin = 'b'\n").expect_err("typo refused");
        assert!(e.contains("bastoin"), "{e}");
        let e = parse("[deploys]\nreleases_dir = '/r'\n").expect_err("health_check required");
        assert!(e.contains("health_check"), "{e}");
        let s = parse("[instances]\n[deploys]\nreleases_dir = '/r'\nhealth_check = 'true'\n")
            .expect("parses");
        let p = s.problems().join("\n");
        assert!(
            p.contains("aws.deploys needs [environments.NAME.aws.ssh]"),
            "{p}"
        );
    }
}
