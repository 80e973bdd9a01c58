//! `opsdeck keys`: the active keymap as a table, Markdown or JSON, from the
//! action registry and the user's keymap.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::KeysFormat;
use crate::core::action::{ActionId, REGISTRY, Scope};
use crate::core::key::format_sequence;
use crate::core::view::ViewId;
use crate::keymap::Keymap;
use crate::runtime::outln;

use super::session::{LaunchError, Resolved};
use super::view_arg::view_arg;

/// One row of `opsdeck keys`.
struct KeyRow {
    section: &'static str,
    keys: String,
    action: &'static str,
    doc: &'static str,
    mutates: bool,
}

fn key_rows(keymap: &Keymap, view: Option<ViewId>) -> Vec<KeyRow> {
    let mut rows = Vec::new();
    let sections: Vec<Scope> = match view {
        Some(v) => vec![Scope::View(v), Scope::Global],
        None => {
            let mut s = vec![Scope::Global];
            s.extend(ViewId::ALL.iter().map(|v| Scope::View(*v)));
            s.extend([Scope::Dialog, Scope::Runbook]);
            s
        }
    };
    for scope in sections {
        let bindings = match (view, scope) {
            // Global keys the view overrides do not apply there.
            (Some(v), Scope::Global) => keymap
                .effective_bindings(v)
                .into_iter()
                .filter(|b| {
                    !keymap
                        .bindings(Scope::View(v))
                        .iter()
                        .any(|o| o.keys == b.keys)
                })
                .collect(),
            _ => keymap.bindings(scope),
        };
        // One row per action, with all of its keys.
        let mut by_action: Vec<(ActionId, Vec<String>)> = Vec::new();
        for b in bindings {
            let k = format_sequence(&b.keys);
            match by_action.iter_mut().find(|(a, _)| *a == b.action) {
                Some((_, ks)) => ks.push(k),
                None => by_action.push((b.action, vec![k])),
            }
        }
        by_action.sort_by_key(|(a, _)| *a as usize);
        for (action, keys) in by_action {
            let spec = action.spec();
            rows.push(KeyRow {
                section: scope.name(),
                keys: keys.join(", "),
                action: spec.name,
                doc: spec.doc,
                mutates: spec.mutates,
            });
        }
    }
    rows
}

pub fn run(
    resolved: &Resolved,
    format: KeysFormat,
    view: Option<&str>,
) -> Result<ExitCode, LaunchError> {
    let view = view.map(view_arg).transpose()?;
    let rows = key_rows(&resolved.keymap.keymap, view);
    let ro = resolved.read_only;
    let flag = |m: bool| match (m, ro) {
        (true, true) => "mutates (read-only: disabled)",
        (true, false) => "mutates",
        _ => "",
    };
    match format {
        KeysFormat::Json => {
            let v: Vec<_> = rows
                .iter()
                .map(|r| {
                    json!({
                        "section": r.section, "keys": r.keys, "action": r.action,
                        "description": r.doc, "mutates": r.mutates,
                        "disabled": r.mutates && ro,
                    })
                })
                .collect();
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        KeysFormat::Markdown => {
            outln!("| section | keys | action | description | mutates |");
            outln!("|---|---|---|---|---|");
            for r in &rows {
                let keys: Vec<String> = r.keys.split(", ").map(|k| format!("`{k}`")).collect();
                outln!(
                    "| {} | {} | `{}` | {} | {} |",
                    r.section,
                    keys.join(", "),
                    r.action,
                    r.doc,
                    flag(r.mutates)
                );
            }
        }
        KeysFormat::Table => {
            let kw = rows
                .iter()
                .map(|r| r.keys.chars().count())
                .max()
                .unwrap_or(4)
                .max(4);
            let aw = rows
                .iter()
                .map(|r| r.action.len())
                .max()
                .unwrap_or(6)
                .max(6);
            outln!(
                "{:<11} {:<kw$}  {:<aw$}  DESCRIPTION",
                "SECTION",
                "KEYS",
                "ACTION"
            );
            for r in &rows {
                let mark = if r.mutates {
                    format!("  [{}]", flag(true))
                } else {
                    String::new()
                };
                outln!(
                    "{:<11} {:<kw$}  {:<aw$}  {}{mark}",
                    r.section,
                    r.keys,
                    r.action,
                    r.doc
                );
            }
            let unbound: Vec<&str> = REGISTRY
                .iter()
                .filter(|s| resolved.keymap.keymap.keys_for(s.id, None).is_empty())
                .map(|s| s.name)
                .collect();
            if view.is_none() && !unbound.is_empty() {
                outln!(
                    "\nwithout a key (use the palette, `:`): {}",
                    unbound.join(", ")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
