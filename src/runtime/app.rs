//! Everything one console session holds: state, keymap, theme, providers, clock.

use std::sync::Arc;

use crate::core::key::Key;
use crate::core::state::EnvInfo;
use crate::core::{Effect, Msg, PanelId, State, Timestamp, update};
use crate::keymap::{KeyResult, Keymap};
use crate::providers::{ObserveProvider, OperateProvider};
use crate::theme::Theme;

use super::clock::Clock;
use super::poller::{PollPlan, poll_once};

/// A console session. In read-only mode `operate` is `None`: no code path can
/// mutate the fleet.
pub struct App {
    pub state: State,
    pub keymap: Keymap,
    pub theme: Theme,
    pub observe: Arc<dyn ObserveProvider>,
    pub operate: Option<Arc<dyn OperateProvider>>,
    pub clock: Clock,
    pub plan: PollPlan,
    /// Keys typed so far of an unfinished sequence.
    pending: Vec<Key>,
}

/// What a session is built from.
pub struct AppParts {
    pub observe: Arc<dyn ObserveProvider>,
    /// `None` in read-only mode.
    pub operate: Option<Arc<dyn OperateProvider>>,
    pub keymap: Keymap,
    pub theme: Theme,
    pub clock: Clock,
    pub plan: PollPlan,
    /// Data source for the status bar, e.g. `demo (built-in, no config)`.
    pub source_label: String,
    pub production: bool,
}

impl App {
    pub fn new(parts: AppParts) -> App {
        let AppParts {
            observe,
            operate,
            keymap,
            theme,
            clock,
            plan,
            source_label,
            production,
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
        for panel in PanelId::ALL {
            state.set_stale_after(panel, plan.stale_after_ms(panel));
        }
        App {
            state,
            keymap,
            theme,
            observe,
            operate,
            clock,
            plan,
            pending: Vec::new(),
        }
    }

    /// Feeds a message to the reducer.
    pub fn dispatch(&mut self, msg: Msg) -> Vec<Effect> {
        update(&mut self.state, msg)
    }

    /// Turns a key press into messages: text input while an input has focus,
    /// otherwise the keymap's action, a pending-sequence hint, or "unbound".
    pub fn key_messages(&mut self, key: Key) -> Vec<Msg> {
        if self.state.input.is_some() {
            return vec![Msg::Input(key)];
        }
        if !self.pending.is_empty() && key == Key::plain(crate::core::KeyCode::Esc) {
            self.pending.clear();
            return vec![Msg::PendingKeys(Vec::new())];
        }
        self.pending.push(key);
        match self.keymap.resolve(self.state.view, &self.pending) {
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
        let mut failures = Vec::new();
        for panel in panels {
            let msg = poll_once(self.observe.as_ref(), *panel, at, self.plan.timeout).await;
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
        let step = self.plan.replication.as_millis().max(1) as i64;
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
