//! The audit log: an append-only JSON-lines file in the data directory. Each
//! operation writes a record of intent (fsynced) before its first step and a
//! result record after its last, so a kill mid-operation leaves the intent.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::operation::{OpRequest, Step, Verdict};

/// `$XDG_DATA_HOME/opsdeck/audit.jsonl` (or the platform's data dir).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "opsdeck").map(|d| d.data_dir().join("audit.jsonl"))
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339.
    pub time: String,
    /// `intent`, `result` or `note`.
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

/// The machine's host name (audit records, the lock holder).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::action::ActionId;
    use crate::core::operation::OpKind;

    #[test]
    fn records_round_trip_and_a_torn_tail_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::new(dir.path().join("sub").join("audit.jsonl"));
        let req = OpRequest::new(
            ActionId::DrainBackend,
            OpKind::Drain {
                backend: "web-a1".into(),
            },
        );
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
}
