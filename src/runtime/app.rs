//! Everything one console session holds: state, keymap, theme, providers, clock.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::core::key::Key;
use crate::core::operation::{OpRequest, Verdict};
use crate::core::state::EnvInfo;
use crate::core::{Effect, Msg, PanelId, State, Timestamp, press, update};
use crate::keymap::Keymap;
use crate::providers::{ObserveProvider, OperateProvider, ShellProvider};
use crate::theme::Theme;

use super::audit_log::AuditLog;
use super::clock::Clock;
use super::operation_runner::{CancelFlag, OpContext, OpJob, Progress, run_operation};
use super::poller::{PollSchedule, poll_once};
use super::webhook::Webhook;

/// A console session. In read-only mode `operate` is `None`: no code path can
/// mutate the fleet.
pub struct App {
    pub state: State,
    pub keymap: Keymap,
    pub theme: Theme,
    pub observe: Arc<dyn ObserveProvider>,
    pub operate: Option<Arc<dyn OperateProvider>>,
    /// SSH sessions; `None` when not allowed (read-only without permission).
    pub shell: Option<Arc<dyn ShellProvider>>,
    pub clock: Clock,
    pub schedule: PollSchedule,
    /// Everything operations need; only exists with an operate provider.
    pub(super) ops: Option<Arc<OpContext>>,
    /// Messages from pollers and operation runners.
    pub tx: mpsc::Sender<Msg>,
    pub rx: mpsc::Receiver<Msg>,
    /// Operations started by this session and not yet awaited: the session
    /// does not end before they have written their result.
    running: HashMap<u64, RunningOp>,
    /// Operations to record as abandoned (with the reason) once stopped.
    abandoned: Vec<(u64, String)>,
    /// The audit log (read at start for unfinished operations).
    pub audit_path: PathBuf,
    /// Bytes written to the terminal, counted by the TUI session's writer.
    terminal_bytes: Option<Arc<std::sync::atomic::AtomicU64>>,
}

/// An operation's task, with what is needed to stop it and to record it.
struct RunningOp {
    handle: JoinHandle<Verdict>,
    request: OpRequest,
    cancel: CancelFlag,
    /// When it was spawned; its intent is written after this.
    started: Timestamp,
}

/// Margin for the intent's own clock reading when matching it to this
/// session's operation (the same clock, read a moment apart).
const INTENT_CLOCK_SLACK_MS: i64 = 1_000;

/// What the event loop does after an effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Observe these panels again now (the event loop owns the pollers).
    Refresh(Vec<PanelId>),
    Quit,
    /// Hand the terminal to a shell on this host, then come back.
    Shell(String),
}

/// What a session is built from.
pub struct AppParts {
    pub observe: Arc<dyn ObserveProvider>,
    /// `None` in read-only mode.
    pub operate: Option<Arc<dyn OperateProvider>>,
    pub keymap: Keymap,
    pub theme: Theme,
    pub clock: Clock,
    pub schedule: PollSchedule,
    /// Data source for the status bar, e.g. `demo (built-in, no config)`.
    pub source_label: String,
    pub production: bool,
    pub shell: Option<Arc<dyn ShellProvider>>,
    pub audit_path: PathBuf,
    pub webhook: Option<Webhook>,
}

impl App {
    pub fn new(parts: AppParts) -> App {
        let AppParts {
            observe,
            operate,
            keymap,
            theme,
            clock,
            schedule,
            source_label,
            production,
            shell,
            audit_path,
            webhook,
        } = parts;
        let info = observe.info();
        let env = EnvInfo {
            name: info.environment,
            region: info.region,
            source: source_label,
            production,
        };
        let read_only = operate.is_none();
        let mut state = State::new(env, read_only, clock.now());
        state.capabilities = observe.capabilities();
        for panel in PanelId::ALL {
            state.set_stale_after(panel, schedule.stale_after_ms(panel));
        }
        let ops = operate.as_ref().map(|operate| {
            Arc::new(OpContext {
                observe: observe.clone(),
                operate: operate.clone(),
                clock,
                audit: AuditLog::new(audit_path.clone()),
                webhook,
                environment: state.env.name.clone(),
            })
        });
        state.ssh_in_read_only = read_only && shell.is_some();
        let (tx, rx) = mpsc::channel(1024);
        App {
            state,
            keymap,
            theme,
            observe,
            operate,
            shell,
            clock,
            schedule,
            ops,
            tx,
            rx,
            running: HashMap::new(),
            abandoned: Vec::new(),
            audit_path,
            terminal_bytes: None,
        }
    }

    /// A counter for the bytes the session writes to the terminal.
    pub fn count_terminal_bytes(&mut self) -> Arc<std::sync::atomic::AtomicU64> {
        self.terminal_bytes
            .get_or_insert_with(Default::default)
            .clone()
    }

    /// Bytes written to the terminal so far (0 without a terminal).
    pub fn terminal_bytes(&self) -> u64 {
        self.terminal_bytes
            .as_ref()
            .map_or(0, |n| n.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Carries out an effect the reducer asked for.
    pub fn apply(&mut self, effect: Effect) -> Flow {
        match effect {
            Effect::Quit => Flow::Quit,
            Effect::Refresh(panels) => Flow::Refresh(panels),
            Effect::RunOperation { id, request, steps } => {
                let Some(ctx) = self.ops.clone() else {
                    // Unreachable by construction (the reducer refuses first),
                    // but never let a read-only session pretend it acted.
                    let at = self.clock.now();
                    self.dispatch(Msg::OperationFinished {
                        id,
                        verdict: Verdict::Failed("read-only session: nothing was sent".into()),
                        at,
                    });
                    return Flow::Continue;
                };
                let cancel = CancelFlag::default();
                // The runner reports into an unbounded channel and never
                // waits; this forwarder is what waits when the screen stalls.
                let (op_tx, mut op_rx) = mpsc::unbounded_channel();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    while let Some(msg) = op_rx.recv().await {
                        if tx.send(msg).await.is_err() {
                            break;
                        }
                    }
                });
                let job = OpJob {
                    id,
                    request: request.clone(),
                    plan: steps,
                    policy: self.state.policy.clone(),
                    cancel: cancel.clone(),
                };
                let handle = tokio::spawn(async move {
                    run_operation(&ctx, &Progress::channel(op_tx), job).await
                });
                self.running.insert(
                    id,
                    RunningOp {
                        handle,
                        request,
                        cancel,
                        started: self.clock.now(),
                    },
                );
                Flow::Continue
            }
            Effect::CancelOperation(id) => {
                if let Some(op) = self.running.get(&id) {
                    op.cancel.cancel();
                }
                Flow::Continue
            }
            Effect::AbandonOperation { id, reason } => {
                // Stopped where it is: no compensation, by the operator's
                // choice or a signal's deadline. The result is written once
                // the task has stopped (see `wind_down`).
                if let Some(op) = self.running.get(&id) {
                    op.handle.abort();
                }
                self.abandoned.push((id, reason));
                Flow::Continue
            }
            Effect::BreakLock { holder } => {
                let Some(operate) = self.operate.clone() else {
                    self.dispatch(Msg::LockBroken {
                        result: Err("read-only session: nothing was sent".into()),
                    });
                    return Flow::Continue;
                };
                let tx = self.tx.clone();
                let now = self.clock.now();
                let timeout = self.schedule.timeout;
                tokio::spawn(async move {
                    let result =
                        match tokio::time::timeout(timeout, operate.break_lock(&holder, now)).await
                        {
                            Ok(r) => r.map_err(|e| e.to_string()),
                            Err(_) => Err(format!("no answer within {}s", timeout.as_secs())),
                        };
                    let _ = tx.send(Msg::LockBroken { result }).await;
                });
                Flow::Continue
            }
            Effect::TrustHost { host } => {
                let Some(shell) = self.shell.clone() else {
                    return Flow::Continue;
                };
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result = shell.trust_host(&host).await.map_err(|e| e.to_string());
                    let _ = tx.send(Msg::SshHostTrusted { host, result }).await;
                });
                Flow::Continue
            }
            Effect::OpenSsh { host } => {
                if self.shell.is_some() {
                    Flow::Shell(host)
                } else {
                    self.dispatch(Msg::SshEnded {
                        host,
                        result: Err("SSH is not available in this session".into()),
                    });
                    Flow::Continue
                }
            }
        }
    }

    /// Feeds a message to the reducer.
    pub fn dispatch(&mut self, msg: Msg) -> Vec<Effect> {
        let polled = matches!(msg, Msg::Observed { .. } | Msg::SourceFailed { .. });
        let effects = update(&mut self.state, msg);
        if polled {
            self.state.console.polls += 1;
            // The cost meter follows every poll (a mutex and a copy), and so
            // do the capabilities (an ALB's deregistration delay is read by
            // the hosts poll).
            self.state.usage = self.observe.usage(self.state.now);
            self.state.capabilities = self.observe.capabilities();
        }
        effects
    }

    /// Feeds a key press through the keymap and the reducer
    /// (`core::press`, the one path a key takes).
    pub fn press(&mut self, key: Key) -> Vec<Effect> {
        let was_logs = self.state.view == crate::core::view::ViewId::Logs;
        let effects = press(&mut self.state, key, &self.keymap);
        let is_logs = self.state.view == crate::core::view::ViewId::Logs;
        if was_logs != is_logs {
            self.observe.logs_visible(is_logs);
        }
        effects
    }

    /// Polls every panel once at `at`, in order, and applies the results.
    /// Used for the first frame, for headless commands, and to give the demo
    /// fleet a few minutes of history before the console opens.
    pub async fn observe_all_at(&mut self, at: Timestamp, panels: &[PanelId]) -> Vec<Msg> {
        // All at once, so a dead source costs one timeout in total; applied in
        // the order given.
        let observe = self.observe.clone();
        let timeout = self.schedule.timeout;
        let msgs = futures::future::join_all(
            panels
                .iter()
                .map(|panel| poll_once(observe.as_ref(), *panel, at, timeout)),
        )
        .await;
        let mut failures = Vec::new();
        for msg in msgs {
            if matches!(msg, Msg::SourceFailed { .. }) {
                failures.push(msg.clone());
            }
            self.dispatch(msg);
        }
        failures
    }

    /// Prepares state before the first frame or a headless print: replays
    /// `history_ms` of the past (the demo fleet), or else observes every
    /// source once.
    pub async fn prime(&mut self, history_ms: Option<i64>) -> Vec<Msg> {
        let now = self.clock.now();
        if let Some(span) = history_ms {
            self.warm_up(now, span).await;
            Vec::new()
        } else {
            // Replication first: the hosts view names database roles from it.
            let order = [
                PanelId::Replication,
                PanelId::Hosts,
                PanelId::Deploys,
                PanelId::Alerts,
                PanelId::Logs,
                PanelId::Service,
            ];
            self.observe_all_at(now, &order).await
        }
    }

    /// Replays `span_ms` of history at the hosts/replication poll interval
    /// ending at `end` (demo fleet only: real providers have no past to replay).
    pub async fn warm_up(&mut self, end: Timestamp, span_ms: i64) {
        let step = self.schedule.replication.as_millis().max(1) as i64;
        let mut t = end.plus_millis(-span_ms);
        let polls = self.state.console.polls;
        self.observe.replaying_history(Some(end));
        while t < end {
            self.observe_all_at(t, &[PanelId::Hosts, PanelId::Replication, PanelId::Service])
                .await;
            t = t.plus_millis(step);
        }
        self.observe.replaying_history(None);
        // A replayed past is not polling: the diagnostics count live polls.
        self.state.console.polls = polls;
        self.observe_all_at(end, &PanelId::ALL).await;
        self.dispatch(Msg::Tick { now: end });
    }

    /// Whether an operation task of this session has not been awaited yet.
    pub fn has_running_operations(&self) -> bool {
        self.running.values().any(|op| !op.handle.is_finished())
    }

    /// Ends the session's operations before it exits: asks any still running
    /// to stop at their next safe point, waits up to `limit` for each to
    /// finish (an operation winding down writes its own result),
    /// stops any still running after that, and writes the result of every
    /// operation stopped mid-step ("abandoned: …") that has none yet.
    pub async fn wind_down(&mut self, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        // Normally nothing is still running here (the loop ends after the
        // wind-down); after an error it may be: stop it safely first.
        for op in self.running.values() {
            op.cancel.cancel();
        }
        let ids: Vec<u64> = self.running.keys().copied().collect();
        for id in ids {
            let Some(mut op) = self.running.remove(&id) else {
                continue;
            };
            let verdict = match tokio::time::timeout_at(deadline, &mut op.handle).await {
                Ok(Ok(v)) => Some(v),
                Ok(Err(_)) => None,
                Err(_) => {
                    op.handle.abort();
                    let _ = op.handle.await;
                    if !self.abandoned.iter().any(|(a, _)| *a == id) {
                        let reason = self
                            .state
                            .operations
                            .iter()
                            .find(|o| o.id == id)
                            .map(|o| {
                                crate::core::quit::abandon_reason(
                                    o,
                                    "opsdeck stopped waiting for it to wind down",
                                )
                            })
                            .unwrap_or_else(|| "abandoned: opsdeck exited".into());
                        self.abandoned.push((id, reason));
                    }
                    None
                }
            };
            let Some(reason) = self
                .abandoned
                .iter()
                .find(|(a, _)| *a == id)
                .map(|(_, r)| r.clone())
            else {
                continue;
            };
            if verdict.is_some() {
                // It finished (and wrote its result) before it could be stopped.
                continue;
            }
            let Some(ctx) = self.ops.clone() else {
                continue;
            };
            let steps = self
                .state
                .operations
                .iter()
                .find(|o| o.id == id)
                .map(|o| o.steps.clone())
                .unwrap_or_default();
            let at = self.clock.now();
            let owner = super::audit_log::IntentOwner {
                user: super::audit_log::os_user(),
                host: super::audit_log::hostname(),
                id,
                not_before: op.started.plus_millis(-INTENT_CLOCK_SLACK_MS),
            };
            match ctx.audit.write_abandoned(
                &ctx.environment,
                &op.request,
                &owner,
                steps,
                &reason,
                at,
            ) {
                Ok(true) => tracing::warn!(id, %reason, "operation abandoned; result recorded"),
                Ok(false) => tracing::info!(id, "operation already had a result"),
                Err(e) => {
                    tracing::error!(id, error = %e, "could not record the abandoned operation");
                    eprintln!("opsdeck: {e}: the abandoned operation has no result record");
                }
            }
        }
    }

    /// Shows operations a previous session left without a result (in this
    /// environment): a warning and entries in the operations panel.
    pub fn report_unfinished(&mut self) {
        let log = AuditLog::new(self.audit_path.clone());
        match log.read_all() {
            Ok(records) => {
                let env = self.state.env.name.clone();
                let found: Vec<_> = super::audit_log::unfinished(&records)
                    .into_iter()
                    .filter(|u| u.environment == env)
                    .collect();
                if !found.is_empty() {
                    self.dispatch(Msg::UnfinishedFound(found));
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the audit log"),
        }
    }

    /// The operation context, so `do` runs exactly what the console runs.
    pub fn ops_context(&self) -> Option<Arc<OpContext>> {
        self.ops.clone()
    }
}
