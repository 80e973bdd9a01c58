//! Deploys: the version each backend runs now, grouped by AZ, with drift (a
//! backend or an AZ on another version) marked `≠` and named in words; and the
//! deploy history, newest first, with each outcome's symbol and label.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use super::fleet_summary::Drift;
use super::format::{short_artifact, short_az, truncate_start};
use super::panel_status::PanelStatus;
use crate::core::fleet::DeploysObservation;
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::core::time::format_age;
use crate::theme::{Role, Theme};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let status = PanelStatus::of(&state.deploys, state.now);
    let Some(dep) = &state.deploys.data else {
        let block = status.block(theme, Line::from(" Deploys "));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(status.placeholder(theme), inner);
        return;
    };
    let mut azs: Vec<&str> = Vec::new();
    for r in &dep.running {
        if !azs.contains(&r.az.as_str()) {
            azs.push(&r.az);
        }
    }
    let side_by_side = area.width >= 130;
    let (running_area, history_area) = if side_by_side {
        let [h, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(56)]).areas(area);
        (r, h)
    } else {
        let running_h = (azs.len().max(1) + 3) as u16;
        let [r, h] =
            Layout::vertical([Constraint::Length(running_h), Constraint::Min(0)]).areas(area);
        (r, h)
    };
    draw_running(frame, running_area, theme, dep, &azs, &status, side_by_side);
    draw_history(frame, history_area, state, theme, dep, &status);
}

#[allow(clippy::too_many_arguments)]
fn draw_running(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    dep: &DeploysObservation,
    azs: &[&str],
    status: &PanelStatus<'_>,
    vertical: bool,
) {
    let drift = Drift::of(dep);
    let block = status.block(theme, Line::from(" Running versions "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    let expected = drift
        .expected
        .as_deref()
        .map(sanitize)
        .unwrap_or_else(|| "?".into());
    if drift.any() {
        let names: Vec<String> = dep
            .running
            .iter()
            .filter(|r| drift.drifted.contains(&r.backend))
            .map(|r| {
                format!(
                    "{} runs {}",
                    sanitize(&r.backend),
                    r.version
                        .as_deref()
                        .map(sanitize)
                        .unwrap_or_else(|| "?".into())
                )
            })
            .collect();
        let mut spans = vec![Span::styled(
            format!("≠ drift: {}", names.join(", ")),
            theme.style(Role::Drift),
        )];
        spans.push(Span::styled(
            format!("; others run {expected}"),
            theme.style(Role::Text),
        ));
        if drift.between_azs() {
            spans.push(Span::styled(" · AZs differ", theme.style(Role::Drift)));
        }
        lines.push(Line::from(spans));
    } else {
        lines.push(Line::from(Span::styled(
            format!("✔ all {} backends run {expected}", dep.running.len()),
            theme.style(Role::AllGood),
        )));
    }
    let short = usize::from(inner.width) < 70;
    let az_w = azs
        .iter()
        .map(|a| if short { short_az(a).len() } else { a.len() })
        .max()
        .unwrap_or(2);
    for az in azs {
        let label = if short { short_az(az) } else { az };
        let mut spans = vec![Span::styled(
            format!("{:<az_w$}", sanitize(label)),
            theme.style(Role::Title),
        )];
        let backends: Vec<_> = dep.running.iter().filter(|r| r.az == *az).collect();
        if vertical {
            lines.push(Line::from(spans));
            for r in backends {
                lines.push(backend_line(r, &drift, theme, "  "));
            }
        } else {
            for r in backends {
                spans.extend(backend_line(r, &drift, theme, "   ").spans);
            }
            lines.push(Line::from(spans));
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn backend_line<'a>(
    r: &crate::core::fleet::RunningVersion,
    drift: &Drift,
    theme: &Theme,
    indent: &str,
) -> Line<'a> {
    let version = r
        .version
        .as_deref()
        .map(sanitize)
        .unwrap_or_else(|| "? unknown".into());
    let drifted = drift.drifted.contains(&r.backend);
    let mut spans = vec![
        Span::raw(indent.to_string()),
        Span::styled(
            format!("{} ", sanitize(&r.backend)),
            theme.style(Role::TextName),
        ),
    ];
    if drifted {
        spans.push(Span::styled(
            format!("≠ {version}"),
            theme.style(Role::Drift),
        ));
    } else {
        spans.push(Span::styled(version, theme.style(Role::Text)));
    }
    Line::from(spans)
}

fn draw_history(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    theme: &Theme,
    dep: &DeploysObservation,
    status: &PanelStatus<'_>,
) {
    let title = Line::from(vec![
        Span::raw(format!(" Deploy history: {} ", sanitize(&dep.service))),
        Span::styled(
            format!("({}) ", dep.history.len()),
            theme.style(Role::TextDim),
        ),
    ]);
    let block = status.block(theme, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if dep.history.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "no deploys recorded",
                theme.style(Role::TextDim),
            )),
            inner,
        );
        return;
    }
    let wide = inner.width >= 100;
    let version_w = dep
        .history
        .iter()
        .map(|d| sanitize(&d.version).chars().count())
        .max()
        .unwrap_or(7)
        .max(7) as u16;
    let by_w = dep
        .history
        .iter()
        .map(|d| sanitize(&d.by).chars().count())
        .max()
        .unwrap_or(2)
        .clamp(2, 16) as u16;
    let mut header = vec!["OUTCOME", "VERSION", "ARTIFACT", "AT (UTC)"];
    let mut widths = vec![
        Constraint::Length(13),
        Constraint::Length(version_w),
        Constraint::Fill(1),
        Constraint::Length(if wide { 19 } else { 16 }),
    ];
    if wide {
        header.push("AGE");
        widths.push(Constraint::Length(4));
    }
    header.push("BY");
    widths.push(Constraint::Length(by_w));
    // The artifact column gets what the others leave; its end (the tag) matters most.
    let fixed: u16 = 13 + version_w + if wide { 19 + 4 } else { 16 } + by_w + header.len() as u16;
    let artifact_w = usize::from(inner.width.saturating_sub(fixed));
    let rows = dep.history.iter().map(|d| {
        let at = if wide {
            d.at.format_datetime()
        } else {
            d.at.format_datetime().chars().take(16).collect()
        };
        let mut cells = vec![
            Cell::from(Span::styled(
                format!("{} {}", d.outcome.symbol(), d.outcome.label()),
                theme.outcome(d.outcome),
            )),
            Cell::from(Span::styled(
                sanitize(&d.version),
                theme.style(Role::TextName),
            )),
            Cell::from(Span::styled(
                truncate_start(&sanitize(&short_artifact(&d.artifact)), artifact_w),
                theme.style(Role::Text),
            )),
            Cell::from(Span::styled(at, theme.style(Role::Text))),
        ];
        if wide {
            cells.push(Cell::from(Span::styled(
                format_age(state.now.since(d.at)),
                theme.style(Role::TextDim),
            )));
        }
        cells.push(Cell::from(Span::styled(
            sanitize(&d.by),
            theme.style(Role::Text),
        )));
        Row::new(cells).style(theme.row(false, status.stale))
    });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.style(Role::RowHeader)))
        .row_highlight_style(theme.style(Role::RowSelected));
    let selected = state
        .deploys_selected
        .min(dep.history.len().saturating_sub(1));
    let mut ts = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, inner, &mut ts);
}
