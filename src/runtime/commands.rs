//! Headless commands besides `status` and `snapshot`: `keys`, `check`,
//! `runbook`, `do` and `audit`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use serde_json::json;
use tokio::sync::mpsc;

use crate::cli::KeysFormat;
use crate::core::action::{ActionId, REGISTRY, Scope};
use crate::core::key::format_sequence;
use crate::core::operation::{OpRequest, Operation, StepStatus, Verdict};
use crate::core::ops::{self, Confirmation, Decision};
use crate::core::view::ViewId;
use crate::core::{Msg, PanelId, plan};
use crate::keymap::Keymap;

use super::audit_log::{AuditLog, AuditRecord};
use super::launch::{LaunchError, Resolved, Session};
use super::operation_runner::{CancelFlag, OpContext, OpJob, Progress, run_operation};

/// One row of `opsdeck keys`.
struct KeyRow {
    section: &'static str,
    keys: String,
    action: &'static str,
    doc: &'static str,
    mutates: bool,
}

fn key_rows(keymap: &Keymap, view: Option<ViewId>) -> Vec<KeyRow> {
    let mut rows = Vec::new();
    let sections: Vec<Scope> = match view {
        Some(v) => vec![Scope::View(v), Scope::Global],
        None => {
            let mut s = vec![Scope::Global];
            s.extend(ViewId::ALL.iter().map(|v| Scope::View(*v)));
            s.extend([Scope::Dialog, Scope::Runbook]);
            s
        }
    };
    for scope in sections {
        let bindings = match (view, scope) {
            // Global keys the view overrides do not apply there.
            (Some(v), Scope::Global) => keymap
                .effective_bindings(v)
                .into_iter()
                .filter(|b| {
                    !keymap
                        .bindings(Scope::View(v))
                        .iter()
                        .any(|o| o.keys == b.keys)
                })
                .collect(),
            _ => keymap.bindings(scope),
        };
        // One row per action, with all of its keys.
        let mut by_action: Vec<(ActionId, Vec<String>)> = Vec::new();
        for b in bindings {
            let k = format_sequence(&b.keys);
            match by_action.iter_mut().find(|(a, _)| *a == b.action) {
                Some((_, ks)) => ks.push(k),
                None => by_action.push((b.action, vec![k])),
            }
        }
        by_action.sort_by_key(|(a, _)| *a as usize);
        for (action, keys) in by_action {
            let spec = action.spec();
            rows.push(KeyRow {
                section: scope.name(),
                keys: keys.join(", "),
                action: spec.name,
                doc: spec.doc,
                mutates: spec.mutates,
            });
        }
    }
    rows
}

pub fn keys(
    resolved: &Resolved,
    format: KeysFormat,
    view: Option<&str>,
) -> Result<ExitCode, LaunchError> {
    let view = match view {
        Some(v) => Some(ViewId::from_name(v).ok_or_else(|| {
            LaunchError::Config(format!(
                "unknown view '{v}' (overview, instances, replication, deploys, logs)"
            ))
        })?),
        None => None,
    };
    let rows = key_rows(&resolved.keymap.keymap, view);
    let ro = resolved.read_only;
    let flag = |m: bool| match (m, ro) {
        (true, true) => "mutates (read-only: disabled)",
        (true, false) => "mutates",
        _ => "",
    };
    match format {
        KeysFormat::Json => {
            let v: Vec<_> = rows
                .iter()
                .map(|r| {
                    json!({
                        "section": r.section, "keys": r.keys, "action": r.action,
                        "description": r.doc, "mutates": r.mutates,
                        "disabled": r.mutates && ro,
                    })
                })
                .collect();
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        KeysFormat::Markdown => {
            outln!("| section | keys | action | description | mutates |");
            outln!("|---|---|---|---|---|");
            for r in &rows {
                let keys: Vec<String> = r.keys.split(", ").map(|k| format!("`{k}`")).collect();
                outln!(
                    "| {} | {} | `{}` | {} | {} |",
                    r.section,
                    keys.join(", "),
                    r.action,
                    r.doc,
                    flag(r.mutates)
                );
            }
        }
        KeysFormat::Table => {
            let kw = rows
                .iter()
                .map(|r| r.keys.chars().count())
                .max()
                .unwrap_or(4)
                .max(4);
            let aw = rows
                .iter()
                .map(|r| r.action.len())
                .max()
                .unwrap_or(6)
                .max(6);
            outln!(
                "{:<11} {:<kw$}  {:<aw$}  DESCRIPTION",
                "SECTION",
                "KEYS",
                "ACTION"
            );
            for r in &rows {
                let mark = if r.mutates {
                    format!("  [{}]", flag(true))
                } else {
                    String::new()
                };
                outln!(
                    "{:<11} {:<kw$}  {:<aw$}  {}{mark}",
                    r.section,
                    r.keys,
                    r.action,
                    r.doc
                );
            }
            let unbound: Vec<&str> = REGISTRY
                .iter()
                .filter(|s| resolved.keymap.keymap.keys_for(s.id, None).is_empty())
                .map(|s| s.name)
                .collect();
            if view.is_none() && !unbound.is_empty() {
                outln!(
                    "\nwithout a key (use the palette, `:`): {}",
                    unbound.join(", ")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `opsdeck check`: every diagnostic of config, keymap, theme and runbooks.
pub fn check(cli: &crate::cli::Cli) -> ExitCode {
    match super::launch::resolve(cli) {
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

pub fn runbook(resolved: &Resolved, name: Option<&str>) -> Result<ExitCode, LaunchError> {
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

/// Exit codes of `opsdeck do`.
const EXIT_FAILED: u8 = 1;
const EXIT_REFUSED: u8 = 3;

pub struct DoArgs<'a> {
    pub action: &'a str,
    pub target: &'a str,
    pub version: Option<&'a str>,
    pub yes: bool,
    pub override_guard: bool,
    pub confirm: Option<&'a str>,
}

pub async fn do_operation(
    session: &mut Session,
    args: DoArgs<'_>,
) -> Result<ExitCode, LaunchError> {
    let Some(action) =
        ActionId::from_name(args.action).filter(|a| a.spec().mutates && *a != ActionId::SshOpen)
    else {
        let ops: Vec<&str> = REGISTRY
            .iter()
            .filter(|s| s.mutates && s.id != ActionId::SshOpen)
            .map(|s| s.name)
            .collect();
        return Err(LaunchError::Config(format!(
            "'{}' is not an operation (one of: {})",
            args.action,
            ops.join(", ")
        )));
    };
    let failures = session
        .app
        .observe_all_at(session.app.clock.now(), &PanelId::ALL)
        .await;
    for f in &failures {
        if let Msg::SourceFailed { source, error, .. } = f {
            eprintln!("warning: {source}: {error}");
        }
    }
    let state = &session.app.state;
    let target = if action == ActionId::RollbackDeploy {
        let service = state
            .deploys
            .data
            .as_ref()
            .map(|d| d.service.clone())
            .unwrap_or_default();
        if args.target != service {
            return Err(LaunchError::Config(format!(
                "rollback-deploy: unknown service '{}' (this environment runs '{service}')",
                args.target
            )));
        }
        args.version.map(str::to_string)
    } else {
        Some(args.target.to_string())
    };
    let request = match plan::resolve(state, action, target.as_deref()) {
        Ok(r) => r,
        Err(e) => return Err(LaunchError::Config(e)),
    };
    outln!("{}", request.summary());
    for line in plan::preview(&request, state) {
        outln!("  {line}");
    }
    for line in plan::capability_notes(&request, state) {
        outln!("  {line}");
    }
    // The same decision the console's dialog makes (`core::ops::decide`).
    let confirmation = Confirmation {
        typed: args.confirm,
        override_guards: args.override_guard,
    };
    let decision = ops::decide(state, request, &confirmation);
    let ctx = session.app.ops_context();
    let (request, steps) = match (decision, ctx.is_some()) {
        (Decision::ReadOnly { would, .. }, _) => {
            outln!("refused: read-only session; nothing was sent (it would {would})");
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        (Decision::Run { request, .. } | Decision::NeedsTyped { request, .. }, false) => {
            // No operate handle means read-only, whatever the state says.
            outln!(
                "refused: read-only session; nothing was sent (it would {})",
                plan::effect_sentence(&request, state)
            );
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        (Decision::Refused(why), _) => {
            outln!("refused: {why}");
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        (
            Decision::NeedsTyped {
                expected, refusals, ..
            },
            true,
        ) => {
            for r in &refusals {
                outln!("refused by guard '{}': {}", r.guard, r.reason);
            }
            if refusals.is_empty() {
                outln!("refused: an emergency failover needs --confirm {expected}");
            } else {
                outln!("to override: --override-guard --confirm {expected}");
            }
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        (
            Decision::Run {
                request,
                steps,
                overridden,
            },
            true,
        ) => {
            for r in &overridden {
                outln!("guard '{}' overridden: {}", r.guard, r.reason);
            }
            (request, steps)
        }
    };
    let Some(ctx) = ctx else {
        return Ok(ExitCode::from(EXIT_REFUSED));
    };
    if !args.yes && !confirm_on_stdin(&request) {
        outln!("not confirmed: nothing was sent");
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    let labels: Vec<String> = steps.iter().map(|s| s.label()).collect();
    // From here on SIGTERM/SIGHUP/SIGINT cancel safely instead of killing.
    let signals = super::signals::Signals::install()?;
    // The runner reports into an unbounded channel and never waits on it.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cancel = CancelFlag::default();
    let op = Operation::new(1, request.clone(), steps.clone(), ctx.clock.now());
    let runner = {
        let job = OpJob {
            id: 1,
            request,
            plan: steps,
            policy: state.policy.clone(),
            cancel: cancel.clone(),
        };
        let ctx = ctx.clone();
        tokio::spawn(async move { run_operation(&ctx, &Progress::channel(tx), job).await })
    };
    let end = super::signals::supervise(&ctx, op, runner, cancel, &mut rx, signals, |msg| {
        print_progress(msg, &labels)
    })
    .await;
    Ok(match (end.signal, end.verdict) {
        (Some(sig), _) => ExitCode::from(sig.exit_status()),
        (None, Some(Verdict::Succeeded)) => ExitCode::SUCCESS,
        (None, Some(Verdict::Refused(_))) => ExitCode::from(EXIT_REFUSED),
        _ => ExitCode::from(EXIT_FAILED),
    })
}

fn confirm_on_stdin(request: &OpRequest) -> bool {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!("stdin is not a terminal: pass --yes to run without asking");
        return false;
    }
    out!("Run {}? [y/N] ", request.summary());
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    stdin.lock().read_line(&mut line).is_ok() && matches!(line.trim(), "y" | "Y" | "yes")
}

fn print_progress(msg: &Msg, labels: &[String]) {
    match msg {
        Msg::OperationStep {
            index,
            status,
            detail,
            ..
        } => {
            let label = labels.get(*index).map_or("?", String::as_str);
            let d = detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            match status {
                StepStatus::Running if detail.is_none() => outln!("  ▶ {}. {label}", index + 1),
                // Countdowns are for the console; a log-friendly print skips them.
                StepStatus::Running => {}
                StepStatus::Done => outln!("  ✔ {}. {label}{d}", index + 1),
                StepStatus::Failed(why) => outln!("  ✖ {}. {label}: {why}", index + 1),
                StepStatus::Skipped => outln!("  – {}. {label}: skipped", index + 1),
                StepStatus::Pending => {}
            }
        }
        Msg::OperationNote { note, .. } => outln!("  note: {note}"),
        Msg::OperationFinished { verdict, .. } => match verdict {
            Verdict::Succeeded => outln!("✔ succeeded (verified)"),
            Verdict::Failed(why) => outln!("✖ failed: {why}"),
            Verdict::Cancelled(left) => outln!("cancelled: {left}"),
            Verdict::Refused(why) => outln!("refused: {why}"),
        },
        _ => {}
    }
}

pub fn audit(since: Option<&str>, json_out: bool) -> Result<ExitCode, LaunchError> {
    let path = super::audit_log::default_path()
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
            None => super::audit_log::incomplete_text(&records, &r.operation),
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

/// The operation context, so `do` runs exactly what the console runs.
impl super::app::App {
    pub fn ops_context(&self) -> Option<std::sync::Arc<OpContext>> {
        self.ops.clone()
    }
}

/// `opsdeck ssh-trust HOST`: shows the key a host presents and records it in
/// known_hosts once the user confirms the fingerprint.
pub async fn ssh_trust(
    resolved: &Resolved,
    host: &str,
    yes: bool,
) -> Result<ExitCode, LaunchError> {
    use crate::providers::ssh::{SshConfig, SshError, SshPool};
    let ssh_config = resolved
        .environment
        .as_ref()
        .and_then(|(_, e)| e.ssh.as_ref())
        .and_then(|s| s.config.clone());
    let config = match &ssh_config {
        Some(path) => SshConfig::load(path),
        None => SshConfig::load_default(),
    }
    .map_err(|e| LaunchError::Config(e.to_string()))?;
    let pool = SshPool::new(config);
    match pool.get(host).await {
        Ok(_) => {
            outln!("{host}: the host key is already known; nothing to do");
            Ok(ExitCode::SUCCESS)
        }
        Err(SshError::UnknownHostKey {
            fingerprint,
            presented,
            ..
        }) => {
            outln!(
                "{host} ({}) presents a {} key with fingerprint\n  {fingerprint}",
                presented.host_port,
                presented.key_type
            );
            let ok = yes
                || {
                    let stdin = std::io::stdin();
                    if !stdin.is_terminal() {
                        outln!(
                            "not a terminal: compare the fingerprint, then run again with --yes"
                        );
                        false
                    } else {
                        out!(
                            "Does it match the host's own (ssh-keygen -lf on the host)? Trust it? [y/N] "
                        );
                        let _ = std::io::stdout().flush();
                        let mut line = String::new();
                        stdin.lock().read_line(&mut line).is_ok()
                            && matches!(line.trim(), "y" | "Y" | "yes")
                    }
                };
            if !ok {
                outln!("not trusted: nothing was written");
                return Ok(ExitCode::from(EXIT_FAILED));
            }
            presented.trust().map_err(|e| {
                LaunchError::Config(format!("{}: {e}", presented.known_hosts.display()))
            })?;
            outln!("added to {}", presented.known_hosts.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(LaunchError::Config(e.to_string())),
    }
}
