//! The instances table: every host with AZ, role, state, health, probe
//! latency, CPU, version and data age; filtered and sorted as the state says,
//! the sort column marked ▲/▼. Narrow terminals drop the least important
//! columns (AGE, then CPU) and shorten AZs before names are ever cut.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Flex, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::fleet_summary::Drift;
use super::format::{opt, short_az, width};
use super::panel_status::PanelStatus;
use crate::core::assess::{ServiceView, host_health};
use crate::core::fleet::{Health, Host, HostState, LoadBalancer};
use crate::core::sanitize::sanitize;
use crate::core::state::{SortColumn, State};
use crate::core::time::format_age;
use crate::theme::{Role, Theme};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Az,
    Role,
    State,
    Health,
    /// Cloud instances only: the platform's status checks, type and address.
    Checks,
    Type,
    Address,
    Latency,
    Cpu,
    Version,
    Age,
}

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::Age => "AGE",
            Col::Checks => "CHECKS",
            Col::Type => "TYPE",
            Col::Address => "ADDRESS",
            other => other.sort().map_or("", SortColumn::title),
        }
    }

    fn sort(self) -> Option<SortColumn> {
        Some(match self {
            Col::Name => SortColumn::Name,
            Col::Az => SortColumn::Az,
            Col::Role => SortColumn::Role,
            Col::State => SortColumn::State,
            Col::Health => SortColumn::Health,
            Col::Latency => SortColumn::Latency,
            Col::Cpu => SortColumn::Cpu,
            Col::Version => SortColumn::Version,
            Col::Age | Col::Checks | Col::Type | Col::Address => return None,
        })
    }

    fn right_aligned(self) -> bool {
        matches!(self, Col::Latency | Col::Cpu | Col::Age)
    }
}

const ALL: [Col; 12] = [
    Col::Name,
    Col::Az,
    Col::Role,
    Col::State,
    Col::Health,
    Col::Checks,
    Col::Type,
    Col::Address,
    Col::Latency,
    Col::Cpu,
    Col::Version,
    Col::Age,
];

struct Ctx<'a> {
    theme: &'a Theme,
    /// For each host's health: the worse of its probe and the LB's view.
    lb: Option<&'a LoadBalancer>,
    /// The LB's own check: its host is down when nginx does not answer.
    service: ServiceView,
    drift: Option<Drift>,
    age: String,
    stale: bool,
    short_az: bool,
}

fn cell_text(ctx: &Ctx<'_>, col: Col, h: &Host) -> (String, Style) {
    let t = ctx.theme;
    match col {
        Col::Name => (sanitize(&h.name), t.style(Role::TextName)),
        Col::Az => {
            let az = sanitize(&h.az);
            let shown = if ctx.short_az {
                short_az(&az).to_string()
            } else {
                az
            };
            (shown, t.style(Role::Text))
        }
        Col::Role => (h.role.label().to_string(), t.style(Role::Text)),
        Col::State => {
            let style = match h.state {
                HostState::Running => t.style(Role::Text),
                HostState::Stopped | HostState::Unreachable => t.health(Health::Down),
                HostState::Unknown => t.health(Health::Unknown),
            };
            (h.state.label().to_string(), style)
        }
        Col::Health => {
            let health = ctx
                .service
                .host_health(h, host_health(h, ctx.lb.and_then(|lb| lb.target(&h.name))));
            (
                format!("{} {}", health.symbol(), health.label()),
                t.health(health),
            )
        }
        Col::Checks => match h.checks.as_deref() {
            Some("2/2 ok") => ("2/2 ok".to_string(), t.health(Health::Ok)),
            Some(c) if c.contains("impaired") => (sanitize(c), t.health(Health::Down)),
            Some(c) => (sanitize(c), t.health(Health::Unknown)),
            None => ("—".to_string(), t.style(Role::TextDim)),
        },
        Col::Type => (
            h.instance_type.as_deref().map_or("—".into(), sanitize),
            t.style(Role::Text),
        ),
        Col::Address => (
            h.address.as_deref().map_or("—".into(), sanitize),
            t.style(Role::TextDim),
        ),
        Col::Latency => (opt(h.latency_ms, 0, " ms"), t.style(Role::TextNumber)),
        Col::Cpu => {
            let style = match h.cpu_pct {
                Some(c) if c >= 90.0 => t.health(Health::Down),
                Some(c) if c >= 75.0 => t.health(Health::Degraded),
                _ => t.style(Role::TextNumber),
            };
            (opt(h.cpu_pct, 0, "%"), style)
        }
        Col::Version => {
            let drifted = ctx
                .drift
                .as_ref()
                .is_some_and(|d| d.drifted.contains(&h.name));
            match (&h.version, drifted) {
                (Some(v), true) => (format!("≠ {}", sanitize(v)), t.style(Role::Drift)),
                (Some(v), false) => (sanitize(v), t.style(Role::Text)),
                (None, _) => ("—".to_string(), t.style(Role::TextDim)),
            }
        }
        Col::Age => {
            let style = if ctx.stale {
                t.style(Role::Stale)
            } else {
                t.style(Role::TextDim)
            };
            (ctx.age.clone(), style)
        }
    }
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let status = PanelStatus::of(&state.hosts, state.now);
    let rows = state.instance_rows();
    let total = state.hosts.data.as_ref().map_or(0, |o| o.hosts.len());
    let mut title = vec![Span::raw(" Instances ")];
    if state.instances.filter.is_empty() {
        title.push(Span::styled(
            format!("({total}) "),
            theme.style(Role::TextDim),
        ));
    } else {
        title.push(Span::styled(
            format!("({} of {total}) ", rows.len()),
            theme.style(Role::TextDim),
        ));
        title.push(Span::styled(
            format!("filter: {} ", sanitize(&state.instances.filter)),
            theme.style(Role::StatusKey).bg(Default::default()),
        ));
    }
    let block = status.block(theme, Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if state.hosts.data.is_none() {
        frame.render_widget(status.placeholder(theme), inner);
        return;
    }
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                format!("no instances match '{}'", sanitize(&state.instances.filter)),
                theme.style(Role::TextDim),
            )),
            inner,
        );
        return;
    }

    let mut ctx = Ctx {
        theme,
        lb: state.load_balancer(),
        service: ServiceView::of(state),
        drift: state.deploys.data.as_ref().map(Drift::of),
        age: state
            .hosts
            .age_ms(state.now)
            .map(format_age)
            .unwrap_or_else(|| "?".into()),
        stale: status.stale,
        short_az: false,
    };
    let avail = usize::from(inner.width);
    let mut cols: Vec<Col> = ALL.to_vec();
    // Cloud instances (they carry the provider's id) get the platform's
    // columns; a fleet without probes (AWS) has no latency to show.
    let cloud = rows.iter().any(|h| h.id.is_some());
    let probed = rows.iter().any(|h| h.latency_ms.is_some()) || !cloud;
    cols.retain(|c| match c {
        Col::Checks | Col::Type | Col::Address => cloud,
        Col::Latency => probed,
        _ => true,
    });
    let widths = |ctx: &Ctx<'_>, cols: &[Col]| -> Vec<usize> {
        cols.iter()
            .map(|c| {
                let content = rows
                    .iter()
                    .map(|h| width(&cell_text(ctx, *c, h).0))
                    .max()
                    .unwrap_or(0);
                content.max(width(c.title()) + 1)
            })
            .collect()
    };
    let total_w = |w: &[usize]| w.iter().sum::<usize>() + w.len().saturating_sub(1);
    // Columns sit two cells apart when the room allows it.
    let spacing = |w: &[usize]| {
        if w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1) <= avail {
            2
        } else {
            1
        }
    };
    // Give up the least important information first; names stay whole.
    let mut w = widths(&ctx, &cols);
    for step in 0..6 {
        if total_w(&w) <= avail {
            break;
        }
        match step {
            0 => cols.retain(|c| *c != Col::Age),
            1 => ctx.short_az = true,
            2 => cols.retain(|c| *c != Col::Address),
            3 => cols.retain(|c| *c != Col::Type),
            4 => cols.retain(|c| *c != Col::Cpu),
            _ => cols.retain(|c| *c != Col::Latency),
        }
        w = widths(&ctx, &cols);
    }

    let header = Row::new(cols.iter().map(|c| {
        let mut text = c.title().to_string();
        let mut style = theme.style(Role::RowHeader);
        if c.sort() == Some(state.instances.sort) {
            text.push(if state.instances.descending {
                '▼'
            } else {
                '▲'
            });
            style = style.patch(theme.style(Role::Title));
        }
        let line = Line::from(Span::styled(text, style));
        Cell::from(if c.right_aligned() {
            line.alignment(Alignment::Right)
        } else {
            line
        })
    }));
    let body = rows.iter().map(|h| {
        Row::new(cols.iter().map(|c| {
            let (text, style) = cell_text(&ctx, *c, h);
            let line = Line::from(Span::styled(text, style));
            Cell::from(if c.right_aligned() {
                line.alignment(Alignment::Right)
            } else {
                line
            })
        }))
        .style(theme.row(false, status.stale))
    });
    let constraints: Vec<Constraint> = w
        .iter()
        .zip(cols.iter())
        .map(|(w, _)| Constraint::Length(*w as u16))
        .collect();
    let table = Table::new(body, constraints)
        .column_spacing(spacing(&w))
        .flex(Flex::Start)
        .header(header)
        .row_highlight_style(theme.style(Role::RowSelected));
    let selected = state.instances.selected.min(rows.len().saturating_sub(1));
    let mut ts = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, inner, &mut ts);
}
