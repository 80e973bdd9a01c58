//! The active keymap: sections (`global` and one per view) that map key
//! sequences to actions. Resolution tries the view's section, then `global`.

use std::collections::BTreeMap;

use crate::core::action::{ActionId, Scope};
use crate::core::key::Key;
use crate::core::key_resolver::KeyResolver;
pub use crate::core::key_result::KeyResult;
use crate::core::view::ViewId;

/// One key sequence bound to an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub action: ActionId,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keymap {
    sections: BTreeMap<&'static str, BTreeMap<Vec<Key>, ActionId>>,
}

/// Section names in file order.
pub fn section_names() -> Vec<&'static str> {
    let mut names = vec![Scope::Global.name()];
    names.extend(ViewId::ALL.iter().map(|v| v.name()));
    names.push(Scope::Dialog.name());
    names.push(Scope::Runbook.name());
    names
}

pub(crate) fn scope_of(section: &str) -> Option<Scope> {
    match section {
        "global" => Some(Scope::Global),
        "dialog" => Some(Scope::Dialog),
        "runbook" => Some(Scope::Runbook),
        other => ViewId::from_name(other).map(Scope::View),
    }
}

impl Keymap {
    /// The built-in default. Its file is a test fixture that must load cleanly.
    pub fn builtin() -> Keymap {
        super::keymap_loader::load(None, None).keymap
    }

    /// Binds `keys` in `scope`, replacing what was there.
    pub fn bind(&mut self, scope: Scope, keys: Vec<Key>, action: ActionId) {
        self.sections
            .entry(scope.name())
            .or_default()
            .insert(keys, action);
    }

    /// Removes the binding of `keys` in `scope` (`noop`).
    pub fn unbind(&mut self, scope: Scope, keys: &[Key]) {
        if let Some(m) = self.sections.get_mut(scope.name()) {
            m.remove(keys);
        }
    }

    /// Sections that have bindings.
    pub fn scopes(&self) -> Vec<Scope> {
        self.sections.keys().filter_map(|n| scope_of(n)).collect()
    }

    /// Feeds the keys typed so far (including the newest) for `view`.
    pub fn resolve(&self, view: ViewId, keys: &[Key]) -> KeyResult {
        self.resolve_in(&[Scope::View(view), Scope::Global], keys)
    }

    /// The sections that apply, most specific first: a dialog is modal; an
    /// open runbook's keys come before the view's.
    pub fn sections_for(view: ViewId, dialog: bool, runbook: bool) -> Vec<Scope> {
        Scope::in_effect(view, dialog, runbook)
    }

    /// Feeds the keys typed so far, looking through `sections` in order: an
    /// earlier section's binding wins over the same key in a later one.
    pub fn resolve_in(&self, sections: &[Scope], keys: &[Key]) -> KeyResult {
        let mut exact = None;
        let mut longer = false;
        for scope in sections {
            let Some(map) = self.sections.get(scope.name()) else {
                continue;
            };
            for (seq, action) in map.range(keys.to_vec()..) {
                if !seq.starts_with(keys) {
                    break;
                }
                if seq.len() == keys.len() {
                    exact = exact.or(Some(*action));
                } else {
                    longer = true;
                }
            }
            // A more specific section's binding wins over the same key later on.
            if exact.is_some() && !longer {
                break;
            }
        }
        match (exact, longer) {
            (Some(a), false) => KeyResult::Matched(a),
            (_, true) => KeyResult::Pending,
            (None, false) => KeyResult::NotFound,
        }
    }

    /// Bindings of one section, in key order.
    pub fn bindings(&self, scope: Scope) -> Vec<Binding> {
        self.sections
            .get(scope.name())
            .map(|m| {
                m.iter()
                    .map(|(k, a)| Binding {
                        keys: k.clone(),
                        action: *a,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Bindings in effect in `view`: its own section, then global keys it does
    /// not override.
    pub fn effective_bindings(&self, view: ViewId) -> Vec<Binding> {
        let own = self.bindings(Scope::View(view));
        let mut out = own.clone();
        for b in self.bindings(Scope::Global) {
            if !own.iter().any(|o| o.keys == b.keys) {
                out.push(b);
            }
        }
        out
    }

    /// Every key sequence that triggers `action` in `view` (or anywhere, when
    /// `view` is `None`), view-specific keys first.
    pub fn keys_for(&self, action: ActionId, view: Option<ViewId>) -> Vec<Vec<Key>> {
        let mut out: Vec<Vec<Key>> = Vec::new();
        let bindings = match view {
            Some(v) => self.effective_bindings(v),
            None => {
                let mut all = Vec::new();
                for v in ViewId::ALL {
                    all.extend(self.bindings(Scope::View(v)));
                }
                all.extend(self.bindings(Scope::Global));
                all.extend(self.bindings(Scope::Dialog));
                all.extend(self.bindings(Scope::Runbook));
                all
            }
        };
        for b in bindings {
            if b.action == action && !out.contains(&b.keys) {
                out.push(b.keys);
            }
        }
        out
    }

    /// Sequences that continue `prefix` in `view`, for the which-key hint.
    pub fn continuations(&self, view: ViewId, prefix: &[Key]) -> Vec<Binding> {
        self.effective_bindings(view)
            .into_iter()
            .filter(|b| b.keys.len() > prefix.len() && b.keys.starts_with(prefix))
            .collect()
    }
}

impl KeyResolver for Keymap {
    fn resolve_in(&self, sections: &[Scope], keys: &[Key]) -> KeyResult {
        Keymap::resolve_in(self, sections, keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::key::{Key, parse_sequence};

    fn keys(s: &str) -> Vec<Key> {
        parse_sequence(s).expect("keys")
    }

    #[test]
    fn resolves_view_then_global_and_sequences() {
        let km = Keymap::builtin();
        assert_eq!(
            km.resolve(ViewId::Overview, &keys("q")),
            KeyResult::Matched(ActionId::Quit)
        );
        assert_eq!(
            km.resolve(ViewId::Logs, &keys("/")),
            KeyResult::Matched(ActionId::StartFilter)
        );
        assert_eq!(
            km.resolve(ViewId::Overview, &keys("/")),
            KeyResult::NotFound
        );
        assert_eq!(km.resolve(ViewId::Logs, &keys("g")), KeyResult::Pending);
        assert_eq!(
            km.resolve(ViewId::Logs, &keys("g g")),
            KeyResult::Matched(ActionId::MoveTop)
        );
        assert_eq!(
            km.resolve(ViewId::Logs, &keys("S-tab")),
            KeyResult::Matched(ActionId::PrevView)
        );
    }
}
