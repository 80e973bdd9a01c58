//! From command line to running session: resolve config, build providers and
//! the `App`, then run the TUI or a headless command.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::core::{PanelId, Timestamp};
use crate::keymap::Keymap;
use crate::providers::demo::{DemoConfig, DemoProvider, Scenario};
use crate::providers::{ObserveProvider, OperateProvider};
use crate::theme::Theme;

use super::app::{App, AppParts};
use super::clock::Clock;
use super::event_loop::{self, LoopStats};
use super::headless;
use super::poller::PollPlan;
use super::terminal_guard::TerminalGuard;

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

pub fn build_session(cli: &Cli) -> Result<Session, LaunchError> {
    let config = if cli.demo {
        None
    } else {
        Config::discover(cli.config.as_deref()).map_err(|e| LaunchError::Config(e.to_string()))?
    };
    let clock = match cli.at {
        Some(ms) => Clock::starting_at(Timestamp::from_millis(ms)),
        None => Clock::system(),
    };
    let env_var = std::env::var("OPSDECK_READ_ONLY").ok();
    let (env_cfg, global_ro, source_label) = match &config {
        None => (None, None, "demo (built-in, no config)".to_string()),
        Some(cfg) => {
            let (name, env) = cfg.environment(cli.environment.as_deref()).map_err(|e| {
                LaunchError::Config(format!(
                    "{}: {e}",
                    cfg.path
                        .as_ref()
                        .map_or("config".into(), |p| p.display().to_string())
                ))
            })?;
            let label = format!("{} ({name})", env.provider);
            (Some((name, env)), cfg.read_only, label)
        }
    };
    let read_only = resolve_read_only(
        cli.read_only,
        env_var.as_deref(),
        env_cfg.as_ref().and_then(|(_, e)| e.read_only),
        global_ro,
    );
    let provider = env_cfg
        .as_ref()
        .map_or("demo", |(_, e)| e.provider.as_str());
    if provider != "demo" {
        return Err(LaunchError::Config(format!(
            "provider '{provider}' is not available in this build (available: demo)"
        )));
    }
    let scenario_name = cli
        .scenario
        .clone()
        .or_else(|| env_cfg.as_ref().and_then(|(_, e)| e.scenario.clone()))
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
        .or_else(|| env_cfg.as_ref().and_then(|(_, e)| e.log_rate))
        .unwrap_or(defaults.log_rate)
        .clamp(0.0, 50_000.0);
    let demo = DemoProvider::new(DemoConfig {
        seed: cli
            .seed
            .or_else(|| env_cfg.as_ref().and_then(|(_, e)| e.seed))
            .unwrap_or(defaults.seed),
        scenario,
        log_rate,
        start: clock.now().plus_millis(-DEMO_WARM_UP_MS),
    });
    let observe: Arc<dyn ObserveProvider> = Arc::new(demo.clone());
    // Read-only by construction: no operate handle exists in this session.
    let operate: Option<Arc<dyn OperateProvider>> = if read_only {
        None
    } else {
        Some(Arc::new(demo))
    };
    let production = env_cfg.as_ref().is_some_and(|(_, e)| e.production);
    let theme = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        Theme::no_color()
    } else {
        Theme::builtin()
    };
    let app = App::new(AppParts {
        observe,
        operate,
        keymap: Keymap::builtin(),
        theme,
        clock,
        plan: PollPlan::default(),
        source_label,
        production,
    });
    Ok(Session { app, is_demo: true })
}

/// Prepares state before the first frame or a headless print.
pub async fn prime(session: &mut Session) -> Vec<crate::core::Msg> {
    let now = session.app.clock.now();
    if session.is_demo {
        session.app.warm_up(now, DEMO_WARM_UP_MS).await;
        Vec::new()
    } else {
        session.app.observe_all_at(now, &PanelId::ALL).await
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
    let mut session = build_session(&cli)?;
    match &cli.command {
        Some(Command::Status { json }) => {
            let failures = prime(&mut session).await;
            let state = &session.app.state;
            if *json {
                let text = serde_json::to_string_pretty(&headless::status_json(state))
                    .map_err(|e| LaunchError::Config(e.to_string()))?;
                println!("{text}");
            } else {
                print!("{}", headless::status_text(state));
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
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        None => run_tui(session).await,
    }
}

async fn run_tui(mut session: Session) -> Result<ExitCode, LaunchError> {
    prime(&mut session).await;
    let mut guard = TerminalGuard::enter()?;
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let mut terminal = ratatui::Terminal::new(backend)?;
    terminal.clear()?;
    let events = crossterm::event::EventStream::new();
    let mut stats = LoopStats::default();
    let exit = event_loop::run(
        &mut terminal,
        events,
        &mut session.app,
        shutdown_signal(),
        &mut stats,
    )
    .await;
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
