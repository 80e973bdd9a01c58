//! The keymap as the reducer sees it. `keymap::Keymap` implements it; the
//! core does not know how keymaps are loaded, only how keys resolve.

use super::action::Scope;
use super::key::Key;
use super::key_result::KeyResult;

/// Resolves the keys typed so far in `sections`, most specific first.
pub trait KeyResolver {
    fn resolve_in(&self, sections: &[Scope], keys: &[Key]) -> KeyResult;
}
