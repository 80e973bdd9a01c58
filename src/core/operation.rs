//! Operations as data: what was asked (`OpRequest`), the steps it runs
//! (`StepSpec`, planned purely from the state), and how far it got
//! (`Operation`). The runtime's operation runner carries the steps out through
//! the operate provider and reports back with messages.

use serde::{Deserialize, Serialize};

use super::action::ActionId;
use super::time::Timestamp;

/// How a replica is promoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromoteMode {
    /// The primary is reachable: it is made read-only and the replica catches up first.
    Planned,
    /// The primary is gone: promote now, accepting the last known lag as loss.
    Emergency,
}

/// What kind of node a promotion is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    Database,
    Cache,
}

/// What the operator asked for, fully resolved (targets named).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum OpKind {
    Drain {
        backend: String,
    },
    Undrain {
        backend: String,
    },
    Promote {
        replica: String,
        primary: String,
        node: NodeKind,
        mode: PromoteMode,
        /// Last known lag, the possible data loss of an emergency failover.
        last_lag_seconds: Option<f64>,
    },
    /// Rollback and deploy share one engine: waves of drain, deploy, wait,
    /// undrain, verify serving.
    DeployVersion {
        service: String,
        version: String,
        from_version: Option<String>,
        /// Backends in wave order: one AZ at a time, one backend at a time.
        backends: Vec<String>,
        rollback: bool,
        /// Backends someone drained (for maintenance) before the operation:
        /// they get the version but stay out of the pool.
        #[serde(default)]
        maintenance_drained: Vec<String>,
    },
    SshOpen {
        host: String,
    },
    /// Record the SSH host key `host` presented, then open the session.
    TrustHostKey {
        host: String,
        fingerprint: String,
    },
}

/// A request to run an operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpRequest {
    pub action: String,
    pub kind: OpKind,
    /// Guards the operator overrode by typing the target's name.
    pub overridden_guards: Vec<String>,
}

impl OpRequest {
    pub fn new(action: ActionId, kind: OpKind) -> Self {
        Self {
            action: action.name().to_string(),
            kind,
            overridden_guards: Vec::new(),
        }
    }

    /// The object the operation is about, as typed for overrides.
    pub fn target(&self) -> &str {
        match &self.kind {
            OpKind::Drain { backend } | OpKind::Undrain { backend } => backend,
            OpKind::Promote { replica, .. } => replica,
            OpKind::DeployVersion { service, .. } => service,
            OpKind::SshOpen { host } | OpKind::TrustHostKey { host, .. } => host,
        }
    }

    /// One line: `drain-backend web-a1`, `rollback-deploy web → v1.42.1`.
    pub fn summary(&self) -> String {
        match &self.kind {
            OpKind::DeployVersion {
                service, version, ..
            } => {
                format!("{} {service} → {version}", self.action)
            }
            OpKind::Promote { replica, mode, .. } => {
                let mode = match mode {
                    PromoteMode::Planned => "planned switchover",
                    PromoteMode::Emergency => "EMERGENCY failover",
                };
                format!("{} {replica} ({mode})", self.action)
            }
            _ => format!("{} {}", self.action, self.target()),
        }
    }
}

/// One step the runner carries out. Waits end when the condition holds on a
/// fresh observation, or fail at their timeout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum StepSpec {
    Drain {
        backend: String,
    },
    WaitDrained {
        backend: String,
        timeout_ms: i64,
    },
    VerifyNoTraffic {
        backend: String,
    },
    Undrain {
        backend: String,
    },
    VerifyServing {
        backend: String,
    },
    SetReadOnly {
        node: String,
        read_only: bool,
    },
    WaitCaughtUp {
        replica: String,
        timeout_ms: i64,
    },
    Promote {
        replica: String,
        mode: PromoteMode,
    },
    Rejoin {
        old_primary: String,
        new_primary: String,
    },
    RunHook {
        command: String,
    },
    VerifyPrimary {
        node: String,
    },
    Deploy {
        backend: String,
        version: String,
    },
    WaitHealthy {
        backend: String,
        version: String,
        timeout_ms: i64,
    },
    VerifyVersions {
        version: String,
        backends: Vec<String>,
        /// Backends that must run `version` but stay drained (maintenance).
        #[serde(default)]
        kept_drained: Vec<String>,
    },
}

impl StepSpec {
    /// What the step does, for the progress list and the audit log.
    pub fn label(&self) -> String {
        let secs = |ms: &i64| ms / 1000;
        match self {
            StepSpec::Drain { backend } => format!("drain {backend} (no new requests)"),
            StepSpec::WaitDrained {
                backend,
                timeout_ms,
            } => {
                format!(
                    "wait for {backend}'s in-flight requests to finish (≤ {}s)",
                    secs(timeout_ms)
                )
            }
            StepSpec::VerifyNoTraffic { backend } => {
                format!("verify {backend} gets no new requests")
            }
            StepSpec::Undrain { backend } => format!("undrain {backend} (back into the pool)"),
            StepSpec::VerifyServing { backend } => {
                format!("verify {backend} is active and healthy")
            }
            StepSpec::SetReadOnly {
                node,
                read_only: true,
            } => format!("make {node} read-only"),
            StepSpec::SetReadOnly {
                node,
                read_only: false,
            } => format!("make {node} writable"),
            StepSpec::WaitCaughtUp {
                replica,
                timeout_ms,
            } => {
                format!(
                    "wait until {replica} has applied everything (≤ {}s)",
                    secs(timeout_ms)
                )
            }
            StepSpec::Promote {
                replica,
                mode: PromoteMode::Planned,
            } => format!("promote {replica}"),
            StepSpec::Promote {
                replica,
                mode: PromoteMode::Emergency,
            } => {
                format!("promote {replica} now (emergency)")
            }
            StepSpec::Rejoin {
                old_primary,
                new_primary,
            } => {
                format!("point {old_primary} at {new_primary} as a replica")
            }
            StepSpec::RunHook { command } => format!("run post-promote hook `{command}`"),
            StepSpec::VerifyPrimary { node } => format!("verify {node} is the writable primary"),
            StepSpec::Deploy { backend, version } => format!("deploy {version} on {backend}"),
            StepSpec::WaitHealthy {
                backend,
                version,
                timeout_ms,
            } => {
                format!(
                    "wait until {backend} is healthy on {version} (≤ {}s)",
                    secs(timeout_ms)
                )
            }
            StepSpec::VerifyVersions {
                version,
                backends,
                kept_drained,
            } => {
                if kept_drained.is_empty() {
                    format!("verify {} backend(s) run {version}", backends.len())
                } else {
                    format!(
                        "verify {} backend(s) run {version} ({} stay drained)",
                        backends.len(),
                        kept_drained.join(", ")
                    )
                }
            }
        }
    }

    /// Whether stopping before this step leaves the fleet consistent. Before
    /// a promotion is the best place to stop a switchover (the wind-down makes
    /// the old primary writable again); once it was issued, the new topology
    /// is completed (rejoin, hook) rather than left half-made.
    pub fn safe_to_stop_before(&self) -> bool {
        !matches!(self, StepSpec::Rejoin { .. } | StepSpec::RunHook { .. })
    }

    /// Whether the step changes the fleet (and so gets a "step" audit record
    /// and its guards checked again on a fresh observation first).
    pub fn changes_fleet(&self) -> bool {
        matches!(
            self,
            StepSpec::Drain { .. }
                | StepSpec::Undrain { .. }
                | StepSpec::SetReadOnly { .. }
                | StepSpec::Promote { .. }
                | StepSpec::Rejoin { .. }
                | StepSpec::RunHook { .. }
                | StepSpec::Deploy { .. }
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "detail", rename_all = "kebab-case")]
pub enum StepStatus {
    Pending,
    Running,
    Done,
    Failed(String),
    /// Not run: an earlier step failed or the operation was cancelled.
    Skipped,
}

impl StepStatus {
    pub fn symbol(&self) -> &'static str {
        match self {
            StepStatus::Pending => "·",
            StepStatus::Running => "▶",
            StepStatus::Done => "✔",
            StepStatus::Failed(_) => "✖",
            StepStatus::Skipped => "–",
        }
    }
}

/// A step and its progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub spec: StepSpec,
    pub status: StepStatus,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// Live detail while running, e.g. `in-flight 12 · 27s left`.
    pub detail: Option<String>,
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "kebab-case")]
pub enum Verdict {
    /// Every step ran and a fresh observation confirmed the result.
    Succeeded,
    Failed(String),
    /// Stopped by the operator; says what state it left behind.
    Cancelled(String),
    /// Not started, nothing changed: someone else holds the fleet-wide lock
    /// (named here), or a guard refused on a fresh observation.
    Refused(String),
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Succeeded => "succeeded",
            Verdict::Failed(_) => "failed",
            Verdict::Cancelled(_) => "cancelled",
            Verdict::Refused(_) => "refused",
        }
    }
}

/// An operation the console started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub id: u64,
    pub request: OpRequest,
    pub steps: Vec<Step>,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub verdict: Option<Verdict>,
    pub cancel_requested: bool,
    /// Problems that did not change the outcome (a failing webhook).
    pub notes: Vec<String>,
}

impl Operation {
    pub fn new(id: u64, request: OpRequest, plan: Vec<StepSpec>, at: Timestamp) -> Self {
        Self {
            id,
            request,
            steps: plan
                .into_iter()
                .map(|spec| Step {
                    spec,
                    status: StepStatus::Pending,
                    started_at: None,
                    finished_at: None,
                    detail: None,
                })
                .collect(),
            started_at: at,
            finished_at: None,
            verdict: None,
            cancel_requested: false,
            notes: Vec::new(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.verdict.is_none()
    }

    /// The step running now, if any.
    pub fn current_step(&self) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| s.status == StepStatus::Running)
    }
}
