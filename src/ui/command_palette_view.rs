//! The command palette (`:`): a box near the top with the input line and,
//! under it, the completions for what is typed so far, the selected one
//! highlighted. Each completion shows its kind, its key in the current view,
//! whether it mutates the fleet (or is refused in read-only mode) and its doc.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::format::{pad, short_az, truncate, truncate_start, width};
use super::popup::on_popup;
use super::status_bar_view::primary_key;
use crate::core::action::ActionId;
use crate::core::command_palette::{Candidate, CandidateKind, CommandPalette, candidates};
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::keymap::Keymap;
use crate::theme::{Role, Theme};

/// Completions shown at once; more scroll.
const MAX_ROWS: usize = 10;

/// The key bound to what a candidate runs, in the current view.
fn key_of(c: &Candidate, state: &State, keymap: &Keymap) -> String {
    let action = match c.kind {
        CandidateKind::Action => ActionId::from_name(&c.text),
        CandidateKind::View => ActionId::from_name(&format!("view-{}", c.text)),
        CandidateKind::Runbook | CandidateKind::Object => None,
    };
    action
        .and_then(|a| primary_key(keymap, a, state.view))
        .unwrap_or_default()
}

/// What a target candidate (`drain-backend web-a2`) is like now, so the
/// operator sees what they are about to act on: `✖ down · lb drained`.
fn target_summary(state: &State, text: &str) -> String {
    let Some((_, name)) = text.rsplit_once(' ') else {
        return String::new();
    };
    let Some(obs) = &state.hosts.data else {
        return String::new();
    };
    let Some(host) = obs.host(name) else {
        return String::new();
    };
    let mut out = format!(
        "{} {} · {}",
        host.health.symbol(),
        host.health.label(),
        sanitize(short_az(&host.az))
    );
    if let Some(t) = obs.load_balancer.as_ref().and_then(|lb| lb.target(name)) {
        out.push_str(&format!(" · lb {} w{}", t.state.label(), t.weight));
    }
    out
}

/// The first row shown so that `selected` is visible in `rows` rows.
fn scroll_offset(selected: usize, len: usize, rows: usize) -> usize {
    if rows == 0 || len <= rows {
        return 0;
    }
    let max = len - rows;
    selected.saturating_sub(rows - 1).min(max)
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, keymap: &Keymap) {
    let Some(p) = &state.command_palette else {
        return;
    };
    draw_palette(frame, area, state, p, theme, keymap);
}

fn draw_palette(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    p: &CommandPalette,
    theme: &Theme,
    keymap: &Keymap,
) {
    let all = candidates(state, &p.text);
    let selected = p.selected.min(all.len().saturating_sub(1));

    let aw = usize::from(area.width);
    let w = (aw * 3 / 4)
        .max(aw.saturating_sub(4).min(76))
        .min(100)
        .min(aw);
    // Border, input, rule, rows (at least one for "no completions"), border.
    let room = usize::from(area.height).saturating_sub(4 + 1);
    let rows = all.len().clamp(1, MAX_ROWS).min(room.max(1));
    let h = (rows + 4).min(usize::from(area.height));
    let rect = Rect {
        x: area.x + (area.width.saturating_sub(w as u16)) / 2,
        y: area.y + u16::from(area.height > h as u16 + 2),
        width: w as u16,
        height: h as u16,
    };
    frame.render_widget(Clear, rect);
    let count = if all.is_empty() {
        " no match ".to_string()
    } else {
        format!(" {}/{} ", selected + 1, all.len())
    };
    let block = Block::bordered()
        .style(theme.style(Role::Popup))
        .border_style(theme.style(Role::PopupBorder))
        .title(Line::from(" Command ").style(theme.style(Role::PopupTitle)))
        .title(
            Line::from(count)
                .style(on_popup(theme, Role::TextDim))
                .right_aligned(),
        )
        .title_bottom(
            Line::from(" <tab> complete · ↑↓ select · <enter> run · <esc> close ")
                .style(on_popup(theme, Role::TextDim))
                .right_aligned(),
        );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    // One column of margin on each side.
    let inner = Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    };
    if inner.height == 0 || inner.width < 4 {
        return;
    }
    let inner_w = usize::from(inner.width);

    // The input line: `: text` and a cursor at its end.
    let input_style = theme.style(Role::Input);
    let text = sanitize(&p.text);
    let shown = truncate_start(&text, inner_w.saturating_sub(4));
    let input = Line::from(vec![
        Span::styled(": ", theme.style(Role::StatusKey)),
        Span::styled(shown.clone(), input_style),
        Span::styled(" ", theme.style(Role::InputCursor)),
    ]);
    let input_area = Rect { height: 1, ..inner };
    frame.render_widget(Paragraph::new(input).style(input_style), input_area);
    let cursor_x = inner.x + (2 + width(&shown)) as u16;
    if cursor_x < inner.right() {
        frame.set_cursor_position(Position::new(cursor_x, inner.y));
    }
    if inner.height < 2 {
        return;
    }
    // The rule spans the margins too, like a border.
    let rule = Line::from(Span::styled(
        "─".repeat(inner_w + 2),
        theme.style(Role::PopupBorder),
    ));
    frame.render_widget(
        Paragraph::new(rule),
        Rect {
            x: inner.x - 1,
            y: inner.y + 1,
            width: inner.width + 2,
            height: 1,
        },
    );
    let list = Rect {
        y: inner.y + 2,
        height: inner.height.saturating_sub(2),
        ..inner
    };
    let visible = usize::from(list.height);
    if all.is_empty() {
        let hint = if p.text.trim().is_empty() {
            "type an action, a view, `logs HOST` or `runbook NAME`".to_string()
        } else {
            format!("no completions · enter runs `{}` as typed", text.trim())
        };
        let line = Line::from(Span::styled(
            truncate(&format!("  {hint}"), inner_w),
            on_popup(theme, Role::TextDim),
        ));
        frame.render_widget(Paragraph::new(line), list);
        return;
    }

    // Columns are as wide as the rows on screen need.
    let offset = scroll_offset(selected, all.len(), visible);
    let shown = || all.iter().skip(offset).take(visible);
    let keys: Vec<String> = all.iter().map(|c| key_of(c, state, keymap)).collect();
    let texts: Vec<String> = all.iter().map(|c| sanitize(&c.text)).collect();
    let on_screen = offset..(offset + visible).min(all.len());
    let text_w = texts[on_screen.clone()]
        .iter()
        .map(|t| width(t))
        .max()
        .unwrap_or(0)
        .min(30);
    let key_w = keys[on_screen]
        .iter()
        .map(|k| width(k))
        .max()
        .unwrap_or(0)
        .min(8);
    let kind_w = shown().map(|c| width(c.kind.label())).max().unwrap_or(0);
    let any_mutating = shown().any(|c| c.mutates);
    let mark_w = match (any_mutating, state.read_only) {
        (false, _) => 0,
        (true, true) => width("read-only"),
        (true, false) => width("⚠ mutates"),
    };

    let mut lines: Vec<Line> = Vec::new();
    for (i, c) in all.iter().enumerate().skip(offset).take(visible) {
        let is_sel = i == selected;
        let base = if is_sel {
            theme
                .style(Role::Popup)
                .patch(theme.style(Role::RowSelected))
        } else {
            theme.style(Role::Popup)
        };
        let fg = |role: Role| {
            let s = theme.style(role);
            match s.fg {
                Some(c) => base.fg(c),
                None => base,
            }
        };
        let refused = c.mutates && state.read_only;
        let name_role = if refused {
            Role::TextDim
        } else {
            Role::PopupAction
        };
        let mut spans = vec![
            Span::styled(if is_sel { "▶ " } else { "  " }, fg(Role::PopupKey)),
            Span::styled(pad(&texts[i], text_w), fg(name_role)),
            Span::styled(" ", base),
            Span::styled(pad(c.kind.label(), kind_w), fg(Role::TextDim)),
        ];
        if key_w > 0 {
            spans.push(Span::styled(" ", base));
            spans.push(Span::styled(pad(&keys[i], key_w), fg(Role::PopupKey)));
        }
        if mark_w > 0 {
            let (mark, role) = match (c.mutates, state.read_only) {
                (false, _) => ("", Role::Popup),
                (true, true) => ("read-only", Role::TextDim),
                (true, false) => ("⚠ mutates", Role::HealthDegraded),
            };
            spans.push(Span::styled(" ", base));
            spans.push(Span::styled(pad(mark, mark_w), fg(role)));
        }
        let used: usize = spans.iter().map(Span::width).sum();
        let doc_room = inner_w.saturating_sub(used + 1);
        let doc = if c.doc.is_empty() {
            target_summary(state, &c.text)
        } else {
            sanitize(&c.doc)
        };
        let doc = pad(&doc, doc_room);
        spans.push(Span::styled(" ", base));
        spans.push(Span::styled(
            doc,
            fg(if refused { Role::TextDim } else { Role::Popup }),
        ));
        lines.push(Line::from(spans).style(base));
    }
    frame.render_widget(Paragraph::new(lines), list);
}

#[cfg(test)]
mod tests {
    use super::scroll_offset;

    #[test]
    fn selection_stays_visible() {
        assert_eq!(scroll_offset(0, 20, 5), 0);
        assert_eq!(scroll_offset(4, 20, 5), 0);
        assert_eq!(scroll_offset(5, 20, 5), 1);
        assert_eq!(scroll_offset(19, 20, 5), 15);
        assert_eq!(scroll_offset(3, 3, 5), 0);
    }
}
