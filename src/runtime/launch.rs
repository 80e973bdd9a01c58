//! From command line to running session: resolve config, build providers and
//! the `App`, then run the TUI or a headless command.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::{Config, EnvConfig, config_dir};
use crate::core::runbook::RunbookDoc;
use crate::core::state::{MessageLevel, StatusMessage};
use crate::core::{PanelId, Timestamp};
use crate::diagnostic::Diagnostic;
use crate::keymap::keymap_loader::LoadedKeymap;
use crate::providers::demo::{DemoConfig, DemoProvider, Scenario};
use crate::providers::selfhosted::SelfHostedProvider;
use crate::providers::{ObserveProvider, OperateProvider};
use crate::providers::{ProviderError, ShellProvider};
use crate::theme::{ColorDepth, LoadedTheme};

use super::app::{App, AppParts};
use super::clock::Clock;
use super::event_loop::{self, LoopStats};
use super::headless;
use super::poller::PollPlan;
use super::terminal_guard::TerminalGuard;
use super::webhook::Webhook;

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

pub fn build_session(cli: &Cli) -> Result<Session, LaunchError> {
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
        (other, _) => {
            return Err(LaunchError::Config(format!(
                "provider '{other}' is not available in this build (available: demo, selfhosted)"
            )));
        }
    };
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
    let audit_path = super::audit_log::default_path().ok_or_else(|| {
        LaunchError::Config("no data directory for the audit log (is HOME set?)".into())
    })?;
    let mut app = App::new(AppParts {
        observe,
        operate,
        keymap: resolved.keymap.keymap.clone(),
        theme: resolved.theme.theme.clone(),
        clock,
        plan: PollPlan::default(),
        source_label,
        production,
        shell,
        audit_path,
        webhook,
    });
    if let Some((_, env)) = &env_cfg {
        app.state.policy = env.guards.policy(env.post_promote_hook.clone());
    }
    app.state.runbooks = resolved.runbooks.clone();
    if let Some(first) = resolved.diagnostics.first() {
        for d in &resolved.diagnostics {
            tracing::warn!("{d}");
        }
        let more = resolved.diagnostics.len() - 1;
        let text = if more == 0 {
            format!("{first} (defaults used; `opsdeck check` to re-check)")
        } else {
            format!("{first} (+{more} more; defaults used; `opsdeck check` lists them)")
        };
        app.state.message = Some(StatusMessage {
            text,
            level: MessageLevel::Warning,
            at: app.clock.now(),
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
    let now = session.app.clock.now();
    if session.is_demo {
        session.app.warm_up(now, DEMO_WARM_UP_MS).await;
        Vec::new()
    } else {
        // Replication first: the hosts view names database roles from it.
        let order = [
            PanelId::Replication,
            PanelId::Hosts,
            PanelId::Deploys,
            PanelId::Alerts,
            PanelId::Logs,
        ];
        session.app.observe_all_at(now, &order).await
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log_guard = super::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("opsdeck: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run_cli(cli));
    // Pollers may still be waiting on a slow source: don't wait for them.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(e) => {
            super::terminal_guard::restore_if_raw();
            eprintln!("opsdeck: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run_cli(cli: Cli) -> Result<ExitCode, LaunchError> {
    match &cli.command {
        Some(Command::Check) => return Ok(super::commands::check(&cli)),
        Some(Command::Audit { since, json }) => {
            return super::commands::audit(since.as_deref(), *json);
        }
        Some(Command::Keys { format, view }) => {
            return super::commands::keys(&resolve(&cli)?, *format, view.as_deref());
        }
        Some(Command::SshTrust { host, yes }) => {
            return super::commands::ssh_trust(&resolve(&cli)?, host, *yes).await;
        }
        Some(Command::Runbook { name }) => {
            return super::commands::runbook(&resolve(&cli)?, name.as_deref());
        }
        _ => {}
    }
    let mut session = build_session(&cli)?;
    match &cli.command {
        Some(Command::Do {
            action,
            target,
            version,
            yes,
            override_guard,
            confirm,
        }) => {
            super::commands::do_operation(
                &mut session,
                super::commands::DoArgs {
                    action,
                    target,
                    version: version.as_deref(),
                    yes: *yes,
                    override_guard: *override_guard,
                    confirm: confirm.as_deref(),
                },
            )
            .await
        }
        Some(
            Command::Check
            | Command::Audit { .. }
            | Command::Keys { .. }
            | Command::Runbook { .. }
            | Command::SshTrust { .. },
        ) => Ok(ExitCode::SUCCESS),
        Some(Command::Status { json }) => {
            let failures = prime(&mut session).await;
            let state = &session.app.state;
            if *json {
                let text = serde_json::to_string_pretty(&headless::status_json(state))
                    .map_err(|e| LaunchError::Config(e.to_string()))?;
                outln!("{text}");
            } else {
                out!("{}", headless::status_text(state));
            }
            if failures.is_empty() && state.failing_panels().is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                for (panel, e) in state.failing_panels() {
                    eprintln!("opsdeck: {} source failed: {}", panel.name(), e.message);
                }
                Ok(ExitCode::FAILURE)
            }
        }
        Some(Command::Snapshot {
            view,
            width,
            height,
        }) => {
            let Some(view) = headless::parse_view(view) else {
                return Err(LaunchError::Config(format!(
                    "unknown view '{view}' (overview, instances, replication, deploys, logs)"
                )));
            };
            prime(&mut session).await;
            let text = headless::render_text(&mut session.app, view, *width, *height)?;
            out!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        None => run_tui(session).await,
    }
}

async fn run_tui(mut session: Session) -> Result<ExitCode, LaunchError> {
    prime(&mut session).await;
    let mut guard = TerminalGuard::enter()?;
    let mut terminal = fresh_terminal()?;
    let mut stats = LoopStats::default();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let exit = loop {
        // A fresh input stream each time: the old one must not read keys
        // meant for the shell while it runs.
        let events = crossterm::event::EventStream::new();
        let exit = event_loop::run(
            &mut terminal,
            events,
            &mut session.app,
            &mut shutdown,
            &mut stats,
        )
        .await;
        match exit {
            Ok(event_loop::Exit::Shell(host)) => {
                // Connect (and check the host key) while the console still
                // owns the screen, so an unknown key can be asked about.
                if let Some(shell) = session.app.shell.clone() {
                    match shell.prepare(&host).await {
                        Ok(()) => {}
                        Err(ProviderError::UnknownHostKey { fingerprint, .. }) => {
                            session
                                .app
                                .dispatch(crate::core::Msg::SshHostUnknown { host, fingerprint });
                            continue;
                        }
                        Err(e) => {
                            session.app.dispatch(crate::core::Msg::SshEnded {
                                host,
                                result: Err(e.to_string()),
                            });
                            continue;
                        }
                    }
                }
                let result = run_shell(&mut guard, &session.app, &host).await;
                // A new terminal redraws everything and, unlike `clear()`, does
                // not ask the terminal for the cursor position (the reply could
                // be lost while the input stream changes hands).
                terminal = fresh_terminal()?;
                session
                    .app
                    .dispatch(crate::core::Msg::SshEnded { host, result });
                session.app.state.dirty = true;
            }
            other => break other,
        }
    };
    guard.suspend();
    drop(guard);
    let exit = exit?;
    tracing::info!(
        ?exit,
        frames = stats.frames,
        messages = stats.messages,
        "console closed"
    );
    Ok(ExitCode::SUCCESS)
}

/// A ratatui terminal on stdout over a cleared screen.
fn fresh_terminal()
-> std::io::Result<ratatui::Terminal<ratatui::backend::CrosstermBackend<std::io::Stdout>>> {
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
}

/// Suspends the console, runs the shell with the terminal, and takes the
/// terminal back whatever happens.
async fn run_shell(guard: &mut TerminalGuard, app: &App, host: &str) -> Result<(), String> {
    let Some(shell) = app.shell.clone() else {
        return Err("SSH is not available in this session".into());
    };
    guard.suspend();
    let result = shell.interactive(host).await.map_err(|e| e.to_string());
    match guard.resume() {
        Ok(()) => result,
        Err(e) => Err(format!("could not take the terminal back: {e}")),
    }
}

/// Resolves on SIGTERM, SIGHUP or SIGINT, so the loop returns and the guard
/// restores the terminal.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = hup.recv() => {}
        _ = int.recv() => {}
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
