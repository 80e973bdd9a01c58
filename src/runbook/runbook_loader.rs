//! Loads runbooks (the shipped example plus the user's `runbooks/` folder) and
//! replaces each `{{action}}` with the keys that trigger it now.

use std::path::Path;

use crate::core::action::{ActionId, REGISTRY};
use crate::core::key::format_sequence;
use crate::core::runbook::{RunbookDoc, step_lines};
use crate::diagnostic::Diagnostic;
use crate::keymap::Keymap;

/// Runbooks shipped in `runbooks/`, compiled in.
pub const SHIPPED: &[(&str, &str)] = &[(
    "database-failover",
    include_str!("../../runbooks/database-failover.md"),
)];

/// How a runbook names the keys of an action: "press `d`", "press `j` or
/// `<down>`", or "run `:drain-backend`" when nothing is bound.
pub fn describe_keys(keymap: &Keymap, action: ActionId) -> String {
    let keys: Vec<String> = keymap
        .keys_for(action, None)
        .iter()
        .map(|k| format!("`{}`", format_sequence(k)))
        .collect();
    match keys.as_slice() {
        [] => format!("run `:{}`", action.name()),
        [one] => format!("press {one}"),
        [first, rest @ ..] => format!("press {first} (or {})", rest.join(", ")),
    }
}

/// Replaces every `{{action}}` in `text`; unknown names are diagnostics (and
/// stay visible as written, so nobody follows a silently wrong step).
pub fn render(text: &str, file: &str, keymap: &Keymap) -> (String, Vec<Diagnostic>) {
    let mut out = String::with_capacity(text.len());
    let mut diags = Vec::new();
    let mut rest = text;
    let mut consumed = 0usize;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = after[..end].trim();
        match ActionId::from_name(name) {
            Some(id) => out.push_str(&describe_keys(keymap, id)),
            None => {
                let suggestion = REGISTRY
                    .iter()
                    .find(|s| s.name.contains(name) || name.contains(s.name))
                    .map(|s| format!(" (did you mean '{}'?)", s.name))
                    .unwrap_or_default();
                diags.push(Diagnostic::at_offset(
                    file,
                    text,
                    consumed + start,
                    format!("unknown action '{name}' in {{{{…}}}}{suggestion}"),
                ));
                out.push_str(&rest[start..start + 2 + end + 2]);
            }
        }
        consumed += start + 2 + end + 2;
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    (out, diags)
}

fn doc(name: &str, text: &str, file: &str, keymap: &Keymap) -> (RunbookDoc, Vec<Diagnostic>) {
    let (rendered, diags) = render(text, file, keymap);
    let lines = join_wrapped_items(rendered.lines().map(crate::core::sanitize::sanitize));
    let title = lines
        .iter()
        .find_map(|l| l.strip_prefix("# "))
        .map_or_else(|| name.to_string(), |t| t.trim().to_string());
    let steps = step_lines(&lines);
    (
        RunbookDoc {
            name: name.to_string(),
            title,
            lines,
            steps,
        },
        diags,
    )
}

/// Joins the hard-wrapped continuation lines of a list item (indented lines
/// right after it) into the item, so a step is one line the pane can wrap.
fn join_wrapped_items(lines: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_item = false;
    for line in lines {
        let is_item = !crate::core::runbook::step_lines(std::slice::from_ref(&line)).is_empty();
        let continues =
            in_item && !is_item && line.starts_with([' ', '\t']) && !line.trim().is_empty();
        if continues && let Some(last) = out.last_mut() {
            last.push(' ');
            last.push_str(line.trim());
            continue;
        }
        in_item = is_item;
        out.push(line);
    }
    out
}

/// The shipped runbooks plus every `*.md` in `dir` (a user file with the same
/// name replaces the shipped one), sorted by name.
pub fn load(dir: Option<&Path>, keymap: &Keymap) -> (Vec<RunbookDoc>, Vec<Diagnostic>) {
    let mut docs: Vec<RunbookDoc> = Vec::new();
    let mut diags = Vec::new();
    for (name, text) in SHIPPED {
        let (d, mut ds) = doc(name, text, &format!("runbooks/{name}.md"), keymap);
        docs.push(d);
        diags.append(&mut ds);
    }
    if let Some(dir) = dir
        && dir.is_dir()
    {
        let mut entries: Vec<_> = match std::fs::read_dir(dir) {
            Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(e) => {
                diags.push(Diagnostic::new(
                    &dir.display().to_string(),
                    0,
                    0,
                    format!("cannot read runbooks: {e}"),
                ));
                Vec::new()
            }
        };
        entries.sort();
        for path in entries
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
        {
            let file = path.display().to_string();
            let Some(name) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let (d, mut ds) = doc(&name, &text, &file, keymap);
                    docs.retain(|x| x.name != name);
                    docs.push(d);
                    diags.append(&mut ds);
                }
                Err(e) => diags.push(Diagnostic::new(
                    &file,
                    0,
                    0,
                    format!("cannot read runbook: {e}"),
                )),
            }
        }
    }
    docs.sort_by(|a, b| a.name.cmp(&b.name));
    (docs, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_runbook_names_only_known_actions() {
        let (docs, diags) = load(None, &Keymap::builtin());
        assert!(diags.is_empty(), "{diags:?}");
        let db = docs
            .iter()
            .find(|d| d.name == "database-failover")
            .expect("shipped");
        assert_eq!(db.title, "Database failover");
        assert!(db.steps.len() >= 8);
        let text = db.lines.join("\n");
        assert!(text.contains("press `P`"), "{text}");
        assert!(!text.contains("{{"), "{text}");
    }

    #[test]
    fn unknown_references_are_diagnostics_with_positions() {
        let (out, diags) = render(
            "# T\n\n1. then {{drain-backnd}} now\n",
            "rb.md",
            &Keymap::builtin(),
        );
        assert_eq!(diags.len(), 1);
        assert_eq!(
            diags[0].to_string(),
            "rb.md:3:9: unknown action 'drain-backnd' in {{…}}"
        );
        assert!(out.contains("{{drain-backnd}}"));
    }

    #[test]
    fn wrapped_list_items_become_one_line() {
        let (docs, _) = load(None, &Keymap::builtin());
        let db = docs
            .iter()
            .find(|d| d.name == "database-failover")
            .expect("shipped");
        let first = &db.lines[db.steps[0]];
        assert!(
            first.contains("read the replica's lag, IO/SQL thread state and last error."),
            "{first}"
        );
        let joined = join_wrapped_items(
            ["1. a", "   b", "", "   c", "2. d"]
                .into_iter()
                .map(String::from),
        );
        assert_eq!(joined, vec!["1. a b", "", "   c", "2. d"]);
    }

    #[test]
    fn keys_follow_the_keymap() {
        let km = Keymap::builtin();
        assert_eq!(describe_keys(&km, ActionId::DrainBackend), "press `d`");
        assert_eq!(
            describe_keys(&km, ActionId::MoveDown),
            "press `j` (or `<down>`)"
        );
    }
}
