//! `opsdeck check`: validates config, keymap, theme and runbooks.

use std::process::ExitCode;

use crate::runtime::outln;

/// `opsdeck check`: every diagnostic of config, keymap, theme and runbooks.
pub fn run(cli: &crate::cli::Cli) -> ExitCode {
    match super::session::resolve(cli) {
        Err(e) => {
            outln!("{e}");
            ExitCode::from(2)
        }
        Ok(r) => {
            for d in &r.diagnostics {
                outln!("{d}");
            }
            for w in r.config.iter().flat_map(|c| &c.warnings) {
                outln!("warning: {w}");
            }
            let cfg = r
                .config
                .as_ref()
                .and_then(|c| c.path.as_ref())
                .map_or("no config file (demo fleet)".to_string(), |p| {
                    p.display().to_string()
                });
            if r.diagnostics.is_empty() {
                outln!(
                    "ok: {cfg}; keymap {}; theme {}; {} runbook(s)",
                    r.keymap.layers.join(" + "),
                    r.theme.layers.join(" + "),
                    r.runbooks.len()
                );
                ExitCode::SUCCESS
            } else {
                outln!("{} problem(s)", r.diagnostics.len());
                ExitCode::from(2)
            }
        }
    }
}
