//! Floating boxes: a centred or corner rectangle, cleared, with a titled border
//! in the popup roles; and the pieces the modal dialogs (confirmation, quit,
//! break-lock) share: the modal box itself, a button, and the field where the
//! operator types a name to confirm.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::format::{truncate_start, width};
use crate::core::sanitize::sanitize;
use crate::theme::{Role, Theme};

/// `role`'s foreground on the popup's background.
pub fn on_popup(theme: &Theme, role: Role) -> Style {
    let bg = theme.style(Role::Popup).bg.unwrap_or_default();
    theme.style(role).bg(bg)
}

/// A `w`×`h` rectangle centred in `area`, clamped to it.
pub fn centred(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A `w`×`h` rectangle in the bottom-right corner of `area`.
pub fn bottom_right(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.right() - w,
        y: area.bottom() - h,
        width: w,
        height: h,
    }
}

/// Clears `rect` and draws the popup frame; returns the area inside it.
pub fn frame<'a>(frame: &mut Frame, rect: Rect, theme: &Theme, title: Line<'a>) -> Rect {
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .style(theme.style(Role::Popup))
        .border_style(theme.style(Role::PopupBorder))
        .title(title.style(theme.style(Role::PopupTitle)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// A modal box `w` wide, centred in `area`, holding `lines` (cut to the
/// screen), with one column of margin inside the border. `danger` frames it
/// in the error style. `cursor` is a (row, column) inside the content, shown
/// only when it falls inside the box.
#[allow(clippy::too_many_arguments)]
pub fn modal(
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

/// `▶[ label ]` when focused (reversed and bold, so focus shows without
/// colour too), ` [ label ]` otherwise.
pub fn button(label: &str, focused: bool, style: Style, theme: &Theme) -> Vec<Span<'static>> {
    let marker = if focused { "▶" } else { " " };
    let style = if focused {
        style.add_modifier(Modifier::REVERSED | Modifier::BOLD)
    } else {
        style
    };
    vec![
        Span::styled(
            marker.to_string(),
            theme.style(Role::Popup).add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("[ {label} ]"), style),
    ]
}

/// The line where the operator types `expected` to `verb` (`confirm`,
/// `break it`), with a verdict once the text matches or strays, the start of
/// long input cut to `inner_w`. Returns the line and the cursor's column.
pub fn typed_field(
    verb: &str,
    expected: &str,
    typed: &str,
    matches: bool,
    inner_w: usize,
    theme: &Theme,
) -> (Line<'static>, usize) {
    let expected = sanitize(expected);
    let label = format!("type {expected} to {verb}: ");
    let typed = sanitize(typed);
    let (verdict, verdict_style) = if matches {
        ("  ✔ matches", on_popup(theme, Role::HealthOk))
    } else if typed.is_empty() || expected.starts_with(&typed) {
        ("", on_popup(theme, Role::TextDim))
    } else {
        ("  ✖ does not match", on_popup(theme, Role::HealthDown))
    };
    let room = inner_w.saturating_sub(width(&label) + 1 + width(verdict));
    let shown = truncate_start(&typed, room);
    let cursor = width(&label) + width(&shown);
    let line = Line::from(vec![
        Span::styled(label, theme.style(Role::Popup).add_modifier(Modifier::BOLD)),
        Span::styled(shown, theme.style(Role::Input)),
        Span::styled(" ", theme.style(Role::InputCursor)),
        Span::styled(verdict, verdict_style),
    ]);
    (line, cursor)
}
