//! The binary's entry: parses the command line, starts the async runtime
//! and hands each subcommand to its module (no subcommand: the console).

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

use super::session::{LaunchError, build_session, resolve};

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log_guard = crate::runtime::logging::init();
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
            crate::runtime::terminal_guard::restore_if_raw();
            eprintln!("opsdeck: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run_cli(cli: Cli) -> Result<ExitCode, LaunchError> {
    match &cli.command {
        Some(Command::Check) => Ok(super::check::run(&cli)),
        Some(Command::Audit { since, json }) => super::audit::run(since.as_deref(), *json),
        Some(Command::Keys { format, view }) => {
            super::keys::run(&resolve(&cli)?, *format, view.as_deref())
        }
        Some(Command::SshTrust { host, yes }) => {
            super::ssh_trust::run(&resolve(&cli)?, host, *yes).await
        }
        Some(Command::Runbook { name }) => super::runbook::run(&resolve(&cli)?, name.as_deref()),
        Some(Command::Do {
            action,
            target,
            version,
            yes,
            override_guard,
            confirm,
        }) => {
            super::do_operation::run(
                &mut build_session(&cli).await?,
                super::do_operation::DoArgs {
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
        Some(Command::Status { json }) => {
            super::status::run(&mut build_session(&cli).await?, *json).await
        }
        Some(Command::Snapshot {
            view,
            width,
            height,
        }) => super::snapshot::run(&mut build_session(&cli).await?, view, *width, *height).await,
        None => {
            let session = build_session(&cli).await?;
            let history = session.history_ms();
            Ok(crate::runtime::tui_session::run_tui(session.app, history).await?)
        }
    }
}
