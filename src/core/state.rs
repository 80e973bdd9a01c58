//! The console's whole state. The UI renders it; only `update` changes it.

use std::collections::BTreeMap;

use regex::Regex;

use super::capabilities::Capabilities;
use super::command_palette::CommandPalette;
use super::dialog::Dialog;
use super::fleet::{
    Alert, DeploysObservation, Host, HostsObservation, LoadBalancer, ReplicationObservation,
};
use super::guard::OpsPolicy;
use super::key::Key;
use super::lock_status::LockStatus;
use super::log_buffer::{LogBuffer, LogFilter};
use super::msg::PanelId;
use super::operation::Operation;
use super::quit::QuitState;
use super::runbook::{RunbookDoc, RunbookPane};
use super::series::Series;
use super::time::Timestamp;
use super::unfinished::UnfinishedOperation;
use super::view::ViewId;

/// How long charts remember: 15 minutes.
pub const HISTORY_WINDOW_MS: i64 = 15 * 60 * 1000;

/// Where the data comes from, for the status bar and `status --json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvInfo {
    /// Environment name (`demo`, `prod`).
    pub name: String,
    pub region: Option<String>,
    /// Data source, e.g. `demo (built-in)`, `ssh`, `aws`.
    pub source: String,
    /// Marked environments (production) get a louder frame.
    pub production: bool,
}

/// The latest data of one source, with its age and last error.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel<T> {
    pub data: Option<T>,
    pub updated_at: Option<Timestamp>,
    /// Last failure: when, which source, what.
    pub error: Option<PanelError>,
    /// Data older than this is marked stale.
    pub stale_after_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PanelError {
    pub at: Timestamp,
    pub source: String,
    pub message: String,
}

impl PanelError {
    /// `source: message`, the source once: provider errors often begin
    /// with it already (`aws ec2: DescribeInstances: …`).
    pub fn text(&self) -> String {
        if self.message.starts_with(&format!("{}: ", self.source)) {
            self.message.clone()
        } else {
            format!("{}: {}", self.source, self.message)
        }
    }
}

impl<T> Panel<T> {
    pub fn new(stale_after_ms: i64) -> Self {
        Self {
            data: None,
            updated_at: None,
            error: None,
            stale_after_ms,
        }
    }

    pub fn age_ms(&self, now: Timestamp) -> Option<i64> {
        self.updated_at.map(|t| now.since(t))
    }

    /// Stale: no data yet, or data older than `stale_after_ms`.
    pub fn is_stale(&self, now: Timestamp) -> bool {
        self.age_ms(now).is_none_or(|age| age > self.stale_after_ms)
    }
}

/// Charts' memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Replica lag in seconds per database node name.
    pub db_lag: BTreeMap<String, Series>,
    /// Replica lag in seconds per cache node name.
    pub cache_lag: BTreeMap<String, Series>,
    /// Load-balancer error rate (fraction).
    pub error_rate: Series,
    /// Load-balancer requests per second.
    pub rps: Series,
    /// When each database or cache node last answered (was observed
    /// reachable): a replica that stopped answering has data of this age.
    pub node_seen: BTreeMap<String, Timestamp>,
}

/// Columns of the instances table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SortColumn {
    #[default]
    Name,
    Az,
    Role,
    State,
    Health,
    Latency,
    Cpu,
    Version,
}

impl SortColumn {
    pub const ALL: [SortColumn; 8] = [
        SortColumn::Name,
        SortColumn::Az,
        SortColumn::Role,
        SortColumn::State,
        SortColumn::Health,
        SortColumn::Latency,
        SortColumn::Cpu,
        SortColumn::Version,
    ];

    pub fn title(self) -> &'static str {
        match self {
            SortColumn::Name => "NAME",
            SortColumn::Az => "AZ",
            SortColumn::Role => "ROLE",
            SortColumn::State => "STATE",
            SortColumn::Health => "HEALTH",
            SortColumn::Latency => "LATENCY",
            SortColumn::Cpu => "CPU",
            SortColumn::Version => "VERSION",
        }
    }

    pub fn next(self) -> SortColumn {
        let i = SortColumn::ALL.iter().position(|c| *c == self).unwrap_or(0);
        SortColumn::ALL[(i + 1) % SortColumn::ALL.len()]
    }
}

/// The instances table's own state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstancesState {
    pub selected: usize,
    pub sort: SortColumn,
    pub descending: bool,
    /// Case-insensitive substring over name, AZ, role, state, health, version.
    pub filter: String,
}

/// The logs view's own state.
#[derive(Clone, Debug)]
pub struct LogsState {
    pub buffer: LogBuffer,
    pub filter: LogFilter,
    /// Follow the tail; when false the view is anchored at `anchor`.
    pub follow: bool,
    /// Newest line shown while paused.
    pub anchor: Option<u64>,
    pub wrap: bool,
    pub timestamps: bool,
}

impl Default for LogsState {
    fn default() -> Self {
        Self {
            buffer: LogBuffer::default(),
            filter: LogFilter::default(),
            follow: true,
            anchor: None,
            wrap: false,
            // Most lines carry their own timestamp; `t` adds the received time.
            timestamps: false,
        }
    }
}

/// A fleet object that can be selected and shown in detail.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ObjectRef {
    Host(String),
    Database(String),
    Cache(String),
    /// Index into the deploy history (newest first).
    Deploy(usize),
}

/// Something drawn over the current view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    Help,
    Details(ObjectRef),
    /// What the session costs its cloud account (`:usage`).
    Usage,
}

/// What a text input edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputPurpose {
    InstancesFilter,
    LogsFilter,
}

/// A one-line text input with focus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextInput {
    pub purpose: InputPurpose,
    pub text: String,
    /// Shown under the input while the text is invalid (bad regex).
    pub error: Option<String>,
    /// The filter before editing began, restored by Esc.
    pub original: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageLevel {
    Info,
    Warning,
    Error,
}

/// A message in the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusMessage {
    pub text: String,
    pub level: MessageLevel,
    pub at: Timestamp,
}

/// How long a status message stays.
pub const MESSAGE_TTL_MS: i64 = 6_000;

/// The console's state.
#[derive(Clone, Debug)]
pub struct State {
    pub env: EnvInfo,
    pub read_only: bool,
    pub now: Timestamp,
    pub view: ViewId,
    /// Terminal size in cells.
    pub width: u16,
    pub height: u16,
    pub hosts: Panel<HostsObservation>,
    pub replication: Panel<ReplicationObservation>,
    pub deploys: Panel<DeploysObservation>,
    pub alerts: Panel<Vec<Alert>>,
    /// Age and errors of the log source; the lines live in `logs.buffer`.
    pub log_source: Panel<()>,
    /// End-to-end probes through the load balancer and the LB's own check.
    pub service: Panel<super::service::ServiceObservation>,
    /// The probes' last minutes and the request rate from `stub_status`.
    pub service_history: super::service_history::ServiceHistory,
    pub history: History,
    pub logs: LogsState,
    /// Selected row per list view.
    pub overview_selected: usize,
    pub instances: InstancesState,
    pub replication_selected: usize,
    pub deploys_selected: usize,
    pub overlay: Option<Overlay>,
    /// The session's use of a paid API, where the provider counts it (AWS).
    pub usage: Option<super::usage::UsageReport>,
    /// What the console itself did (frames, messages, polls, bytes): set by
    /// the runtime without marking the state dirty, so counting draws nothing.
    pub console: super::usage::ConsoleCounters,
    pub input: Option<TextInput>,
    /// Keys of an unfinished sequence (which-key hint).
    pub pending_keys: Vec<Key>,
    pub message: Option<StatusMessage>,
    /// The command palette, when open.
    pub command_palette: Option<CommandPalette>,
    /// Runbooks available to `:runbook NAME`, keys already filled in.
    pub runbooks: Vec<RunbookDoc>,
    /// The runbook shown beside the views.
    pub runbook: Option<RunbookPane>,
    /// The confirmation dialog of a mutating action.
    pub dialog: Option<Dialog>,
    /// Operations of this session, oldest first.
    pub operations: Vec<Operation>,
    pub next_operation_id: u64,
    /// The operations panel (progress of the running or last operation).
    pub operations_panel: bool,
    pub policy: OpsPolicy,
    /// What the provider can do; plans contain only steps it can carry out.
    pub capabilities: Capabilities,
    /// SSH sessions allowed in read-only mode (explicitly, per environment).
    pub ssh_in_read_only: bool,
    /// Set when something visible changed; the runtime draws and clears it.
    pub dirty: bool,
    pub quit: bool,
    /// Quitting while an operation runs: the dialog, the wind-down, the exit status.
    pub quitting: QuitState,
    /// The quit dialog, when open.
    pub quit_dialog: Option<super::dialog::QuitDialog>,
    /// Who holds the fleet-wide operation lock, as last observed.
    pub lock: LockStatus,
    /// Operations a previous session left without a result.
    pub unfinished: Vec<UnfinishedOperation>,
}

impl State {
    pub fn new(env: EnvInfo, read_only: bool, now: Timestamp) -> Self {
        Self {
            env,
            read_only,
            now,
            view: ViewId::Overview,
            width: 80,
            height: 24,
            hosts: Panel::new(15_000),
            replication: Panel::new(15_000),
            deploys: Panel::new(120_000),
            alerts: Panel::new(60_000),
            log_source: Panel::new(30_000),
            service: Panel::new(15_000),
            service_history: super::service_history::ServiceHistory::default(),
            history: History {
                error_rate: Series::new(HISTORY_WINDOW_MS),
                rps: Series::new(HISTORY_WINDOW_MS),
                ..History::default()
            },
            logs: LogsState::default(),
            overview_selected: 0,
            instances: InstancesState::default(),
            replication_selected: 0,
            deploys_selected: 0,
            overlay: None,
            usage: None,
            console: super::usage::ConsoleCounters::new(now),
            input: None,
            pending_keys: Vec::new(),
            message: None,
            command_palette: None,
            runbooks: Vec::new(),
            runbook: None,
            dialog: None,
            operations: Vec::new(),
            next_operation_id: 1,
            operations_panel: false,
            policy: OpsPolicy::default(),
            capabilities: Capabilities::default(),
            ssh_in_read_only: false,
            dirty: true,
            quit: false,
            quitting: QuitState::default(),
            quit_dialog: None,
            lock: LockStatus::default(),
            unfinished: Vec::new(),
        }
    }

    /// Sets how long each panel's data stays fresh (from the poll intervals).
    pub fn set_stale_after(&mut self, panel: PanelId, ms: i64) {
        match panel {
            PanelId::Hosts => self.hosts.stale_after_ms = ms,
            PanelId::Replication => self.replication.stale_after_ms = ms,
            PanelId::Deploys => self.deploys.stale_after_ms = ms,
            PanelId::Alerts => self.alerts.stale_after_ms = ms,
            PanelId::Logs => self.log_source.stale_after_ms = ms,
            PanelId::Service => self.service.stale_after_ms = ms,
        }
    }

    /// Oldest data age among the panels that have data, for the status bar.
    pub fn data_age_ms(&self) -> Option<i64> {
        [
            self.hosts.age_ms(self.now),
            self.replication.age_ms(self.now),
            self.alerts.age_ms(self.now),
        ]
        .into_iter()
        .flatten()
        .max()
    }

    /// Panels whose most recent poll failed, with their errors.
    /// The load balancer as last observed, if the hosts panel has one.
    pub fn load_balancer(&self) -> Option<&LoadBalancer> {
        self.hosts
            .data
            .as_ref()
            .and_then(|h| h.load_balancer.as_ref())
    }

    pub fn failing_panels(&self) -> Vec<(PanelId, &PanelError)> {
        fn failing<T>(p: &Panel<T>) -> Option<&PanelError> {
            p.error
                .as_ref()
                .filter(|e| p.updated_at.is_none_or(|u| e.at >= u))
        }
        [
            (PanelId::Hosts, failing(&self.hosts)),
            (PanelId::Replication, failing(&self.replication)),
            (PanelId::Deploys, failing(&self.deploys)),
            (PanelId::Alerts, failing(&self.alerts)),
            (PanelId::Logs, failing(&self.log_source)),
            (PanelId::Service, failing(&self.service)),
        ]
        .into_iter()
        .filter_map(|(id, e)| e.map(|e| (id, e)))
        .collect()
    }

    /// Rows of the instances table: filtered, then sorted.
    pub fn instance_rows(&self) -> Vec<&Host> {
        let Some(obs) = &self.hosts.data else {
            return Vec::new();
        };
        let needle = self.instances.filter.to_lowercase();
        let mut rows: Vec<&Host> = obs
            .hosts
            .iter()
            .filter(|h| needle.is_empty() || host_haystack(h).contains(&needle))
            .collect();
        let col = self.instances.sort;
        let lb = obs.load_balancer.as_ref();
        // The health the table shows: the worse of probe and load balancer.
        let health = |h: &Host| super::assess::host_health(h, lb.and_then(|lb| lb.target(&h.name)));
        rows.sort_by(|a, b| {
            use std::cmp::Ordering;
            let by = match col {
                SortColumn::Name => Ordering::Equal,
                SortColumn::Az => a.az.cmp(&b.az),
                SortColumn::Role => a.role.cmp(&b.role),
                SortColumn::State => a.state.cmp(&b.state),
                SortColumn::Health => health(a).cmp(&health(b)),
                SortColumn::Latency => cmp_opt(a.latency_ms, b.latency_ms),
                SortColumn::Cpu => cmp_opt(a.cpu_pct, b.cpu_pct),
                // Natural order: v9 before v10; unknown first, as before.
                SortColumn::Version => match (&a.version, &b.version) {
                    (Some(x), Some(y)) => super::assess::compare_versions(x, y),
                    (x, y) => x.is_some().cmp(&y.is_some()),
                },
            };
            by.then_with(|| a.name.cmp(&b.name))
        });
        if self.instances.descending {
            rows.reverse();
        }
        rows
    }

    /// Selectable objects of the overview, in screen order: backends by AZ,
    /// then databases, then caches.
    pub fn overview_items(&self) -> Vec<ObjectRef> {
        let mut items = Vec::new();
        if let Some(obs) = &self.hosts.data {
            for az in &obs.azs {
                for h in obs.hosts.iter().filter(|h| &h.az == az) {
                    if h.role == super::fleet::HostRole::Backend {
                        items.push(ObjectRef::Host(h.name.clone()));
                    }
                }
            }
        }
        items.extend(self.replication_items());
        items
    }

    /// Selectable objects of the replication view: databases, then caches.
    pub fn replication_items(&self) -> Vec<ObjectRef> {
        let mut items = Vec::new();
        if let Some(rep) = &self.replication.data {
            items.extend(
                rep.databases
                    .iter()
                    .map(|d| ObjectRef::Database(d.name.clone())),
            );
            items.extend(rep.caches.iter().map(|c| ObjectRef::Cache(c.name.clone())));
        }
        items
    }

    /// Number of rows in the deploy history.
    pub fn deploy_rows(&self) -> usize {
        self.deploys.data.as_ref().map_or(0, |d| d.history.len())
    }

    /// The object under the cursor in the current view.
    pub fn selection(&self) -> Option<ObjectRef> {
        match self.view {
            super::view::ViewId::Overview => {
                self.overview_items().get(self.overview_selected).cloned()
            }
            super::view::ViewId::Instances => self
                .instance_rows()
                .get(self.instances.selected)
                .map(|h| ObjectRef::Host(h.name.clone())),
            super::view::ViewId::Replication => self
                .replication_items()
                .get(self.replication_selected)
                .cloned(),
            super::view::ViewId::Deploys => (self.deploys_selected < self.deploy_rows())
                .then_some(ObjectRef::Deploy(self.deploys_selected)),
            super::view::ViewId::Logs => None,
        }
    }

    /// The operation running now, if any (one at a time).
    pub fn running_operation(&self) -> Option<&Operation> {
        self.operations.iter().rev().find(|o| o.is_running())
    }

    /// Keys go to a text field: a filter, the palette, or a typed confirmation.
    pub fn text_input_active(&self) -> bool {
        self.input.is_some()
            || self.command_palette.is_some()
            || self
                .dialog
                .as_ref()
                .is_some_and(|d| d.require_typed.is_some())
            || self.lock.break_dialog.is_some()
    }

    /// Host names the logs have seen, sorted, for host filtering.
    pub fn log_hosts(&self) -> Vec<String> {
        let mut names: Vec<String> = match &self.hosts.data {
            Some(obs) => obs.hosts.iter().map(|h| h.name.clone()).collect(),
            None => Vec::new(),
        };
        names.sort();
        names.dedup();
        names
    }

    pub fn azs(&self) -> Vec<String> {
        self.hosts
            .data
            .as_ref()
            .map(|o| o.azs.clone())
            .unwrap_or_default()
    }

    /// Compiles a log filter pattern; `(?i)` makes it case-insensitive.
    pub fn compile_pattern(text: &str) -> Result<Option<Regex>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        regex::RegexBuilder::new(text)
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
            .map(Some)
            .map_err(|e| {
                e.to_string()
                    .lines()
                    .last()
                    .unwrap_or("invalid regex")
                    .trim()
                    .to_string()
            })
    }
}

fn cmp_opt(a: Option<f64>, b: Option<f64>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

fn host_haystack(h: &Host) -> String {
    format!(
        "{} {} {} {} {} {}",
        h.name,
        h.az,
        h.role.label(),
        h.state.label(),
        h.health.label(),
        h.version.as_deref().unwrap_or("")
    )
    .to_lowercase()
}
