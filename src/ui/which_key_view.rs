//! The which-key hint: while a key sequence is unfinished, a box in the
//! bottom-right corner lists the keys that can follow and what they do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format::{pad, width};
use super::popup;
use crate::core::key::format_sequence;
use crate::core::state::State;
use crate::keymap::Keymap;
use crate::theme::{Role, Theme};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, keymap: &Keymap) {
    let prefix = &state.pending_keys;
    let next = keymap.continuations(state.view, prefix);
    let rows: Vec<(String, &str, &str)> = next
        .iter()
        .map(|b| {
            let rest = format_sequence(&b.keys[prefix.len()..]);
            let spec = b.action.spec();
            (rest, spec.name, spec.doc)
        })
        .collect();
    let key_w = rows.iter().map(|r| width(&r.0)).max().unwrap_or(1);
    let name_w = rows.iter().map(|r| width(r.1)).max().unwrap_or(1);
    let doc_w = rows.iter().map(|r| width(r.2)).max().unwrap_or(0);
    let max_w = usize::from(area.width).min(72);
    let w = (key_w + name_w + doc_w + 8).min(max_w).max(24);
    let mut lines: Vec<Line> = rows
        .iter()
        .map(|(k, name, doc)| {
            let doc_room = w.saturating_sub(key_w + name_w + 8);
            Line::from(vec![
                Span::styled(pad(k, key_w), theme.style(Role::PopupKey)),
                Span::styled(" → ", theme.style(Role::Popup)),
                Span::styled(pad(name, name_w), theme.style(Role::PopupAction)),
                Span::styled(format!(" {}", pad(doc, doc_room)), theme.style(Role::Popup)),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            "no binding continues these keys",
            theme.style(Role::Popup),
        )));
    }
    let h = (lines.len() + 2) as u16;
    let rect = popup::bottom_right(area, w as u16, h);
    let title = Line::from(format!(" {} … ", format_sequence(prefix)));
    let inner = popup::frame(frame, rect, theme, title);
    frame.render_widget(Paragraph::new(lines), inner);
}
