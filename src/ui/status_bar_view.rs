//! The bottom two lines. First: environment, region, data source, mode, data
//! age (STALE when old) and the clock. Second: a wind-down in progress (with
//! its deadline), the fleet lock's holder (on every console, read-only ones
//! included), operations a previous session left unfinished, every failing
//! source with its error, the status message, and key hints for the current
//! view on the right.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format::{truncate, width};
use crate::core::action::ActionId;
use crate::core::assess::{Freshness, freshness};
use crate::core::key::format_sequence;
use crate::core::lock_status::LockReport;
use crate::core::quit::QuitReason;
use crate::core::sanitize::sanitize;
use crate::core::state::{MESSAGE_TTL_MS, MessageLevel, State};
use crate::core::time::Timestamp;
use crate::core::time::format_age;
use crate::core::view::ViewId;
use crate::keymap::Keymap;
use crate::theme::{Role, Theme};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, keymap: &Keymap) {
    let [top, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let bar = theme.style(Role::StatusBar);
    frame.render_widget(Paragraph::new("").style(bar), area);

    // Line 1: where the data comes from and how old it is.
    let sep = || Span::styled(" │ ", theme.style(Role::StatusBar));
    let mut info: Vec<Span> = vec![Span::styled(
        format!(" {}", sanitize(&state.env.name)),
        theme.style(Role::StatusBar),
    )];
    if let Some(region) = &state.env.region {
        info.push(sep());
        info.push(Span::styled(sanitize(region), bar));
    }
    info.push(sep());
    info.push(Span::styled(sanitize(&state.env.source), bar));
    info.push(sep());
    if state.read_only {
        info.push(Span::styled(
            " READ-ONLY ",
            theme.style(Role::BadgeReadOnly),
        ));
    } else {
        info.push(Span::styled("read-write", bar));
    }
    info.push(sep());
    // "Data too old" is `assess::freshness`, as for the guards.
    let stale = [
        freshness(&state.hosts, state.now),
        freshness(&state.replication, state.now),
        freshness(&state.alerts, state.now),
    ]
    .into_iter()
    .any(|f| matches!(f, Freshness::Stale { .. }));
    match state.data_age_ms() {
        Some(age) => {
            info.push(Span::styled(format!("data {}", format_age(age)), bar));
            if stale {
                info.push(Span::styled(
                    " STALE",
                    theme.style(Role::Stale).bg(bar.bg.unwrap_or_default()),
                ));
            }
        }
        None => info.push(Span::styled("waiting for data…", bar)),
    }
    let clock = format!("{} UTC ", state.now.format_time());
    let [info_area, clock_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(width(&clock) as u16)])
            .areas(top);
    frame.render_widget(Paragraph::new(Line::from(info)).style(bar), info_area);
    frame.render_widget(
        Paragraph::new(Span::styled(clock, theme.style(Role::StatusBar))).style(bar),
        clock_area,
    );

    // Line 2: what is failing, the message, and the keys.
    let mut hints = hint_spans(state, theme, keymap);
    let standing = standing_spans(state, theme);
    let mut left: Vec<Span> = Vec::new();
    for (panel, err) in state.failing_panels() {
        left.push(Span::styled(
            format!(" ✖ {}: {}", panel.name(), sanitize(&err.text())),
            theme.style(Role::StatusError),
        ));
    }
    if let Some(msg) = &state.message
        && state.now.since(msg.at) <= MESSAGE_TTL_MS
    {
        let role = match msg.level {
            MessageLevel::Info => Role::StatusInfo,
            MessageLevel::Warning => Role::StatusWarning,
            MessageLevel::Error => Role::StatusError,
        };
        left.push(Span::styled(
            format!(" {}", sanitize(&msg.text)),
            theme.style(role),
        ));
    }
    let standing_width: usize = standing.iter().map(|s| s.width()).sum();
    let left_width: usize = standing_width + left.iter().map(|s| s.width()).sum::<usize>();
    let total = usize::from(bottom.width);
    // Problems win over hints: drop hints from the middle (help and quit stay)
    // until both fit, else show none.
    let width_of = |h: &[Span]| h.iter().map(Span::width).sum::<usize>();
    while left_width + width_of(&hints) >= total && hints.len() > 4 {
        hints.drain(2..4);
    }
    let hints_width = width_of(&hints);
    let show_hints = left_width + hints_width < total;
    let hint_len = if show_hints { hints_width as u16 } else { 0 };
    let [left_area, hints_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(hint_len)]).areas(bottom);
    let room = usize::from(left_area.width);
    // A wind-down and the lock holder stay whole while they fit: they are
    // what this line must say. The rest shares what is left.
    let (standing, room) = if standing_width < room {
        (standing, room - standing_width)
    } else {
        (Vec::new(), room)
    };
    if left_width > usize::from(left_area.width) && !left.is_empty() {
        // Keep every failure visible in part rather than the first one whole.
        let per = (room / left.len()).max(8);
        left = left
            .into_iter()
            .map(|s| Span::styled(truncate(&s.content, per), s.style))
            .collect();
    }
    let left = if standing.is_empty() && standing_width > 0 {
        // Too narrow even for those alone: show them cut, before the rest.
        let per = (usize::from(left_area.width) / 2).max(8);
        standing_spans(state, theme)
            .into_iter()
            .map(|s| Span::styled(truncate(&s.content, per), s.style))
            .chain(left)
            .collect()
    } else {
        standing.into_iter().chain(left).collect::<Vec<_>>()
    };
    frame.render_widget(Paragraph::new(Line::from(left)).style(bar), left_area);
    if show_hints {
        frame.render_widget(Paragraph::new(Line::from(hints)).style(bar), hints_area);
    }
}

/// What stays on the second line while it is true: the wind-down, the lock
/// holder, unfinished operations.
fn standing_spans(state: &State, theme: &Theme) -> Vec<Span<'static>> {
    let warn = theme.style(Role::StatusWarning);
    let mut out = Vec::new();
    if let Some(pending) = &state.quitting.pending {
        let what = state
            .operations
            .iter()
            .find(|o| o.id == pending.operation)
            .map(|o| sanitize(&o.request.summary()))
            .unwrap_or_default();
        let text = match (pending.reason, state.quitting.seconds_left(state.now)) {
            (QuitReason::Signal(sig), Some(left)) => format!(
                " ⏳ {}: winding down {what}, then exit {} (abandoned in {left}s)",
                sig.name(),
                sig.exit_status()
            ),
            _ => format!(" ⏳ quitting once {what} has wound down"),
        };
        out.push(Span::styled(text, warn));
    }
    if let Some(report) = &state.lock.current {
        out.push(Span::styled(lock_text(report, state.now), warn));
    }
    if let Some(first) = state.unfinished.first() {
        let more = match state.unfinished.len() - 1 {
            0 => String::new(),
            n => format!(" +{n}"),
        };
        out.push(Span::styled(
            format!(
                " ⚠ UNFINISHED: {} {}{more}",
                sanitize(&first.action),
                sanitize(&first.target)
            ),
            warn,
        ));
    }
    // A rule keeps them apart from the message that follows.
    if !out.is_empty() {
        out.push(Span::styled(" │", theme.style(Role::StatusBar)));
    }
    out
}

/// `🔒 alice@host: drain-backend web-a1 · 1m05s` (`(stale)` when it is).
pub fn lock_text(report: &LockReport, now: Timestamp) -> String {
    let h = &report.holder;
    let secs = (now.since(h.started_at) / 1000).max(0);
    let age = if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    };
    let stale = if report.stale { " (stale)" } else { "" };
    format!(
        " 🔒 {}@{}: {} · {age}{stale}",
        sanitize(&h.operator),
        sanitize(&h.machine),
        sanitize(&h.operation)
    )
}

/// The key hints for the current view: `? help  / filter  q quit`.
fn hint_spans(state: &State, theme: &Theme, keymap: &Keymap) -> Vec<Span<'static>> {
    let mut actions: Vec<(ActionId, &str)> = Vec::new();
    if state.overlay.is_some() {
        actions.push((ActionId::Close, "close"));
    } else {
        actions.push((ActionId::ShowHelp, "help"));
        match state.view {
            ViewId::Overview | ViewId::Replication => {
                actions.push((ActionId::ShowDetails, "details"));
                actions.push((ActionId::ShowLogsForSelection, "logs"));
            }
            ViewId::Instances => {
                actions.push((ActionId::StartFilter, "filter"));
                actions.push((ActionId::SortNext, "sort"));
                actions.push((ActionId::ShowDetails, "details"));
            }
            ViewId::Deploys => actions.push((ActionId::ShowDetails, "details")),
            ViewId::Logs => {
                actions.push((ActionId::StartFilter, "filter"));
                let follow = if state.logs.follow { "pause" } else { "follow" };
                actions.push((ActionId::ToggleFollow, follow));
                actions.push((ActionId::CycleLevel, "level"));
            }
        }
    }
    actions.push((ActionId::Quit, "quit"));
    let mut spans = Vec::new();
    for (action, label) in actions {
        let Some(keys) = primary_key(keymap, action, state.view) else {
            continue;
        };
        spans.push(Span::styled(keys, theme.style(Role::StatusKey)));
        spans.push(Span::styled(
            format!(" {label}  "),
            theme.style(Role::StatusBar),
        ));
    }
    spans
}

/// The key to show for `action` in `view`: the simplest of its bindings
/// (fewest keys, then no modifiers, then shortest to read).
pub fn primary_key(keymap: &Keymap, action: ActionId, view: ViewId) -> Option<String> {
    keymap
        .keys_for(action, Some(view))
        .into_iter()
        .min_by_key(|keys| {
            let mods = keys
                .iter()
                .any(|k| k.mods.ctrl || k.mods.alt || k.mods.shift);
            let text = format_sequence(keys);
            (keys.len(), mods, text.len(), text)
        })
        .map(|keys| format_sequence(&keys))
}
