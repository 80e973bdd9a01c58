//! The two dialogs of leaving safely, drawn like the confirmation dialog (a
//! centred modal box): the quit dialog, asked when `q` or C-c is pressed
//! while an operation runs (three choices listed one per row, focus on
//! "keep watching", each stated plainly), and the typed confirmation that
//! breaks a stale fleet lock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::format::wrap;
use super::popup::{button, modal, on_popup, typed_field};
use crate::core::dialog::{LockBreakDialog, QuitChoice, QuitDialog};
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::theme::{Role, Theme};

/// Widest the dialog gets, as the confirmation dialog.
const MAX_W: u16 = 78;

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
        lines.push(Line::from(button(
            choice.label(),
            focused,
            on_popup(theme, role),
            theme,
        )));
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
    modal(frame, area, w, lines, &title, theme, false, None);
}

fn draw_lock_break(
    frame: &mut Frame,
    area: Rect,
    dialog: &LockBreakDialog,
    state: &State,
    theme: &Theme,
) {
    let popup = theme.style(Role::Popup);
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
    let (field, column) = typed_field(
        "break it",
        &dialog.expected(),
        &dialog.typed,
        dialog.can_confirm(),
        inner_w,
        theme,
    );
    let cursor = (lines.len(), column);
    lines.push(field);
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
    modal(
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
