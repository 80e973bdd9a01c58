//! The two dialogs of leaving safely, drawn like the confirmation dialog (a
//! centred modal box): the quit dialog, asked when `q` or C-c is pressed
//! while an operation runs (three choices listed one per row, focus on
//! "keep watching", each stated plainly), and the typed confirmation that
//! breaks a stale fleet lock.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::format::{truncate_start, width, wrap};
use crate::core::dialog::{LockBreakDialog, QuitChoice, QuitDialog};
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::theme::{Role, Theme};

/// Widest the dialog gets, as the confirmation dialog.
const MAX_W: u16 = 78;

fn on_popup(theme: &Theme, role: Role) -> Style {
    let bg = theme.style(Role::Popup).bg.unwrap_or_default();
    theme.style(role).bg(bg)
}

/// Draws whichever of the two is open.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    if let Some(d) = &state.quit_dialog {
        draw_quit(frame, area, d, theme);
    }
    if let Some(d) = &state.lock.break_dialog {
        draw_lock_break(frame, area, d, state, theme);
    }
}

/// What each choice does, in one sentence.
fn explain(choice: QuitChoice) -> &'static str {
    match choice {
        QuitChoice::KeepWatching => "close this; the operation goes on and the console stays.",
        QuitChoice::CancelThenQuit => {
            "stop at the next safe point, undo what must not stay half done, \
             record the result, then quit. The console shows the wind-down until then."
        }
        QuitChoice::QuitAndLeave => {
            "opsdeck exits NOW. The operation is ABANDONED mid-step: nothing is \
             undone, and nobody finishes it. The audit log records:"
        }
    }
}

fn draw_quit(frame: &mut Frame, area: Rect, dialog: &QuitDialog, theme: &Theme) {
    let popup = theme.style(Role::Popup);
    let dim = on_popup(theme, Role::TextDim);
    let danger = on_popup(theme, Role::HealthDown);
    let w = area.width.min(MAX_W);
    let inner_w = usize::from(w.saturating_sub(4)).max(10);
    let mut lines: Vec<Line> = Vec::new();
    let head = format!(
        "{} is running — {}.",
        sanitize(&dialog.summary),
        sanitize(&dialog.doing)
    );
    for part in wrap(&head, inner_w) {
        lines.push(Line::from(Span::styled(part, popup)));
    }
    for choice in QuitChoice::ALL {
        lines.push(Line::default());
        let focused = dialog.focus == choice;
        let role = match choice {
            QuitChoice::KeepWatching => Role::HealthOk,
            QuitChoice::CancelThenQuit => Role::HealthDegraded,
            QuitChoice::QuitAndLeave => Role::HealthDown,
        };
        let mut style = on_popup(theme, role);
        if focused {
            style = style.add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        let marker = if focused { "▶" } else { " " };
        lines.push(Line::from(vec![
            Span::styled(marker, popup.add_modifier(Modifier::BOLD)),
            Span::styled(format!("[ {} ]", choice.label()), style),
        ]));
        for part in wrap(explain(choice), inner_w.saturating_sub(3)) {
            lines.push(Line::from(Span::styled(format!("   {part}"), dim)));
        }
        if choice == QuitChoice::QuitAndLeave {
            for part in wrap(&sanitize(&dialog.abandon_reason), inner_w.saturating_sub(5)) {
                lines.push(Line::from(Span::styled(format!("     {part}"), danger)));
            }
        }
    }
    lines.push(Line::default());
    lines.push(
        Line::from(vec![
            Span::styled("<tab>", on_popup(theme, Role::PopupKey)),
            Span::styled(" next  ", dim),
            Span::styled("<enter>", on_popup(theme, Role::PopupKey)),
            Span::styled(" choose  ", dim),
            Span::styled("<esc>", on_popup(theme, Role::PopupKey)),
            Span::styled(" keep watching", dim),
        ])
        .centered(),
    );
    let title = format!(" ⚠ Quit while {} runs? ", sanitize(&dialog.summary));
    boxed(frame, area, w, lines, &title, theme, false, None);
}

fn draw_lock_break(
    frame: &mut Frame,
    area: Rect,
    dialog: &LockBreakDialog,
    state: &State,
    theme: &Theme,
) {
    let popup = theme.style(Role::Popup);
    let danger = on_popup(theme, Role::HealthDown);
    let dim = on_popup(theme, Role::TextDim);
    let w = area.width.min(MAX_W);
    let inner_w = usize::from(w.saturating_sub(4)).max(10);
    let mut lines: Vec<Line> = Vec::new();
    let texts = [
        format!("Held by {}.", sanitize(&dialog.holder.describe(state.now))),
        "It looks stale: its process is gone. Breaking it lets another operation start; \
         if that holder is in fact still working, two operations may conflict."
            .to_string(),
    ];
    for t in texts {
        for part in wrap(&t, inner_w) {
            lines.push(Line::from(Span::styled(part, popup)));
        }
        lines.push(Line::default());
    }
    let expected = sanitize(&dialog.expected());
    let label = format!("type {expected} to break it: ");
    let typed = sanitize(&dialog.typed);
    let (verdict, verdict_style) = if dialog.can_confirm() {
        ("  ✔ matches", on_popup(theme, Role::HealthOk))
    } else if typed.is_empty() || expected.starts_with(&typed) {
        ("", dim)
    } else {
        ("  ✖ does not match", danger)
    };
    let room = inner_w.saturating_sub(width(&label) + 1 + width(verdict));
    let shown = truncate_start(&typed, room);
    let cursor = (lines.len(), width(&label) + width(&shown));
    lines.push(Line::from(vec![
        Span::styled(label, popup.add_modifier(Modifier::BOLD)),
        Span::styled(shown, theme.style(Role::Input)),
        Span::styled(" ", theme.style(Role::InputCursor)),
        Span::styled(verdict, verdict_style),
    ]));
    lines.push(Line::default());
    lines.push(
        Line::from(vec![
            Span::styled("<enter>", on_popup(theme, Role::PopupKey)),
            Span::styled(" break the lock  ", dim),
            Span::styled("<esc>", on_popup(theme, Role::PopupKey)),
            Span::styled(" cancel", dim),
        ])
        .centered(),
    );
    boxed(
        frame,
        area,
        w,
        lines,
        " ✖ Break the stale fleet lock? ",
        theme,
        true,
        Some(cursor),
    );
}

/// A centred bordered box of `lines`, cut to the screen; `cursor` is a
/// (row, column) inside the content.
#[allow(clippy::too_many_arguments)]
fn boxed(
    frame: &mut Frame,
    area: Rect,
    w: u16,
    mut lines: Vec<Line>,
    title: &str,
    theme: &Theme,
    danger: bool,
    cursor: Option<(usize, usize)>,
) {
    let popup = theme.style(Role::Popup);
    let max_h = usize::from(area.height);
    lines.truncate(max_h.saturating_sub(2));
    let h = (lines.len() + 2).min(max_h) as u16;
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, rect);
    let (border, title_style) = if danger {
        (
            on_popup(theme, Role::BorderError),
            on_popup(theme, Role::HealthDown).add_modifier(Modifier::BOLD),
        )
    } else {
        (
            theme.style(Role::PopupBorder),
            theme.style(Role::PopupTitle),
        )
    };
    let block = Block::bordered()
        .style(popup)
        .border_style(border)
        .title(Line::from(title.to_string()).style(title_style));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let content = Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines).style(popup), content);
    if let Some((row, col)) = cursor {
        let y = content.y + row as u16;
        let x = content.x + col as u16;
        if y < content.bottom() && x < content.right() {
            frame.set_cursor_position(Position::new(x, y));
        }
    }
}
