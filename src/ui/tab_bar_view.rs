//! The top line: one tab per view with the key that opens it, then the
//! environment badge and, in read-only mode, the READ-ONLY badge.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format::width;
use super::status_bar_view::primary_key;
use crate::core::action::ActionId;
use crate::core::sanitize::sanitize;
use crate::core::state::State;
use crate::core::view::ViewId;
use crate::keymap::Keymap;
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
    let env_role = if state.env.production {
        Role::EnvProduction
    } else {
        Role::Env
    };
    right.push(Span::styled(
        format!(" {} ", sanitize(&state.env.name)),
        theme.style(env_role),
    ));
    if state.read_only {
        right.push(Span::raw(" "));
        right.push(Span::styled(
            " READ-ONLY ",
            theme.style(Role::BadgeReadOnly),
        ));
    }
    let right_width: usize = right.iter().map(|s| s.width()).sum();

    let tab = |view: ViewId, full: bool| {
        let key = primary_key(keymap, view_action(view), state.view)
            .unwrap_or_else(|| (view.index() + 1).to_string());
        if full || view == state.view {
            format!(" {key} {} ", view.title())
        } else {
            format!(" {key} ")
        }
    };
    let full_width: usize = ViewId::ALL.iter().map(|v| width(&tab(*v, true))).sum();
    let full = full_width + right_width < usize::from(area.width);
    let tabs: Vec<Span> = ViewId::ALL
        .iter()
        .map(|v| {
            let role = if *v == state.view {
                Role::TabActive
            } else {
                Role::TabInactive
            };
            Span::styled(tab(*v, full), theme.style(role))
        })
        .collect();

    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width as u16)])
            .areas(area);
    let bar = theme.style(Role::TabBar);
    frame.render_widget(Paragraph::new(Line::from(tabs)).style(bar), left_area);
    frame.render_widget(Paragraph::new(Line::from(right)).style(bar), right_area);
}
