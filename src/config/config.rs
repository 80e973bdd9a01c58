//! The configuration file and where it lives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnostic::Diagnostic;

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
    /// `demo` (more providers arrive with their issues).
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
}

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Environment used when `--env` is not given; else the first one.
    pub default_environment: Option<String>,
    pub read_only: Option<bool>,
    #[serde(default)]
    pub environments: BTreeMap<String, EnvConfig>,
    /// Where it was loaded from (set by `load`).
    #[serde(skip)]
    pub path: Option<PathBuf>,
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
