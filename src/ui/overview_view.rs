//! The overview: the service as its users see it (first line), a problem
//! headline, both AZs side by side (each AZ's
//! load-balancer backends with weight, target state, health, traffic and
//! version, then its database and cache nodes with role and lag), the firing
//! alerts, and sparklines of replica lag and the load balancer's 5xx rate.
//! At 80×24 backends take two lines each; wide terminals get one line and a
//! header, tall terminals get taller sparklines.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::fleet_summary::{Drift, Problems, lag_style};
use super::format::{lag, lag_short, pad, pad_left, percent, rps, truncate, width};
use super::panel_status::PanelStatus;
use super::spark::{self, SparkSpec};
use crate::core::assess::{cache_health, db_health, host_health};
use crate::core::fleet::{Health, Host, HostRole, ReplicaRole};
use crate::core::sanitize::sanitize;
use crate::core::state::{ObjectRef, State};
use crate::core::time::format_age;
use crate::theme::{Role, Theme};

/// Inner width from which a backend fits on one line.
const WIDE: usize = 60;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let problems = Problems::of(state);
    let azs = state.azs();
    let az_count = azs.len().max(1);
    let inner_w = usize::from(area.width) / az_count - 2;
    let wide = inner_w >= WIDE;

    let az_rows = azs
        .iter()
        .map(|az| az_panel_height(state, az, wide))
        .max()
        .unwrap_or(1)
        .max(1);
    let az_h = (az_rows + 2) as u16;
    let alert_count = state.alerts.data.as_ref().map_or(1, |a| a.len().max(1));
    let rest = area.height.saturating_sub(2 + az_h);
    // Sparklines keep at least four rows; alerts take what they need of the rest.
    let alerts_h = ((alert_count + 2) as u16)
        .min(rest.saturating_sub(4))
        .max(3.min(rest));
    let [service, headline, az_area, alerts_area, spark_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(az_h),
        Constraint::Length(alerts_h),
        Constraint::Min(0),
    ])
    .areas(area);

    let mut line = vec![Span::styled(" ", theme.style(Role::Text))];
    line.extend(
        super::service_line::service_line(state, theme, usize::from(area.width).saturating_sub(2))
            .spans,
    );
    frame.render_widget(Paragraph::new(Line::from(line)), service);

    let mut head = vec![Span::styled(" ", theme.style(Role::Text))];
    head.extend(
        problems
            .line(theme, usize::from(area.width).saturating_sub(2))
            .spans,
    );
    frame.render_widget(Paragraph::new(Line::from(head)), headline);

    draw_azs(frame, az_area, state, theme, &azs, wide);
    draw_alerts(frame, alerts_area, state, theme);
    if spark_area.height >= 3 {
        draw_sparks(frame, spark_area, state, theme);
    }
}

/// Lines one AZ panel needs inside its border.
fn az_panel_height(state: &State, az: &str, wide: bool) -> usize {
    let (backends, second_lines) = state.hosts.data.as_ref().map_or((0, 0), |o| {
        let list: Vec<&Host> = o
            .hosts
            .iter()
            .filter(|h| h.az == az && h.role == HostRole::Backend)
            .collect();
        let second = list.iter().filter(|h| has_second_line(state, h)).count();
        (list.len(), second)
    });
    let nodes = state.replication.data.as_ref().map_or(1, |r| {
        r.databases.iter().filter(|d| d.az == az).count()
            + r.caches.iter().filter(|c| c.az == az).count()
    });
    if wide {
        1 + backends + nodes
    } else {
        backends + second_lines + nodes
    }
}

/// At 80 columns a backend's traffic and version take a second line; a
/// backend with none of them known (an ALB target with no deploys
/// configured) takes one line, not a line of dashes.
fn has_second_line(state: &State, h: &Host) -> bool {
    let target = state.load_balancer().and_then(|lb| lb.target(&h.name));
    h.version.is_some()
        || target.is_none_or(|t| t.requests_per_sec.is_some() || t.error_rate.is_some())
}

fn draw_azs(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    theme: &Theme,
    azs: &[String],
    wide: bool,
) {
    let hosts_status = PanelStatus::of(&state.hosts, state.now);
    if azs.is_empty() {
        let block = hosts_status.block(theme, Line::from(" Availability zones "));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(hosts_status.placeholder(theme), inner);
        return;
    }
    let constraints = vec![Constraint::Ratio(1, azs.len() as u32); azs.len()];
    let columns = Layout::horizontal(constraints).split(area);
    let selected = state.overview_items().get(state.overview_selected).cloned();
    let rep_status = PanelStatus::of(&state.replication, state.now);
    let drift = state.deploys.data.as_ref().map(Drift::of);

    // One name width for both AZs so columns line up across the screen.
    let mut names: Vec<usize> = Vec::new();
    if let Some(o) = &state.hosts.data {
        names.extend(
            o.hosts
                .iter()
                .filter(|h| h.role == HostRole::Backend)
                .map(|h| width(&sanitize(&h.name))),
        );
    }
    if let Some(r) = &state.replication.data {
        names.extend(r.databases.iter().map(|d| width(&sanitize(&d.name))));
        names.extend(r.caches.iter().map(|c| width(&sanitize(&c.name))));
    }
    let inner_w = usize::from(columns[0].width).saturating_sub(2);
    let name_w = names
        .into_iter()
        .max()
        .unwrap_or(6)
        .min(inner_w * 2 / 5)
        .max(4);

    for (az, col) in azs.iter().zip(columns.iter()) {
        // A load balancer that reports traffic only per AZ (an ALB) puts it
        // in the zone's title: the rows cannot show it per target.
        let zone_traffic = state
            .load_balancer()
            .and_then(|lb| lb.az_traffic.iter().find(|z| &z.az == az));
        let mut title = vec![Span::raw(format!(" {} ", sanitize(az)))];
        if let Some(z) = zone_traffic {
            let rps = z
                .requests_per_sec
                .map_or("? rps".to_string(), |r| format!("{r:.1} rps"));
            let err = z
                .error_rate
                .map_or("5xx ?".to_string(), |e| format!("5xx {:.1}%", e * 100.0));
            let err_style = match z.error_rate {
                Some(e) if e >= 0.05 => theme.health(crate::core::fleet::Health::Down),
                Some(e) if e >= 0.01 => theme.health(crate::core::fleet::Health::Degraded),
                _ => theme.style(Role::TextDim),
            };
            title.push(Span::styled(
                format!("· {rps} "),
                theme.style(Role::TextDim),
            ));
            title.push(Span::styled(format!("· {err} "), err_style));
        }
        let mut block = hosts_status.block(theme, Line::from(title));
        if state.replication.data.is_some() && (rep_status.stale || rep_status.error.is_some()) {
            // The db/cache rows come from another source; say when it is old
            // or failing (the error itself is in the status bar).
            let mut spans = vec![Span::styled(" db/cache", theme.style(Role::Stale))];
            if rep_status.error.is_some() {
                spans.push(Span::styled(" ✖ failing", theme.style(Role::Error)));
            }
            spans.push(
                rep_status
                    .stale_span(theme)
                    .unwrap_or_else(|| Span::raw(" ")),
            );
            block = block.title_bottom(Line::from(spans).alignment(Alignment::Right));
        }
        let inner = block.inner(*col);
        frame.render_widget(block, *col);
        let Some(obs) = &state.hosts.data else {
            frame.render_widget(hosts_status.placeholder(theme), inner);
            continue;
        };
        let w = usize::from(inner.width);
        let mut rows: Vec<(ObjectRef, Row)> = Vec::new();
        for h in obs
            .hosts
            .iter()
            .filter(|h| &h.az == az && h.role == HostRole::Backend)
        {
            let target = obs.load_balancer.as_ref().and_then(|lb| lb.target(&h.name));
            let health = host_health(h, target);
            let hs = theme.health(health);
            let name = Span::styled(pad(&sanitize(&h.name), name_w), theme.style(Role::TextName));
            let (weight, tstate, tstyle) = match target {
                Some(t) => (
                    format!("w{}", t.weight),
                    super::format::target_state_text(t, state.now, true),
                    theme.target_state(t.state),
                ),
                None => (
                    "w-".to_string(),
                    "no lb".to_string(),
                    theme.style(Role::TextDim),
                ),
            };
            let version_text = h
                .version
                .as_deref()
                .map(sanitize)
                .unwrap_or_else(|| "?".into());
            let drifted = drift.as_ref().is_some_and(|d| d.drifted.contains(&h.name));
            let version = if drifted {
                Span::styled(format!("≠ {version_text}"), theme.style(Role::Drift))
            } else {
                Span::styled(version_text, theme.style(Role::Text))
            };
            let (rps_text, err_text) = match target {
                // An ALB reports no per-target traffic: "—", never 0.
                Some(t) => (
                    t.requests_per_sec.map_or("—".into(), rps),
                    t.error_rate.map_or("—".into(), percent),
                ),
                None => ("?".into(), "?".into()),
            };
            let err_style = match target {
                Some(t) if t.error_rate.is_some_and(|e| e >= 0.05) => theme.health(Health::Down),
                Some(t) if t.error_rate.is_some_and(|e| e >= 0.01) => {
                    theme.health(Health::Degraded)
                }
                _ => theme.style(Role::Text),
            };
            let text = if wide {
                Text::from(Line::from(vec![
                    Span::styled(format!("{} ", health.symbol()), hs),
                    Span::styled(pad(health.label(), 9), hs),
                    name,
                    Span::raw(" "),
                    Span::styled(pad(&weight, 3), theme.style(Role::Text)),
                    Span::raw(" "),
                    Span::styled(pad(&tstate, 9), tstyle),
                    Span::styled(pad_left(&rps_text, 6), theme.style(Role::TextNumber)),
                    Span::styled(pad_left(&err_text, 7), err_style),
                    Span::raw("  "),
                    version,
                ]))
            } else {
                let mut lines = vec![Line::from(vec![
                    Span::styled(format!("{} ", health.symbol()), hs),
                    name,
                    Span::raw(" "),
                    Span::styled(pad(&weight, 3), theme.style(Role::Text)),
                    Span::raw(" "),
                    Span::styled(pad(&tstate, 9), tstyle),
                    Span::styled(health.label(), hs),
                ])];
                if has_second_line(state, h) {
                    lines.push(Line::from(vec![
                        Span::raw("  "),
                        Span::styled(pad_left(&rps_text, 5), theme.style(Role::TextNumber)),
                        Span::styled(" rps ", theme.style(Role::TextDim)),
                        Span::styled(pad_left(&err_text, 6), err_style),
                        Span::styled(" 5xx  ", theme.style(Role::TextDim)),
                        version,
                    ]));
                }
                Text::from(lines)
            };
            let height = text.lines.len() as u16;
            rows.push((
                ObjectRef::Host(h.name.clone()),
                Row::new([Cell::from(text)]).height(height),
            ));
        }
        match &state.replication.data {
            Some(rep) => {
                let nodes = rep
                    .databases
                    .iter()
                    .filter(|d| &d.az == az)
                    .map(|d| {
                        let (h, _) = db_health(d, &state.policy.limits);
                        (
                            ObjectRef::Database(d.name.clone()),
                            &d.name,
                            "db",
                            d.role.label(),
                            h,
                            d.lag_seconds,
                            d.role,
                        )
                    })
                    .chain(rep.caches.iter().filter(|c| &c.az == az).map(|c| {
                        let (h, _) = cache_health(c, &state.policy.limits);
                        (
                            ObjectRef::Cache(c.name.clone()),
                            &c.name,
                            "cache",
                            c.role.label(),
                            h,
                            c.lag_seconds,
                            c.role,
                        )
                    }));
                for (obj, name, kind, role, health, lag_s, rrole) in nodes {
                    let hs = theme.health(health);
                    let mut spans = vec![Span::styled(format!("{} ", health.symbol()), hs)];
                    if wide {
                        spans.push(Span::styled(pad(health.label(), 9), hs));
                    }
                    spans.push(Span::styled(
                        pad(&sanitize(name), name_w),
                        theme.style(Role::TextName),
                    ));
                    spans.push(Span::raw(" "));
                    // Tight (80 columns, long names): a shorter role keeps the lag whole.
                    let tight = w < name_w + 25;
                    let (kind_role, role_w) = if tight {
                        let short = match rrole {
                            ReplicaRole::Primary => "pri",
                            ReplicaRole::Replica => "rep",
                        };
                        (format!("{kind} {short}"), 10)
                    } else {
                        (format!("{kind} {role}"), 14)
                    };
                    spans.push(Span::styled(
                        pad(&kind_role, role_w),
                        theme.style(Role::Text),
                    ));
                    if rrole == ReplicaRole::Replica {
                        let text = if w >= name_w + 30 {
                            lag(lag_s)
                        } else {
                            lag_short(lag_s)
                        };
                        spans.push(Span::styled("lag ", theme.style(Role::TextDim)));
                        spans.push(Span::styled(
                            text,
                            lag_style(theme, lag_s, &state.policy.limits),
                        ));
                    }
                    rows.push((obj, Row::new([Cell::from(Line::from(spans))])));
                }
            }
            None => {
                let text = match rep_status.error {
                    Some(e) => Line::from(Span::styled(
                        truncate(&format!("✖ db/cache: {}", sanitize(&e.text())), w),
                        theme.style(Role::Error),
                    )),
                    None => Line::from(Span::styled(
                        "db/cache: waiting for data…",
                        theme.style(Role::Waiting),
                    )),
                };
                rows.push((ObjectRef::Deploy(usize::MAX), Row::new([Cell::from(text)])));
            }
        }
        let sel = selected
            .as_ref()
            .and_then(|s| rows.iter().position(|(o, _)| o == s));
        let mut table = Table::new(rows.into_iter().map(|(_, r)| r), [Constraint::Fill(1)])
            .row_highlight_style(theme.style(Role::RowSelected));
        if wide {
            let header = format!(
                "  {}{} {} {}{}{}  {}",
                pad("HEALTH", 9),
                pad("NAME", name_w),
                pad("W", 3),
                pad("TARGET", 9),
                pad_left("RPS", 6),
                pad_left("5XX", 7),
                "VERSION"
            );
            table =
                table.header(Row::new([Cell::from(header)]).style(theme.style(Role::RowHeader)));
        }
        let mut ts = TableState::default().with_selected(sel);
        frame.render_stateful_widget(table, inner, &mut ts);
    }
}

fn draw_alerts(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    if area.height < 3 {
        return;
    }
    let status = PanelStatus::of(&state.alerts, state.now);
    let count = state.alerts.data.as_ref().map_or(0, Vec::len);
    let title = if state.alerts.data.is_some() {
        format!(" Alerts ({count} firing) ")
    } else {
        " Alerts ".to_string()
    };
    let block = status.block(theme, Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(alerts) = &state.alerts.data else {
        frame.render_widget(status.placeholder(theme), inner);
        return;
    };
    if alerts.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "✔ no alerts firing",
                theme.style(Role::AllGood),
            )),
            inner,
        );
        return;
    }
    let mut sorted: Vec<_> = alerts.iter().collect();
    sorted.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.since.cmp(&a.since)));
    let w = usize::from(inner.width);
    let name_w = sorted
        .iter()
        .map(|a| width(&sanitize(&a.name)))
        .max()
        .unwrap_or(4)
        .min(w / 3);
    let target_w = sorted
        .iter()
        .map(|a| width(&sanitize(&a.target)))
        .max()
        .unwrap_or(4)
        .min(w / 4);
    let mut lines: Vec<Line> = sorted
        .iter()
        .map(|a| {
            let ss = theme.severity(a.severity);
            let used = 2 + 9 + name_w + 1 + target_w + 1 + 5;
            let mut spans = vec![
                Span::styled(format!("{} ", a.severity.symbol()), ss),
                Span::styled(pad(a.severity.label(), 9), ss),
                Span::styled(pad(&sanitize(&a.name), name_w), theme.style(Role::TextName)),
                Span::raw(" "),
                Span::styled(pad(&sanitize(&a.target), target_w), theme.style(Role::Text)),
                Span::styled(
                    pad_left(&format_age(state.now.since(a.since)), 5),
                    theme.style(Role::TextDim),
                ),
            ];
            if w > used + 4 {
                spans.push(Span::styled(
                    format!("  {}", truncate(&sanitize(&a.summary), w - used - 2)),
                    theme.style(Role::TextDim),
                ));
            }
            Line::from(spans)
        })
        .collect();
    let room = usize::from(inner.height);
    if lines.len() > room && room > 0 {
        let hidden = lines.len() - room + 1;
        lines.truncate(room - 1);
        lines.push(Line::from(Span::styled(
            format!("… {hidden} more (see the alerts source)"),
            theme.style(Role::TextDim),
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_sparks(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let lag_series: Vec<_> = state.history.db_lag.iter().collect();
    let n = lag_series.len() + 1;
    let cols = Layout::horizontal(vec![Constraint::Ratio(1, n as u32); n]).split(area);
    let border = theme.style(Role::Border);
    for ((name, series), col) in lag_series.iter().zip(cols.iter()) {
        spark::draw_lag(frame, *col, name, series, theme, &state.policy.limits);
    }
    let Some(col) = cols.last() else { return };
    let lb = state.load_balancer();
    let current = lb
        .and_then(|lb| lb.error_rate())
        .or_else(|| state.history.error_rate.last().flatten());
    let rate_style = match current {
        Some(r) if r >= 0.05 => theme.health(Health::Down),
        Some(r) if r >= 0.01 => theme.health(Health::Degraded),
        Some(_) => theme.style(Role::Text),
        None => theme.style(Role::LagUnknown),
    };
    let mut title = vec![
        Span::styled(" LB 5xx ", theme.style(Role::Title)),
        Span::styled(
            current.map_or_else(|| "? unknown".to_string(), percent),
            rate_style,
        ),
    ];
    if let Some(lb) = lb {
        title.push(Span::styled(
            format!(" · {} rps", lb.total_rps().map_or("—".into(), rps)),
            theme.style(Role::TextDim),
        ));
    }
    title.push(Span::raw(" "));
    let block = Block::bordered()
        .border_style(border)
        .title(Line::from(title));
    let spec = SparkSpec {
        series: &state.history.error_rate,
        scale: 10_000.0,
        floor_max: 0.01,
        style: theme.style(Role::SparkErrors),
        high: Some((0.05, theme.health(Health::Down))),
    };
    spark::draw(frame, *col, block, &spec, theme);
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::core::fleet::{
        Health, Host, HostRole, HostState, HostsObservation, LoadBalancer, Target, TargetState,
    };
    use crate::core::msg::{Msg, Observation};
    use crate::core::state::{EnvInfo, State};
    use crate::core::time::Timestamp;
    use crate::keymap::Keymap;
    use crate::theme::Theme;

    /// An ALB reports no per-target traffic: the overview shows "—", never 0.
    #[test]
    fn unknown_target_traffic_reads_as_a_dash_not_zero() {
        let env = EnvInfo {
            name: "t".into(),
            region: None,
            source: "t".into(),
            production: false,
        };
        let mut s = State::new(env, false, Timestamp::from_secs(10));
        let host = Host {
            instance_type: None,
            checks: None,
            id: None,
            name: "web-a1".into(),
            az: "az-a".into(),
            role: HostRole::Backend,
            state: HostState::Running,
            health: Health::Ok,
            latency_ms: None,
            cpu_pct: None,
            version: Some("v1".into()),
            address: None,
        };
        let obs = HostsObservation {
            faults: Vec::new(),
            azs: vec!["az-a".into()],
            hosts: vec![host],
            load_balancer: Some(LoadBalancer {
                az_traffic: Vec::new(),
                name: "alb".into(),
                kind: "alb".into(),
                targets: vec![Target {
                    reason: None,
                    drain_ends_at: None,
                    backend: "web-a1".into(),
                    az: "az-a".into(),
                    weight: 1,
                    state: TargetState::Active,
                    health: Health::Ok,
                    requests_per_sec: None,
                    error_rate: None,
                    in_flight: None,
                }],
            }),
        };
        crate::core::update(
            &mut s,
            Msg::Observed {
                at: Timestamp::from_secs(10),
                observation: Observation::Hosts(obs),
            },
        );
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
        terminal
            .draw(|f| crate::ui::draw(f, &s, &Theme::builtin(), &Keymap::builtin()))
            .expect("draw");
        let text: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        // The target's RPS and 5XX columns, and the load balancer's total.
        assert!(text.contains("web-a1 w1  active        —      —"), "{text}");
        assert!(text.contains("LB 5xx ? unknown · — rps"), "{text}");
        assert!(!text.contains("0.0%"), "{text}");
    }
}
