//! The active keymap: sections (`global` and one per view) that map key
//! sequences to actions. Resolution tries the view's section, then `global`.

use std::collections::BTreeMap;

use crate::core::action::{ActionId, Scope};
use crate::core::key::{Key, parse_sequence};
use crate::core::view::ViewId;
use crate::diagnostic::Diagnostic;

/// The default keymap, shipped as a file users can read.
pub const DEFAULT_KEYMAP: &str = include_str!("../../keymaps/default.toml");
pub const DEFAULT_KEYMAP_NAME: &str = "keymaps/default.toml";

/// One key sequence bound to an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub action: ActionId,
}

/// Outcome of feeding keys to the keymap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyResult {
    Matched(ActionId),
    /// The keys so far start a longer sequence.
    Pending,
    NotFound,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keymap {
    sections: BTreeMap<&'static str, BTreeMap<Vec<Key>, ActionId>>,
}

/// Section names in file order.
pub fn section_names() -> Vec<&'static str> {
    let mut names = vec![Scope::Global.name()];
    names.extend(ViewId::ALL.iter().map(|v| v.name()));
    names
}

fn scope_of(section: &str) -> Option<Scope> {
    if section == "global" {
        Some(Scope::Global)
    } else {
        ViewId::from_name(section).map(Scope::View)
    }
}

impl Keymap {
    /// The built-in default. Its file is a test fixture that must load cleanly.
    pub fn builtin() -> Keymap {
        Keymap::parse(DEFAULT_KEYMAP, DEFAULT_KEYMAP_NAME).0
    }

    /// Parses a keymap file on its own (no layering), with diagnostics.
    pub fn parse(text: &str, file: &str) -> (Keymap, Vec<Diagnostic>) {
        let mut map = Keymap::default();
        let mut diags = Vec::new();
        let raw: BTreeMap<
            toml::Spanned<String>,
            toml::Spanned<BTreeMap<toml::Spanned<String>, toml::Spanned<String>>>,
        > = match toml::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                diags.push(Diagnostic::at_offset(
                    file,
                    text,
                    offset,
                    e.message().to_string(),
                ));
                return (map, diags);
            }
        };
        for (section, entries) in raw {
            let Some(scope) = scope_of(section.get_ref()) else {
                diags.push(Diagnostic::at_offset(
                    file,
                    text,
                    section.span().start,
                    format!(
                        "unknown section '{}' (expected one of: {})",
                        section.get_ref(),
                        section_names().join(", ")
                    ),
                ));
                continue;
            };
            let target = map.sections.entry(scope.name()).or_default();
            let mut seen: BTreeMap<Vec<Key>, String> = BTreeMap::new();
            for (key, action) in entries.into_inner() {
                let keys = match parse_sequence(key.get_ref()) {
                    Ok(k) => k,
                    Err(e) => {
                        diags.push(Diagnostic::at_offset(
                            file,
                            text,
                            key.span().start,
                            format!("malformed key '{}': {e}", key.get_ref()),
                        ));
                        continue;
                    }
                };
                if let Some(first) = seen.get(&keys) {
                    diags.push(Diagnostic::at_offset(
                        file,
                        text,
                        key.span().start,
                        format!(
                            "key '{}' is bound twice in [{}] (same key as '{first}')",
                            key.get_ref(),
                            scope.name()
                        ),
                    ));
                    continue;
                }
                seen.insert(keys.clone(), key.get_ref().clone());
                let Some(id) = ActionId::from_name(action.get_ref()) else {
                    diags.push(Diagnostic::at_offset(
                        file,
                        text,
                        action.span().start,
                        format!("unknown action '{}' (see `opsdeck keys`)", action.get_ref()),
                    ));
                    continue;
                };
                let applies = id
                    .spec()
                    .scopes
                    .iter()
                    .any(|s| *s == Scope::Global || *s == scope)
                    || scope == Scope::Global;
                if !applies {
                    diags.push(Diagnostic::at_offset(
                        file,
                        text,
                        action.span().start,
                        format!(
                            "action '{}' does not apply in [{}]",
                            action.get_ref(),
                            scope.name()
                        ),
                    ));
                    continue;
                }
                target.insert(keys, id);
            }
        }
        (map, diags)
    }

    /// Feeds the keys typed so far (including the newest) for `view`.
    pub fn resolve(&self, view: ViewId, keys: &[Key]) -> KeyResult {
        let mut exact = None;
        let mut longer = false;
        for section in [view.name(), Scope::Global.name()] {
            let Some(map) = self.sections.get(section) else {
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
            // A view's own binding wins over the same key in global.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::key::Key;

    fn keys(s: &str) -> Vec<Key> {
        parse_sequence(s).expect("keys")
    }

    #[test]
    fn default_keymap_loads_cleanly() {
        let (_, diags) = Keymap::parse(DEFAULT_KEYMAP, DEFAULT_KEYMAP_NAME);
        assert!(diags.is_empty(), "{diags:?}");
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

    #[test]
    fn reports_bad_entries_with_positions() {
        let text =
            "[global]\n\"q\" = \"quit\"\n\"C-\" = \"quit\"\n\"x\" = \"explode\"\n[nowhere]\n";
        let (km, diags) = Keymap::parse(text, "k.toml");
        let shown: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert_eq!(
            km.resolve(ViewId::Overview, &keys("q")),
            KeyResult::Matched(ActionId::Quit)
        );
        assert!(
            shown
                .iter()
                .any(|d| d.starts_with("k.toml:3:1: malformed key 'C-'")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|d| d.starts_with("k.toml:4:7: unknown action 'explode'")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|d| d.starts_with("k.toml:5:2: unknown section 'nowhere'")),
            "{shown:?}"
        );
    }

    #[test]
    fn duplicate_after_normalisation() {
        let text = "[global]\n\"G\" = \"move-bottom\"\n\"S-g\" = \"move-top\"\n";
        let (_, diags) = Keymap::parse(text, "k.toml");
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].message.contains("bound twice"));
    }
}
