//! The reducer: `update(&mut State, Msg) -> Vec<Effect>`. Every change to the
//! console's state happens here, as a pure function of the message.

use super::action::ActionId;
use super::effect::Effect;
use super::fleet::{LogLevel, ReplicaRole, SourceFault};
use super::key::{Key, KeyCode, format_sequence};
use super::msg::{Msg, Observation, PanelId};
use super::series::Series;
use super::state::{
    HISTORY_WINDOW_MS, InputPurpose, MESSAGE_TTL_MS, MessageLevel, ObjectRef, Overlay, PanelError,
    State, StatusMessage, TextInput,
};
use super::time::Timestamp;
use super::view::ViewId;

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick { now } => {
            tick(state, now);
            quit::tick(state)
        }
        Msg::Resize { width, height } => {
            state.width = width;
            state.height = height;
            state.dirty = true;
            Vec::new()
        }
        Msg::Configured {
            policy,
            runbooks,
            warning,
        } => {
            if let Some(policy) = policy {
                state.policy = policy;
            }
            state.runbooks = runbooks;
            if let Some(text) = warning {
                say(state, MessageLevel::Warning, text);
            }
            state.dirty = true;
            Vec::new()
        }
        Msg::Drawn => {
            state.dirty = false;
            Vec::new()
        }
        Msg::ShowView(view) => {
            switch_view(state, view);
            state.dirty = true;
            Vec::new()
        }
        Msg::Action(action) => {
            state.dirty = true;
            state.pending_keys.clear();
            act(state, action)
        }
        Msg::Input(key) => {
            state.dirty = true;
            if state.lock.break_dialog.is_some() {
                return lock::lock_break_input(state, key);
            }
            if state.command_palette.is_some() {
                return command_palette::input(state, key);
            }
            if state.dialog.is_some() {
                return operations::dialog_input(state, key);
            }
            input(state, key);
            Vec::new()
        }
        Msg::PendingKeys(keys) => {
            state.dirty |= state.pending_keys != keys;
            state.pending_keys = keys;
            Vec::new()
        }
        Msg::Unbound(key) => {
            let mut typed = std::mem::take(&mut state.pending_keys);
            typed.push(key);
            let text = format!(
                "'{}' does nothing in {}",
                format_sequence(&typed),
                state.view.name()
            );
            say(state, MessageLevel::Warning, text);
            Vec::new()
        }
        Msg::Observed { at, observation } => {
            let traffic = matches!(observation, Observation::Hosts(_) | Observation::Service(_));
            observe(state, at, observation);
            if traffic {
                traffic_event(state, at);
            }
            Vec::new()
        }
        Msg::SourceFailed {
            at,
            panel,
            source,
            error,
        } => {
            let err = Some(PanelError {
                at,
                source,
                message: error,
            });
            match panel {
                PanelId::Hosts => state.hosts.error = err,
                PanelId::Replication => state.replication.error = err,
                PanelId::Deploys => state.deploys.error = err,
                PanelId::Alerts => state.alerts.error = err,
                PanelId::Logs => state.log_source.error = err,
                PanelId::Service => state.service.error = err,
            }
            state.dirty = true;
            Vec::new()
        }
        Msg::OperationStep {
            id,
            index,
            status,
            detail,
            at,
        } => {
            operations::step(state, id, index, status, detail, at);
            Vec::new()
        }
        Msg::OperationNote { id, note } => {
            operations::note(state, id, note);
            Vec::new()
        }
        Msg::OperationFinished { id, verdict, at } => {
            operations::finished(state, id, verdict, at);
            let quitting = quit::after_finished(state);
            if !quitting.is_empty() {
                return quitting;
            }
            // Observe again at once so the screen shows the new fleet.
            vec![Effect::Refresh(PanelId::ALL.to_vec())]
        }
        Msg::Signal(sig) => quit::signal(state, sig),
        Msg::LockObserved { at, result } => {
            lock::lock_observed(state, at, result);
            Vec::new()
        }
        Msg::LockBroken { result } => lock::lock_broken(state, result),
        Msg::UnfinishedFound(found) => {
            quit::unfinished_found(state, found);
            Vec::new()
        }
        Msg::LogBudget { bytes } => {
            state.logs.buffer.set_budget(bytes);
            state.dirty = state.view == ViewId::Logs;
            Vec::new()
        }
        Msg::SshHostUnknown { host, fingerprint } => {
            operations::ask_trust(state, host, fingerprint);
            state.dirty = true;
            Vec::new()
        }
        Msg::SshHostTrusted { host, result } => match result {
            Ok(()) => {
                say(
                    state,
                    MessageLevel::Info,
                    format!("trusted {host}'s host key; connecting"),
                );
                vec![Effect::OpenSsh { host }]
            }
            Err(e) => {
                say(state, MessageLevel::Error, format!("{host}: {e}"));
                Vec::new()
            }
        },
        Msg::SshEnded { host, result } => {
            // The console takes the screen back from the shell: draw it all.
            state.dirty = true;
            match result {
                Ok(()) => say(
                    state,
                    MessageLevel::Info,
                    format!("SSH session on {host} ended"),
                ),
                Err(e) => say(state, MessageLevel::Error, format!("SSH to {host}: {e}")),
            }
            Vec::new()
        }
    }
}

pub(crate) fn say(state: &mut State, level: MessageLevel, text: String) {
    state.message = Some(StatusMessage {
        text,
        level,
        at: state.now,
    });
    state.dirty = true;
}

fn tick(state: &mut State, now: Timestamp) {
    let before_stale = stale_flags(state);
    state.now = now;
    if let Some(m) = &state.message
        && now.since(m.at) > MESSAGE_TTL_MS
    {
        state.message = None;
        state.dirty = true;
    }
    // Ages are drawn in whole seconds; redraw when something is failing or
    // stale (its age is the news), or when staleness flips.
    if stale_flags(state) != before_stale || stale_flags(state).iter().any(|s| *s) {
        state.dirty = true;
    }
    if !state.failing_panels().is_empty() {
        state.dirty = true;
    }
    // The diagnostics panel's counters move while it is open.
    if state.overlay == Some(super::state::Overlay::Usage) {
        state.dirty = true;
    }
}

fn stale_flags(state: &State) -> [bool; 5] {
    let now = state.now;
    [
        state.service.is_stale(now),
        state.hosts.is_stale(now),
        state.replication.is_stale(now),
        state.alerts.is_stale(now),
        state.log_source.is_stale(now),
    ]
}

/// A panel's error for the parts of a source that failed while the rest
/// answered: dated now, so it shows beside the live data (a panel error older
/// than its data is history, not a failure).
fn fault_error(at: Timestamp, faults: &[SourceFault]) -> Option<PanelError> {
    if faults.is_empty() {
        return None;
    }
    Some(PanelError {
        at,
        source: faults
            .iter()
            .map(|f| f.source.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        message: faults
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    })
}

fn observe(state: &mut State, at: Timestamp, observation: Observation) {
    state.dirty = true;
    match observation {
        Observation::Hosts(obs) => {
            if let Some(lb) = &obs.load_balancer {
                state.history.error_rate.push(at, lb.error_rate());
                state.history.rps.push(at, lb.total_rps());
            }
            state.hosts.error = fault_error(at, &obs.faults).or(state.hosts.error.take());
            state.hosts.data = Some(obs);
            state.hosts.updated_at = Some(at);
        }
        Observation::Replication(obs) => {
            // What a failed part shows is its last answer: no new lag point,
            // and it did not answer now.
            let stale = |name: &str| obs.faults.iter().any(|f| f.stale.iter().any(|s| s == name));
            for db in obs
                .databases
                .iter()
                .filter(|d| d.role == ReplicaRole::Replica && !stale(&d.name))
            {
                state
                    .history
                    .db_lag
                    .entry(db.name.clone())
                    .or_insert_with(|| Series::new(HISTORY_WINDOW_MS))
                    .push(at, db.lag_seconds);
            }
            for c in obs
                .caches
                .iter()
                .filter(|c| c.role == ReplicaRole::Replica && !stale(&c.name))
            {
                state
                    .history
                    .cache_lag
                    .entry(c.name.clone())
                    .or_insert_with(|| Series::new(HISTORY_WINDOW_MS))
                    .push(at, c.lag_seconds);
            }
            let answered = obs
                .databases
                .iter()
                .filter(|d| d.reachable)
                .map(|d| &d.name)
                .chain(obs.caches.iter().filter(|c| c.reachable).map(|c| &c.name))
                .filter(|n| !stale(n))
                .cloned()
                .collect::<Vec<_>>();
            for name in answered {
                state.history.node_seen.insert(name, at);
            }
            state.replication.error =
                fault_error(at, &obs.faults).or(state.replication.error.take());
            state.replication.data = Some(obs);
            state.replication.updated_at = Some(at);
        }
        Observation::Deploys(obs) => {
            state.deploys.data = Some(obs);
            state.deploys.updated_at = Some(at);
        }
        Observation::Alerts(alerts) => {
            state.alerts.data = Some(alerts);
            state.alerts.updated_at = Some(at);
        }
        Observation::Service(obs) => {
            state.service_history.record(at, &obs);
            state.service.data = Some(obs);
            state.service.updated_at = Some(at);
        }
        Observation::Logs(batch) => {
            if batch.is_empty() && batch.dropped == 0 && state.log_source.updated_at.is_some() {
                // Nothing new: refresh the age without a redraw.
                state.log_source.updated_at = Some(at);
                state.dirty = state.view == ViewId::Logs && state.log_source.error.is_some();
                return;
            }
            state.logs.buffer.extend_batch(&batch);
            state.log_source.updated_at = Some(at);
            // Only the logs view shows lines; elsewhere new lines change nothing visible.
            state.dirty = state.view == ViewId::Logs;
        }
    }
    clamp_selections(state);
}

/// A traffic drop or spike starting or ending is an event: a line in the
/// logs view (from `opsdeck`) and a status message, told once each way.
fn traffic_event(state: &mut State, at: Timestamp) {
    use crate::core::assess::{TrafficDirection, traffic_now};
    use crate::core::fleet::LogLevel;
    let change = traffic_now(state, at);
    let direction = change.map(|c| c.direction);
    if direction == state.service_history.traffic_reported {
        return;
    }
    let (level, text) = match change {
        Some(c) => {
            let symbol = match c.direction {
                TrafficDirection::Drop => "▼",
                TrafficDirection::Spike => "▲",
            };
            (
                LogLevel::Warn,
                format!(
                    "{symbol} {} ({:.1} → {:.1} requests/s)",
                    c.text(),
                    c.baseline_rps,
                    c.recent_rps
                ),
            )
        }
        None => (LogLevel::Info, "traffic back to its baseline".to_string()),
    };
    state.service_history.traffic_reported = direction;
    state
        .logs
        .buffer
        .push_parts(at, "opsdeck", "", level, &text);
    let level = if change.is_some() {
        MessageLevel::Warning
    } else {
        MessageLevel::Info
    };
    say(state, level, text);
}

fn clamp_selections(state: &mut State) {
    let n = state.overview_items().len();
    state.overview_selected = state.overview_selected.min(n.saturating_sub(1));
    let n = state.instance_rows().len();
    state.instances.selected = state.instances.selected.min(n.saturating_sub(1));
    let n = state.replication_items().len();
    state.replication_selected = state.replication_selected.min(n.saturating_sub(1));
    let n = state.deploy_rows();
    state.deploys_selected = state.deploys_selected.min(n.saturating_sub(1));
}

/// Rows that fit on one page of the body.
fn page_rows(state: &State) -> usize {
    usize::from(state.height.saturating_sub(6)).max(1)
}

pub(crate) fn act(state: &mut State, action: ActionId) -> Vec<Effect> {
    use ActionId as A;
    if state.quit_dialog.is_some() {
        return quit::dialog_action(state, action);
    }
    let spec = action.spec();
    if spec.mutates {
        if lock::refused_by_lock(state, action) {
            return Vec::new();
        }
        return operations::start(state, action, None);
    }
    if state.dialog.is_some() {
        return operations::dialog_action(state, action);
    }
    match action {
        A::Quit => return quit::quit_pressed(state),
        A::BreakLock => return lock::break_lock(state),
        A::ShowHelp => {
            state.overlay = match state.overlay {
                Some(Overlay::Help) => None,
                _ => Some(Overlay::Help),
            };
        }
        A::Close => {
            if state.input.is_some() {
                cancel_input(state);
            } else if state.overlay.is_some() {
                state.overlay = None;
            } else if state.operations_panel && state.running_operation().is_some() {
                return operations::request_cancel(state);
            } else if state.operations_panel {
                state.operations_panel = false;
            } else if state.runbook.is_some() {
                state.runbook = None;
            } else if state.message.is_some() {
                state.message = None;
            }
        }
        A::OpenPalette => command_palette::open(state),
        A::ShowOperations => state.operations_panel = !state.operations_panel,
        A::RunbookNextStep | A::RunbookPrevStep | A::RunbookToggleStep | A::CloseRunbook => {
            command_palette::runbook_action(state, action);
        }
        A::DialogConfirm
        | A::DialogCancel
        | A::DialogActivate
        | A::DialogNextButton
        | A::DialogPrevButton => {}
        A::DrainBackend
        | A::UndrainBackend
        | A::PromoteReplica
        | A::FailoverReplica
        | A::RollbackDeploy
        | A::SshOpen => {
            return operations::start(state, action, None);
        }
        A::NextView => switch_view(state, state.view.next()),
        A::PrevView => switch_view(state, state.view.prev()),
        A::ViewOverview => switch_view(state, ViewId::Overview),
        A::ViewInstances => switch_view(state, ViewId::Instances),
        A::ViewReplication => switch_view(state, ViewId::Replication),
        A::ViewDeploys => switch_view(state, ViewId::Deploys),
        A::ViewLogs => switch_view(state, ViewId::Logs),
        A::MoveDown => move_by(state, 1),
        A::MoveUp => move_by(state, -1),
        A::PageDown => move_by(state, page_rows(state) as isize),
        A::PageUp => move_by(state, -(page_rows(state) as isize)),
        A::MoveTop => move_by(state, isize::MIN),
        A::MoveBottom => move_by(state, isize::MAX),
        A::ShowDetails => match state.selection() {
            Some(sel) => state.overlay = Some(Overlay::Details(sel)),
            None => say(state, MessageLevel::Info, "nothing selected".into()),
        },
        A::Refresh => {
            say(state, MessageLevel::Info, "refreshing every source".into());
            return vec![Effect::Refresh(PanelId::ALL.to_vec())];
        }
        A::ShowLogsForSelection => {
            let host = match state.selection() {
                Some(ObjectRef::Host(h) | ObjectRef::Database(h) | ObjectRef::Cache(h)) => h,
                _ => {
                    say(state, MessageLevel::Info, "select a host first".into());
                    return Vec::new();
                }
            };
            state.logs.filter.host = Some(host);
            state.logs.follow = true;
            state.logs.anchor = None;
            switch_view(state, ViewId::Logs);
        }
        A::StartFilter => {
            let (purpose, text) = match state.view {
                ViewId::Instances => (
                    InputPurpose::InstancesFilter,
                    state.instances.filter.clone(),
                ),
                ViewId::Logs => (
                    InputPurpose::LogsFilter,
                    state
                        .logs
                        .filter
                        .pattern
                        .as_ref()
                        .map(|r| r.as_str().to_string())
                        .unwrap_or_default(),
                ),
                _ => return Vec::new(),
            };
            state.input = Some(TextInput {
                purpose,
                text: text.clone(),
                error: None,
                original: text,
            });
        }
        A::ClearFilter => match state.view {
            ViewId::Instances => {
                state.instances.filter.clear();
                clamp_selections(state);
            }
            ViewId::Logs => state.logs.filter = Default::default(),
            _ => {}
        },
        A::SortNext => {
            state.instances.sort = state.instances.sort.next();
            state.instances.descending = false;
        }
        A::SortReverse => state.instances.descending = !state.instances.descending,
        A::ToggleFollow => {
            if state.logs.follow {
                state.logs.follow = false;
                state.logs.anchor = state.logs.buffer.last_seq();
            } else {
                follow(state);
            }
        }
        A::ToggleWrap => state.logs.wrap = !state.logs.wrap,
        A::ToggleTimestamps => state.logs.timestamps = !state.logs.timestamps,
        A::CycleLevel => {
            state.logs.filter.min_level = match state.logs.filter.min_level {
                None => Some(LogLevel::Info),
                Some(LogLevel::Info) => Some(LogLevel::Warn),
                Some(LogLevel::Warn) => Some(LogLevel::Error),
                _ => None,
            };
        }
        A::CycleHost => {
            let hosts = state.log_hosts();
            state.logs.filter.host = cycle(&hosts, state.logs.filter.host.as_deref());
        }
        A::CycleAz => {
            let azs = state.azs();
            state.logs.filter.az = cycle(&azs, state.logs.filter.az.as_deref());
        }
    }
    Vec::new()
}

/// Next item after `current` in `items`, wrapping to `None` (all) at the end.
fn cycle(items: &[String], current: Option<&str>) -> Option<String> {
    match current {
        None => items.first().cloned(),
        Some(c) => {
            let i = items.iter().position(|x| x == c);
            i.and_then(|i| items.get(i + 1)).cloned()
        }
    }
}

pub(crate) fn switch_view(state: &mut State, view: ViewId) {
    state.view = view;
    state.overlay = None;
    if state.input.is_some() {
        cancel_input(state);
    }
}

fn follow(state: &mut State) {
    state.logs.follow = true;
    state.logs.anchor = None;
}

fn move_by(state: &mut State, delta: isize) {
    fn moved(current: usize, len: usize, delta: isize) -> usize {
        if len == 0 {
            return 0;
        }
        let target = (current as isize).saturating_add(delta);
        target.clamp(0, len as isize - 1) as usize
    }
    match state.view {
        ViewId::Overview => {
            let n = state.overview_items().len();
            state.overview_selected = moved(state.overview_selected, n, delta);
        }
        ViewId::Instances => {
            let n = state.instance_rows().len();
            state.instances.selected = moved(state.instances.selected, n, delta);
        }
        ViewId::Replication => {
            let n = state.replication_items().len();
            state.replication_selected = moved(state.replication_selected, n, delta);
        }
        ViewId::Deploys => {
            let n = state.deploy_rows();
            state.deploys_selected = moved(state.deploys_selected, n, delta);
        }
        ViewId::Logs => scroll_logs(state, delta),
    }
}

/// Scrolling up pauses the tail at the line under the cursor; scrolling back
/// down to the newest line follows again.
fn scroll_logs(state: &mut State, delta: isize) {
    let buf = &state.logs.buffer;
    let filter = &state.logs.filter;
    let Some(newest) = buf.last_seq() else {
        return;
    };
    let from = if state.logs.follow {
        newest
    } else {
        state.logs.anchor.unwrap_or(newest)
    };
    if delta == isize::MAX {
        follow(state);
        return;
    }
    if delta < 0 {
        let n = if delta == isize::MIN {
            usize::MAX
        } else {
            delta.unsigned_abs()
        };
        // Keep a full page above the anchor when jumping to the top.
        let n = n.min(buf.len());
        let anchor = buf.seq_before(filter, from, n);
        let anchor = if delta == isize::MIN {
            buf.seq_from_oldest(filter, page_rows(state).saturating_sub(1))
                .or(anchor)
        } else {
            anchor
        };
        state.logs.follow = false;
        state.logs.anchor = anchor.or(Some(from));
    } else if !state.logs.follow {
        match buf.seq_after(filter, from, delta as usize) {
            Some(seq) => state.logs.anchor = Some(seq),
            None => follow(state),
        }
    }
}

fn cancel_input(state: &mut State) {
    if let Some(input) = state.input.take() {
        // The original text was applied before, so it compiles again.
        let _ = apply_filter_text(state, input.purpose, &input.original);
    }
}

fn input(state: &mut State, key: Key) {
    let Some(mut inp) = state.input.take() else {
        return;
    };
    let ctrl = key.mods.ctrl;
    match key.code {
        KeyCode::Esc => {
            state.input = Some(inp);
            cancel_input(state);
            return;
        }
        KeyCode::Enter => {
            if inp.error.is_some() {
                // Keep the input open: Enter on an invalid pattern would silently drop it.
                state.input = Some(inp);
            }
            return;
        }
        KeyCode::Backspace => {
            inp.text.pop();
        }
        KeyCode::Char('u') if ctrl => inp.text.clear(),
        KeyCode::Char('w') if ctrl => {
            let trimmed = inp.text.trim_end().len();
            inp.text.truncate(trimmed);
            let cut = inp.text.rfind(' ').map_or(0, |i| i + 1);
            inp.text.truncate(cut);
        }
        KeyCode::Char(c) if !ctrl && !key.mods.alt => inp.text.push(c),
        _ => {}
    }
    inp.error = apply_filter_text(state, inp.purpose, &inp.text).err();
    state.input = Some(inp);
}

/// Applies filter text live. An invalid regex keeps the previous filter and
/// returns the reason.
fn apply_filter_text(state: &mut State, purpose: InputPurpose, text: &str) -> Result<(), String> {
    match purpose {
        InputPurpose::InstancesFilter => {
            state.instances.filter = text.to_string();
            state.instances.selected = 0;
            Ok(())
        }
        InputPurpose::LogsFilter => {
            let re = State::compile_pattern(text)?;
            state.logs.filter.pattern = re;
            Ok(())
        }
    }
}

mod command_palette;
mod keys;
mod lock;
mod operations;
mod quit;
#[cfg(test)]
mod tests;

pub use keys::press;
