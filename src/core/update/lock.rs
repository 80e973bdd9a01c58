//! Reducer parts for the fleet-wide operation lock: its holder as last
//! observed (shown on every console), a mutating key refused while someone
//! else holds it (naming who), and a stale lock broken from the palette with
//! the holder's name typed (never from a read-only session).

use super::super::action::ActionId;
use super::super::dialog::LockBreakDialog;
use super::super::effect::Effect;
use super::super::key::{Key, KeyCode};
use super::super::lock_status::LockReport;
use super::super::state::{MessageLevel, State};
use super::super::time::Timestamp;
use super::say;

/// A lock observation older than this is not trusted to refuse a key (the
/// poller is failing; the runner's own lock attempt decides then).
const LOCK_FRESH_MS: i64 = 10_000;

pub(super) fn lock_observed(
    state: &mut State,
    at: Timestamp,
    result: Result<Option<LockReport>, String>,
) {
    let before = (state.lock.current.clone(), state.lock.error.clone());
    match result {
        Ok(current) => {
            state.lock.current = current;
            state.lock.error = None;
            state.lock.observed_at = Some(at);
        }
        Err(e) => state.lock.error = Some(e),
    }
    // The holder's age ticks in the status bar while someone holds it.
    state.dirty |= before != (state.lock.current.clone(), state.lock.error.clone())
        || state.lock.current.is_some();
}

/// A mutating key while someone else holds the lock: say who, and send nothing.
pub(super) fn refused_by_lock(state: &mut State, action: ActionId) -> bool {
    if state.read_only || action == ActionId::SshOpen {
        return false;
    }
    let fresh = state
        .lock
        .observed_at
        .is_some_and(|t| state.now.since(t) <= LOCK_FRESH_MS);
    let Some(report) = state.lock.other_holder().filter(|_| fresh) else {
        return false;
    };
    let stale = if report.stale {
        " — it looks stale: `:break-lock` breaks it"
    } else {
        " — wait for it to finish"
    };
    let text = format!(
        "🔒 {} not started: the fleet lock is held by {}{stale}",
        action.name(),
        report.holder.describe(state.now)
    );
    say(state, MessageLevel::Warning, text);
    true
}

/// `break-lock` (palette): only a stale lock, only read-write, typed confirmation.
pub(super) fn break_lock(state: &mut State) -> Vec<Effect> {
    if state.read_only {
        say(
            state,
            MessageLevel::Warning,
            "READ-ONLY: break-lock not sent (this session is read-only)".into(),
        );
        return Vec::new();
    }
    let Some(report) = state.lock.current.clone() else {
        say(
            state,
            MessageLevel::Info,
            "nobody holds the fleet lock: nothing to break".into(),
        );
        return Vec::new();
    };
    if report.ours {
        say(
            state,
            MessageLevel::Info,
            "this session holds the fleet lock; it is released when its operation ends".into(),
        );
        return Vec::new();
    }
    if !report.stale {
        let text = format!(
            "not broken: the lock is live ({}); only a stale lock can be broken",
            report.holder.describe(state.now)
        );
        say(state, MessageLevel::Warning, text);
        return Vec::new();
    }
    state.lock.break_dialog = Some(LockBreakDialog {
        holder: report.holder,
        typed: String::new(),
    });
    state.dirty = true;
    Vec::new()
}

/// Keys while the lock-break confirmation waits for the holder's name.
pub(super) fn lock_break_input(state: &mut State, key: Key) -> Vec<Effect> {
    let Some(mut dialog) = state.lock.break_dialog.take() else {
        return Vec::new();
    };
    state.dirty = true;
    match key.code {
        KeyCode::Esc => {
            say(
                state,
                MessageLevel::Info,
                "break-lock cancelled: nothing was sent".into(),
            );
            return Vec::new();
        }
        KeyCode::Char('c') if key.mods.ctrl => return Vec::new(),
        KeyCode::Enter if dialog.can_confirm() => {
            return vec![Effect::BreakLock {
                holder: dialog.holder,
            }];
        }
        KeyCode::Enter => {
            let text = format!("type '{}' to break the lock, or Esc", dialog.expected());
            say(state, MessageLevel::Warning, text);
        }
        KeyCode::Backspace => {
            dialog.typed.pop();
        }
        KeyCode::Char('u') if key.mods.ctrl => dialog.typed.clear(),
        KeyCode::Char(c) if key.is_text() => dialog.typed.push(c),
        _ => {}
    }
    state.lock.break_dialog = Some(dialog);
    Vec::new()
}

pub(super) fn lock_broken(state: &mut State, result: Result<(), String>) -> Vec<Effect> {
    match result {
        Ok(()) => {
            let who = state
                .lock
                .current
                .take()
                .map(|r| format!(" of {}", r.holder.describe(state.now)))
                .unwrap_or_default();
            say(
                state,
                MessageLevel::Info,
                format!("broke the stale fleet lock{who}"),
            );
        }
        Err(e) => say(
            state,
            MessageLevel::Error,
            format!("break-lock failed: {e}"),
        ),
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::super::update;
    use crate::core::action::ActionId;
    use crate::core::effect::Effect;
    use crate::core::key::{Key, KeyCode};
    use crate::core::lock::LockHolder;
    use crate::core::lock_status::LockReport;
    use crate::core::msg::Msg;
    use crate::core::state::State;
    use crate::core::test_fixtures::{T0, act, state};
    use crate::core::time::Timestamp;

    fn holder(started_at: Timestamp) -> LockHolder {
        LockHolder {
            operator: "alice".into(),
            machine: "ops-laptop".into(),
            pid: 4242,
            operation: "drain-backend web-c1".into(),
            environment: "test".into(),
            started_at,
        }
    }

    fn observe_lock(s: &mut State, stale: bool, ours: bool) {
        update(
            s,
            Msg::LockObserved {
                at: s.now,
                result: Ok(Some(LockReport {
                    holder: holder(s.now.plus_millis(-65_000)),
                    stale,
                    ours,
                })),
            },
        );
    }

    #[test]
    fn a_mutating_key_while_someone_else_holds_the_lock_names_the_holder() {
        let mut s = state(false);
        observe_lock(&mut s, false, false);
        assert!(act(&mut s, ActionId::DrainBackend).is_empty());
        assert!(
            s.dialog.is_none(),
            "no dialog for an operation that cannot start"
        );
        let msg = s
            .message
            .as_ref()
            .map(|m| m.text.clone())
            .unwrap_or_default();
        assert!(
            msg.contains("alice@ops-laptop (pid 4242): drain-backend web-c1, for 1m 05s"),
            "{msg}"
        );
        // The session's own lock refuses nothing.
        let mut s = state(false);
        observe_lock(&mut s, false, true);
        act(&mut s, ActionId::DrainBackend);
        let msg = s
            .message
            .as_ref()
            .map(|m| m.text.clone())
            .unwrap_or_default();
        assert!(!msg.contains("🔒"), "{msg}");
    }

    #[test]
    fn only_a_stale_lock_breaks_and_only_with_the_holder_typed() {
        let typed = |s: &mut State, text: &str| {
            for c in text.chars() {
                update(s, Msg::Input(Key::plain(KeyCode::Char(c))));
            }
        };
        // Read-only sessions cannot.
        let mut s = state(true);
        observe_lock(&mut s, true, false);
        assert!(act(&mut s, ActionId::BreakLock).is_empty());
        assert!(s.lock.break_dialog.is_none());
        // A live lock is not broken.
        let mut s = state(false);
        observe_lock(&mut s, false, false);
        assert!(act(&mut s, ActionId::BreakLock).is_empty());
        assert!(s.lock.break_dialog.is_none());
        // A stale one asks for `alice@ops-laptop`.
        let mut s = state(false);
        observe_lock(&mut s, true, false);
        act(&mut s, ActionId::BreakLock);
        assert!(s.text_input_active());
        typed(&mut s, "alice@ops");
        assert!(
            update(&mut s, Msg::Input(Key::plain(KeyCode::Enter))).is_empty(),
            "a partial name breaks nothing"
        );
        typed(&mut s, "-laptop");
        let effects = update(&mut s, Msg::Input(Key::plain(KeyCode::Enter)));
        assert_eq!(
            effects,
            vec![Effect::BreakLock {
                holder: holder(T0.plus_millis(-65_000))
            }]
        );
        assert!(s.lock.break_dialog.is_none());
        update(&mut s, Msg::LockBroken { result: Ok(()) });
        assert!(s.lock.current.is_none());
    }
}
