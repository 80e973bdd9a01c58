//! The runbook pane beside the views: the markdown with its steps as
//! checkboxes, the current step highlighted and kept in view, headings bold,
//! inline `code` (where the keys are) set apart, and the runbook's keys from
//! the keymap's `[runbook]` section in the footer.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format::{truncate, width, wrap};
use crate::core::action::{ActionId, Scope};
use crate::core::key::format_sequence;
use crate::core::runbook::{RunbookDoc, RunbookPane};
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::keymap::Keymap;
use crate::theme::{Role, Theme};

/// Narrowest the pane gets; below it the text is too broken up to follow.
const MIN_W: u16 = 36;

/// Splits the view area: the view on the left, the pane on the right (about
/// 40% of a wide terminal, 45% of a narrow one, never under `MIN_W`).
pub fn dock(area: Rect, state: &State) -> (Rect, Option<Rect>) {
    let Some(pane) = &state.runbook else {
        return (area, None);
    };
    if state.runbooks.get(pane.doc).is_none() {
        return (area, None);
    }
    let share = if area.width >= 120 { 40 } else { 45 };
    let w = (area.width * share / 100)
        .max(MIN_W)
        .min(area.width.saturating_sub(20).max(area.width / 2));
    let [view, side] = Layout::horizontal([Constraint::Min(0), Constraint::Length(w)]).areas(area);
    (view, Some(side))
}

/// One screen row of the pane, and whether it belongs to the current step.
struct Row {
    line: Line<'static>,
    current: bool,
}

/// The list marker of a step line: `- `, `* `, `- [ ] `, `- [x] `. Numbers stay.
fn strip_marker(line: &str) -> (&str, &str) {
    let t = line.trim_start();
    let indent = &line[..line.len() - t.len()];
    for m in ["- [ ] ", "- [x] ", "- [X] ", "* [ ] ", "* [x] ", "- ", "* "] {
        if let Some(rest) = t.strip_prefix(m) {
            return (indent, rest);
        }
    }
    (indent, t)
}

/// Wraps `text` (with backtick code) to `w` cells, keeping code styling
/// across breaks: a break inside code continues in code style.
fn wrap_styled(text: &str, w: usize, style: Style, code: Style) -> Vec<Vec<Span<'static>>> {
    let mut in_code = false;
    wrap(text, w)
        .into_iter()
        .map(|part| {
            let mut spans = Vec::new();
            for (i, piece) in part.split('`').enumerate() {
                if i > 0 {
                    in_code = !in_code;
                }
                if !piece.is_empty() {
                    spans.push(Span::styled(
                        piece.to_string(),
                        if in_code { code } else { style },
                    ));
                }
            }
            spans
        })
        .collect()
}

fn rows(
    doc: &RunbookDoc,
    pane: &RunbookPane,
    theme: &Theme,
    w: usize,
) -> (Vec<Row>, Option<usize>) {
    let text = theme.style(Role::Text);
    let dim = theme.style(Role::TextDim);
    let code = theme.style(Role::PopupKey);
    let selected = theme.style(Role::RowSelected);
    let mut out: Vec<Row> = Vec::new();
    let mut current_row = None;
    let mut in_fence = false;
    for (li, raw) in doc.lines.iter().enumerate() {
        let line = sanitize(raw);
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            out.push(Row {
                line: Line::from(Span::styled(format!("  {}", truncate(&line, w - 2)), code)),
                current: false,
            });
            continue;
        }
        if let Some(si) = doc.steps.iter().position(|&s| s == li) {
            let done = pane.done.contains(&si);
            let current = pane.cursor == si;
            let (indent, body) = strip_marker(&line);
            let gutter = if current { "▶" } else { " " };
            let box_text = if done { "[x] " } else { "[ ] " };
            let lead = format!("{gutter}{indent}");
            let hang = width(&lead) + width(box_text);
            let base = if current { text.patch(selected) } else { text };
            let body_style = if done && !current { dim } else { base };
            let code_style = if current { code.patch(selected) } else { code };
            let box_style = if done {
                base.patch(theme.style(Role::HealthOk))
                    .bg(base.bg.unwrap_or_default())
            } else {
                base
            };
            if current {
                current_row = Some(out.len());
            }
            let parts = wrap_styled(body, w.saturating_sub(hang).max(8), body_style, code_style);
            for (i, spans) in parts.into_iter().enumerate() {
                let mut line_spans = if i == 0 {
                    vec![
                        Span::styled(lead.clone(), base.add_modifier(Modifier::BOLD)),
                        Span::styled(box_text, box_style),
                    ]
                } else {
                    vec![Span::styled(" ".repeat(hang), base)]
                };
                line_spans.extend(spans);
                let used: usize = line_spans.iter().map(Span::width).sum();
                line_spans.push(Span::styled(" ".repeat(w.saturating_sub(used)), base));
                out.push(Row {
                    line: Line::from(line_spans),
                    current,
                });
            }
            continue;
        }
        let t = line.trim_start();
        if t.starts_with('#') {
            let heading = t.trim_start_matches('#').trim_start();
            let style = theme.style(Role::Title).add_modifier(Modifier::BOLD);
            for part in wrap(heading, w.saturating_sub(1)) {
                out.push(Row {
                    line: Line::from(Span::styled(format!(" {part}"), style)),
                    current: false,
                });
            }
            continue;
        }
        if line.trim().is_empty() {
            out.push(Row {
                line: Line::default(),
                current: false,
            });
            continue;
        }
        for spans in wrap_styled(&line, w.saturating_sub(1).max(8), text, code) {
            let mut s = vec![Span::raw(" ")];
            s.extend(spans);
            out.push(Row {
                line: Line::from(s),
                current: false,
            });
        }
    }
    (out, current_row)
}

/// The footer: `] next  [ prev  x tick  X close`, from the keymap.
fn footer(keymap: &Keymap) -> String {
    let bindings = keymap.bindings(Scope::Runbook);
    let mut parts = Vec::new();
    for (action, label) in [
        (ActionId::RunbookNextStep, "next"),
        (ActionId::RunbookPrevStep, "prev"),
        (ActionId::RunbookToggleStep, "tick"),
        (ActionId::CloseRunbook, "close"),
    ] {
        let keys: Vec<String> = bindings
            .iter()
            .filter(|b| b.action == action)
            .map(|b| format_sequence(&b.keys))
            .collect();
        if let Some(k) = keys.first() {
            parts.push(format!("{k} {label}"));
        }
    }
    parts.join("  ")
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, keymap: &Keymap) {
    let Some(pane) = &state.runbook else {
        return;
    };
    let Some(doc) = state.runbooks.get(pane.doc) else {
        return;
    };
    let done = pane.done.len();
    let total = doc.steps.len();
    let progress_role = if total > 0 && done == total {
        Role::HealthOk
    } else {
        Role::TextDim
    };
    let progress = format!(" {done}/{total} ");
    let title_room = usize::from(area.width).saturating_sub(width(&progress) + 3);
    let title = truncate(&format!(" Runbook: {} ", sanitize(&doc.title)), title_room);
    let block = Block::bordered()
        .border_style(theme.style(Role::BorderFocused))
        .title(Line::from(title).style(theme.style(Role::Title)))
        .title(
            Line::from(progress)
                .style(theme.style(progress_role))
                .right_aligned(),
        )
        .title_bottom(
            Line::from(format!(" {} ", footer(keymap)))
                .style(theme.style(Role::TextDim))
                .right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = usize::from(inner.width);
    let h = usize::from(inner.height);
    if w < 4 || h == 0 {
        return;
    }
    let (all, current) = rows(doc, pane, theme, w);
    // Keep the current step a third of the way down, where the eye is.
    let offset = match current {
        Some(row) if all.len() > h => {
            let step_rows = all.iter().skip(row).take_while(|r| r.current).count();
            let want = row.saturating_sub(h / 3);
            let need = (row + step_rows).saturating_sub(h);
            want.max(need).min(all.len() - h)
        }
        _ => 0,
    };
    let lines: Vec<Line> = all
        .into_iter()
        .skip(offset)
        .take(h)
        .map(|r| r.line)
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::strip_marker;

    #[test]
    fn list_markers_are_replaced_by_checkboxes() {
        assert_eq!(strip_marker("- drain web-a1"), ("", "drain web-a1"));
        assert_eq!(strip_marker("  - [ ] check lag"), ("  ", "check lag"));
        assert_eq!(strip_marker("1. promote"), ("", "1. promote"));
    }
}
