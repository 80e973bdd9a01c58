//! The audit log: an append-only JSON-lines file in the data directory. Each
//! operation writes a record of intent (fsynced) before its first step, a
//! "step" record as each step that changes the fleet starts, and a result
//! record after its last, so a kill mid-operation leaves the intent and what
//! it was doing; `unfinished` finds those at the next start.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::operation::{OpRequest, Step, Verdict};
use crate::core::time::Timestamp;
use crate::core::unfinished::UnfinishedOperation;

/// `$XDG_DATA_HOME/opsdeck/audit.jsonl` (or the platform's data dir).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "opsdeck").map(|d| d.data_dir().join("audit.jsonl"))
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339.
    pub time: String,
    /// `intent`, `step`, `result` or `note`.
    pub phase: String,
    /// Shared by the records of one operation.
    pub operation: String,
    pub user: String,
    pub host: String,
    pub environment: String,
    pub action: String,
    pub target: String,
    pub parameters: serde_json::Value,
    pub guard_overrides: Vec<String>,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub outcome: Option<Verdict>,
    #[serde(default)]
    pub notes: Vec<String>,
}

impl AuditRecord {
    pub fn new(
        phase: &str,
        operation: &str,
        environment: &str,
        request: &OpRequest,
        time: String,
    ) -> Self {
        Self {
            time,
            phase: phase.to_string(),
            operation: operation.to_string(),
            user: os_user(),
            host: hostname(),
            environment: environment.to_string(),
            action: request.action.clone(),
            target: request.target().to_string(),
            parameters: serde_json::to_value(&request.kind).unwrap_or(serde_json::Value::Null),
            guard_overrides: request.overridden_guards.clone(),
            steps: Vec::new(),
            outcome: None,
            notes: Vec::new(),
        }
    }
}

/// The OS user running opsdeck: `$USER`/`$LOGNAME`, else the name of the
/// process's uid in /etc/passwd, else `uid:N`.
pub fn os_user() -> String {
    if let Some(u) = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    {
        return u;
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next().map(str::to_string))
        });
    let Some(uid) = uid else {
        return "unknown".to_string();
    };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.get(2) == Some(&uid.as_str())).then(|| f[0].to_string())
            })
        })
        .unwrap_or(format!("uid:{uid}"))
}

/// This machine's host name (lock holders and audit records name it).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// Why the audit log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("audit log {path}:{line}: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
}

#[derive(Clone, Debug)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and fsyncs it before returning.
    pub fn append(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let io = |source| AuditError::Io {
            path: self.path.display().to_string(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut line = serde_json::to_string(record).map_err(|e| io(std::io::Error::other(e)))?;
        line.push('\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        // One write of the whole line keeps concurrent writers' lines whole.
        f.write_all(line.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)
    }

    /// Writes the result of an operation stopped mid-step: outcome
    /// `Failed(reason)`, the steps as far as they got. Returns `false` (and
    /// writes nothing) when the operation has no open intent: it already has
    /// its result, or its intent was never written.
    pub fn write_abandoned(
        &self,
        environment: &str,
        request: &OpRequest,
        owner: &IntentOwner,
        steps: Vec<Step>,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, AuditError> {
        let records = self.read_all()?;
        let Some(intent) = open_intent(&records, environment, request, owner) else {
            return Ok(false);
        };
        let mut result = AuditRecord::new(
            "result",
            &intent.operation,
            environment,
            request,
            at.to_rfc3339(),
        );
        result.steps = steps;
        result.outcome = Some(Verdict::Failed(reason.to_string()));
        result.notes.push(reason.to_string());
        if let Some(step) = last_step(&records, &intent.operation) {
            result.notes.push(format!("last step recorded: {step}"));
        }
        self.append(&result)?;
        Ok(true)
    }

    /// Every record, oldest first. A torn last line (a kill mid-write) is
    /// skipped; other bad lines are errors that name the line.
    pub fn read_all(&self) -> Result<Vec<AuditRecord>, AuditError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(AuditError::Io {
                    path: self.path.display().to_string(),
                    source,
                });
            }
        };
        let lines: Vec<&str> = text.lines().collect();
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<AuditRecord>(line) {
                Ok(r) => out.push(r),
                Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {}
                Err(e) => {
                    return Err(AuditError::Parse {
                        path: self.path.display().to_string(),
                        line: i + 1,
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Operations with an intent and no result, oldest first, each with the
/// note of its last "step" record (what it was doing when it stopped).
pub fn unfinished(records: &[AuditRecord]) -> Vec<UnfinishedOperation> {
    records
        .iter()
        .filter(|r| r.phase == "intent")
        .filter(|i| {
            !records
                .iter()
                .any(|r| r.phase == "result" && r.operation == i.operation)
        })
        .map(|i| UnfinishedOperation {
            operation: i.operation.clone(),
            action: i.action.clone(),
            target: i.target.clone(),
            environment: i.environment.clone(),
            user: i.user.clone(),
            host: i.host.clone(),
            started: i.time.clone(),
            last_step: last_step(records, &i.operation),
        })
        .collect()
}

/// `opsdeck audit`'s outcome for an intent with no result: INCOMPLETE, and
/// what it was doing when it stopped.
pub fn incomplete_text<R: std::borrow::Borrow<AuditRecord>>(
    records: &[R],
    operation: &str,
) -> String {
    let last = records
        .iter()
        .rev()
        .map(std::borrow::Borrow::borrow)
        .find(|r| r.phase == "step" && r.operation == operation)
        .and_then(|r| r.notes.last().cloned());
    match last {
        Some(step) => format!(
            "INCOMPLETE: no result recorded (stopped mid-operation, or still running); last step: {step}"
        ),
        None => "INCOMPLETE: no result recorded (stopped before its first step, or still running)"
            .to_string(),
    }
}

/// The note of the operation's last "step" record.
pub fn last_step(records: &[AuditRecord], operation: &str) -> Option<String> {
    records
        .iter()
        .rev()
        .find(|r| r.phase == "step" && r.operation == operation)
        .and_then(|r| r.notes.last().cloned())
}

/// Who started an operation, where, and not before when: what tells this
/// session's intent from an older one of the same operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntentOwner {
    pub user: String,
    pub host: String,
    /// The session's id of the operation (the runner's key ends in `-{id}`).
    pub id: u64,
    /// Intents written earlier belong to another session.
    pub not_before: Timestamp,
}

/// The intent, without a result, of the operation `request` that `owner`
/// started in `environment`: the latest whose key ends in `-{id}`, else the
/// latest that matches. Never one written before `owner.not_before`, so a
/// killed older session's intent stays unfinished (and shown as such).
pub fn open_intent<'a>(
    records: &'a [AuditRecord],
    environment: &str,
    request: &OpRequest,
    owner: &IntentOwner,
) -> Option<&'a AuditRecord> {
    let not_before = owner.not_before.to_rfc3339();
    let (user, host, id) = (&owner.user, &owner.host, owner.id);
    let open: Vec<&AuditRecord> = records
        .iter()
        .filter(|r| {
            r.phase == "intent"
                // Both written by `Timestamp::to_rfc3339`: text order is time order.
                && r.time >= not_before
                && r.environment == environment
                && r.action == request.action
                && r.target == request.target()
                && r.user == *user
                && r.host == *host
        })
        .filter(|i| {
            !records
                .iter()
                .any(|r| r.phase == "result" && r.operation == i.operation)
        })
        .collect();
    let suffix = format!("-{id}");
    open.iter()
        .rev()
        .find(|r| r.operation.ends_with(&suffix))
        .or(open.last())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_fixtures::drain_request as drain;

    #[test]
    fn records_round_trip_and_a_torn_tail_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::new(dir.path().join("sub").join("audit.jsonl"));
        let req = drain("web-a1");
        let rec = AuditRecord::new(
            "intent",
            "op-1",
            "demo",
            &req,
            "2026-11-22T00:00:00.000Z".into(),
        );
        log.append(&rec).expect("append");
        let mut f = OpenOptions::new()
            .append(true)
            .open(log.path())
            .expect("open");
        f.write_all(b"{\"time\":\"2026").expect("torn write");
        let all = log.read_all().expect("read");
        assert_eq!(all, vec![rec]);
        assert_eq!(all[0].target, "web-a1");
        assert_eq!(all[0].parameters["kind"], "drain");
    }

    #[test]
    fn an_intent_without_a_result_is_unfinished_with_its_last_step() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        let t = "2026-12-02T05:00:00.000Z".to_string();
        // Finished: intent, step, result.
        let done = drain("web-a2");
        log.append(&AuditRecord::new("intent", "1-1", "prod", &done, t.clone()))
            .expect("append");
        let mut step = AuditRecord::new("step", "1-1", "prod", &done, t.clone());
        step.notes
            .push("started: drain web-a2 (no new requests)".into());
        log.append(&step).expect("append");
        let mut result = AuditRecord::new("result", "1-1", "prod", &done, t.clone());
        result.outcome = Some(Verdict::Succeeded);
        log.append(&result).expect("append");
        // Killed mid-wait: intent and two steps, no result.
        let killed = drain("web-a1");
        log.append(&AuditRecord::new(
            "intent",
            "2-1",
            "prod",
            &killed,
            t.clone(),
        ))
        .expect("append");
        for label in [
            "started: drain web-a1 (no new requests)",
            "started: wait for web-a1's in-flight requests to finish (≤ 30s)",
        ] {
            let mut step = AuditRecord::new("step", "2-1", "prod", &killed, t.clone());
            step.notes.push(label.into());
            log.append(&step).expect("append");
        }
        // Killed before any step.
        log.append(&AuditRecord::new(
            "intent",
            "3-1",
            "staging",
            &drain("web-c1"),
            t,
        ))
        .expect("append");

        let found = unfinished(&log.read_all().expect("read"));
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].operation, "2-1");
        assert_eq!(found[0].target, "web-a1");
        assert_eq!(
            found[0].last_step.as_deref(),
            Some("started: wait for web-a1's in-flight requests to finish (≤ 30s)")
        );
        assert_eq!(found[1].operation, "3-1");
        assert_eq!(found[1].last_step, None);
        assert!(found[0].describe().contains("last step: started: wait for"));
    }

    #[test]
    fn an_abandoned_result_closes_the_open_intent_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        let req = drain("web-a1");
        let start = Timestamp::from_millis(1_795_000_000_000);
        // A killed older session's open intent of the same operation (also
        // its #4), and this session's #4.
        let old = start.plus_millis(-3_600_000).to_rfc3339();
        log.append(&AuditRecord::new("intent", "100-4", "prod", &req, old))
            .expect("append");
        log.append(&AuditRecord::new(
            "intent",
            "200-4",
            "prod",
            &req,
            start.plus_millis(300).to_rfc3339(),
        ))
        .expect("append");
        let owner = IntentOwner {
            user: os_user(),
            host: hostname(),
            id: 4,
            not_before: start,
        };
        let at = start.plus_millis(9_000);
        let wrote = log
            .write_abandoned(
                "prod",
                &req,
                &owner,
                Vec::new(),
                "abandoned: quit at step 2/3",
                at,
            )
            .expect("write");
        assert!(wrote);
        let all = log.read_all().expect("read");
        let results: Vec<&AuditRecord> = all.iter().filter(|r| r.phase == "result").collect();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].operation, "200-4");
        assert_eq!(
            results[0].outcome,
            Some(Verdict::Failed("abandoned: quit at step 2/3".into()))
        );
        // Already closed: nothing more is written, and the older session's
        // intent is left open (it is that session's unfinished operation).
        let again = log
            .write_abandoned("prod", &req, &owner, Vec::new(), "abandoned: again", at)
            .expect("write");
        assert!(!again);
        let left = unfinished(&log.read_all().expect("read"));
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].operation, "100-4");
    }
}
