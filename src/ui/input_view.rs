//! The one-line filter input: `/`, the text, a cursor, and the error of an
//! invalid pattern next to it.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::format::{truncate, truncate_start, width};
use crate::core::sanitize::sanitize;
use crate::core::state::{InputPurpose, TextInput};
use crate::theme::{Role, Theme};

pub fn draw(frame: &mut Frame, area: Rect, input: &TextInput, theme: &Theme) {
    let style = theme.style(Role::Input);
    let label = match input.purpose {
        InputPurpose::InstancesFilter => "filter instances ",
        InputPurpose::LogsFilter => "filter logs (regex) ",
    };
    let text = sanitize(&input.text);
    let mut spans = vec![
        Span::styled(
            label,
            theme.style(Role::TextDim).bg(style.bg.unwrap_or_default()),
        ),
        Span::styled("/", theme.style(Role::StatusKey)),
    ];
    // Keep the end of a long pattern, where the cursor is, in view.
    let room = usize::from(area.width).saturating_sub(width(label) + 2);
    let shown = truncate_start(&text, room);
    let cursor_x = area.x + (width(label) + 1 + width(&shown)) as u16;
    spans.push(Span::styled(shown, style));
    spans.push(Span::styled(" ", theme.style(Role::InputCursor)));
    match &input.error {
        Some(err) => spans.push(Span::styled(
            format!(
                "  ✖ {}",
                truncate(&sanitize(err), usize::from(area.width) / 2)
            ),
            theme.style(Role::InputError),
        )),
        None => spans.push(Span::styled(
            "  enter apply · esc cancel",
            theme.style(Role::TextDim).bg(style.bg.unwrap_or_default()),
        )),
    }
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(style), area);
    if cursor_x < area.right() {
        frame.set_cursor_position(Position::new(cursor_x, area.y));
    }
}
