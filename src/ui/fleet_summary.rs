//! What is broken, for display: the style of a replica's lag, version drift
//! between backends, and the one-line problem headline at the top of the
//! overview. The judgements themselves (health, lag too high, current
//! version, stale data, the verdict) are `core::assess`'s.

use std::collections::{BTreeMap, BTreeSet};

use ratatui::text::{Line, Span};

use ratatui::style::Style;

use super::format::{lag, width};
use crate::core::assess::{Headline, LagLevel, Limits, ProblemKind, current_version, lag_level};
use crate::core::fleet::{DeploysObservation, Severity};
use crate::core::state::State;
use crate::theme::theme::health_role;
use crate::theme::{Role, Theme};

/// The style of a replica's lag, from the one lag judgement
/// (`assess::lag_level`) the guards use too: unknown is its own style.
pub fn lag_style(theme: &Theme, seconds: Option<f64>, limits: &Limits) -> Style {
    theme.style(match lag_level(seconds, limits) {
        LagLevel::Unknown => Role::LagUnknown,
        LagLevel::High => Role::LagHigh,
        LagLevel::Ok => Role::LagOk,
    })
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
    pub fn of(deploys: &DeploysObservation) -> Drift {
        let running = &deploys.running;
        let mut by_az: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in running {
            let v = r.version.as_deref().unwrap_or("?");
            by_az.entry(r.az.clone()).or_default().insert(v.to_string());
        }
        // The service's current version, as rollback and headless see it.
        let expected = current_version(deploys);
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
    /// The headline's problems as `assess::Headline` judges them, with their
    /// styles.
    pub fn of(state: &State) -> Problems {
        let headline = Headline::of(state, &state.policy.limits);
        let items = headline
            .problems
            .into_iter()
            .map(|p| {
                let role = match p.kind {
                    ProblemKind::SourceFailing => Role::Error,
                    ProblemKind::Stale => Role::Stale,
                    ProblemKind::Health {
                        health,
                        lag_seconds: Some(l),
                    } => {
                        // The screen's own lag format (`7.3s`, `3m 05s`).
                        return (
                            health_role(health),
                            format!("{} {} lag {}", health.symbol(), p.subject, lag(Some(l))),
                        );
                    }
                    ProblemKind::Health { health, .. } => health_role(health),
                    ProblemKind::Alerts(Severity::Critical) => Role::SeverityCritical,
                    ProblemKind::Alerts(_) => Role::SeverityWarning,
                    ProblemKind::Drift => Role::Drift,
                    ProblemKind::TargetNotActive => Role::TargetDrained,
                    ProblemKind::Service(health) | ProblemKind::LoadBalancer(health) => {
                        health_role(health)
                    }
                    ProblemKind::Traffic(_) => Role::SeverityWarning,
                };
                (role, p.text)
            })
            .collect();
        Problems {
            items,
            waiting: headline.waiting,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The headline, fitted to `max` cells: as many problems as fit, then
    /// `+N more`.
    pub fn line(&self, theme: &Theme, max: usize) -> Line<'static> {
        if self.items.is_empty() {
            if self.waiting.len() == Headline::SOURCES.len() {
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
