//! Floating boxes: a centred or corner rectangle, cleared, with a titled border
//! in the popup roles.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear};

use crate::theme::{Role, Theme};

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
