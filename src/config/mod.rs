//! `config.toml`: environments, their providers and settings. Loaded from the
//! XDG config directory or `--config FILE`; errors name file, line and column.

pub mod aws_config;
pub mod config;
pub mod secret_value;
pub mod selfhosted_config;

pub use config::{Config, ConfigError, EnvConfig, GuardsConfig, config_dir};
pub use secret_value::SecretValue;
