//! Key presses, the one path from a key to the reducer: text input while an
//! input has focus, otherwise the keymap's action, a longer pending sequence
//! (the which-key hint), or "unbound". The keys of an unfinished sequence live
//! only in `State::pending_keys`.

use crate::core::action::Scope;
use crate::core::effect::Effect;
use crate::core::key::{Key, KeyCode};
use crate::core::key_resolver::KeyResolver;
use crate::core::key_result::KeyResult;
use crate::core::msg::Msg;
use crate::core::state::State;

use super::update;

/// Feeds one key press through `keymap` and the reducer.
pub fn press(state: &mut State, key: Key, keymap: &dyn KeyResolver) -> Vec<Effect> {
    if state.text_input_active() {
        return update(state, Msg::Input(key));
    }
    if !state.pending_keys.is_empty() && key == Key::plain(KeyCode::Esc) {
        return update(state, Msg::PendingKeys(Vec::new()));
    }
    let mut typed = state.pending_keys.clone();
    typed.push(key);
    let sections = Scope::in_effect(
        state.view,
        state.dialog.is_some() || state.quit_dialog.is_some(),
        state.runbook.is_some(),
    );
    match keymap.resolve_in(&sections, &typed) {
        // Both clear the pending keys (an unbound key names all it ended).
        KeyResult::Matched(action) => update(state, Msg::Action(action)),
        KeyResult::NotFound => update(state, Msg::Unbound(key)),
        KeyResult::Pending => update(state, Msg::PendingKeys(typed)),
    }
}
