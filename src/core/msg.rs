//! Messages: everything that happens to the console, as data.

use super::action::ActionId;
use super::fleet::{Alert, DeploysObservation, HostsObservation, ReplicationObservation};
use super::guard::OpsPolicy;
use super::key::Key;
use super::lock_status::LockReport;
use super::log_batch::LogBatch;
use super::operation::{StepStatus, Verdict};
use super::quit::Signal;
use super::runbook::RunbookDoc;
use super::service::ServiceObservation;
use super::time::Timestamp;
use super::unfinished::UnfinishedOperation;
use super::view::ViewId;

/// The independently polled sources of data. A failing one degrades only its
/// own panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PanelId {
    Hosts,
    Replication,
    Deploys,
    Alerts,
    Logs,
    /// End-to-end probes through the load balancer and its own health.
    Service,
}

impl PanelId {
    pub const ALL: [PanelId; 6] = [
        PanelId::Hosts,
        PanelId::Replication,
        PanelId::Deploys,
        PanelId::Alerts,
        PanelId::Logs,
        PanelId::Service,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PanelId::Hosts => "hosts",
            PanelId::Replication => "replication",
            PanelId::Deploys => "deploys",
            PanelId::Alerts => "alerts",
            PanelId::Logs => "logs",
            PanelId::Service => "service",
        }
    }
}

/// One successful observation from a provider.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    Hosts(HostsObservation),
    Replication(ReplicationObservation),
    Deploys(DeploysObservation),
    Alerts(Vec<Alert>),
    /// New log lines, packed, with how many the source dropped before them.
    Logs(LogBatch),
    Service(ServiceObservation),
}

impl Observation {
    pub fn panel(&self) -> PanelId {
        match self {
            Observation::Hosts(_) => PanelId::Hosts,
            Observation::Replication(_) => PanelId::Replication,
            Observation::Deploys(_) => PanelId::Deploys,
            Observation::Alerts(_) => PanelId::Alerts,
            Observation::Logs(_) => PanelId::Logs,
            Observation::Service(_) => PanelId::Service,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// The clock moved. The only way the core learns the time.
    Tick { now: Timestamp },
    /// The terminal has a new size.
    Resize { width: u16, height: u16 },
    /// What the session's config sets up, once before the first frame: the
    /// guards' policy (`None`: the defaults), the runbooks, and a warning
    /// about files that had problems.
    Configured {
        policy: Option<OpsPolicy>,
        runbooks: Vec<RunbookDoc>,
        warning: Option<String>,
    },
    /// A frame was drawn: nothing changed since.
    Drawn,
    /// Show this view (headless snapshots pick their view this way).
    ShowView(ViewId),
    /// A key resolved to an action through the keymap.
    Action(ActionId),
    /// A key pressed while a text input has focus (filters).
    Input(Key),
    /// Keys of an unfinished sequence, for the which-key hint; empty when done.
    PendingKeys(Vec<Key>),
    /// A key that is bound to nothing in this view.
    Unbound(Key),
    /// A provider answered.
    Observed {
        at: Timestamp,
        observation: Observation,
    },
    /// A provider failed or timed out; `source` names the host or API.
    SourceFailed {
        at: Timestamp,
        panel: PanelId,
        source: String,
        error: String,
    },
    /// A step of a running operation changed.
    OperationStep {
        id: u64,
        index: usize,
        status: StepStatus,
        detail: Option<String>,
        at: Timestamp,
    },
    /// Something about an operation worth showing that did not change it
    /// (a failing webhook).
    OperationNote { id: u64, note: String },
    /// An operation ended, its verdict taken from a fresh observation.
    OperationFinished {
        id: u64,
        verdict: Verdict,
        at: Timestamp,
    },
    /// An SSH session ended and the console is back.
    SshEnded {
        host: String,
        result: Result<(), String>,
    },
    /// The host presented an SSH key nobody trusted yet: ask the operator.
    SshHostUnknown { host: String, fingerprint: String },
    /// The operator's trust of a host key was recorded (or not).
    SshHostTrusted {
        host: String,
        result: Result<(), String>,
    },
    /// The process got SIGTERM, SIGHUP or SIGINT (or lost its terminal).
    Signal(Signal),
    /// The fleet-wide lock was read: its holder (or nobody), or why not.
    LockObserved {
        at: Timestamp,
        result: Result<Option<LockReport>, String>,
    },
    /// A stale lock was broken (or not).
    LockBroken { result: Result<(), String> },
    /// Operations the audit log has an intent for and no result (found at start).
    UnfinishedFound(Vec<UnfinishedOperation>),
    /// Bytes the merged log may keep (`[logs] budget_mib`, `--log-budget-mib`).
    LogBudget { bytes: usize },
}
