//! Everything one console session holds: state, keymap, theme, providers, clock.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::core::key::Key;
use crate::core::operation::Verdict;
use crate::core::state::EnvInfo;
use crate::core::{Effect, Msg, PanelId, State, Timestamp, update};
use crate::keymap::{KeyResult, Keymap};
use crate::providers::{ObserveProvider, OperateProvider, ShellProvider};
use crate::theme::Theme;

use super::audit_log::AuditLog;
use super::clock::Clock;
use super::operation_runner::{CancelFlag, OpContext, run_operation};
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
    cancels: HashMap<u64, CancelFlag>,
    /// Keys typed so far of an unfinished sequence.
    pending: Vec<Key>,
}

/// What the event loop does after an effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
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
                audit: AuditLog::new(audit_path),
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
            cancels: HashMap::new(),
            pending: Vec::new(),
        }
    }

    /// Carries out an effect the reducer asked for.
    pub fn apply(&mut self, effect: Effect) -> Flow {
        match effect {
            Effect::Quit => Flow::Quit,
            // The event loop owns the pollers and wakes them.
            Effect::Refresh(_) => Flow::Continue,
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
                self.cancels.insert(id, cancel.clone());
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    run_operation(&ctx, &tx, id, request, steps, cancel).await;
                });
                Flow::Continue
            }
            Effect::CancelOperation(id) => {
                if let Some(c) = self.cancels.get(&id) {
                    c.cancel();
                }
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
        update(&mut self.state, msg)
    }

    /// Turns a key press into messages: text input while an input has focus,
    /// otherwise the keymap's action, a pending-sequence hint, or "unbound".
    pub fn key_messages(&mut self, key: Key) -> Vec<Msg> {
        if self.state.text_input_active() {
            return vec![Msg::Input(key)];
        }
        if !self.pending.is_empty() && key == Key::plain(crate::core::KeyCode::Esc) {
            self.pending.clear();
            return vec![Msg::PendingKeys(Vec::new())];
        }
        self.pending.push(key);
        let sections = Keymap::sections_for(
            self.state.view,
            self.state.dialog.is_some(),
            self.state.runbook.is_some(),
        );
        match self.keymap.resolve_in(&sections, &self.pending) {
            KeyResult::Matched(action) => {
                self.pending.clear();
                vec![Msg::Action(action)]
            }
            KeyResult::Pending => vec![Msg::PendingKeys(self.pending.clone())],
            KeyResult::NotFound => {
                self.pending.clear();
                vec![Msg::Unbound(key)]
            }
        }
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

    /// Replays `span_ms` of history at the hosts/replication poll interval
    /// ending at `end` (demo fleet only: real providers have no past to replay).
    pub async fn warm_up(&mut self, end: Timestamp, span_ms: i64) {
        let step = self.schedule.replication.as_millis().max(1) as i64;
        let mut t = end.plus_millis(-span_ms);
        while t < end {
            self.observe_all_at(t, &[PanelId::Hosts, PanelId::Replication])
                .await;
            t = t.plus_millis(step);
        }
        self.observe_all_at(end, &PanelId::ALL).await;
        self.dispatch(Msg::Tick { now: end });
    }
}
