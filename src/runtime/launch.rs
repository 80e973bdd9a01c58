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
use super::poller::PollSchedule;
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
        schedule: PollSchedule::default(),
        source_label,
        production,
        shell,
        audit_path,
        webhook,
    });
    if let Some((_, env)) = &env_cfg {
        let global = resolved
            .config
            .as_ref()
            .map(|c| c.guards.clone())
            .unwrap_or_default();
        app.state.policy = env
            .guards
            .over(&global)
            .policy(env.post_promote_hook.clone());
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
            PanelId::Service,
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
    // `run_cli` returns only after every operation it started has ended and
    // written its audit result (or been recorded as abandoned), so what the
    // short shutdown below cuts off is pollers waiting on a slow source,
    // never an operation winding down.
    let result = runtime.block_on(run_cli(cli));
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
            let service_failures = headless::service_failures(state);
            if failures.is_empty()
                && state.failing_panels().is_empty()
                && service_failures.is_empty()
            {
                Ok(ExitCode::SUCCESS)
            } else {
                for (panel, e) in state.failing_panels() {
                    eprintln!("opsdeck: {} source failed: {}", panel.name(), e.message);
                }
                for f in service_failures {
                    eprintln!("opsdeck: {f}");
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

/// After the loop ends, how long the session still waits for an operation
/// task to end before recording it as abandoned. The loop normally ends only
/// once the operation wound down (or was abandoned), so this is a backstop
/// for an error path, as long as a signal's deadline.
const WIND_DOWN_BACKSTOP: std::time::Duration =
    std::time::Duration::from_millis(crate::core::quit::SIGNAL_DEADLINE_MS as u64);

async fn run_tui(mut session: Session) -> Result<ExitCode, LaunchError> {
    // Signals from the start: one that arrives while the first data loads
    // is handled as soon as the loop runs (no operation can run before).
    let signals = super::signals::Signals::install()?;
    let _forward = signals.forward(session.app.tx.clone());
    prime(&mut session).await;
    session.app.report_unfinished();
    let mut guard = TerminalGuard::enter()?;
    let mut terminal = fresh_terminal()?;
    let mut stats = LoopStats::default();
    // Signals arrive as messages (above); nothing else ends the loop from outside.
    let shutdown = std::future::pending::<()>();
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
    // Give the terminal back first: what follows draws nothing.
    guard.suspend();
    drop(guard);
    // No operation task outlives the session unrecorded: a wound-down one has
    // written its result; an abandoned one gets its result written here.
    session.app.wind_down(WIND_DOWN_BACKSTOP).await;
    let exit = exit?;
    tracing::info!(
        ?exit,
        frames = stats.frames,
        messages = stats.messages,
        "console closed"
    );
    Ok(session
        .app
        .state
        .quitting
        .exit_status
        .map_or(ExitCode::SUCCESS, ExitCode::from))
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
