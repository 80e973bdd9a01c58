//! The merged live log: the tail of the log store through the view's filter,
//! each line prefixed with time, host and AZ, its level highlighted; spans are
//! built here, for the lines on screen only. The title says FOLLOW or PAUSED,
//! the filter, the line count, the store's memory against its budget and how
//! many lines were dropped. Text was sanitized on its way into the store.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::format::{bytes, pad, short_az, thousands, truncate, width};
use super::panel_status::PanelStatus;
use crate::core::log_buffer::LogRef;
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::theme::{Role, Theme};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let logs = &state.logs;
    let status = PanelStatus::of(&state.log_source, state.now);
    let buffer = &logs.buffer;

    let mut title = vec![Span::raw(" Logs · ")];
    if logs.follow {
        title.push(Span::styled("FOLLOW", theme.style(Role::HealthOk)));
    } else {
        title.push(Span::styled("PAUSED", theme.style(Role::SeverityWarning)));
    }
    let filter = sanitize(&logs.filter.describe());
    if !filter.is_empty() {
        title.push(Span::styled(" · ", theme.style(Role::TextDim)));
        title.push(Span::styled(
            filter,
            theme.style(Role::StatusKey).bg(Default::default()),
        ));
    }
    title.push(Span::styled(
        format!(
            " · {} lines · {} of {}",
            thousands(buffer.len() as u64),
            bytes(buffer.used_bytes() as u64),
            bytes(buffer.budget() as u64).replace(".0 ", " "),
        ),
        theme.style(Role::TextDim),
    ));
    let dropped = buffer.dropped();
    let dropped_style = if dropped > 0 {
        theme.style(Role::SeverityWarning)
    } else {
        theme.style(Role::TextDim)
    };
    title.push(Span::styled(" · ", theme.style(Role::TextDim)));
    title.push(Span::styled(
        format!("{} dropped", thousands(dropped)),
        dropped_style,
    ));
    if buffer.truncated() > 0 {
        title.push(Span::styled(
            format!(" · {} cut", thousands(buffer.truncated())),
            theme.style(Role::TextDim),
        ));
    }
    if logs.wrap {
        title.push(Span::styled(" · wrap", theme.style(Role::TextDim)));
    }
    title.push(Span::raw(" "));
    let block = status.block(theme, Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }

    if buffer.is_empty() {
        frame.render_widget(status.placeholder(theme), inner);
        return;
    }
    let anchor = if logs.follow { None } else { logs.anchor };
    let shown = buffer.tail_matching(&logs.filter, anchor, usize::from(inner.height));
    if shown.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                format!("no lines match {}", sanitize(&logs.filter.describe())),
                theme.style(Role::TextDim),
            )),
            inner,
        );
        return;
    }

    let full_az = inner.width >= 120;
    let host_w = shown.iter().map(|l| width(l.host)).max().unwrap_or(4);
    let az_w = shown
        .iter()
        .map(|l| {
            if full_az {
                width(l.az)
            } else {
                width(short_az(l.az))
            }
        })
        .max()
        .unwrap_or(2);
    let prefix = |l: &LogRef<'_>| {
        let mut spans = Vec::new();
        if logs.timestamps {
            spans.push(Span::styled(
                format!("{} ", l.at.format_time_millis()),
                theme.style(Role::LogTime),
            ));
        }
        let az: &str = if full_az { l.az } else { short_az(l.az) };
        spans.push(Span::styled(
            format!("{} ", pad(l.host, host_w)),
            theme.style(Role::LogHost),
        ));
        spans.push(Span::styled(
            format!("{} ", pad(az, az_w)),
            theme.style(Role::TextDim),
        ));
        spans.push(Span::styled(
            format!("{} ", pad(l.level.label(), 5)),
            theme.level(l.level),
        ));
        spans
    };
    let text_style = theme.style(Role::Text);
    let w = usize::from(inner.width);

    if !logs.wrap {
        let lines: Vec<Line> = shown
            .iter()
            .map(|l| {
                let mut spans = prefix(l);
                let used: usize = spans.iter().map(Span::width).sum();
                spans.push(Span::styled(
                    truncate(l.text, w.saturating_sub(used)),
                    text_style,
                ));
                Line::from(spans)
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }

    // Wrapped: take lines from the newest back until they fill the panel,
    // measuring each as the paragraph will wrap it, and keep the newest in view.
    let mut picked: Vec<Line> = Vec::new();
    let mut rows = 0usize;
    let height = usize::from(inner.height);
    for l in shown.iter().rev() {
        let mut spans = prefix(l);
        spans.push(Span::styled(l.text, text_style));
        let line = Line::from(spans);
        rows += wrapped_rows(&line, inner.width, inner.height);
        picked.push(line);
        if rows >= height {
            break;
        }
    }
    picked.reverse();
    let scroll = rows.saturating_sub(height) as u16;
    frame.render_widget(
        Paragraph::new(picked)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}

/// Rows `line` takes when a paragraph `w` cells wide wraps it (up to `max`).
fn wrapped_rows(line: &Line<'_>, w: u16, max: u16) -> usize {
    if line.width() <= usize::from(w) {
        return 1;
    }
    let area = Rect::new(0, 0, w, max);
    let mut scratch = Buffer::empty(area);
    Paragraph::new(line.clone())
        .wrap(Wrap { trim: false })
        .render(area, &mut scratch);
    let used = (0..max)
        .rev()
        .find(|y| (0..w).any(|x| scratch[(x, *y)].symbol() != " "))
        .map_or(1, |y| usize::from(y) + 1);
    used.max(1)
}
