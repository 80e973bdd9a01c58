//! The operations panel, docked under the view (not modal: the view above
//! stays visible and usable): the latest operation's steps with their status,
//! elapsed time and live detail, the verdict when it has finished, its notes,
//! and how many earlier operations this session ran. Operations an earlier
//! session left without a result are listed too, marked UNFINISHED, with the
//! last step they recorded and when they started.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format::{format_elapsed_ms, pad_left, truncate, width, wrap};
use super::status_bar_view::primary_key;
use crate::core::action::ActionId;
use crate::core::operation::{Operation, Step, StepStatus, Verdict};
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::keymap::Keymap;
use crate::theme::{Role, Theme};

/// Tallest the panel gets, borders included.
const MAX_H: u16 = 12;

/// Splits `body` into the view and, when the panel is open, the panel under it.
pub fn dock(body: Rect, state: &State) -> (Rect, Option<Rect>) {
    if !state.operations_panel {
        return (body, None);
    }
    let w = usize::from(body.width.saturating_sub(2));
    let wanted = match state.operations.last() {
        Some(op) => {
            let detail_line = op.steps.iter().any(|s| {
                s.status == StepStatus::Running && s.detail.is_some()
                    || matches!(s.status, StepStatus::Failed(_))
            });
            op.steps.len() + usize::from(detail_line) + extra_lines(op, state, w) + 2
        }
        None if !state.unfinished.is_empty() => state.unfinished.len() * 2 + 2,
        None => 3,
    } as u16;
    // The view keeps at least half the body.
    let h = wanted
        .clamp(3, MAX_H)
        .min(body.height / 2 + 1)
        .min(body.height);
    let [view, panel] = Layout::vertical([Constraint::Min(0), Constraint::Length(h)]).areas(body);
    (view, Some(panel))
}

/// Lines under the steps: verdict, cancel note, notes, earlier operations.
fn extra_lines(op: &Operation, state: &State, w: usize) -> usize {
    verdict_text(op).map_or(0, |(t, _)| wrap(&t, w).len().min(2))
        + usize::from(op.cancel_requested && op.is_running())
        + op.notes.len()
        + usize::from(state.operations.len() > 1)
        + 2 * usize::from(!state.unfinished.is_empty())
}

/// `UNFINISHED drain-backend web-a1 · alice@laptop · started … · last step: …`.
fn unfinished_lines(state: &State, theme: &Theme, w: usize, max: usize) -> Vec<Line<'static>> {
    let warn = theme.style(Role::HealthDegraded);
    let dim = theme.style(Role::TextDim);
    let mut out = Vec::new();
    for u in state.unfinished.iter().take(max) {
        let head = format!(
            " UNFINISHED {} {} · {}@{} · started {}",
            sanitize(&u.action),
            sanitize(&u.target),
            sanitize(&u.user),
            sanitize(&u.host),
            sanitize(&u.started)
        );
        out.push(Line::from(Span::styled(truncate(&head, w), warn)));
        let step = u.last_step.as_deref().map_or_else(
            || "no step had started".to_string(),
            |s| format!("last step: {}", sanitize(s)),
        );
        out.push(Line::from(Span::styled(
            truncate(&format!("   ↳ {step}; no result recorded"), w),
            dim,
        )));
    }
    out
}

/// The step to keep in view: the running one, else the failed one, else the
/// last that ran.
fn focus_step(op: &Operation) -> usize {
    op.current_step()
        .or_else(|| {
            op.steps
                .iter()
                .position(|s| matches!(s.status, StepStatus::Failed(_)))
        })
        .or_else(|| {
            op.steps
                .iter()
                .rposition(|s| !matches!(s.status, StepStatus::Pending | StepStatus::Skipped))
        })
        .unwrap_or(0)
}

/// The rows to show out of `n` in `rows`: `(start, count, note above, note
/// below)`, with the focus (`focus_row`, `focus_len` rows) in view, about a
/// third of the way down. Notes take a row each.
fn window(n: usize, rows: usize, focus_row: usize, focus_len: usize) -> (usize, usize, bool, bool) {
    if n <= rows {
        return (0, n, false, false);
    }
    let mut inner = rows;
    loop {
        let want = focus_row.saturating_sub(inner / 3);
        let need = (focus_row + focus_len).saturating_sub(inner);
        let start = want.max(need).min(n - inner);
        let top = start > 0;
        let bottom = start + inner < n;
        if inner + usize::from(top) + usize::from(bottom) <= rows || inner <= 1 {
            return (start, inner, top, bottom);
        }
        inner -= 1;
    }
}

fn step_role(status: &StepStatus) -> Role {
    match status {
        StepStatus::Pending | StepStatus::Skipped => Role::TextDim,
        StepStatus::Running => Role::DeployInProgress,
        StepStatus::Done => Role::HealthOk,
        StepStatus::Failed(_) => Role::HealthDown,
    }
}

fn step_elapsed(step: &Step, now: crate::core::Timestamp) -> String {
    match (step.started_at, step.finished_at) {
        (Some(s), Some(f)) => format_elapsed_ms(f.since(s)),
        (Some(s), None) => format_elapsed_ms(now.since(s)),
        _ => String::new(),
    }
}

/// A step's row, and a second row for its live detail or failure when both
/// do not fit on one.
fn step_lines(step: &Step, state: &State, theme: &Theme, w: usize) -> Vec<Line<'static>> {
    let running = step.status == StepStatus::Running;
    let failed = matches!(step.status, StepStatus::Failed(_));
    let base = if running {
        theme
            .style(Role::Text)
            .patch(theme.style(Role::RowSelected))
    } else {
        theme.style(Role::Text)
    };
    let fg = |role: Role| match theme.style(role).fg {
        Some(c) => base.fg(c),
        None => base,
    };
    let label_style = match &step.status {
        StepStatus::Pending | StepStatus::Skipped => fg(Role::TextDim),
        StepStatus::Failed(_) => fg(Role::HealthDown),
        _ => base,
    };
    let (detail, detail_style) = match &step.status {
        StepStatus::Failed(why) => (sanitize(why), fg(Role::Error)),
        StepStatus::Skipped => ("skipped".to_string(), fg(Role::TextDim)),
        _ => (
            step.detail.as_deref().map(sanitize).unwrap_or_default(),
            fg(Role::TextNumber),
        ),
    };
    let elapsed = step_elapsed(step, state.now);
    let elapsed_w = 7;
    let sym = format!(" {} ", step.status.symbol());
    let room = w.saturating_sub(width(&sym) + elapsed_w + 1);
    let label = sanitize(&step.spec.label());
    let detail_w = width(&detail);
    let label_w = width(&label);
    let fits = detail_w == 0 || label_w + 2 + detail_w <= room;
    // The running or failed step's detail is the news: it gets its own row
    // rather than being cut.
    let own_row = !fits && (running || failed);
    let (label_room, inline) = if fits {
        (label_w.min(room), detail.clone())
    } else if own_row {
        (room, String::new())
    } else {
        let label_room = (room * 2 / 3).max(room.saturating_sub(detail_w + 2));
        let detail_room = room.saturating_sub(label_room);
        let inline = if detail_room > 2 {
            truncate(&detail, detail_room - 2)
        } else {
            String::new()
        };
        (label_room, inline)
    };
    let label = truncate(&label, label_room);
    let inline = if inline.is_empty() {
        inline
    } else {
        format!("  {inline}")
    };
    let fill = room.saturating_sub(width(&label) + width(&inline));
    let mut out = vec![
        Line::from(vec![
            Span::styled(sym.clone(), fg(step_role(&step.status))),
            Span::styled(label, label_style),
            Span::styled(inline, detail_style),
            Span::styled(" ".repeat(fill), base),
            Span::styled(
                format!(" {}", pad_left(&elapsed, elapsed_w)),
                fg(Role::TextDim),
            ),
        ])
        .style(base),
    ];
    if own_row {
        let indent = " ".repeat(width(&sym));
        let text = truncate(&format!("{indent}↳ {detail}"), w);
        let fill = w.saturating_sub(width(&text));
        out.push(
            Line::from(vec![
                Span::styled(text, detail_style),
                Span::styled(" ".repeat(fill), base),
            ])
            .style(base),
        );
    }
    out
}

fn verdict_text(op: &Operation) -> Option<(String, Role)> {
    let verdict = op.verdict.as_ref()?;
    let took = op
        .finished_at
        .map(|f| format!(" in {}", format_elapsed_ms(f.since(op.started_at))))
        .unwrap_or_default();
    Some(match verdict {
        Verdict::Succeeded => (
            format!("✔ succeeded{took}: done and verified"),
            Role::HealthOk,
        ),
        Verdict::Failed(why) => (
            format!("✖ failed{took}: {}", sanitize(why)),
            Role::HealthDown,
        ),
        Verdict::Cancelled(left) => (
            format!("■ cancelled{took}: {}", sanitize(left)),
            Role::HealthDegraded,
        ),
        Verdict::Refused(why) => (format!("⊘ refused: {}", sanitize(why)), Role::HealthDown),
    })
}

/// The verdict, wrapped to two rows at most.
fn verdict_lines(op: &Operation, theme: &Theme, w: usize) -> Vec<Line<'static>> {
    let Some((text, role)) = verdict_text(op) else {
        return Vec::new();
    };
    let parts = wrap(&text, w.saturating_sub(3).max(1));
    let n = parts.len();
    parts
        .into_iter()
        .take(2)
        .enumerate()
        .map(|(i, p)| {
            let p = if i == 1 && n > 2 {
                truncate(&format!("{p} …"), w.saturating_sub(3))
            } else {
                p
            };
            let lead = if i == 0 { " " } else { "   " };
            Line::from(Span::styled(format!("{lead}{p}"), theme.style(role)))
        })
        .collect()
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, keymap: &Keymap) {
    let key = |a: ActionId| primary_key(keymap, a, state.view).unwrap_or_default();
    let Some(op) = state.operations.last() else {
        if !state.unfinished.is_empty() {
            let block = Block::bordered()
                .border_style(theme.style(Role::BorderError))
                .title(
                    Line::from(
                        " Unfinished operations (an earlier session stopped mid-operation) ",
                    )
                    .style(theme.style(Role::Title)),
                )
                .title_bottom(
                    Line::from(format!(" {} hide ", key(ActionId::ShowOperations)))
                        .style(theme.style(Role::TextDim))
                        .right_aligned(),
                );
            let inner = block.inner(area);
            frame.render_widget(block, area);
            let lines = unfinished_lines(
                state,
                theme,
                usize::from(inner.width),
                usize::from(inner.height / 2).max(1),
            );
            frame.render_widget(Paragraph::new(lines), inner);
            return;
        }
        let block = Block::bordered()
            .border_style(theme.style(Role::Border))
            .title(Line::from(" Operations ").style(theme.style(Role::Title)));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let text = format!(
            " No operations this session. Mutating actions run here step by step. {} hide",
            key(ActionId::ShowOperations)
        );
        frame.render_widget(
            Paragraph::new(Span::styled(
                truncate(&text, usize::from(inner.width)),
                theme.style(Role::TextDim),
            )),
            inner,
        );
        return;
    };

    let running = op.is_running();
    let border = match &op.verdict {
        None => Role::BorderFocused,
        Some(Verdict::Failed(_)) => Role::BorderError,
        Some(_) => Role::Border,
    };
    let elapsed = format_elapsed_ms(op.finished_at.unwrap_or(state.now).since(op.started_at));
    let (status, status_role) = match &op.verdict {
        None if op.cancel_requested => (format!(" cancelling… {elapsed} "), Role::HealthDegraded),
        None => (format!(" ▶ running {elapsed} "), Role::DeployInProgress),
        Some(v @ Verdict::Succeeded) => (format!(" ✔ {} ", v.label()), Role::HealthOk),
        Some(v @ Verdict::Failed(_)) => (format!(" ✖ {} ", v.label()), Role::HealthDown),
        Some(v @ Verdict::Cancelled(_)) => (format!(" ■ {} ", v.label()), Role::HealthDegraded),
        Some(v @ Verdict::Refused(_)) => (format!(" ⊘ {} ", v.label()), Role::HealthDown),
    };
    let hint = if running && !op.cancel_requested {
        format!(
            " {} cancel · {} hide ",
            key(ActionId::Close),
            key(ActionId::ShowOperations)
        )
    } else if running {
        format!(" {} hide ", key(ActionId::ShowOperations))
    } else {
        format!(" {} close ", key(ActionId::Close))
    };
    let title = format!(
        " Operation #{}: {} ",
        op.id,
        sanitize(&op.request.summary())
    );
    let status_w = width(&status) as u16;
    let title_room = usize::from(area.width.saturating_sub(status_w + 4));
    let block = Block::bordered()
        .border_style(theme.style(border))
        .title(Line::from(truncate(&title, title_room)).style(theme.style(Role::Title)))
        .title(
            Line::from(status)
                .style(theme.style(status_role))
                .right_aligned(),
        )
        .title_bottom(
            Line::from(hint)
                .style(theme.style(Role::TextDim))
                .right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = usize::from(inner.width);
    let rows = usize::from(inner.height);
    if rows == 0 {
        return;
    }

    // Lines under the steps win over steps: the outcome is the news.
    let mut tail: Vec<Line> = Vec::new();
    tail.extend(verdict_lines(op, theme, w));
    if op.cancel_requested && running {
        tail.push(Line::from(Span::styled(
            truncate(" cancel requested: stopping at the next safe step…", w),
            theme.style(Role::HealthDegraded),
        )));
    }
    for n in &op.notes {
        tail.push(Line::from(Span::styled(
            truncate(&format!(" note: {}", sanitize(n)), w),
            theme.style(Role::Stale),
        )));
    }
    let earlier = state.operations.len().saturating_sub(1);
    if earlier > 0 {
        let text = if earlier == 1 {
            " 1 earlier operation this session".to_string()
        } else {
            format!(" {earlier} earlier operations this session")
        };
        tail.push(Line::from(Span::styled(text, theme.style(Role::TextDim))));
    }
    for l in unfinished_lines(state, theme, w, 1) {
        tail.push(l);
    }
    tail.truncate(rows.saturating_sub(1).max(usize::from(rows == 1)));
    let step_rows = rows - tail.len().min(rows);

    // One block of rows per step; keep the step that matters in view, a
    // third of the way down, and say how many steps are hidden.
    let blocks: Vec<Vec<Line>> = op
        .steps
        .iter()
        .map(|s| step_lines(s, state, theme, w))
        .collect();
    let flat: Vec<(usize, Line)> = blocks
        .into_iter()
        .enumerate()
        .flat_map(|(i, b)| b.into_iter().map(move |l| (i, l)))
        .collect();
    let n = flat.len();
    let mut lines: Vec<Line> = Vec::new();
    if n <= step_rows {
        lines.extend(flat.into_iter().map(|(_, l)| l));
    } else if step_rows > 0 {
        let focus = focus_step(op);
        let focus_row = flat.iter().position(|(i, _)| *i == focus).unwrap_or(0);
        let focus_len = flat.iter().filter(|(i, _)| *i == focus).count();
        let (start, inner, top, bottom) = window(n, step_rows, focus_row, focus_len);
        let dim = theme.style(Role::TextDim);
        let steps_in = |range: std::ops::Range<usize>| {
            let mut ids: Vec<usize> = flat[range].iter().map(|(i, _)| *i).collect();
            ids.dedup();
            ids.len()
        };
        if top {
            let k = steps_in(0..start);
            lines.push(Line::from(Span::styled(
                format!("   ↑ {k} earlier step(s)"),
                dim,
            )));
        }
        let end = start + inner;
        lines.extend(flat[start..end].iter().map(|(_, l)| l.clone()));
        if bottom {
            let k = steps_in(end..n);
            lines.push(Line::from(Span::styled(
                format!("   ↓ {k} more step(s)"),
                dim,
            )));
        }
    }
    lines.extend(tail);
    frame.render_widget(Paragraph::new(lines).style(Style::default()), inner);
}

#[cfg(test)]
mod tests {
    use super::window;

    #[test]
    fn the_focus_stays_in_the_window() {
        assert_eq!(window(5, 8, 3, 1), (0, 5, false, false));
        let (start, inner, top, bottom) = window(20, 6, 10, 2);
        assert!(top && bottom);
        assert_eq!(inner, 4);
        assert!(start <= 10 && 12 <= start + inner, "{start} {inner}");
        let (start, inner, top, bottom) = window(20, 6, 0, 1);
        assert_eq!((start, top), (0, false));
        assert!(bottom && inner == 5);
    }
}
