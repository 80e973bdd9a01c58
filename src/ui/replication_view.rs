//! Replication: the database pair and the cache pair, one row per node (role,
//! reachability, lag now, IO/SQL threads, source, GTID sets, last error; for
//! caches link, offset and lag in bytes and seconds), then sparklines of each
//! replica's lag over the last minutes. Unknown lag reads `? unknown`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::fleet_summary::lag_style;
use super::format::{bytes, lag, lag_short, pad, pad_left, thousands, truncate, width};
use super::panel_status::PanelStatus;
use super::spark;
use crate::core::assess::{Limits, cache_health, db_health};
use crate::core::fleet::{CacheNode, DbNode, Health, ReplicaRole, ThreadState};
use crate::core::sanitize::sanitize;
use crate::core::series::Series;
use crate::core::state::{ObjectRef, State};
use crate::theme::{Role, Theme};

/// Width of the IO/SQL column: `connecting/running`.
const IO_SQL_W: usize = 18;
/// Widths of the cache offset and lag columns.
const OFFSET_W: usize = 13;
const CACHE_LAG_W: usize = 15;

/// Inner width from which both GTID sets fit on one line.
const WIDE: usize = 120;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let status = PanelStatus::of(&state.replication, state.now);
    let inner_w = usize::from(area.width).saturating_sub(2);
    let wide = inner_w >= WIDE;
    let selected = state
        .replication_items()
        .get(state.replication_selected)
        .cloned();

    let Some(rep) = &state.replication.data else {
        let block = status.block(theme, Line::from(" Replication "));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(status.placeholder(theme), inner);
        return;
    };
    let name_w = rep
        .databases
        .iter()
        .map(|d| width(&sanitize(&d.name)))
        .chain(rep.caches.iter().map(|c| width(&sanitize(&c.name))))
        .max()
        .unwrap_or(4)
        .max(4);

    let db_rows: Vec<(ObjectRef, Text)> = rep
        .databases
        .iter()
        .map(|d| {
            (
                ObjectRef::Database(d.name.clone()),
                db_text(
                    d,
                    theme,
                    &state.policy.limits,
                    name_w,
                    wide,
                    inner_w,
                    state.now,
                ),
            )
        })
        .collect();
    let cache_rows: Vec<(ObjectRef, Text)> = rep
        .caches
        .iter()
        .map(|c| {
            (
                ObjectRef::Cache(c.name.clone()),
                cache_text(c, theme, &state.policy.limits, name_w),
            )
        })
        .collect();
    let lines = |rows: &[(ObjectRef, Text)]| {
        rows.iter()
            .map(|(_, t)| t.lines.len())
            .sum::<usize>()
            .max(1)
    };
    let db_h = (lines(&db_rows) + 3) as u16;
    let cache_h = (lines(&cache_rows) + 3) as u16;
    let [db_area, cache_area, chart_area] = Layout::vertical([
        Constraint::Length(db_h),
        Constraint::Length(cache_h),
        Constraint::Min(0),
    ])
    .areas(area);

    let db_header = format!(
        "  {} {} {} {} {} {} {}",
        pad("DATABASE", name_w),
        pad("ROLE", 7),
        pad("RW", 2),
        pad("REACH", 5),
        pad("LAG", 9),
        pad("IO/SQL", IO_SQL_W),
        "SOURCE"
    );
    let cache_header = format!(
        "  {} {} {} {} {} {} {}",
        pad("CACHE", name_w),
        pad("ROLE", 7),
        pad("REACH", 5),
        pad("LINK", 4),
        pad_left("OFFSET", OFFSET_W),
        pad_left("LAG", CACHE_LAG_W),
        "SOURCE"
    );
    let title = |t: &str, n: usize| {
        Line::from(vec![
            Span::raw(format!(" {t} ")),
            Span::styled(format!("({n}) "), theme.style(Role::TextDim)),
        ])
    };
    // A part that failed while the rest answered (the cache API hung while
    // the database API answered) marks only its own table.
    let part = |sources: &[&str]| -> Option<crate::core::state::PanelError> {
        let current = status.error?;
        if rep.faults.is_empty() {
            return Some(current.clone());
        }
        let mine: Vec<_> = rep
            .faults
            .iter()
            .filter(|f| sources.iter().any(|s| f.source == *s))
            .collect();
        (!mine.is_empty()).then(|| crate::core::state::PanelError {
            at: current.at,
            source: mine
                .iter()
                .map(|f| f.source.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            message: mine
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        })
    };
    let db_error = part(&["aws rds", "aws cloudwatch"]);
    let cache_error = part(&["aws elasticache", "aws cloudwatch"]);
    let db_status = PanelStatus {
        error: db_error.as_ref(),
        ..status
    };
    let cache_status = PanelStatus {
        error: cache_error.as_ref(),
        ..status
    };
    draw_table(
        frame,
        db_area,
        &db_status,
        theme,
        title("Database", db_rows.len()),
        db_header,
        db_rows,
        selected.as_ref(),
    );
    draw_table(
        frame,
        cache_area,
        &cache_status,
        theme,
        title("Cache", cache_rows.len()),
        cache_header,
        cache_rows,
        selected.as_ref(),
    );
    if chart_area.height >= 3 {
        draw_charts(frame, chart_area, state, theme);
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_table(
    frame: &mut Frame,
    area: Rect,
    status: &PanelStatus<'_>,
    theme: &Theme,
    title: Line<'_>,
    header: String,
    rows: Vec<(ObjectRef, Text<'_>)>,
    selected: Option<&ObjectRef>,
) {
    let block = status.block(theme, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("none observed", theme.style(Role::TextDim))),
            inner,
        );
        return;
    }
    let sel = selected.and_then(|s| rows.iter().position(|(o, _)| o == s));
    let body = rows.into_iter().map(|(_, t)| {
        let h = t.lines.len() as u16;
        Row::new([Cell::from(t)])
            .height(h)
            .style(theme.row(false, status.stale))
    });
    let table = Table::new(body, [Constraint::Fill(1)])
        .header(Row::new([Cell::from(header)]).style(theme.style(Role::RowHeader)))
        .row_highlight_style(theme.style(Role::RowSelected));
    let mut ts = TableState::default().with_selected(sel);
    frame.render_stateful_widget(table, inner, &mut ts);
}

fn thread_span(t: ThreadState, theme: &Theme) -> Span<'static> {
    let style = match t {
        ThreadState::Running => theme.health(Health::Ok),
        ThreadState::Connecting => theme.health(Health::Degraded),
        ThreadState::Stopped => theme.health(Health::Down),
        ThreadState::Unknown => theme.health(Health::Unknown),
    };
    Span::styled(t.label(), style)
}

fn reach_span(reachable: bool, theme: &Theme) -> Span<'static> {
    if reachable {
        Span::styled(pad("✔ yes", 5), theme.health(Health::Ok))
    } else {
        Span::styled(pad("✖ no", 5), theme.health(Health::Down))
    }
}

fn db_text<'a>(
    d: &DbNode,
    theme: &Theme,
    limits: &Limits,
    name_w: usize,
    wide: bool,
    inner_w: usize,
    now: crate::core::Timestamp,
) -> Text<'a> {
    let (health, _) = db_health(d, limits);
    let hs = theme.health(health);
    let dim = theme.style(Role::TextDim);
    let text = theme.style(Role::Text);
    let replica = d.role == ReplicaRole::Replica;
    let (lag_text, lag_style) = if replica {
        (lag(d.lag_seconds), lag_style(theme, d.lag_seconds, limits))
    } else {
        ("—".to_string(), dim)
    };
    let mut main = vec![
        Span::styled(format!("{} ", health.symbol()), hs),
        Span::styled(pad(&sanitize(&d.name), name_w), theme.style(Role::TextName)),
        Span::raw(" "),
        Span::styled(pad(d.role.label(), 7), text),
        Span::raw(" "),
        Span::styled(if d.read_only { "ro" } else { "rw" }, text),
        Span::raw(" "),
        reach_span(d.reachable, theme),
        Span::raw(" "),
        Span::styled(pad(&lag_text, 9), lag_style),
        Span::raw(" "),
    ];
    if replica {
        let io = thread_span(d.io_thread, theme);
        let sql = thread_span(d.sql_thread, theme);
        let used = width(&io.content) + 1 + width(&sql.content);
        main.extend([
            io,
            Span::styled("/", dim),
            sql,
            Span::raw(" ".repeat(IO_SQL_W.saturating_sub(used) + 1)),
        ]);
    } else {
        main.push(Span::styled(pad("—", IO_SQL_W + 1), dim));
    }
    main.push(Span::styled(
        d.source
            .as_deref()
            .map(sanitize)
            .unwrap_or_else(|| "—".into()),
        text,
    ));
    let gtid = |v: &Option<String>| v.as_deref().map(sanitize).unwrap_or_else(|| "?".into());
    let mut lines = vec![Line::from(main)];
    if let Some(status) = &d.status {
        // A managed database (RDS): its status and how old the lag sample
        // is stand where GTID sets would (RDS does not expose them).
        let mut platform = vec![
            Span::styled("  status ", dim),
            Span::styled(sanitize(status), text),
        ];
        if replica {
            platform.push(Span::styled("  lag sampled ", dim));
            platform.push(Span::styled(
                d.lag_sampled_at.map_or("never".to_string(), |at| {
                    format!("{} ago", crate::core::time::format_age(now.since(at)))
                }),
                text,
            ));
        }
        lines.push(Line::from(platform));
        if let Some(err) = &d.last_error {
            lines.push(Line::from(Span::styled(
                format!(
                    "  ✖ {}",
                    truncate(&sanitize(err), inner_w.saturating_sub(4))
                ),
                theme.style(Role::Error),
            )));
        }
        return Text::from(lines);
    }
    let exec = vec![
        Span::styled("  GTID executed ", dim),
        Span::styled(gtid(&d.gtid_executed), text),
    ];
    if replica {
        let recv = vec![
            Span::styled("  GTID received ", dim),
            Span::styled(gtid(&d.gtid_received), text),
        ];
        if wide {
            let mut both = exec;
            both.extend(recv);
            lines.push(Line::from(both));
        } else {
            lines.push(Line::from(exec));
            lines.push(Line::from(recv));
        }
    } else {
        lines.push(Line::from(exec));
    }
    if let Some(err) = &d.last_error {
        lines.push(Line::from(vec![
            Span::styled("  ✖ last error ", theme.style(Role::Error)),
            Span::styled(
                truncate(&sanitize(err), inner_w.saturating_sub(15)),
                theme.style(Role::Error),
            ),
        ]));
    }
    Text::from(lines)
}

fn cache_text<'a>(c: &CacheNode, theme: &Theme, limits: &Limits, name_w: usize) -> Text<'a> {
    let (health, _) = cache_health(c, limits);
    let hs = theme.health(health);
    let dim = theme.style(Role::TextDim);
    let text = theme.style(Role::Text);
    let replica = c.role == ReplicaRole::Replica;
    let (link, link_style): (&str, Style) = match c.link_up {
        Some(true) => ("up", theme.health(Health::Ok)),
        Some(false) => ("down", theme.health(Health::Down)),
        None if replica => ("?", theme.health(Health::Unknown)),
        None => ("—", dim),
    };
    let lag_text = if replica {
        let b = c.lag_bytes.map(bytes).unwrap_or_else(|| "?".into());
        format!("{b} · {}", lag_short(c.lag_seconds))
    } else {
        "—".to_string()
    };
    let lag_style = if replica {
        lag_style(theme, c.lag_seconds, limits)
    } else {
        dim
    };
    let main = vec![
        Span::styled(format!("{} ", health.symbol()), hs),
        Span::styled(pad(&sanitize(&c.name), name_w), theme.style(Role::TextName)),
        Span::raw(" "),
        Span::styled(pad(c.role.label(), 7), text),
        Span::raw(" "),
        reach_span(c.reachable, theme),
        Span::raw(" "),
        Span::styled(pad(link, 4), link_style),
        Span::raw(" "),
        Span::styled(
            pad_left(
                &c.offset.map(thousands).unwrap_or_else(|| "?".into()),
                OFFSET_W,
            ),
            theme.style(Role::TextNumber),
        ),
        Span::raw(" "),
        Span::styled(pad_left(&lag_text, CACHE_LAG_W), lag_style),
        Span::raw(" "),
        Span::styled(
            c.source
                .as_deref()
                .map(sanitize)
                .unwrap_or_else(|| "—".into()),
            text,
        ),
    ];
    Text::from(Line::from(main))
}

fn draw_charts(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let series: Vec<(&String, &Series)> = state
        .history
        .db_lag
        .iter()
        .chain(state.history.cache_lag.iter())
        .collect();
    if series.is_empty() {
        let block = Block::bordered()
            .border_style(theme.style(Role::Border))
            .title(" Replica lag ");
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(
            Paragraph::new(Span::styled(
                "waiting for data…",
                theme.style(Role::Waiting),
            )),
            inner,
        );
        return;
    }
    let cols = Layout::horizontal(vec![
        Constraint::Ratio(1, series.len() as u32);
        series.len()
    ])
    .split(area);
    for ((name, s), col) in series.into_iter().zip(cols.iter()) {
        spark::draw_lag(frame, *col, name, s, theme, &state.policy.limits);
    }
}
