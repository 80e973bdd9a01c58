//! Command-line interface (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "opsdeck",
    version,
    about = "Terminal operations console for a web service in two availability zones",
    long_about = "Terminal operations console for a web service in two availability zones.\n\n\
        With no configuration file, opsdeck runs on a built-in demo fleet."
)]
pub struct Cli {
    /// Use the built-in demo fleet, even when a config file exists.
    #[arg(long, global = true)]
    pub demo: bool,
    /// Demo scenario: `default` (incidents now and then), `calm`, or `lb-outage` (the load balancer freezes now and then).
    #[arg(long, global = true, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Seed for the demo fleet; the same seed gives the same run.
    #[arg(long, global = true, value_name = "N")]
    pub seed: Option<u64>,
    /// Demo log lines per second (default 20, up to 50000).
    #[arg(long, global = true, value_name = "N")]
    pub log_rate: Option<f64>,
    /// MiB of log lines kept in memory (default 32; over the config's `[logs] budget_mib`).
    #[arg(long, global = true, value_name = "MIB",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::config::config::MAX_LOG_BUDGET_MIB)))]
    pub log_budget_mib: Option<u32>,
    /// Config file (default: $XDG_CONFIG_HOME/opsdeck/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Environment from the config file.
    #[arg(long = "env", global = true, value_name = "NAME")]
    pub environment: Option<String>,
    /// AWS: the named credentials profile (over the environment's `aws.profile` and AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS: the region (over the environment's `region` and AWS_REGION).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Observe only: no action can change the fleet. Also OPSDECK_READ_ONLY=1.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Keymap: a shipped name (default, arrows) or a file.
    #[arg(long, global = true, value_name = "NAME|FILE")]
    pub keymap: Option<String>,
    /// Theme: a shipped name (default, light, high-contrast, colorblind) or a file.
    #[arg(long, global = true, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// Folder of runbooks (default: $XDG_CONFIG_HOME/opsdeck/runbooks).
    #[arg(long, global = true, value_name = "DIR")]
    pub runbooks: Option<PathBuf>,
    /// Start the clock at this time (milliseconds since the epoch), for
    /// reproducible snapshots.
    #[arg(long, global = true, value_name = "MS", hide = true)]
    pub at: Option<i64>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Observe the fleet once, print it and exit (non-zero if a source failed).
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Render one frame of a view as plain text.
    Snapshot {
        /// overview, instances, replication, deploys or logs.
        #[arg(long, default_value = "overview")]
        view: String,
        #[arg(long, default_value_t = 120)]
        width: u16,
        #[arg(long, default_value_t = 36)]
        height: u16,
    },
    /// List the active keymap (from the action registry and your keymap).
    Keys {
        #[arg(long, value_enum, default_value_t = KeysFormat::Table)]
        format: KeysFormat,
        /// Only the keys in effect in this view.
        #[arg(long)]
        view: Option<String>,
    },
    /// Validate config, keymap, theme and runbooks; exit 2 on any diagnostic.
    Check,
    /// Print a runbook with the current keys filled in.
    Runbook {
        /// Runbook name (file stem); without it, list them.
        name: Option<String>,
    },
    /// Run an operation without the TUI: exit 0 on success, 1 on failure,
    /// 3 when a guard (or read-only mode) refuses.
    Do {
        /// drain-backend, undrain-backend, promote-replica, rollback-deploy.
        action: String,
        /// Backend, replica, or service (for rollback-deploy).
        target: String,
        /// rollback-deploy: the version to run (default: the last good one).
        #[arg(long)]
        version: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Override a guard's refusal (needs --confirm TARGET).
        #[arg(long)]
        override_guard: bool,
        /// The target's name, typed again: confirms an override or an emergency.
        #[arg(long, value_name = "TARGET")]
        confirm: Option<String>,
    },
    /// Check a host's SSH key and, after you compare its fingerprint, add it to
    /// known_hosts (the console refuses unknown hosts).
    SshTrust {
        /// Host alias from the environment's SSH config.
        host: String,
        /// Trust without asking (only after checking the fingerprint another way).
        #[arg(long)]
        yes: bool,
    },
    /// Print the audit log of operations.
    Audit {
        /// Only records newer than this (e.g. 30m, 2h, 7d).
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeysFormat {
    Table,
    Markdown,
    Json,
}
