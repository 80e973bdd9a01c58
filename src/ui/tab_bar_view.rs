//! The top line: one tab per view with the key that opens it, then the
//! environment badge (in the environment's accent colour) and, in read-only
//! mode, the READ-ONLY badge.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fleet_summary::Drift;
use super::format::width;
use super::status_bar_view::primary_key;
use crate::core::action::ActionId;
use crate::core::assess::{cache_health, db_health};
use crate::core::fleet::{DeployOutcome, Health};
use crate::core::msg::PanelId;
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::core::view::ViewId;
use crate::keymap::Keymap;
use crate::theme::theme::health_role;
use crate::theme::{Role, Theme};

/// The action that opens `view`.
pub fn view_action(view: ViewId) -> ActionId {
    match view {
        ViewId::Overview => ActionId::ViewOverview,
        ViewId::Instances => ActionId::ViewInstances,
        ViewId::Replication => ActionId::ViewReplication,
        ViewId::Deploys => ActionId::ViewDeploys,
        ViewId::Logs => ActionId::ViewLogs,
    }
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, keymap: &Keymap) {
    let mut right: Vec<Span> = Vec::new();
    // The environment's accent if it has one, else the production or plain badge.
    right.push(Span::styled(
        format!(" {} ", sanitize(&state.env.name)),
        theme.env_badge(state.env.production),
    ));
    if state.read_only {
        right.push(Span::raw(" "));
        right.push(Span::styled(
            " READ-ONLY ",
            theme.style(Role::BadgeReadOnly),
        ));
    }
    let right_width: usize = right.iter().map(|s| s.width()).sum();

    let label = |view: ViewId, full: bool| {
        let key = primary_key(keymap, view_action(view), state.view)
            .unwrap_or_else(|| (view.index() + 1).to_string());
        if full || view == state.view {
            format!(" {key} {}", view.title())
        } else {
            format!(" {key}")
        }
    };
    let markers: Vec<Option<(&str, Role)>> =
        ViewId::ALL.iter().map(|v| marker(state, *v)).collect();
    let tab_width = |v: ViewId, i: usize, full: bool| {
        width(&label(v, full)) + markers[i].map_or(0, |(m, _)| width(m) + 1) + 1
    };
    let full_width: usize = ViewId::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| tab_width(*v, i, true))
        .sum();
    let full = full_width + right_width < usize::from(area.width);
    let mut tabs: Vec<Span> = Vec::new();
    for (i, v) in ViewId::ALL.iter().enumerate() {
        let base = theme.style(if *v == state.view {
            Role::TabActive
        } else {
            Role::TabInactive
        });
        tabs.push(Span::styled(label(*v, full), base));
        if let Some((m, role)) = markers[i] {
            let fg = theme.style(role).fg;
            let mut style = base;
            if fg.is_some() && *v != state.view {
                style.fg = fg;
            }
            tabs.push(Span::styled(format!(" {m}"), style));
        }
        tabs.push(Span::styled(" ", base));
    }

    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width as u16)])
            .areas(area);
    let bar = theme.style(Role::TabBar);
    frame.render_widget(Paragraph::new(Line::from(tabs)).style(bar), left_area);
    frame.render_widget(Paragraph::new(Line::from(right)).style(bar), right_area);
}

/// A symbol on a view's tab when that view shows a problem, so trouble is
/// visible from any view.
fn marker(state: &State, view: ViewId) -> Option<(&'static str, Role)> {
    let worst = |hs: &mut dyn Iterator<Item = Health>| {
        hs.filter(|h| h.is_problem())
            .max_by_key(|h| match h {
                Health::Down => 3,
                Health::Unknown => 2,
                _ => 1,
            })
            .map(|h| (h.symbol(), health_role(h)))
    };
    match view {
        ViewId::Instances => {
            let hosts = state.hosts.data.as_ref()?;
            worst(&mut hosts.hosts.iter().map(|h| h.health))
        }
        ViewId::Replication => {
            if state
                .failing_panels()
                .iter()
                .any(|(p, _)| *p == PanelId::Replication)
            {
                return Some(("✖", Role::Error));
            }
            let rep = state.replication.data.as_ref()?;
            worst(
                &mut rep
                    .databases
                    .iter()
                    .map(|d| db_health(d, &state.policy.limits).0)
                    .chain(
                        rep.caches
                            .iter()
                            .map(|c| cache_health(c, &state.policy.limits).0),
                    ),
            )
        }
        ViewId::Deploys => {
            let dep = state.deploys.data.as_ref()?;
            if dep
                .history
                .first()
                .is_some_and(|d| d.outcome == DeployOutcome::Failed)
            {
                return Some(("✖", Role::DeployFailed));
            }
            Drift::of(dep).any().then_some(("≠", Role::Drift))
        }
        ViewId::Overview | ViewId::Logs => None,
    }
}
