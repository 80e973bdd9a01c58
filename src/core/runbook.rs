//! Runbooks as the console shows them: markdown with every `{{action}}`
//! already replaced by the user's current key, and which steps are ticked.

use std::collections::BTreeSet;

/// A runbook ready to show (keys filled in by the runbook loader).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunbookDoc {
    /// File stem, as typed in `:runbook NAME`.
    pub name: String,
    /// The first `# heading`, else the name.
    pub title: String,
    pub lines: Vec<String>,
    /// Indices into `lines` of the steps (list items) that can be ticked.
    pub steps: Vec<usize>,
}

/// The runbook pane beside the views.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunbookPane {
    /// Index into `State::runbooks`.
    pub doc: usize,
    /// Index into the doc's `steps`.
    pub cursor: usize,
    /// Ticked steps (indices into `steps`).
    pub done: BTreeSet<usize>,
}

/// Finds the steps of a markdown text: list items (`- `, `* `, `1. `, `- [ ]`).
pub fn step_lines(lines: &[String]) -> Vec<usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            t.starts_with("- ")
                || t.starts_with("* ")
                || t.split_once(". ")
                    .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .map(|(i, _)| i)
        .collect()
}
