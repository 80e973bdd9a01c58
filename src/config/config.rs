//! The configuration file and where it lives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnostic::Diagnostic;

use super::secret_value::SecretValue;

use super::selfhosted_config::{
    BackendSettings, DeploySettings, LbSettings, MysqlSettings, ProbeSettings, PrometheusSettings,
    RedisSettings, SelfHostedConfig, SshSettings,
};

/// `$XDG_CONFIG_HOME/opsdeck` (on Linux, else `~/.config/opsdeck`).
pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "opsdeck").map(|d| d.config_dir().to_path_buf())
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Diagnostic),
}

/// One environment (`[environments.prod]`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    /// `demo`, `selfhosted` or `aws`.
    pub provider: String,
    pub read_only: Option<bool>,
    /// Production environments get a louder frame.
    #[serde(default)]
    pub production: bool,
    pub region: Option<String>,
    /// Demo provider: scenario name, seed, log lines per second.
    pub scenario: Option<String>,
    pub seed: Option<u64>,
    pub log_rate: Option<f64>,
    /// Theme for this environment (name of a shipped theme or a file).
    pub theme: Option<String>,
    /// Accent colour for this environment's frame and name (`red`, `#ff8800`).
    pub accent: Option<String>,
    /// Discord/Slack-compatible webhook that announces operations. The URL
    /// is a secret (it is the credential): give it by reference,
    /// `{ env = "VAR" }` or `{ file = "PATH" }`; inline still works, with a
    /// warning from `opsdeck check`.
    pub webhook_url: Option<SecretValue>,
    /// Run after a promotion (DNS, app config), with `sh -c`.
    pub post_promote_hook: Option<String>,
    /// Allow `ssh-open` in read-only sessions of this environment.
    #[serde(default)]
    pub allow_ssh_in_read_only: bool,
    #[serde(default)]
    pub guards: GuardsConfig,
    // `provider = "selfhosted"`: hosts over SSH, nginx, databases, monitoring.
    /// Availability zones in display order (default: as the hosts name them).
    #[serde(default)]
    pub azs: Vec<String>,
    pub ssh: Option<SshSettings>,
    pub lb: Option<LbSettings>,
    #[serde(default)]
    pub backends: Vec<BackendSettings>,
    pub mysql: Option<MysqlSettings>,
    pub redis: Option<RedisSettings>,
    pub prometheus: Option<PrometheusSettings>,
    pub deploys: Option<DeploySettings>,
    /// Per-call timeout in milliseconds (default 3000).
    pub timeout_ms: Option<u64>,
    /// End-to-end service probes (`[[environments.NAME.probes]]`).
    #[serde(default)]
    pub probes: Vec<ProbeSettings>,
    // `provider = "aws"`: everything AWS-specific.
    pub aws: Option<super::aws_config::AwsSettings>,
}

impl EnvConfig {
    /// The self-hosted settings, or why they are incomplete.
    pub fn selfhosted(&self) -> Result<SelfHostedConfig, String> {
        let lb = self
            .lb
            .clone()
            .ok_or("provider \"selfhosted\" needs an [environments.NAME.lb] table")?;
        if self.backends.is_empty() {
            return Err("provider \"selfhosted\" needs [[environments.NAME.backends]]".into());
        }
        Ok(SelfHostedConfig {
            azs: self.azs.clone(),
            ssh: self.ssh.clone().unwrap_or_default(),
            lb,
            backends: self.backends.clone(),
            mysql: self.mysql.clone(),
            redis: self.redis.clone(),
            prometheus: self.prometheus.clone(),
            deploys: self.deploys.clone(),
            timeout_ms: self.timeout_ms,
            probes: self.probes.clone(),
        })
    }
}

/// `[guards]` (global) and `[environments.NAME.guards]`: limits for
/// operations and the thresholds of the judgements (`core::assess`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuardsConfig {
    /// Replica lag above this is too high: shown as high, the node degraded,
    /// and promotion refused (default 5). One threshold for screen and guard.
    pub lag_high_seconds: Option<f64>,
    /// A separate limit for the promote guard only; when absent the guard
    /// uses `lag_high_seconds`, so screen and guard agree.
    pub max_promote_lag_seconds: Option<f64>,
    /// How long a drain waits for in-flight requests (default 30).
    pub drain_timeout_seconds: Option<u64>,
    /// How long a switchover waits for the replica to catch up (default 60).
    pub catch_up_timeout_seconds: Option<u64>,
    /// How long a deploy waits for a healthy backend (default 60).
    pub health_timeout_seconds: Option<u64>,
    /// Point the old primary at the new one after a switchover (default true).
    pub rejoin_old_primary: Option<bool>,
}

impl GuardsConfig {
    /// These (an environment's) settings over `global` (the file's top-level
    /// `[guards]`): an environment's value wins where it sets one.
    pub fn over(&self, global: &GuardsConfig) -> GuardsConfig {
        GuardsConfig {
            lag_high_seconds: self.lag_high_seconds.or(global.lag_high_seconds),
            max_promote_lag_seconds: self
                .max_promote_lag_seconds
                .or(global.max_promote_lag_seconds),
            drain_timeout_seconds: self.drain_timeout_seconds.or(global.drain_timeout_seconds),
            catch_up_timeout_seconds: self
                .catch_up_timeout_seconds
                .or(global.catch_up_timeout_seconds),
            health_timeout_seconds: self
                .health_timeout_seconds
                .or(global.health_timeout_seconds),
            rejoin_old_primary: self.rejoin_old_primary.or(global.rejoin_old_primary),
        }
    }

    /// The policy these settings give, over the defaults.
    pub fn policy(&self, hook: Option<String>) -> crate::core::guard::OpsPolicy {
        let d = crate::core::guard::OpsPolicy::default();
        let ms = |s: Option<u64>, default: i64| s.map_or(default, |s| s as i64 * 1000);
        crate::core::guard::OpsPolicy {
            limits: crate::core::assess::Limits {
                lag_high_seconds: self.lag_high_seconds.unwrap_or(d.limits.lag_high_seconds),
                promote_lag_seconds: self.max_promote_lag_seconds,
            },
            drain_timeout_ms: ms(self.drain_timeout_seconds, d.drain_timeout_ms),
            catch_up_timeout_ms: ms(self.catch_up_timeout_seconds, d.catch_up_timeout_ms),
            health_timeout_ms: ms(self.health_timeout_seconds, d.health_timeout_ms),
            rejoin_old_primary: self.rejoin_old_primary.unwrap_or(d.rejoin_old_primary),
            post_promote_hook: hook,
        }
    }
}

/// `[logs]`: how much memory the merged log keeps.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// MiB of log lines kept (default 32, 1 to 4096); the oldest lines past it
    /// are dropped and counted. `--log-budget-mib` wins.
    pub budget_mib: Option<u32>,
}

/// Largest `budget_mib` accepted.
pub const MAX_LOG_BUDGET_MIB: u32 = 4096;

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Environment used when `--env` is not given; else the first one.
    pub default_environment: Option<String>,
    pub read_only: Option<bool>,
    /// Keymap (shipped name or file); the config dir's keymap.toml layers on top.
    pub keymap: Option<String>,
    /// Theme (shipped name or file); an environment's `theme` wins.
    pub theme: Option<String>,
    /// Folder of runbooks (default: the config dir's `runbooks/`).
    pub runbooks: Option<PathBuf>,
    /// `[guards]` for every environment; `[environments.NAME.guards]` wins.
    #[serde(default)]
    pub guards: GuardsConfig,
    /// `[logs]`: the merged log's memory.
    #[serde(default)]
    pub logs: LogsConfig,
    #[serde(default)]
    pub environments: BTreeMap<String, EnvConfig>,
    /// Where it was loaded from (set by `load`).
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// Things that work but should change (a secret written inline);
    /// `opsdeck check` prints them.
    #[serde(skip)]
    pub warnings: Vec<Diagnostic>,
}

impl Config {
    /// The user's config: `explicit` if given (must exist), else `config.toml`
    /// in the config dir if it exists, else `None` (the demo fleet).
    pub fn discover(explicit: Option<&Path>) -> Result<Option<Config>, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match config_dir().map(|d| d.join("config.toml")) {
                Some(p) if p.exists() => p,
                _ => return Ok(None),
            },
        };
        Config::load(&path).map(Some)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut cfg = Config::parse(&text, &path.display().to_string())?;
        cfg.path = Some(path.to_path_buf());
        Ok(cfg)
    }

    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            ConfigError::Invalid(Diagnostic::at_offset(
                file,
                text,
                offset,
                e.message().trim().to_string(),
            ))
        })?;
        let mut cfg = cfg;
        if let Some(mib) = cfg.logs.budget_mib
            && !(1..=MAX_LOG_BUDGET_MIB).contains(&mib)
        {
            let offset = text.find("budget_mib").unwrap_or(0);
            return Err(ConfigError::Invalid(Diagnostic::at_offset(
                file,
                text,
                offset,
                format!("logs.budget_mib is {mib}; it must be 1 to {MAX_LOG_BUDGET_MIB} (MiB)"),
            )));
        }
        for (name, env) in &cfg.environments {
            if env.webhook_url.as_ref().is_some_and(SecretValue::is_inline) {
                // Point at this environment's `webhook_url` line.
                let table = text.find(&format!("[environments.{name}]")).unwrap_or(0);
                let offset = text[table..]
                    .find("webhook_url")
                    .map_or(table, |o| table + o);
                cfg.warnings.push(Diagnostic::at_offset(
                    file,
                    text,
                    offset,
                    format!(
                        "environments.{name}.webhook_url is written inline; the URL is a secret: give it as {{ env = \"VAR\" }} or {{ file = \"PATH\" }}"
                    ),
                ));
            }
        }
        for (name, env) in &cfg.environments {
            let problem = match (env.provider.as_str(), &env.aws) {
                ("aws", None) => Some(format!(
                    "environments.{name}: provider \"aws\" needs an [environments.{name}.aws] table"
                )),
                ("aws", Some(aws)) => aws.problems().first().map(|p| {
                    format!("environments.{name}.{p}")
                        .replace("environments.NAME.", &format!("environments.{name}."))
                }),
                (_, Some(_)) => Some(format!(
                    "environments.{name}.aws is set but provider is \"{}\" (set provider = \"aws\")",
                    env.provider
                )),
                _ => None,
            };
            if let Some(message) = problem {
                let offset = text
                    .find(&format!("[environments.{name}.aws"))
                    .or_else(|| text.find(&format!("[environments.{name}]")))
                    .unwrap_or(0);
                return Err(ConfigError::Invalid(Diagnostic::at_offset(
                    file, text, offset, message,
                )));
            }
        }
        if let Some(name) = &cfg.default_environment
            && !cfg.environments.contains_key(name)
        {
            let offset = text.find("default_environment").unwrap_or(0);
            return Err(ConfigError::Invalid(Diagnostic::at_offset(
                file,
                text,
                offset,
                format!("default_environment '{name}' is not defined under [environments]"),
            )));
        }
        Ok(cfg)
    }

    /// The environment to use: `wanted`, else `default_environment`, else the first.
    pub fn environment(&self, wanted: Option<&str>) -> Result<(String, EnvConfig), String> {
        let name = wanted
            .map(str::to_string)
            .or_else(|| self.default_environment.clone())
            .or_else(|| self.environments.keys().next().cloned())
            .ok_or_else(|| "no environments defined (add [environments.NAME])".to_string())?;
        match self.environments.get(&name) {
            Some(env) => Ok((name, env.clone())),
            None => Err(format!(
                "unknown environment '{name}' (defined: {})",
                self.environments
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_budget_mib_is_read_and_bounded() {
        let cfg = Config::parse("[logs]\nbudget_mib = 64\n", "c.toml").expect("valid");
        assert_eq!(cfg.logs.budget_mib, Some(64));
        assert_eq!(
            Config::parse("", "c.toml").expect("valid").logs.budget_mib,
            None
        );
        for bad in ["0", "5000"] {
            let err = Config::parse(&format!("[logs]\nbudget_mib = {bad}\n"), "c.toml")
                .expect_err("out of range");
            let text = err.to_string();
            assert!(text.contains("c.toml:2:"), "{text}");
            assert!(text.contains("1 to 4096"), "{text}");
        }
        let err = Config::parse("[logs]\nbudget = 3\n", "c.toml").expect_err("unknown key");
        assert!(err.to_string().contains("budget"), "{err}");
    }

    #[test]
    fn parses_environments() {
        let cfg = Config::parse(
            "default_environment = \"demo\"\n[environments.demo]\nprovider = \"demo\"\nseed = 7\n",
            "c.toml",
        )
        .expect("valid");
        let (name, env) = cfg.environment(None).expect("env");
        assert_eq!(name, "demo");
        assert_eq!(env.seed, Some(7));
    }

    #[test]
    fn guards_layer_and_one_lag_threshold_serves_screen_and_guard() {
        let cfg = Config::parse(
            "[guards]\nlag_high_seconds = 8\ndrain_timeout_seconds = 9\n\
             [environments.a]\nprovider = \"demo\"\n\
             [environments.b]\nprovider = \"demo\"\n[environments.b.guards]\n\
             lag_high_seconds = 3\nmax_promote_lag_seconds = 1\n",
            "c.toml",
        )
        .expect("valid");
        let policy = |name: &str| {
            let (_, env) = cfg.environment(Some(name)).expect("env");
            env.guards.over(&cfg.guards).policy(None)
        };
        let a = policy("a");
        assert_eq!(a.limits.lag_high_seconds, 8.0);
        // No separate promote limit configured: the guard uses the same one.
        assert_eq!(a.limits.promote_limit(), 8.0);
        assert_eq!(a.drain_timeout_ms, 9_000);
        let b = policy("b");
        assert_eq!(b.limits.lag_high_seconds, 3.0);
        assert_eq!(b.limits.promote_limit(), 1.0);
        assert_eq!(b.drain_timeout_ms, 9_000);
    }

    #[test]
    fn an_inline_webhook_url_works_with_a_warning_and_a_reference_without() {
        let cfg = Config::parse(
            "[environments.demo]\nprovider = \"demo\"\nwebhook_url = \"https://hooks.example/T0K3N\"\n",
            "c.toml",
        )
        .expect("valid");
        let (_, env) = cfg.environment(None).expect("env");
        assert_eq!(
            env.webhook_url.as_ref().map(|w| w.read()),
            Some(Ok("https://hooks.example/T0K3N".to_string()))
        );
        assert_eq!(cfg.warnings.len(), 1, "{:?}", cfg.warnings);
        let w = cfg.warnings[0].to_string();
        assert!(
            w.starts_with("c.toml:3:1: environments.demo.webhook_url is written inline"),
            "{w}"
        );
        assert!(
            !w.contains("T0K3N"),
            "the warning never shows the secret: {w}"
        );
        let cfg = Config::parse(
            "[environments.demo]\nprovider = \"demo\"\nwebhook_url = { env = \"HOOK\" }\n",
            "c.toml",
        )
        .expect("valid");
        assert!(cfg.warnings.is_empty());
        assert!(!format!("{cfg:?}").contains("T0K3N"));
    }

    #[test]
    fn probes_parse_with_defaults_and_unknown_fields_name_the_line() {
        let text = "[environments.prod]\nprovider = \"selfhosted\"\n\n[[environments.prod.probes]]\nurl = \"http://lb/\"\n\n[[environments.prod.probes]]\nurl = \"http://lb/api\"\nexpect_status = 204\ntimeout_ms = 500\n";
        let cfg = Config::parse(text, "c.toml").expect("parses");
        let (_, env) = cfg.environment(Some("prod")).expect("prod");
        assert_eq!(env.probes.len(), 2);
        assert_eq!(
            (env.probes[0].expect_status, env.probes[0].timeout_ms),
            (200, 2000)
        );
        assert_eq!(
            (env.probes[1].expect_status, env.probes[1].timeout_ms),
            (204, 500)
        );
        let err = Config::parse(
            "[environments.prod]\nprovider = \"selfhosted\"\n[[environments.prod.probes]]\nurl = \"http://lb/\"\nexpect = 200\n",
            "c.toml",
        )
        .expect_err("unknown probe field");
        assert!(
            err.to_string()
                .starts_with("c.toml:5:1: unknown field `expect`"),
            "{err}"
        );
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let err = Config::parse(
            "[environments.demo]\nprovider = \"demo\"\nsed = 7\n",
            "c.toml",
        )
        .expect_err("unknown field");
        let text = err.to_string();
        assert!(
            text.starts_with("c.toml:3:1: unknown field `sed`"),
            "{text}"
        );
        let err = Config::parse("default_environment = \"x\"\n", "c.toml").expect_err("undefined");
        assert!(
            err.to_string()
                .starts_with("c.toml:1:1: default_environment 'x'"),
            "{err}"
        );
    }
}
