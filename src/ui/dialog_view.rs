//! The confirmation dialog of a mutating operation: a centred modal box with
//! the preview (before and after, the steps), a guard's refusal, the typed
//! confirmation when one is needed, the two buttons (focus starts on Cancel,
//! marked by `▶` as well as by colour) and the keys that work here.
//! Emergencies and refusals are framed in the error style.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::format::wrap;
use super::popup::{button, modal, on_popup, typed_field};
use crate::core::action::{ActionId, Scope};
use crate::core::dialog::{Dialog, DialogButton};
use crate::core::key::{Key, format_sequence};
use crate::core::operation::{OpKind, PromoteMode};
use crate::core::sanitize::sanitize;
use crate::keymap::Keymap;
use crate::theme::{Role, Theme};

/// Widest the dialog gets: prose is easier to read in a narrow column.
const MAX_W: u16 = 78;

/// An emergency failover, or a guard that refuses: drawn as danger.
pub fn is_danger(dialog: &Dialog) -> bool {
    dialog.refusal.is_some()
        || matches!(
            dialog.request.kind,
            OpKind::Promote {
                mode: PromoteMode::Emergency,
                ..
            }
        )
}

/// Wraps `text` to `w` cells, continuing lines under the text after any
/// leading spaces or list number (`1. `), so lists stay readable.
fn wrap_hanging(text: &str, w: usize) -> Vec<String> {
    let trimmed = text.trim_start();
    let lead = text.len() - trimmed.len();
    let marker = trimmed
        .split_once(". ")
        .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        .map_or(0, |(n, _)| n.len() + 2);
    let indent = (lead + marker).min(w / 2);
    let mut out = Vec::new();
    let first = wrap(text, w);
    let Some(head) = first.first() else {
        return vec![String::new()];
    };
    out.push(head.clone());
    let rest: String = first[1..].join(" ");
    if !rest.is_empty() {
        for part in wrap(&rest, w.saturating_sub(indent).max(1)) {
            out.push(format!("{}{part}", " ".repeat(indent)));
        }
    }
    out
}

/// The dialog's keys from the keymap's `[dialog]` section, simplest first:
/// `y confirm  n/esc cancel  enter press  tab/l switch`.
fn key_hints(keymap: &Keymap) -> Vec<(String, &'static str)> {
    let bindings = keymap.bindings(Scope::Dialog);
    let keys_of = |action: ActionId| {
        let mut keys: Vec<&Vec<Key>> = bindings
            .iter()
            .filter(|b| b.action == action)
            .map(|b| &b.keys)
            .collect();
        keys.sort_by_key(|k| {
            let mods = k.iter().any(|k| k.mods.ctrl || k.mods.alt || k.mods.shift);
            let text = format_sequence(k);
            (k.len(), mods, text.len(), text)
        });
        keys.iter()
            .take(2)
            .map(|k| format_sequence(k))
            .collect::<Vec<_>>()
            .join("/")
    };
    [
        (ActionId::DialogConfirm, "confirm"),
        (ActionId::DialogCancel, "cancel"),
        (ActionId::DialogActivate, "press focused"),
        (ActionId::DialogNextButton, "switch"),
    ]
    .into_iter()
    .map(|(a, label)| (keys_of(a), label))
    .filter(|(k, _)| !k.is_empty())
    .collect()
}

pub fn draw(frame: &mut Frame, area: Rect, dialog: &Dialog, theme: &Theme, keymap: &Keymap) {
    let danger = is_danger(dialog);
    let popup = theme.style(Role::Popup);
    let text_style = popup;
    let danger_style = on_popup(theme, Role::HealthDown);
    let dim = on_popup(theme, Role::TextDim);

    let w = area.width.min(MAX_W);
    let inner_w = usize::from(w.saturating_sub(4)).max(10);

    // Bottom part, always shown: refusal, typed input, buttons, keys.
    let mut tail: Vec<Line> = Vec::new();
    if let Some(r) = &dialog.refusal {
        tail.push(Line::default());
        let head = format!("REFUSED by guard `{}`: {}", r.guard, sanitize(&r.reason));
        for part in wrap(&head, inner_w.saturating_sub(2)) {
            tail.push(Line::from(vec![
                Span::styled("┃ ", danger_style),
                Span::styled(part, danger_style),
            ]));
        }
        let over = format!(
            "Type {} below to override (recorded in the audit log).",
            sanitize(dialog.request.target())
        );
        for part in wrap(&over, inner_w.saturating_sub(2)) {
            tail.push(Line::from(vec![
                Span::styled("┃ ", danger_style),
                Span::styled(part, text_style),
            ]));
        }
    }
    let mut input_row: Option<(usize, usize)> = None;
    if let Some(expected) = &dialog.require_typed {
        tail.push(Line::default());
        let (field, column) = typed_field(
            "confirm",
            expected,
            &dialog.typed,
            dialog.can_confirm(),
            inner_w,
            theme,
        );
        input_row = Some((tail.len(), column));
        tail.push(field);
    }
    tail.push(Line::default());
    tail.push(buttons(dialog, theme, danger).centered());
    let hints: Vec<(String, &str)> = if dialog.require_typed.is_some() {
        // Keys go to the text field; these are the field's own keys.
        vec![
            ("<enter>".to_string(), "confirm"),
            ("<esc>".to_string(), "cancel"),
            ("<tab>".to_string(), "switch"),
            ("C-u".to_string(), "clear"),
        ]
    } else {
        key_hints(keymap)
    };
    let mut hint_spans = Vec::new();
    for (i, (k, label)) in hints.iter().enumerate() {
        if i > 0 {
            hint_spans.push(Span::styled("  ", dim));
        }
        hint_spans.push(Span::styled(k.clone(), on_popup(theme, Role::PopupKey)));
        hint_spans.push(Span::styled(format!(" {label}"), dim));
    }
    tail.push(Line::from(hint_spans).centered());

    // The preview, cut with a note when the screen is too short for it.
    let mut body: Vec<Line> = Vec::new();
    for l in &dialog.lines {
        let l = sanitize(l);
        let is_step = l
            .split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let style = if l.contains("EMERGENCY") || l.starts_with("Possible data loss") {
            danger_style
        } else if is_step {
            on_popup(theme, Role::Text)
        } else {
            text_style
        };
        for part in wrap_hanging(&l, inner_w) {
            body.push(Line::from(Span::styled(part, style)));
        }
    }
    let max_h = usize::from(area.height);
    let room = max_h.saturating_sub(2 + tail.len());
    if body.len() > room {
        let cut = body.len() - room.saturating_sub(1);
        body.truncate(room.saturating_sub(1));
        body.push(Line::from(Span::styled(
            format!("… {cut} more line(s): a taller terminal shows them"),
            dim,
        )));
        if room == 0 {
            body.clear();
        }
    }
    let body_len = body.len();
    let mut lines = body;
    lines.extend(tail);
    let marker = if danger { "✖" } else { "⚠" };
    let title = format!(" {marker} {} ", sanitize(&dialog.title));
    let cursor = input_row.map(|(row, col)| (body_len + row, col));
    modal(frame, area, w, lines, &title, theme, danger, cursor);
}

/// `▶[ Cancel ]   [ Confirm ]`: the focused button reversed and marked.
fn buttons(dialog: &Dialog, theme: &Theme, danger: bool) -> Line<'static> {
    let popup = theme.style(Role::Popup);
    let confirm_role = if danger {
        Role::HealthDown
    } else {
        Role::HealthOk
    };
    let enabled = dialog.can_confirm();
    let mut spans = button(
        "Cancel",
        dialog.focus == DialogButton::Cancel,
        on_popup(theme, Role::Popup),
        theme,
    );
    spans.push(Span::styled("    ", popup));
    let label = if enabled {
        "Confirm"
    } else {
        "Confirm (type the name first)"
    };
    // A confirm that cannot be pressed yet is drawn dim.
    let confirm_style = on_popup(theme, if enabled { confirm_role } else { Role::TextDim });
    spans.extend(button(
        label,
        dialog.focus == DialogButton::Confirm,
        confirm_style,
        theme,
    ));
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::wrap_hanging;

    #[test]
    fn numbered_lines_wrap_under_their_text() {
        let lines = wrap_hanging("1. wait for web-a1's in-flight requests to finish", 24);
        assert_eq!(lines[0], "1. wait for web-a1's");
        assert!(lines[1].starts_with("   "), "{lines:?}");
    }
}
