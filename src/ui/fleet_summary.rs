//! What is broken, derived from the state for display: the health of database
//! and cache nodes (from reachability, threads and lag), version drift between
//! backends, and the one-line problem headline at the top of the overview.

use std::collections::{BTreeMap, BTreeSet};

use ratatui::text::{Line, Span};

use super::format::{lag, width};
use crate::core::fleet::{
    CacheNode, DbNode, Health, HostRole, ReplicaRole, RunningVersion, Severity, ThreadState,
};
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::theme::theme::{LAG_HIGH_SECONDS, health_role};
use crate::theme::{Role, Theme};

/// Health of a database node, and why.
pub fn db_health(d: &DbNode) -> (Health, &'static str) {
    if !d.reachable {
        return (Health::Down, "unreachable");
    }
    if d.role == ReplicaRole::Primary {
        return (Health::Ok, "ok");
    }
    if d.io_thread == ThreadState::Stopped {
        return (Health::Down, "IO thread stopped");
    }
    if d.sql_thread == ThreadState::Stopped {
        return (Health::Down, "SQL thread stopped");
    }
    if d.io_thread == ThreadState::Connecting {
        return (Health::Degraded, "IO thread connecting");
    }
    match d.lag_seconds {
        None => (Health::Unknown, "lag unknown"),
        Some(s) if s > LAG_HIGH_SECONDS => (Health::Degraded, "lag high"),
        Some(_) => (Health::Ok, "ok"),
    }
}

/// Health of a cache node, and why.
pub fn cache_health(c: &CacheNode) -> (Health, &'static str) {
    if !c.reachable {
        return (Health::Down, "unreachable");
    }
    if c.role == ReplicaRole::Primary {
        return (Health::Ok, "ok");
    }
    match (c.link_up, c.lag_seconds) {
        (Some(false), _) => (Health::Down, "link down"),
        (None, _) => (Health::Unknown, "link unknown"),
        (_, None) => (Health::Unknown, "lag unknown"),
        (_, Some(s)) if s > LAG_HIGH_SECONDS => (Health::Degraded, "lag high"),
        _ => (Health::Ok, "ok"),
    }
}

/// Which backends run a version other than the fleet's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drift {
    /// The version most backends run.
    pub expected: Option<String>,
    /// Backends running another version, or an unknown one.
    pub drifted: BTreeSet<String>,
    /// Versions per AZ, to tell drift between AZs.
    pub by_az: BTreeMap<String, BTreeSet<String>>,
}

impl Drift {
    pub fn of(running: &[RunningVersion]) -> Drift {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut by_az: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in running {
            let v = r.version.as_deref().unwrap_or("?");
            *counts.entry(v).or_default() += 1;
            by_az.entry(r.az.clone()).or_default().insert(v.to_string());
        }
        // Most common known version; ties go to the greater version string.
        let expected = counts
            .iter()
            .filter(|(v, _)| **v != "?")
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)))
            .map(|(v, _)| (*v).to_string());
        let drifted = running
            .iter()
            .filter(|r| r.version.is_none() || r.version != expected)
            .map(|r| r.backend.clone())
            .collect();
        Drift {
            expected,
            drifted,
            by_az,
        }
    }

    pub fn any(&self) -> bool {
        !self.drifted.is_empty()
    }

    /// True when the AZs do not run the same set of versions.
    pub fn between_azs(&self) -> bool {
        let mut sets = self.by_az.values();
        match sets.next() {
            Some(first) => sets.any(|s| s != first),
            None => false,
        }
    }
}

/// The problems of the fleet, worst first, for a one-line headline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Problems {
    pub items: Vec<(Role, String)>,
    /// Sources the headline cannot speak for yet (no data).
    pub waiting: Vec<&'static str>,
}

impl Problems {
    pub fn of(state: &State) -> Problems {
        let mut items: Vec<(Role, String)> = Vec::new();
        for (panel, _) in state.failing_panels() {
            items.push((Role::Error, format!("✖ {} source failing", panel.name())));
        }
        let mut info = Vec::new();
        if let Some(obs) = &state.hosts.data {
            let mut hosts: Vec<(Health, String)> = Vec::new();
            for h in &obs.hosts {
                let target = obs.load_balancer.as_ref().and_then(|lb| lb.target(&h.name));
                let worst = match target {
                    Some(t) if severity_rank(t.health) > severity_rank(h.health) => t.health,
                    _ => h.health,
                };
                if worst.is_problem() {
                    hosts.push((worst, sanitize(&h.name)));
                }
                if let Some(t) = target
                    && h.role == HostRole::Backend
                    && t.state != crate::core::fleet::TargetState::Active
                {
                    info.push((
                        Role::TargetDrained,
                        format!("{} {}", sanitize(&h.name), t.state.label()),
                    ));
                }
            }
            hosts.sort_by_key(|(h, _)| std::cmp::Reverse(severity_rank(*h)));
            for (health, name) in hosts {
                items.push((
                    health_role(health),
                    format!("{} {name} {}", health.symbol(), health.label()),
                ));
            }
        }
        if let Some(rep) = &state.replication.data {
            for d in &rep.databases {
                let (health, why) = db_health(d);
                if health.is_problem() {
                    let why = if why == "lag high" {
                        format!("lag {}", lag(d.lag_seconds))
                    } else {
                        why.to_string()
                    };
                    items.push((
                        health_role(health),
                        format!("{} {} {why}", health.symbol(), sanitize(&d.name)),
                    ));
                }
            }
            for c in &rep.caches {
                let (health, why) = cache_health(c);
                if health.is_problem() {
                    items.push((
                        health_role(health),
                        format!("{} {} {why}", health.symbol(), sanitize(&c.name)),
                    ));
                }
            }
        }
        if let Some(alerts) = &state.alerts.data {
            for sev in [Severity::Critical, Severity::Warning] {
                let n = alerts.iter().filter(|a| a.severity == sev).count();
                if n > 0 {
                    let role = match sev {
                        Severity::Critical => Role::SeverityCritical,
                        _ => Role::SeverityWarning,
                    };
                    let plural = if n == 1 { "" } else { "s" };
                    items.push((
                        role,
                        format!("{} {n} {} alert{plural}", sev.symbol(), sev.label()),
                    ));
                }
            }
        }
        if let Some(dep) = &state.deploys.data {
            let drift = Drift::of(&dep.running);
            if drift.any() {
                let names: Vec<String> = drift.drifted.iter().map(|n| sanitize(n)).collect();
                items.push((
                    Role::Drift,
                    format!("≠ version drift: {}", names.join(", ")),
                ));
            }
        }
        items.extend(info);
        let waiting = [
            ("hosts", state.hosts.data.is_none()),
            ("replication", state.replication.data.is_none()),
            ("alerts", state.alerts.data.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect();
        Problems { items, waiting }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The headline, fitted to `max` cells: as many problems as fit, then
    /// `+N more`.
    pub fn line(&self, theme: &Theme, max: usize) -> Line<'static> {
        if self.items.is_empty() {
            if self.waiting.len() == 3 {
                return Line::from(Span::styled(
                    "waiting for data…",
                    theme.style(Role::Waiting),
                ));
            }
            if !self.waiting.is_empty() {
                return Line::from(vec![
                    Span::styled("✔ no problems seen so far", theme.style(Role::AllGood)),
                    Span::styled(
                        format!(" · waiting for {}", self.waiting.join(", ")),
                        theme.style(Role::Waiting),
                    ),
                ]);
            }
            return Line::from(Span::styled(
                "✔ all healthy · replication ok · no alerts firing",
                theme.style(Role::AllGood),
            ));
        }
        let sep = " · ";
        let mut spans: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for (i, (role, text)) in self.items.iter().enumerate() {
            let rest = self.items.len() - i - 1;
            let more = if rest > 0 {
                width(&format!("{sep}+{rest} more"))
            } else {
                0
            };
            let add = width(text) + if i > 0 { width(sep) } else { 0 };
            if used + add + more > max && i > 0 {
                spans.push(Span::styled(
                    format!("{sep}+{} more", self.items.len() - i),
                    theme.style(Role::TextDim),
                ));
                break;
            }
            if i > 0 {
                spans.push(Span::styled(sep, theme.style(Role::TextDim)));
            }
            spans.push(Span::styled(text.clone(), theme.style(*role)));
            used += add;
        }
        Line::from(spans)
    }
}

/// Down first, then unknown, then degraded.
fn severity_rank(h: Health) -> u8 {
    match h {
        Health::Down => 3,
        Health::Unknown => 2,
        Health::Degraded => 1,
        Health::Ok => 0,
    }
}
