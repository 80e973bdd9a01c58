//! From command line to session: resolve config, keymap, theme and
//! runbooks, build the providers and the `App`.

use std::sync::Arc;

use crate::cli::Cli;
use crate::config::{Config, EnvConfig, config_dir};
use crate::core::runbook::RunbookDoc;
use crate::core::{Msg, Timestamp};
use crate::diagnostic::Diagnostic;
use crate::keymap::keymap_loader::LoadedKeymap;
use crate::providers::demo::{DemoConfig, DemoProvider, Scenario};
use crate::providers::selfhosted::SelfHostedProvider;
use crate::providers::{ObserveProvider, OperateProvider, ShellProvider};
use crate::runtime::poller::PollSchedule;
use crate::runtime::webhook::Webhook;
use crate::runtime::{App, AppParts, Clock};
use crate::theme::{ColorDepth, LoadedTheme};

/// How much history the demo fleet replays before the first frame.
const DEMO_WARM_UP_MS: i64 = 3 * 60 * 1000;

/// A top-level error: printed once, after the terminal is restored.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{0}")]
    Config(String),
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Everything resolved from the command line and config.
pub struct Session {
    pub app: App,
    pub is_demo: bool,
    pub resolved: Resolved,
}

/// Read-only wins if any layer asks for it, in precedence order: flag, then
/// `OPSDECK_READ_ONLY`, then the environment's config, then the global config.
/// A higher layer that says "not read-only" overrides a lower one, except that
/// nothing can turn off the flag.
pub fn resolve_read_only(
    flag: bool,
    env_var: Option<&str>,
    env_cfg: Option<bool>,
    global_cfg: Option<bool>,
) -> bool {
    if flag {
        return true;
    }
    if let Some(v) = env_var {
        let v = v.trim().to_ascii_lowercase();
        if !v.is_empty() {
            return !matches!(v.as_str(), "0" | "false" | "no" | "off");
        }
    }
    env_cfg.or(global_cfg).unwrap_or(false)
}

/// Everything resolved from the command line and the config files, with the
/// diagnostics of every user file.
pub struct Resolved {
    pub config: Option<Config>,
    pub environment: Option<(String, EnvConfig)>,
    pub read_only: bool,
    pub keymap: LoadedKeymap,
    pub theme: LoadedTheme,
    pub runbooks: Vec<RunbookDoc>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads config, keymap, theme and runbooks as the CLI and config select them.
pub fn resolve(cli: &Cli) -> Result<Resolved, LaunchError> {
    let config = if cli.demo {
        None
    } else {
        Config::discover(cli.config.as_deref()).map_err(|e| LaunchError::Config(e.to_string()))?
    };
    let environment = match &config {
        None => None,
        Some(cfg) => Some(cfg.environment(cli.environment.as_deref()).map_err(|e| {
            LaunchError::Config(format!(
                "{}: {e}",
                cfg.path
                    .as_ref()
                    .map_or("config".into(), |p| p.display().to_string())
            ))
        })?),
    };
    let env_var = std::env::var("OPSDECK_READ_ONLY").ok();
    let read_only = resolve_read_only(
        cli.read_only,
        env_var.as_deref(),
        environment.as_ref().and_then(|(_, e)| e.read_only),
        config.as_ref().and_then(|c| c.read_only),
    );
    let dir = config_dir();
    let user_file = |name: &str| dir.as_ref().map(|d| d.join(name));
    let keymap_choice = cli
        .keymap
        .clone()
        .or_else(|| config.as_ref().and_then(|c| c.keymap.clone()));
    let keymap = crate::keymap::load(
        keymap_choice.as_deref(),
        user_file("keymap.toml").as_deref(),
    );
    let theme_choice = cli
        .theme
        .clone()
        .or_else(|| environment.as_ref().and_then(|(_, e)| e.theme.clone()))
        .or_else(|| config.as_ref().and_then(|c| c.theme.clone()));
    let mut theme = crate::theme::load(theme_choice.as_deref(), user_file("theme.toml").as_deref());
    if let Some(accent) = environment.as_ref().and_then(|(_, e)| e.accent.as_deref()) {
        match theme.theme.with_accent(accent) {
            Ok(t) => theme.theme = t,
            Err(e) => theme.diagnostics.push(Diagnostic::new(
                &config
                    .as_ref()
                    .and_then(|c| c.path.as_ref())
                    .map_or("config".into(), |p| p.display().to_string()),
                0,
                0,
                format!("accent: {e}"),
            )),
        }
    }
    let depth = ColorDepth::detect(|k| std::env::var(k).ok());
    theme.theme = theme.theme.degrade(depth);
    let runbook_dir = cli
        .runbooks
        .clone()
        .or_else(|| config.as_ref().and_then(|c| c.runbooks.clone()))
        .or_else(|| user_file("runbooks"));
    let (runbooks, runbook_diags) = crate::runbook::load(runbook_dir.as_deref(), &keymap.keymap);
    let mut diagnostics = keymap.diagnostics.clone();
    diagnostics.extend(theme.diagnostics.iter().cloned());
    diagnostics.extend(runbook_diags);
    Ok(Resolved {
        config,
        environment,
        read_only,
        keymap,
        theme,
        runbooks,
        diagnostics,
    })
}

pub async fn build_session(cli: &Cli) -> Result<Session, LaunchError> {
    let resolved = resolve(cli)?;
    let clock = match cli.at {
        Some(ms) => Clock::starting_at(Timestamp::from_millis(ms)),
        None => Clock::system(),
    };
    let env_cfg = resolved.environment.clone();
    let source_label = match &env_cfg {
        None => "demo (built-in, no config)".to_string(),
        Some((name, env)) => format!("{} ({name})", env.provider),
    };
    let read_only = resolved.read_only;
    let provider = env_cfg
        .as_ref()
        .map_or("demo", |(_, e)| e.provider.as_str());
    let ssh_allowed = !read_only
        || env_cfg
            .as_ref()
            .is_some_and(|(_, e)| e.allow_ssh_in_read_only);
    #[cfg_attr(not(feature = "aws"), allow(unused_mut))]
    let mut schedule = PollSchedule::default();
    let (observe, operate, shell, is_demo): Providers = match (provider, &env_cfg) {
        ("demo", _) => {
            let demo = demo_provider(cli, env_cfg.as_ref().map(|(_, e)| e), clock)?;
            // Read-only by construction: no operate handle exists in this session.
            let operate: Option<Arc<dyn OperateProvider>> =
                (!read_only).then(|| Arc::new(demo.clone()) as Arc<dyn OperateProvider>);
            let shell: Option<Arc<dyn ShellProvider>> =
                ssh_allowed.then(|| Arc::new(demo.clone()) as Arc<dyn ShellProvider>);
            (Arc::new(demo), operate, shell, true)
        }
        ("selfhosted", Some((name, env))) => {
            let cfg = env
                .selfhosted()
                .map_err(|e| LaunchError::Config(format!("environment '{name}': {e}")))?;
            let fleet = Arc::new(
                SelfHostedProvider::new(name, env.region.clone(), cfg)
                    .map_err(|e| LaunchError::Config(e.to_string()))?,
            );
            let operate: Option<Arc<dyn OperateProvider>> =
                (!read_only).then(|| fleet.clone() as Arc<dyn OperateProvider>);
            let shell: Option<Arc<dyn ShellProvider>> =
                ssh_allowed.then(|| fleet.clone() as Arc<dyn ShellProvider>);
            (fleet, operate, shell, false)
        }
        #[cfg(feature = "aws")]
        ("aws", Some((name, env))) => {
            let fleet = crate::providers::aws::AwsProvider::connect(
                name,
                env,
                cli.region.as_deref(),
                cli.profile.as_deref(),
                read_only,
            )
            .await
            .map_err(LaunchError::Config)?;
            schedule = PollSchedule::aws(fleet.round_timeout());
            let fleet = Arc::new(fleet);
            // Drain, undrain, promote and rollback under the fleet lock; a
            // read-only session has no write client at all.
            let operate: Option<Arc<dyn OperateProvider>> =
                (!read_only).then(|| fleet.clone() as Arc<dyn OperateProvider>);
            // ssh-open to the instance's private IP through the bastion;
            // without [aws.ssh] it says what to configure.
            let shell: Option<Arc<dyn ShellProvider>> =
                ssh_allowed.then(|| fleet.clone() as Arc<dyn ShellProvider>);
            (fleet, operate, shell, false)
        }
        (other, _) => {
            return Err(LaunchError::Config(format!(
                "provider '{other}' is not available in this build (available: {})",
                if cfg!(feature = "aws") {
                    "demo, selfhosted, aws"
                } else {
                    "demo, selfhosted; aws needs the `aws` cargo feature"
                }
            )));
        }
    };
    // The status bar names the credentials in use: `aws (prod) · profile prod · 123456789012`.
    let info = observe.info();
    let mut source_label = source_label;
    if let Some(p) = &info.profile {
        source_label.push_str(&format!(" · profile {p}"));
    }
    if let Some(a) = &info.account {
        source_label.push_str(&format!(" · {a}"));
    }
    let production = env_cfg.as_ref().is_some_and(|(_, e)| e.production);
    let webhook = match env_cfg.as_ref().and_then(|(_, e)| e.webhook_url.as_ref()) {
        Some(secret) => {
            let url = secret
                .read()
                .map_err(|e| LaunchError::Config(format!("webhook_url: {e}")))?;
            Some(Webhook::new(&url).map_err(LaunchError::Config)?)
        }
        None => None,
    };
    let audit_path = crate::runtime::audit_log::default_path().ok_or_else(|| {
        LaunchError::Config("no data directory for the audit log (is HOME set?)".into())
    })?;
    let mut app = App::new(AppParts {
        observe,
        operate,
        keymap: resolved.keymap.keymap.clone(),
        theme: resolved.theme.theme.clone(),
        clock,
        schedule,
        source_label,
        production,
        shell,
        audit_path,
        webhook,
    });
    let policy = env_cfg.as_ref().map(|(_, env)| {
        let global = resolved
            .config
            .as_ref()
            .map(|c| c.guards.clone())
            .unwrap_or_default();
        env.guards
            .over(&global)
            .policy(env.post_promote_hook.clone())
    });
    let warning = resolved.diagnostics.first().map(|first| {
        for d in &resolved.diagnostics {
            tracing::warn!("{d}");
        }
        let more = resolved.diagnostics.len() - 1;
        if more == 0 {
            format!("{first} (defaults used; `opsdeck check` to re-check)")
        } else {
            format!("{first} (+{more} more; defaults used; `opsdeck check` lists them)")
        }
    });
    app.dispatch(Msg::Configured {
        policy,
        runbooks: resolved.runbooks.clone(),
        warning,
    });
    let budget_mib = cli
        .log_budget_mib
        .or_else(|| resolved.config.as_ref().and_then(|c| c.logs.budget_mib));
    if let Some(mib) = budget_mib {
        app.dispatch(Msg::LogBudget {
            bytes: mib as usize * 1024 * 1024,
        });
    }
    Ok(Session {
        app,
        is_demo,
        resolved,
    })
}

/// What a session observes, operates and opens shells with, and whether it
/// is the demo fleet (which replays a few minutes of history before the
/// first frame).
type Providers = (
    Arc<dyn ObserveProvider>,
    Option<Arc<dyn OperateProvider>>,
    Option<Arc<dyn ShellProvider>>,
    bool,
);

/// The demo fleet as the command line and config set it up.
fn demo_provider(
    cli: &Cli,
    env: Option<&EnvConfig>,
    clock: Clock,
) -> Result<DemoProvider, LaunchError> {
    let scenario_name = cli
        .scenario
        .clone()
        .or_else(|| env.and_then(|e| e.scenario.clone()))
        .unwrap_or_else(|| "default".into());
    let scenario = Scenario::from_name(&scenario_name).ok_or_else(|| {
        LaunchError::Config(format!(
            "unknown scenario '{scenario_name}' (available: {})",
            Scenario::ALL
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let defaults = DemoConfig::default();
    let log_rate = cli
        .log_rate
        .or_else(|| env.and_then(|e| e.log_rate))
        .unwrap_or(defaults.log_rate)
        .clamp(0.0, 50_000.0);
    Ok(DemoProvider::new(DemoConfig {
        seed: cli
            .seed
            .or_else(|| env.and_then(|e| e.seed))
            .unwrap_or(defaults.seed),
        scenario,
        log_rate,
        start: clock.now().plus_millis(-DEMO_WARM_UP_MS),
    })
    .with_lock_dir(
        directories::ProjectDirs::from("", "", "opsdeck").map_or_else(std::env::temp_dir, |d| {
            d.state_dir().unwrap_or(d.data_dir()).to_path_buf()
        }),
    ))
}

/// Prepares state before the first frame or a headless print.
pub async fn prime(session: &mut Session) -> Vec<crate::core::Msg> {
    session.app.prime(session.history_ms()).await
}

impl Session {
    /// How much history to replay before the first frame: only the demo
    /// fleet has a past to replay.
    pub fn history_ms(&self) -> Option<i64> {
        self.is_demo.then_some(DEMO_WARM_UP_MS)
    }
}
#[cfg(test)]
mod tests {
    use super::resolve_read_only;

    #[test]
    fn read_only_precedence() {
        assert!(resolve_read_only(true, Some("0"), Some(false), Some(false)));
        assert!(resolve_read_only(false, Some("1"), Some(false), None));
        assert!(!resolve_read_only(false, Some("0"), Some(true), Some(true)));
        assert!(resolve_read_only(false, None, Some(true), Some(false)));
        assert!(!resolve_read_only(false, None, Some(false), Some(true)));
        assert!(resolve_read_only(false, None, None, Some(true)));
        assert!(!resolve_read_only(false, None, None, None));
        assert!(resolve_read_only(false, Some(""), None, Some(true)));
    }
}
