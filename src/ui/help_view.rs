//! The help popup for the current view: every binding in effect, grouped by
//! action (view-specific first, then the open runbook's, then global), with
//! its keys, action name and doc, all from the keymap and the action registry.
//! Actions that change the fleet are marked `⚠`; in read-only mode they stay
//! listed, dimmed, with a `read-only` tag. When the terminal is too short for
//! one column, global actions go in two columns without their docs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format::{pad, truncate, width};
use super::popup::{self, on_popup};
use crate::core::action::{ActionId, Scope};
use crate::core::key::format_sequence;
use crate::core::state::State;
use crate::keymap::Keymap;
use crate::theme::{Role, Theme};

/// One action with every key bound to it.
struct Entry {
    keys: String,
    action: ActionId,
}

fn group(keymap: &Keymap, state: &State) -> (Vec<Entry>, Vec<Entry>) {
    let own_keys: Vec<_> = keymap
        .bindings(Scope::View(state.view))
        .into_iter()
        .map(|b| b.keys)
        .collect();
    let mut own: Vec<(ActionId, Vec<String>)> = Vec::new();
    let mut global: Vec<(ActionId, Vec<String>)> = Vec::new();
    for b in keymap.effective_bindings(state.view) {
        let target = if own_keys.contains(&b.keys) {
            &mut own
        } else {
            &mut global
        };
        let keys = format_sequence(&b.keys);
        match target.iter_mut().find(|(a, _)| *a == b.action) {
            Some((_, k)) => k.push(keys),
            None => target.push((b.action, vec![keys])),
        }
    }
    let finish = |mut v: Vec<(ActionId, Vec<String>)>| {
        // Registry order, which is the order help lists actions in.
        v.sort_by_key(|(a, _)| *a);
        v.into_iter()
            .map(|(action, keys)| Entry {
                keys: keys.join(", "),
                action,
            })
            .collect::<Vec<_>>()
    };
    (finish(own), finish(global))
}

/// The runbook pane's keys, when a runbook is open.
fn runbook_entries(keymap: &Keymap, state: &State) -> Vec<Entry> {
    if state.runbook.is_none() {
        return Vec::new();
    }
    let mut out: Vec<(ActionId, Vec<String>)> = Vec::new();
    for b in keymap.bindings(Scope::Runbook) {
        let keys = format_sequence(&b.keys);
        match out.iter_mut().find(|(a, _)| *a == b.action) {
            Some((_, k)) => k.push(keys),
            None => out.push((b.action, vec![keys])),
        }
    }
    out.sort_by_key(|(a, _)| *a);
    out.into_iter()
        .map(|(action, keys)| Entry {
            keys: keys.join(", "),
            action,
        })
        .collect()
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, keymap: &Keymap) {
    let (own, global) = group(keymap, state);
    let runbook = runbook_entries(keymap, state);
    let all = || own.iter().chain(runbook.iter()).chain(global.iter());
    let key_w = all().map(|e| width(&e.keys)).max().unwrap_or(1).min(18);
    let name_w = all().map(|e| width(e.action.name())).max().unwrap_or(1);
    // Room for the marker of actions that change the fleet.
    let mark_w = if !all().any(|e| e.action.spec().mutates) {
        0
    } else if state.read_only {
        width("read-only ")
    } else {
        width("⚠ ")
    };
    let doc_w = all().map(|e| width(e.action.spec().doc)).max().unwrap_or(0) + mark_w;
    let w = (key_w + name_w + doc_w + 6).min(usize::from(area.width)) as u16;

    // Everything in one column when it fits; else the runbook's keys on one
    // row; else global actions in columns too.
    let avail = usize::from(area.height);
    let one_column = own.len() + global.len() + 3 + 2;
    let (rb_full, rb_short) = match runbook.len() {
        0 => (0, 0),
        n => (n + 2, 2),
    };
    let rb_compact = one_column + rb_full > avail;
    let rb_rows = if rb_compact { rb_short } else { rb_full };
    let fits = one_column + rb_rows <= avail;
    let h = if fits {
        one_column + rb_rows
    } else {
        let own_rows = if own.is_empty() { 0 } else { own.len() + 2 };
        let n_cols = if usize::from(w).saturating_sub(2) >= 72 {
            3
        } else {
            2
        };
        own_rows + rb_rows + 1 + global.len().div_ceil(n_cols) + 2
    };
    let h = (h as u16).min(area.height);
    let rect = popup::centred(area, w, h);
    let title = Line::from(format!(" Help: {} ", state.view.title()));
    let inner = popup::frame(frame, rect, theme, title);
    let inner_w = usize::from(inner.width);

    let entry_line = |e: &Entry, with_doc: bool, cell_w: usize| {
        let spec = e.action.spec();
        // In read-only mode a mutating key only explains why it is disabled.
        let refused = spec.mutates && state.read_only;
        let dim = on_popup(theme, Role::TextDim);
        let style = |role: Role| if refused { dim } else { theme.style(role) };
        let mut spans = vec![
            Span::styled(pad(&e.keys, key_w), style(Role::PopupKey)),
            Span::styled(" ", theme.style(Role::Popup)),
        ];
        if with_doc {
            spans.push(Span::styled(
                pad(e.action.name(), name_w),
                style(Role::PopupAction),
            ));
            spans.push(Span::styled(" ", theme.style(Role::Popup)));
            let mut room = cell_w.saturating_sub(key_w + name_w + 2);
            if refused {
                spans.push(Span::styled("read-only", theme.style(Role::BadgeReadOnly)));
                spans.push(Span::styled(" ", theme.style(Role::Popup)));
                room = room.saturating_sub(width("read-only "));
            } else if spec.mutates {
                spans.push(Span::styled("⚠ ", on_popup(theme, Role::HealthDegraded)));
                room = room.saturating_sub(width("⚠ "));
            }
            spans.push(Span::styled(truncate(spec.doc, room), style(Role::Popup)));
        } else {
            let mark = if refused {
                " read-only"
            } else if spec.mutates {
                " ⚠"
            } else {
                ""
            };
            let room = cell_w.saturating_sub(key_w + 1 + width(mark));
            spans.push(Span::styled(
                truncate(e.action.name(), room),
                style(Role::PopupAction),
            ));
            spans.push(Span::styled(mark, dim));
        }
        Line::from(spans)
    };
    let heading = |text: String| Line::from(Span::styled(text, theme.style(Role::PopupHeading)));

    let mut top: Vec<Line> = Vec::new();
    if !own.is_empty() {
        top.push(heading(format!("{} view", state.view.title())));
        top.extend(own.iter().map(|e| entry_line(e, true, inner_w)));
        top.push(Line::default());
    }
    if !runbook.is_empty() && !rb_compact {
        top.push(heading("Runbook pane".to_string()));
        top.extend(runbook.iter().map(|e| entry_line(e, true, inner_w)));
        top.push(Line::default());
    } else if !runbook.is_empty() {
        // Short terminal: the runbook's keys on one row, names only.
        let mut spans = vec![Span::styled(
            "Runbook pane",
            theme.style(Role::PopupHeading),
        )];
        for e in &runbook {
            spans.push(Span::styled(
                format!("  {}", e.keys),
                theme.style(Role::PopupKey),
            ));
            let name = e.action.name().trim_start_matches("runbook-");
            spans.push(Span::styled(
                format!(" {name}"),
                theme.style(Role::PopupAction),
            ));
        }
        top.push(Line::from(spans));
        top.push(Line::default());
    }
    top.push(heading("Global".to_string()));

    if fits {
        top.extend(global.iter().map(|e| entry_line(e, true, inner_w)));
        frame.render_widget(Paragraph::new(top), inner);
        return;
    }
    // Short terminal: global actions in columns, keys and names only (their
    // names say what they do; view-specific actions above keep their docs).
    let top_h = top.len() as u16;
    let [top_area, cols_area] =
        Layout::vertical([Constraint::Length(top_h), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(top), top_area);
    let n_cols: usize = if inner.width >= 72 { 3 } else { 2 };
    let cols =
        Layout::horizontal(vec![Constraint::Ratio(1, n_cols as u32); n_cols]).split(cols_area);
    let per = global.len().div_ceil(n_cols);
    let rows = usize::from(cols_area.height);
    for (i, col) in cols.iter().enumerate() {
        let entries = global.iter().skip(i * per).take(per);
        let col_w = usize::from(col.width).saturating_sub(1);
        let mut lines: Vec<Line> = entries
            .map(|e| {
                let keys = e.keys.replace(", ", ",");
                let name = e.action.name();
                let keys = if width(&keys) + 1 + width(name) > col_w {
                    keys.split(',').next().unwrap_or_default().to_string()
                } else {
                    keys
                };
                let room = col_w.saturating_sub(width(&keys) + 1);
                Line::from(vec![
                    Span::styled(keys, theme.style(Role::PopupKey)),
                    Span::styled(" ", theme.style(Role::Popup)),
                    Span::styled(truncate(name, room), theme.style(Role::PopupAction)),
                ])
            })
            .collect();
        if lines.len() > rows && rows > 0 {
            lines.truncate(rows - 1);
            lines.push(Line::from(Span::styled(
                "… (taller terminal shows more)",
                theme.style(Role::TextDim),
            )));
        }
        frame.render_widget(Paragraph::new(lines), *col);
    }
}
