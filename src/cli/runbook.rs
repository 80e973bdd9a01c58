//! `opsdeck runbook`: lists runbooks, or prints one with the current keys
//! filled in.

use std::process::ExitCode;

use crate::runtime::outln;

use super::session::{LaunchError, Resolved};

pub fn run(resolved: &Resolved, name: Option<&str>) -> Result<ExitCode, LaunchError> {
    let Some(name) = name else {
        for r in &resolved.runbooks {
            outln!("{:<24} {}", r.name, r.title);
        }
        return Ok(ExitCode::SUCCESS);
    };
    match resolved.runbooks.iter().find(|r| r.name == name) {
        Some(r) => {
            for line in &r.lines {
                outln!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        None => Err(LaunchError::Config(format!(
            "no runbook named '{name}' (available: {})",
            resolved
                .runbooks
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
