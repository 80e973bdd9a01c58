//! The whole screen: the tab bar on top, the current view in the body, the
//! status bar (two lines) at the bottom, then whatever floats above: the
//! which-key hint, the help or details popup, and the filter input.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::widgets::Block;

use super::{
    deploys_view, details_view, help_view, input_view, instances_view, logs_view, overview_view,
    replication_view, status_bar_view, tab_bar_view, which_key_view,
};
use super::{dialog_view, operations_view, palette_view, runbook_view};
use crate::core::state::{Overlay, State};
use crate::core::view::ViewId;
use crate::keymap::Keymap;
use crate::theme::{Role, Theme};

/// Draws the console. Pure: reads `state`, never changes it, does no IO.
pub fn draw(frame: &mut Frame, state: &State, theme: &Theme, keymap: &Keymap) {
    let area = frame.area();
    frame.render_widget(Block::new().style(theme.style(Role::Text)), area);
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(2),
    ])
    .areas(area);

    tab_bar_view::draw(frame, tabs, state, theme, keymap);
    // The operations panel docks under the view, the runbook pane beside it.
    let (view_area, ops_area) = operations_view::dock(body, state);
    let (view_area, runbook_area) = runbook_view::dock(view_area, state);
    match state.view {
        ViewId::Overview => overview_view::draw(frame, view_area, state, theme),
        ViewId::Instances => instances_view::draw(frame, view_area, state, theme),
        ViewId::Replication => replication_view::draw(frame, view_area, state, theme),
        ViewId::Deploys => deploys_view::draw(frame, view_area, state, theme),
        ViewId::Logs => logs_view::draw(frame, view_area, state, theme),
    }
    if let Some(rect) = runbook_area {
        runbook_view::draw(frame, rect, state, theme, keymap);
    }
    if let Some(rect) = ops_area {
        operations_view::draw(frame, rect, state, theme, keymap);
    }
    status_bar_view::draw(frame, status, state, theme, keymap);

    match &state.overlay {
        Some(Overlay::Help) => help_view::draw(frame, body, state, theme, keymap),
        Some(Overlay::Details(object)) => details_view::draw(frame, body, state, theme, object),
        None => {}
    }
    if !state.pending_keys.is_empty() {
        which_key_view::draw(frame, body, state, theme, keymap);
    }
    if let Some(input) = &state.input {
        // The input takes the status bar's second line, where the eye already is.
        let [_, line] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(status);
        input_view::draw(frame, line, input, theme);
    }
    // The confirmation dialog is modal and the palette is where keys go:
    // both float above everything, help included.
    if let Some(dialog) = &state.dialog {
        dialog_view::draw(frame, area, dialog, theme, keymap);
    }
    palette_view::draw(frame, body, state, theme, keymap);
}
