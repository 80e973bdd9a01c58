//! `opsdeck audit`: prints the audit log of operations.

use std::process::ExitCode;

use crate::core::operation::Verdict;
use crate::runtime::audit_log::{AuditLog, AuditRecord};
use crate::runtime::outln;

use super::session::LaunchError;

pub fn run(since: Option<&str>, json_out: bool) -> Result<ExitCode, LaunchError> {
    let path = crate::runtime::audit_log::default_path()
        .ok_or_else(|| LaunchError::Config("no data directory for the audit log".into()))?;
    let log = AuditLog::new(path);
    let records = log
        .read_all()
        .map_err(|e| LaunchError::Config(e.to_string()))?;
    let cutoff = match since {
        Some(s) => {
            let d = humantime::parse_duration(s).map_err(|e| {
                LaunchError::Config(format!("--since '{s}': {e} (e.g. 30m, 2h, 7d)"))
            })?;
            Some(std::time::SystemTime::now() - d)
        }
        None => None,
    };
    let keep = |r: &AuditRecord| match cutoff {
        None => true,
        Some(c) => humantime::parse_rfc3339_weak(r.time.trim_end_matches('Z'))
            .or_else(|_| humantime::parse_rfc3339(&r.time))
            .is_ok_and(|t| t >= c),
    };
    let records: Vec<&AuditRecord> = records.iter().filter(|r| keep(r)).collect();
    if json_out {
        for r in &records {
            outln!("{}", serde_json::to_string(r).unwrap_or_default());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() {
        outln!(
            "no operations recorded{} ({})",
            since
                .map(|s| format!(" in the last {s}"))
                .unwrap_or_default(),
            log.path().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{:<24} {:<10} {:<10} {:<16} {:<14} OUTCOME",
        "TIME",
        "USER",
        "ENV",
        "ACTION",
        "TARGET"
    );
    for r in records.iter().filter(|r| r.phase == "intent") {
        let result = records
            .iter()
            .find(|x| x.phase == "result" && x.operation == r.operation);
        let outcome = match result.and_then(|x| x.outcome.as_ref()) {
            Some(Verdict::Succeeded) => "succeeded".to_string(),
            Some(Verdict::Failed(why)) => format!("FAILED: {why}"),
            Some(Verdict::Cancelled(left)) => format!("cancelled: {left}"),
            Some(Verdict::Refused(why)) => format!("refused: {why}"),
            None => crate::runtime::audit_log::incomplete_text(&records, &r.operation),
        };
        let overrides = if r.guard_overrides.is_empty() {
            String::new()
        } else {
            format!(" [override: {}]", r.guard_overrides.join(", "))
        };
        outln!(
            "{:<24} {:<10} {:<10} {:<16} {:<14} {outcome}{overrides}",
            r.time,
            r.user,
            r.environment,
            r.action,
            r.target
        );
        for note in records
            .iter()
            // "step" records are the trail of an unfinished operation, not notes.
            .filter(|x| x.operation == r.operation && x.phase != "step")
            .flat_map(|x| x.notes.iter())
        {
            outln!("{:<24} note: {note}", "");
        }
    }
    Ok(ExitCode::SUCCESS)
}
