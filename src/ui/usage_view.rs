//! The diagnostics panel (`:usage`, `:diagnostics`): what the console did
//! (frames, messages, polls, bytes to the terminal), then the cost meter: API
//! calls per service, metrics requested, log bytes and live tail time, this
//! session and per hour, and the monthly cost those rates imply at list
//! price, with the price table's date.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format::{bytes, format_elapsed_ms, pad, pad_left, thousands};
use super::popup;
use crate::core::state::State;
use crate::core::time::Timestamp;
use crate::core::usage::{ConsoleCounters, PRICE_TABLE_DATE, UsageReport};
use crate::theme::{Role, Theme};

/// What the console did this session: idle, these stay flat.
pub fn console_lines(c: &ConsoleCounters, now: Timestamp) -> Vec<(String, Role)> {
    let mut out = vec![(
        format!(
            "{:<28}{:>10}{:>12}",
            "this console",
            format_elapsed_ms(now.since(c.started)),
            "per hour"
        ),
        Role::PopupKey,
    )];
    for (label, n, text) in [
        ("frames drawn", c.frames, thousands(c.frames)),
        ("messages handled", c.messages, thousands(c.messages)),
        ("polls answered", c.polls, thousands(c.polls)),
        (
            "bytes to the terminal",
            c.terminal_bytes,
            bytes(c.terminal_bytes),
        ),
    ] {
        let hourly = c.per_hour(n, now);
        let hourly = if label.starts_with("bytes") {
            bytes(hourly.round() as u64)
        } else {
            format!("{hourly:.0}")
        };
        out.push((
            format!(
                "{}{}{}",
                pad(label, 28),
                pad_left(&text, 10),
                pad_left(&hourly, 12)
            ),
            Role::Popup,
        ));
    }
    out.push((String::new(), Role::Popup));
    out
}

/// The meter's lines (also what tests read).
pub fn lines(report: Option<&UsageReport>) -> Vec<(String, Role)> {
    let Some(r) = report else {
        return vec![
            (
                "This fleet's provider calls no billed API:".into(),
                Role::Popup,
            ),
            ("there is nothing to count.".into(), Role::Popup),
        ];
    };
    let mut out = vec![(
        format!(
            "{:<28}{:>10}{:>12}",
            "this session",
            format_elapsed_ms(r.at.since(r.started)),
            "per hour"
        ),
        Role::PopupKey,
    )];
    let row = |label: &str, n: u64| {
        (
            format!(
                "{}{}{}",
                pad(label, 28),
                pad_left(&thousands(n), 10),
                pad_left(&format!("{:.0}", r.per_hour(n)), 12)
            ),
            Role::Popup,
        )
    };
    let mut services: Vec<&str> = r.calls.iter().map(|l| l.service.as_str()).collect();
    services.dedup();
    for s in services {
        out.push(row(&format!("{s} calls"), r.calls_of(s)));
        for l in r.calls.iter().filter(|l| l.service == s) {
            out.push(row(&format!("  {}", l.operation), l.calls));
        }
    }
    out.push(row("metrics requested", r.metrics_requested));
    out.push(row("log events received", r.log_events));
    out.push((
        format!(
            "{}{}{}",
            pad("log bytes received", 28),
            pad_left(&bytes(r.log_bytes), 10),
            pad_left(&bytes((r.log_bytes as f64 / r.hours()).round() as u64), 12)
        ),
        Role::Popup,
    ));
    out.push((
        format!(
            "{}{}{}",
            pad("live tail", 28),
            pad_left(&format_elapsed_ms(r.live_tail_ms), 10),
            pad_left(&format!("{} sess.", r.live_tail_sessions), 12)
        ),
        Role::Popup,
    ));
    let m = r.monthly();
    out.push((String::new(), Role::Popup));
    out.push((
        format!("at these rates for a month (list price, {PRICE_TABLE_DATE}):"),
        Role::PopupKey,
    ));
    for (label, usd) in [
        ("  GetMetricData", m.metrics),
        ("  other CloudWatch/Logs calls", m.requests),
        ("  live tail", m.live_tail),
        ("  total", m.total),
    ] {
        out.push((
            format!("{}{:>22}", pad(label, 28), format!("${usd:.2}")),
            Role::Popup,
        ));
    }
    out.push((
        "EC2, ELB, RDS and ElastiCache Describe calls are free.".into(),
        Role::TextDim,
    ));
    out
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut body = console_lines(&state.console, state.now);
    body.extend(lines(state.usage.as_ref()));
    let w = body
        .iter()
        .map(|(t, _)| super::format::width(t))
        .max()
        .unwrap_or(40)
        .max(40)
        + 2;
    let h = body.len() + 2;
    let rect = popup::centred(area, w as u16, h as u16);
    let inner = popup::frame(
        frame,
        rect,
        theme,
        Line::from(" Diagnostics: usage and cost "),
    );
    let text: Vec<Line> = body
        .into_iter()
        .map(|(t, role)| Line::from(Span::styled(t, popup::on_popup(theme, role))))
        .collect();
    frame.render_widget(Paragraph::new(text), inner);
}
