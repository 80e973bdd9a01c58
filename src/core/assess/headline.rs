//! The headline's verdict: the fleet's problems, worst first, and whether it
//! may say "all healthy", which it does only when every source answered, its
//! data is fresh, every configured probe passed, the load balancer answers,
//! traffic holds its baseline, and nothing is wrong. The service as its users
//! see it comes first.

use super::current_version::current_version;
use super::freshness::{Freshness, freshness};
use super::limits::Limits;
use super::node_health::{cache_health, db_health, host_health, severity_rank};
use super::problem::{Problem, ProblemKind};
use super::service_view::{ServiceStatus, ServiceView};
use super::traffic::TrafficDirection;
use crate::core::fleet::{Health, HostRole, Severity, TargetState};
use crate::core::msg::PanelId;
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::core::time::format_age;

/// The headline's verdict.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Headline {
    pub problems: Vec<Problem>,
    /// Sources that have not answered yet.
    pub waiting: Vec<&'static str>,
}

impl Headline {
    pub fn of(state: &State, limits: &Limits) -> Headline {
        let mut problems = Vec::new();
        let mut push = |kind, subject: &str, text: String| {
            problems.push(Problem {
                kind,
                subject: subject.to_string(),
                text,
            })
        };
        let stale_age = |panel: PanelId| {
            let f = match panel {
                PanelId::Hosts => freshness(&state.hosts, state.now),
                PanelId::Replication => freshness(&state.replication, state.now),
                PanelId::Deploys => freshness(&state.deploys, state.now),
                PanelId::Alerts => freshness(&state.alerts, state.now),
                PanelId::Service => freshness(&state.service, state.now),
                // Log lines carry their own times; the log source has no verdict.
                PanelId::Logs => Freshness::NoData,
            };
            match f {
                Freshness::Stale { age_ms, .. } => Some(age_ms),
                _ => None,
            }
        };
        service_problems(state, &mut push);
        let failing: Vec<PanelId> = state.failing_panels().iter().map(|(p, _)| *p).collect();
        for panel in &failing {
            // A failing source's data ages: say how old it is.
            let age = stale_age(*panel)
                .map(|ms| format!(" (data {} old)", format_age(ms)))
                .unwrap_or_default();
            push(
                ProblemKind::SourceFailing,
                panel.name(),
                format!("✖ {} source failing{age}", panel.name()),
            );
        }
        for panel in [
            PanelId::Service,
            PanelId::Hosts,
            PanelId::Replication,
            PanelId::Alerts,
            PanelId::Deploys,
        ] {
            if failing.contains(&panel) {
                continue;
            }
            if let Some(age_ms) = stale_age(panel) {
                push(
                    ProblemKind::Stale,
                    panel.name(),
                    format!("◷ {} data {} old", panel.name(), format_age(age_ms)),
                );
            }
        }
        let mut info = Vec::new();
        if let Some(obs) = &state.hosts.data {
            let mut hosts: Vec<(Health, String)> = Vec::new();
            for h in &obs.hosts {
                let target = obs.load_balancer.as_ref().and_then(|lb| lb.target(&h.name));
                let health = host_health(h, target);
                if health.is_problem() {
                    hosts.push((health, sanitize(&h.name)));
                }
                if let Some(t) = target
                    && h.role == HostRole::Backend
                    && t.state != TargetState::Active
                {
                    info.push(Problem {
                        kind: ProblemKind::TargetNotActive,
                        subject: sanitize(&h.name),
                        text: format!("{} {}", sanitize(&h.name), t.state.label()),
                    });
                }
            }
            hosts.sort_by_key(|(h, _)| std::cmp::Reverse(severity_rank(*h)));
            for (health, name) in hosts {
                push(
                    ProblemKind::Health {
                        health,
                        lag_seconds: None,
                    },
                    &name,
                    format!("{} {name} {}", health.symbol(), health.label()),
                );
            }
        }
        if let Some(rep) = &state.replication.data {
            let nodes = rep
                .databases
                .iter()
                .map(|d| (&d.name, db_health(d, limits), d.lag_seconds))
                .chain(
                    rep.caches
                        .iter()
                        .map(|c| (&c.name, cache_health(c, limits), c.lag_seconds)),
                );
            for (name, (health, why), lag) in nodes {
                if !health.is_problem() {
                    continue;
                }
                let high = why == "lag high";
                let why = match (high, lag) {
                    (true, Some(l)) => format!("lag {l:.0}s"),
                    _ => why.to_string(),
                };
                push(
                    ProblemKind::Health {
                        health,
                        lag_seconds: if high { lag } else { None },
                    },
                    &sanitize(name),
                    format!("{} {} {why}", health.symbol(), sanitize(name)),
                );
            }
        }
        if let Some(alerts) = &state.alerts.data {
            for sev in [Severity::Critical, Severity::Warning] {
                let n = alerts.iter().filter(|a| a.severity == sev).count();
                if n > 0 {
                    let plural = if n == 1 { "" } else { "s" };
                    push(
                        ProblemKind::Alerts(sev),
                        "",
                        format!("{} {n} {} alert{plural}", sev.symbol(), sev.label()),
                    );
                }
            }
        }
        if let Some(dep) = &state.deploys.data {
            let expected = current_version(dep);
            let drifted: Vec<String> = dep
                .running
                .iter()
                .filter(|r| r.version.is_none() || r.version != expected)
                .map(|r| sanitize(&r.backend))
                .collect();
            if !drifted.is_empty() {
                push(
                    ProblemKind::Drift,
                    "",
                    format!("≠ version drift: {}", drifted.join(", ")),
                );
            }
        }
        problems.extend(info);
        let waiting = [
            ("service", state.service.data.is_none()),
            ("hosts", state.hosts.data.is_none()),
            ("replication", state.replication.data.is_none()),
            ("alerts", state.alerts.data.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect();
        Headline { problems, waiting }
    }

    /// "All healthy": every source answered with fresh data and nothing is
    /// wrong (not even a drained backend).
    pub fn all_healthy(&self) -> bool {
        self.problems.is_empty() && self.waiting.is_empty()
    }

    /// The sources the headline can wait for, in the order it names them.
    pub const SOURCES: [&'static str; 4] = ["service", "hosts", "replication", "alerts"];
}

/// The service as its users see it: failed probes, a load balancer that does
/// not answer, a traffic drop or spike. Stale or failing service data is named
/// by the source checks, never read as "up".
fn service_problems(state: &State, push: &mut impl FnMut(ProblemKind, &str, String)) {
    let view = ServiceView::of(state);
    if matches!(view.status, ServiceStatus::Down | ServiceStatus::Degraded) {
        let what = if view.status == ServiceStatus::Down {
            "service down"
        } else {
            "service degraded"
        };
        let health = view.status.health();
        // The URL only: the reason is on the service line and in `status`,
        // and the headline has room for the LB and traffic beside it.
        for p in view.probes.iter().filter(|p| p.ok == Some(false)) {
            push(
                ProblemKind::Service(health),
                &p.url,
                format!("{} {what}: {}", health.symbol(), sanitize(&p.url)),
            );
        }
    }
    if let Some(lb) = &view.lb
        && matches!(lb.health, Health::Down | Health::Degraded)
    {
        let name = sanitize(&lb.name);
        let text = match lb.health {
            Health::Down => format!("✖ {name} down"),
            _ => format!("▲ {name} degraded"),
        };
        push(ProblemKind::LoadBalancer(lb.health), &name, text);
    }
    if let Some(change) = view.traffic {
        let symbol = match change.direction {
            TrafficDirection::Drop => "▼",
            TrafficDirection::Spike => "▲",
        };
        push(
            ProblemKind::Traffic(change.direction),
            "traffic",
            format!("{symbol} {}", change.text()),
        );
    }
}
