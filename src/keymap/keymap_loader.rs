//! Loading keymaps in layers: the built-in default, then a shipped or named
//! keymap (with its `inherits` chain), then the user's `keymap.toml`. A later
//! layer's entry replaces the earlier one for that key in that section; `"noop"`
//! unbinds. Broken entries are reported and skipped, so the earlier layer's
//! binding stays in place.

use std::collections::BTreeMap;
use std::path::Path;

use crate::core::action::{ActionId, REGISTRY, Scope};
use crate::core::key::{Key, format_sequence, parse_sequence};
use crate::diagnostic::Diagnostic;
use crate::layered_file::{Shipped, Source};

use super::keymap::{Keymap, scope_of, section_names};

/// Keymaps shipped in `keymaps/`, compiled in.
pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("arrows", include_str!("../../keymaps/arrows.toml")),
];

/// The action name that unbinds a key.
pub const NOOP: &str = "noop";

/// How deep `inherits` chains may go before we call it a loop.
const MAX_DEPTH: usize = 8;

/// A keymap with the diagnostics of every layer that built it.
#[derive(Clone, Debug, Default)]
pub struct LoadedKeymap {
    pub keymap: Keymap,
    pub diagnostics: Vec<Diagnostic>,
    /// Files that contributed, in order (for `opsdeck check`).
    pub layers: Vec<String>,
    /// Where each binding was written: (section, keys) -> file, line, column.
    origins: BTreeMap<(&'static str, Vec<Key>), (String, usize, usize)>,
}

const FILES: Shipped = Shipped {
    folder: "keymaps",
    files: SHIPPED,
};

/// Builds the active keymap: default, then `selected` (`--keymap NAME|FILE`),
/// then `user_file` (the config dir's `keymap.toml`) if it exists.
pub fn load(selected: Option<&str>, user_file: Option<&Path>) -> LoadedKeymap {
    let mut out = LoadedKeymap::default();
    let mut chain: Vec<Source> = Vec::new();
    if let Some(spec) = selected {
        chain.push(FILES.lookup(spec, None));
    }
    if let Some(user) = user_file
        && user.exists()
    {
        chain.push(Source::File(user.to_path_buf()));
    }
    // The default is always the base layer.
    if let Some(default) = FILES.get("default") {
        apply_source(&mut out, &default, 0);
    }
    for source in chain {
        if !source.is_shipped("default") {
            apply_source(&mut out, &source, 0);
        }
    }
    let found = validate(&out.keymap, &out.layers, &out.origins);
    out.diagnostics.extend(found);
    out
}

fn apply_source(out: &mut LoadedKeymap, source: &Source, depth: usize) {
    let label = source.label();
    if depth > MAX_DEPTH {
        out.diagnostics.push(Diagnostic::new(
            &label,
            0,
            0,
            "inherits chain is too deep (a loop?)",
        ));
        return;
    }
    let text = match source.read() {
        Ok(t) => t,
        Err(e) => {
            out.diagnostics.push(Diagnostic::new(
                &label,
                0,
                0,
                format!("cannot read keymap: {e}"),
            ));
            return;
        }
    };
    let parsed = match parse_file(&text, &label) {
        Ok(f) => f,
        Err(d) => {
            out.diagnostics.push(d);
            return;
        }
    };
    if let Some((parent, offset)) = &parsed.inherits {
        let parent_source = FILES.lookup(parent, source.dir().as_deref());
        if parent_source.is_shipped("default") {
            // The default is already the base layer.
        } else if !parent_source.exists() {
            out.diagnostics.push(Diagnostic::at_offset(
                &label,
                &text,
                *offset,
                format!("inherits '{parent}': no shipped keymap or file by that name"),
            ));
        } else {
            apply_source(out, &parent_source, depth + 1);
        }
    }
    out.layers.push(label.clone());
    apply_entries(out, &parsed, &text, &label);
}

/// A parsed file: `inherits` and entries with their byte offsets.
struct KeymapFile {
    inherits: Option<(String, usize)>,
    entries: Vec<Entry>,
    diagnostics: Vec<Diagnostic>,
}

struct Entry {
    scope: Scope,
    key_text: String,
    key_offset: usize,
    action: String,
    action_offset: usize,
}

fn parse_file(text: &str, file: &str) -> Result<KeymapFile, Diagnostic> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).map_err(|e| {
        Diagnostic::at_offset(
            file,
            text,
            e.span().map_or(0, |s| s.start),
            e.message().trim().to_string(),
        )
    })?;
    let mut out = KeymapFile {
        inherits: None,
        entries: Vec::new(),
        diagnostics: Vec::new(),
    };
    let err = |offset: usize, msg: String| Diagnostic::at_offset(file, text, offset, msg);
    for (name, value) in doc.get_ref().iter() {
        let name_offset = name.span().start;
        let name = name.get_ref().as_ref();
        if name == "inherits" {
            match value.get_ref() {
                DeValue::String(s) => out.inherits = Some((s.to_string(), value.span().start)),
                _ => out.diagnostics.push(err(
                    value.span().start,
                    "inherits must be a keymap name or a file path".into(),
                )),
            }
            continue;
        }
        let Some(scope) = scope_of(name) else {
            out.diagnostics.push(err(
                name_offset,
                format!(
                    "unknown section '{name}' (expected one of: {})",
                    section_names().join(", ")
                ),
            ));
            continue;
        };
        let DeValue::Table(section) = value.get_ref() else {
            out.diagnostics.push(err(
                name_offset,
                format!("[{name}] must be a table of \"key\" = \"action\" entries"),
            ));
            continue;
        };
        for (key, action) in section.iter() {
            let DeValue::String(action_name) = action.get_ref() else {
                out.diagnostics.push(err(
                    action.span().start,
                    format!("the action for '{}' must be a string", key.get_ref()),
                ));
                continue;
            };
            out.entries.push(Entry {
                scope,
                key_text: key.get_ref().to_string(),
                key_offset: key.span().start,
                action: action_name.to_string(),
                action_offset: action.span().start,
            });
        }
    }
    out.entries.sort_by_key(|e| e.key_offset);
    out.diagnostics.sort_by_key(|d| (d.line, d.col));
    Ok(out)
}

fn apply_entries(out: &mut LoadedKeymap, file: &KeymapFile, text: &str, label: &str) {
    out.diagnostics.extend(file.diagnostics.iter().cloned());
    let mut seen: BTreeMap<(&'static str, Vec<Key>), String> = BTreeMap::new();
    for e in &file.entries {
        let keys = match parse_sequence(&e.key_text) {
            Ok(k) => k,
            Err(err) => {
                out.diagnostics.push(Diagnostic::at_offset(
                    label,
                    text,
                    e.key_offset,
                    format!("malformed key '{}': {err}", e.key_text),
                ));
                continue;
            }
        };
        if let Some(first) = seen.get(&(e.scope.name(), keys.clone())) {
            out.diagnostics.push(Diagnostic::at_offset(
                label,
                text,
                e.key_offset,
                format!(
                    "key '{}' is bound twice in [{}] (it is the same key as '{first}')",
                    e.key_text,
                    e.scope.name()
                ),
            ));
            continue;
        }
        seen.insert((e.scope.name(), keys.clone()), e.key_text.clone());
        if e.action == NOOP {
            out.keymap.unbind(e.scope, &keys);
            out.origins.remove(&(e.scope.name(), keys));
            continue;
        }
        let Some(id) = ActionId::from_name(&e.action) else {
            out.diagnostics.push(Diagnostic::at_offset(
                label,
                text,
                e.action_offset,
                format!("unknown action '{}' (`opsdeck keys` lists them)", e.action),
            ));
            continue;
        };
        if !id
            .spec()
            .scopes
            .iter()
            .any(|s| *s == Scope::Global || *s == e.scope)
            && e.scope != Scope::Global
        {
            out.diagnostics.push(Diagnostic::at_offset(
                label,
                text,
                e.action_offset,
                format!(
                    "action '{}' does not apply in [{}]",
                    e.action,
                    e.scope.name()
                ),
            ));
            continue;
        }
        let (line, col) = crate::diagnostic::line_col(text, e.key_offset);
        out.origins.insert(
            (e.scope.name(), keys.clone()),
            (label.to_string(), line, col),
        );
        out.keymap.bind(e.scope, keys, id);
    }
}

/// Checks the layered result: keys that shadow a longer sequence, and mutating
/// actions left without any key.
fn validate(
    keymap: &Keymap,
    layers: &[String],
    origins: &BTreeMap<(&'static str, Vec<Key>), (String, usize, usize)>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let file = layers.last().cloned().unwrap_or_else(|| "keymap".into());
    let at = |scope: Scope, keys: &[Key]| -> (String, usize, usize) {
        origins
            .get(&(scope.name(), keys.to_vec()))
            .cloned()
            .unwrap_or_else(|| (file.clone(), 0, 0))
    };
    for scope in keymap.scopes() {
        // A sequence in this section, or in global for a view section.
        let mut candidates = keymap.bindings(scope);
        if scope != Scope::Global {
            candidates.extend(keymap.bindings(Scope::Global));
        }
        for b in keymap.bindings(scope) {
            if let Some(longer) = candidates
                .iter()
                .find(|o| o.keys.len() > b.keys.len() && o.keys.starts_with(&b.keys))
            {
                let (f, line, col) = at(scope, &b.keys);
                out.push(Diagnostic::new(
                    &f,
                    line,
                    col,
                    format!(
                        "[{}] key '{}' ({}) shadows the sequence '{}' ({}): it can never be typed",
                        scope.name(),
                        format_sequence(&b.keys),
                        b.action.name(),
                        format_sequence(&longer.keys),
                        longer.action.name()
                    ),
                ));
            }
        }
    }
    for spec in REGISTRY.iter().filter(|s| s.mutates) {
        if keymap.keys_for(spec.id, None).is_empty() {
            out.push(Diagnostic::new(
                &file,
                0,
                0,
                format!(
                    "mutating action '{}' has no key (bind it, or the runbooks cannot name a key)",
                    spec.name
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::view::ViewId;
    use crate::keymap::KeyResult;
    use std::path::PathBuf;

    fn keys(s: &str) -> Vec<Key> {
        parse_sequence(s).expect("keys")
    }

    fn user_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keymap.toml");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn every_shipped_keymap_loads_cleanly() {
        for (name, _) in SHIPPED {
            let loaded = load(Some(name), None);
            assert!(
                loaded.diagnostics.is_empty(),
                "{name}: {:?}",
                loaded.diagnostics
            );
        }
    }

    #[test]
    fn arrows_inherits_the_default_and_unbinds_vim_keys() {
        let km = load(Some("arrows"), None).keymap;
        assert_eq!(
            km.resolve(ViewId::Overview, &keys("j")),
            KeyResult::NotFound
        );
        assert_eq!(
            km.resolve(ViewId::Overview, &keys("<down>")),
            KeyResult::Matched(ActionId::MoveDown)
        );
        assert_eq!(
            km.resolve(ViewId::Overview, &keys("<f6>")),
            KeyResult::Matched(ActionId::ViewLogs)
        );
        assert_eq!(
            km.resolve(ViewId::Overview, &keys("q")),
            KeyResult::Matched(ActionId::Quit)
        );
    }

    #[test]
    fn user_entries_replace_per_key_and_noop_unbinds() {
        let (_dir, path) = user_file(
            "[global]\n\"x\" = \"quit\"\n\"q\" = \"noop\"\n[logs]\n\"f\" = \"toggle-wrap\"\n",
        );
        let loaded = load(None, Some(&path));
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let km = loaded.keymap;
        assert_eq!(
            km.resolve(ViewId::Overview, &keys("x")),
            KeyResult::Matched(ActionId::Quit)
        );
        assert_eq!(
            km.resolve(ViewId::Overview, &keys("q")),
            KeyResult::NotFound
        );
        assert_eq!(
            km.resolve(ViewId::Logs, &keys("f")),
            KeyResult::Matched(ActionId::ToggleWrap)
        );
        assert_eq!(
            km.resolve(ViewId::Logs, &keys("w")),
            KeyResult::Matched(ActionId::ToggleWrap)
        );
    }

    #[test]
    fn broken_entries_are_reported_with_positions_and_the_default_stays() {
        let text = "[global]\n\"q\" = \"explode\"\n\"C-\" = \"quit\"\n\"G\" = \"move-top\"\n\"S-g\" = \"move-bottom\"\n[nowhere]\n\"x\" = \"quit\"\n";
        let (_dir, path) = user_file(text);
        let loaded = load(None, Some(&path));
        let shown: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        let file = path.display().to_string();
        let has = |needle: &str| {
            shown
                .iter()
                .any(|d| d.starts_with(&format!("{file}:{needle}")))
        };
        assert!(has("2:7: unknown action 'explode'"), "{shown:?}");
        assert!(has("3:1: malformed key 'C-'"), "{shown:?}");
        assert!(
            has("5:1: key 'S-g' is bound twice in [global]"),
            "{shown:?}"
        );
        assert!(has("6:2: unknown section 'nowhere'"), "{shown:?}");
        // The default stays in place of the broken entry.
        assert_eq!(
            loaded.keymap.resolve(ViewId::Overview, &keys("q")),
            KeyResult::Matched(ActionId::Quit)
        );
    }

    #[test]
    fn a_key_that_shadows_a_sequence_is_reported() {
        let (_dir, path) = user_file("[instances]\n\"g\" = \"sort-next\"\n");
        let loaded = load(None, Some(&path));
        let shown: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        assert!(
            shown
                .iter()
                .any(|d| d
                    .contains(":2:1: [instances] key 'g' (sort-next) shadows the sequence 'g g'")),
            "{shown:?}"
        );
    }

    #[test]
    fn inherits_a_missing_file_is_reported() {
        let (_dir, path) = user_file("inherits = \"nope.toml\"\n");
        let loaded = load(None, Some(&path));
        assert_eq!(loaded.diagnostics.len(), 1, "{:?}", loaded.diagnostics);
        assert!(
            loaded.diagnostics[0]
                .to_string()
                .contains(":1:12: inherits 'nope.toml'")
        );
    }
}
