//! The overview's first line: the service as its users see it. Its status
//! from the end-to-end probes, latency p50/p95 and success rate over the last
//! minutes, users' requests per second, the load balancer's own health, and
//! the last error. Judgements are `assess::ServiceView`'s; this only lays
//! them out, fitted to the width.

use ratatui::text::{Line, Span};

use super::format::{percent, rps, truncate, width};
use crate::core::assess::{ProbeView, ServiceStatus, ServiceView};
use crate::core::fleet::Health;
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::core::time::format_age;
use crate::theme::theme::health_role;
use crate::theme::{Role, Theme};

/// The service line, at most `max` cells wide.
pub fn service_line(state: &State, theme: &Theme, max: usize) -> Line<'static> {
    let view = ServiceView::of(state);
    let mut spans: Vec<(String, Role)> = Vec::new();
    spans.push(("SERVICE ".into(), Role::TextDim));
    let status = match (view.status, state.service.data.is_some()) {
        (ServiceStatus::Unknown, false) => "waiting for probes…".to_string(),
        (ServiceStatus::Unknown, true) => match state.service.age_ms(state.now) {
            Some(age) => format!("? unknown (data {} old)", format_age(age)),
            None => "? unknown".to_string(),
        },
        (s, _) => format!("{} {}", s.health().symbol(), s.label()),
    };
    let status_role = match view.status {
        ServiceStatus::Unknown if state.service.data.is_none() => Role::Waiting,
        ServiceStatus::Unknown => Role::Stale,
        ServiceStatus::NotProbed => Role::TextDim,
        s => health_role(s.health()),
    };
    spans.push((status, status_role));
    // The probe worth reading: the first failing one, else the first.
    let shown: Option<&ProbeView> = view
        .probes
        .iter()
        .find(|p| p.ok == Some(false))
        .or(view.probes.first());
    let sep = |spans: &mut Vec<(String, Role)>| spans.push((" · ".into(), Role::TextDim));
    // Failing now: why, first (it is what the operator needs).
    if let Some(error) = shown
        .filter(|p| p.ok == Some(false))
        .and_then(|p| p.error.as_ref())
    {
        sep(&mut spans);
        spans.push((sanitize(error), Role::Error));
    }
    if let Some(p) = shown {
        let ms = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.0}ms"));
        sep(&mut spans);
        spans.push((
            format!("p50 {} p95 {}", ms(p.p50_ms), ms(p.p95_ms)),
            Role::Text,
        ));
        if let Some(rate) = p.success_rate {
            sep(&mut spans);
            let role = if rate >= 0.999 {
                Role::Text
            } else {
                Role::HealthDegraded
            };
            spans.push((format!("{} ok", percent(rate)), role));
        }
        if view.probes.len() > 1 {
            let failing = view.probes.iter().filter(|p| p.ok == Some(false)).count();
            spans.push((
                format!(" ({failing}/{} probes failing)", view.probes.len()),
                Role::TextDim,
            ));
        }
    }
    if let Some(r) = view.rps {
        sep(&mut spans);
        spans.push((format!("{} rps", rps(r)), Role::Text));
    }
    if let Some(change) = &view.traffic {
        sep(&mut spans);
        spans.push((change.text(), Role::SeverityWarning));
    }
    if let Some(lb) = &view.lb {
        sep(&mut spans);
        let text = match lb.health {
            Health::Ok => format!("{} {}", sanitize(&lb.name), lb.health.symbol()),
            h => format!("{} {} {}", sanitize(&lb.name), h.symbol(), h.label()),
        };
        spans.push((text, health_role(lb.health)));
    }
    // After a recovery: what the last failure was, and how long ago.
    if let Some(p) = shown.filter(|p| p.ok != Some(false))
        && let Some((at, error)) = &p.last_error
    {
        sep(&mut spans);
        let ago = format_age(state.now.since(*at));
        spans.push((
            format!("last error {ago} ago: {}", sanitize(error)),
            Role::TextDim,
        ));
    }
    // Fit: cut the last span that overflows, drop the rest.
    let mut out = Vec::new();
    let mut used = 0;
    for (text, role) in spans {
        let w = width(&text);
        if used + w > max {
            let room = max.saturating_sub(used);
            if room > 1 {
                out.push(Span::styled(truncate(&text, room), theme.style(role)));
            }
            break;
        }
        used += w;
        out.push(Span::styled(text, theme.style(role)));
    }
    Line::from(out)
}
