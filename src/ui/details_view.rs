//! The details popup: every field of one host, database node, cache node or
//! deploy, looked up in the latest observation. An object that has gone away
//! says so instead of showing old values.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fleet_summary::lag_style;
use super::format::{bytes, lag, opt, pad, percent, rps, thousands, width, wrap};
use super::popup;
use crate::core::assess::{cache_health, db_health};
use crate::core::fleet::Health;
use crate::core::sanitize::sanitize;
use crate::core::state::{ObjectRef, State};
use crate::core::time::format_age;
use crate::theme::{Role, Theme};

type Field = (&'static str, String, Style);

fn yes_no(b: bool) -> String {
    if b { "✔ yes" } else { "✖ no" }.to_string()
}

fn health_value(theme: &Theme, h: Health, why: &str) -> (String, Style) {
    let text = if why.is_empty() || why == "ok" || why == h.label() {
        format!("{} {}", h.symbol(), h.label())
    } else {
        format!("{} {} ({why})", h.symbol(), h.label())
    };
    (text, theme.health(h))
}

/// How old a metric sample is (`52s ago`), or that it came live from the node.
fn sample_age(state: &State, at: Option<crate::core::Timestamp>) -> String {
    match at {
        Some(at) => format!("{} ago", format_age(state.now.since(at))),
        None => "live (or none)".to_string(),
    }
}

fn fields(state: &State, theme: &Theme, object: &ObjectRef) -> Option<(String, Vec<Field>)> {
    let text = theme.style(Role::Text);
    let s = |v: Option<&String>| v.map(|v| sanitize(v)).unwrap_or_else(|| "—".to_string());
    match object {
        ObjectRef::Host(name) => {
            let obs = state.hosts.data.as_ref()?;
            let h = obs.host(name)?;
            let (health, health_style) = health_value(theme, h.health, "");
            let mut f: Vec<Field> = vec![
                ("name", sanitize(&h.name), theme.style(Role::TextName)),
                ("az", sanitize(&h.az), text),
                ("role", h.role.label().to_string(), text),
                ("state", h.state.label().to_string(), text),
                ("health", health, health_style),
                ("latency", opt(h.latency_ms, 0, " ms"), text),
                ("cpu", opt(h.cpu_pct, 0, "%"), text),
                ("version", s(h.version.as_ref()), text),
                ("address", s(h.address.as_ref()), text),
            ];
            // What a cloud platform says of its own machine.
            if h.id.is_some() {
                f.extend([
                    ("instance", s(h.id.as_ref()), text),
                    ("type", s(h.instance_type.as_ref()), text),
                    ("checks", s(h.checks.as_ref()), text),
                ]);
            }
            if let Some(lb) = &obs.load_balancer
                && let Some(t) = lb.target(name)
            {
                let (th, ts) = health_value(theme, t.health, "");
                f.extend([
                    (
                        "lb",
                        format!("{} ({})", sanitize(&lb.name), sanitize(&lb.kind)),
                        text,
                    ),
                    ("lb weight", t.weight.to_string(), text),
                    (
                        "lb target",
                        super::format::target_state_text(t, state.now, false),
                        theme.target_state(t.state),
                    ),
                    ("lb health", th, ts),
                    (
                        "requests",
                        t.requests_per_sec
                            .map_or("—".into(), |r| format!("{} rps", rps(r))),
                        text,
                    ),
                    ("5xx rate", t.error_rate.map_or("—".into(), percent), text),
                    (
                        "in flight",
                        t.in_flight.map_or("—".into(), |n| n.to_string()),
                        text,
                    ),
                ]);
                if let Some(reason) = &t.reason {
                    f.push(("lb reason", sanitize(reason), text));
                }
            }
            let age = state
                .hosts
                .age_ms(state.now)
                .map(format_age)
                .unwrap_or_default();
            f.push(("data age", age, theme.style(Role::TextDim)));
            Some((format!("host {}", sanitize(name)), f))
        }
        ObjectRef::Database(name) => {
            let rep = state.replication.data.as_ref()?;
            let d = rep.databases.iter().find(|d| &d.name == name)?;
            let (h, why) = db_health(d, &state.policy.limits);
            let (health, health_style) = health_value(theme, h, why);
            let f: Vec<Field> = vec![
                ("name", sanitize(&d.name), theme.style(Role::TextName)),
                ("az", sanitize(&d.az), text),
                ("role", d.role.label().to_string(), text),
                ("health", health, health_style),
                ("reachable", yes_no(d.reachable), text),
                ("read only", yes_no(d.read_only), text),
                (
                    "lag",
                    lag(d.lag_seconds),
                    lag_style(theme, d.lag_seconds, &state.policy.limits),
                ),
                ("IO thread", d.io_thread.label().to_string(), text),
                ("SQL thread", d.sql_thread.label().to_string(), text),
                ("source", s(d.source.as_ref()), text),
                ("GTID executed", s(d.gtid_executed.as_ref()), text),
                ("GTID received", s(d.gtid_received.as_ref()), text),
                (
                    "last error",
                    s(d.last_error.as_ref()),
                    theme.style(Role::Error),
                ),
                (
                    "data age",
                    state
                        .replication
                        .age_ms(state.now)
                        .map(format_age)
                        .unwrap_or_default(),
                    theme.style(Role::TextDim),
                ),
            ];
            // A managed database (RDS): its own status and the lag's sample age.
            let mut f = f;
            if d.status.is_some() {
                f.insert(3, ("status", s(d.status.as_ref()), text));
                f.insert(
                    4,
                    ("lag sampled", sample_age(state, d.lag_sampled_at), text),
                );
            }
            Some((format!("database {}", sanitize(name)), f))
        }
        ObjectRef::Cache(name) => {
            let rep = state.replication.data.as_ref()?;
            let c = rep.caches.iter().find(|c| &c.name == name)?;
            let (h, why) = cache_health(c, &state.policy.limits);
            let (health, health_style) = health_value(theme, h, why);
            let link = match c.link_up {
                Some(true) => "✔ up".to_string(),
                Some(false) => "✖ down".to_string(),
                None => "—".to_string(),
            };
            let f: Vec<Field> = vec![
                ("name", sanitize(&c.name), theme.style(Role::TextName)),
                ("az", sanitize(&c.az), text),
                ("role", c.role.label().to_string(), text),
                ("health", health, health_style),
                ("reachable", yes_no(c.reachable), text),
                ("link", link, text),
                (
                    "offset",
                    c.offset.map(thousands).unwrap_or_else(|| "?".into()),
                    text,
                ),
                (
                    "lag bytes",
                    c.lag_bytes.map(bytes).unwrap_or_else(|| "—".into()),
                    text,
                ),
                (
                    "lag",
                    lag(c.lag_seconds),
                    lag_style(theme, c.lag_seconds, &state.policy.limits),
                ),
                ("source", s(c.source.as_ref()), text),
                (
                    "data age",
                    state
                        .replication
                        .age_ms(state.now)
                        .map(format_age)
                        .unwrap_or_default(),
                    theme.style(Role::TextDim),
                ),
            ];
            let mut f = f;
            if c.lag_sampled_at.is_some() {
                f.insert(
                    4,
                    ("lag sampled", sample_age(state, c.lag_sampled_at), text),
                );
            }
            Some((format!("cache {}", sanitize(name)), f))
        }
        ObjectRef::Deploy(i) => {
            let dep = state.deploys.data.as_ref()?;
            let d = dep.history.get(*i)?;
            let f: Vec<Field> = vec![
                ("service", sanitize(&d.service), text),
                ("version", sanitize(&d.version), theme.style(Role::TextName)),
                (
                    "outcome",
                    format!("{} {}", d.outcome.symbol(), d.outcome.label()),
                    theme.outcome(d.outcome),
                ),
                ("artifact", sanitize(&d.artifact), text),
                ("at", format!("{} UTC", d.at.format_datetime()), text),
                ("age", format_age(state.now.since(d.at)), text),
                ("by", sanitize(&d.by), text),
            ];
            Some((format!("deploy {}", sanitize(&d.version)), f))
        }
    }
}

fn describe(object: &ObjectRef) -> String {
    match object {
        ObjectRef::Host(n) => format!("host {}", sanitize(n)),
        ObjectRef::Database(n) => format!("database {}", sanitize(n)),
        ObjectRef::Cache(n) => format!("cache {}", sanitize(n)),
        ObjectRef::Deploy(i) => format!("deploy #{}", i + 1),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, object: &ObjectRef) {
    let popup_bg = Style::default().bg(theme.style(Role::Popup).bg.unwrap_or_default());
    let max_w = usize::from(area.width).min(90);
    let (title, lines) = match fields(state, theme, object) {
        Some((title, fields)) => {
            let label_w = fields.iter().map(|f| width(f.0)).max().unwrap_or(0);
            let content_w = fields
                .iter()
                .map(|f| label_w + 1 + width(&f.1))
                .max()
                .unwrap_or(20);
            let inner_w = (content_w.min(max_w.saturating_sub(2))).max(label_w + 10);
            let value_w = inner_w.saturating_sub(label_w + 1);
            let mut lines: Vec<Line> = Vec::new();
            // Long values (GTID sets, errors) wrap under themselves, not the labels.
            for (k, v, style) in fields {
                for (i, part) in wrap(&v, value_w).into_iter().enumerate() {
                    let label = if i == 0 {
                        pad(k, label_w)
                    } else {
                        " ".repeat(label_w)
                    };
                    lines.push(Line::from(vec![
                        Span::styled(format!("{label} "), theme.style(Role::PopupKey)),
                        Span::styled(part, style.patch(popup_bg)),
                    ]));
                }
            }
            (title, lines)
        }
        None => {
            let what = describe(object);
            let text = [
                (
                    format!("✖ {what} is gone: it is not in the latest observation."),
                    Role::Error,
                ),
                (
                    "It may have been removed or renamed, or its source may be failing."
                        .to_string(),
                    Role::Popup,
                ),
            ];
            let mut lines = Vec::new();
            for (t, role) in text {
                for part in wrap(&t, max_w.saturating_sub(2)) {
                    lines.push(Line::from(Span::styled(part, theme.style(role))));
                }
            }
            (what, lines)
        }
    };
    let content_w = lines.iter().map(Line::width).max().unwrap_or(20);
    let w = (content_w + 2)
        .clamp(40, max_w.max(2))
        .min(usize::from(area.width)) as u16;
    let h = (lines.len() + 2).min(usize::from(area.height)) as u16;
    let rect = popup::centred(area, w, h);
    let inner = popup::frame(frame, rect, theme, Line::from(format!(" {title} ")));
    frame.render_widget(Paragraph::new(lines), inner);
}
