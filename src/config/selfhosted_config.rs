//! `[environments.NAME]` settings of a self-hosted fleet: hosts reached over
//! SSH, nginx as the load balancer, MySQL/MariaDB and Redis pairs, Prometheus,
//! release directories for deploys. Secrets are only ever references.

use std::path::PathBuf;

use serde::Deserialize;

/// A secret given by reference, never inline: an environment variable or a
/// file (whose mode must not let others read it).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub env: Option<String>,
    pub file: Option<PathBuf>,
}

impl SecretRef {
    /// Reads the secret. Errors name the variable or file, never the value.
    pub fn read(&self) -> Result<String, String> {
        if let Some(var) = &self.env {
            return std::env::var(var)
                .map_err(|_| format!("secret: environment variable {var} is not set"));
        }
        if let Some(path) = &self.file {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let meta = std::fs::metadata(path)
                    .map_err(|e| format!("secret file {}: {e}", path.display()))?;
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(format!(
                        "secret file {}: mode {mode:o} lets others read it (chmod 600)",
                        path.display()
                    ));
                }
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("secret file {}: {e}", path.display()))?;
            return Ok(text.trim_end_matches(['\n', '\r']).to_string());
        }
        Err("secret: give `env = \"VAR\"` or `file = \"PATH\"`".into())
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SshSettings {
    /// OpenSSH client config (default `~/.ssh/config`).
    pub config: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LbSettings {
    pub name: String,
    pub az: String,
    /// SSH alias of the nginx host.
    pub ssh: String,
    pub upstream_file: String,
    pub access_log: String,
    /// `nginx -t` (with the same -p/-c as the running nginx).
    pub test_command: String,
    pub reload_command: String,
    /// The fleet-wide operation lock file on this host (default:
    /// `.opsdeck.lock` next to `upstream_file`).
    pub lock_file: Option<String>,
    /// A URL nginx itself answers, asked from the console's machine to tell
    /// whether the LB is up (default: the first service probe's URL).
    pub health_url: Option<String>,
    /// nginx `stub_status` page (`http://lb:8080/nginx_status`): active
    /// connections and the request counter, a traffic figure that does not
    /// depend on log timestamps.
    pub status_url: Option<String>,
}

/// `[[environments.NAME.probes]]`: a service URL probed from the console's
/// machine, the way users reach the service (through the load balancer).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProbeSettings {
    pub url: String,
    /// The status a passing probe answers with (default 200).
    #[serde(default = "default_expect_status")]
    pub expect_status: u16,
    /// This probe's own deadline (default 2000 ms, at most 3500: a round,
    /// with the status read after it, must end inside the poll's 5 s).
    #[serde(default = "default_probe_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_expect_status() -> u16 {
    200
}

fn default_probe_timeout_ms() -> u64 {
    2000
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BackendSettings {
    pub name: String,
    pub az: String,
    /// As written in the upstream (`127.0.1.11:8080`).
    pub address: String,
    pub ssh: String,
    pub health_url: String,
    pub version_url: Option<String>,
    /// Releases live in `releases_dir/<version>`; `current` is a symlink.
    pub releases_dir: Option<String>,
    pub current_link: Option<String>,
    #[serde(default)]
    pub logs: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeSettings {
    pub name: String,
    pub az: String,
    /// `host:port` of the server itself.
    pub address: String,
    pub ssh: Option<String>,
    #[serde(default)]
    pub logs: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MysqlSettings {
    pub user: String,
    pub password: SecretRef,
    /// Replication account the rejoined primary uses (default: `user`).
    pub replication_user: Option<String>,
    pub replication_password: Option<SecretRef>,
    pub nodes: Vec<NodeSettings>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub password: Option<SecretRef>,
    pub nodes: Vec<NodeSettings>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSettings {
    pub url: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeploySettings {
    pub service: String,
    /// Run on the backend over SSH; `{version}`, `{releases_dir}`, `{current}`
    /// and `{host}` are filled in. The default switches the `current` symlink:
    /// `ln -sfn {releases_dir}/{version} {current}`.
    /// A docker-compose fleet would use e.g.
    /// `cd /srv/web && IMAGE_TAG={version} docker compose up -d --no-deps web`.
    pub deploy_command: Option<String>,
}

/// Everything a self-hosted environment needs (gathered from `EnvConfig`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelfHostedConfig {
    pub azs: Vec<String>,
    pub ssh: SshSettings,
    pub lb: LbSettings,
    pub backends: Vec<BackendSettings>,
    pub mysql: Option<MysqlSettings>,
    pub redis: Option<RedisSettings>,
    pub prometheus: Option<PrometheusSettings>,
    pub deploys: Option<DeploySettings>,
    /// Per-call timeout in milliseconds (default 3000).
    pub timeout_ms: Option<u64>,
    /// End-to-end service probes.
    pub probes: Vec<ProbeSettings>,
}
