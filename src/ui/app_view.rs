//! The whole screen: the tab bar on top, the current view in the body, the
//! status bar (two lines) at the bottom, then whatever floats above: the
//! which-key hint, the help or details popup, and the filter input. In a
//! production environment a thick frame titled `PRODUCTION · <env>` surrounds
//! it all, so production never looks like staging.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::{command_palette_view, dialog_view, operations_view, runbook_view};
use super::{
    deploys_view, details_view, help_view, input_view, instances_view, logs_view, overview_view,
    replication_view, status_bar_view, tab_bar_view, which_key_view,
};
use crate::core::sanitize::sanitize;
use crate::core::state::{Overlay, State};
use crate::core::view::ViewId;
use crate::keymap::Keymap;
use crate::theme::{Role, Theme};

/// Draws the console. Pure: reads `state`, never changes it, does no IO.
pub fn draw(frame: &mut Frame, state: &State, theme: &Theme, keymap: &Keymap) {
    let screen = frame.area();
    frame.render_widget(Block::new().style(theme.style(Role::Text)), screen);
    let area = if state.env.production {
        production_frame(frame, screen, state, theme)
    } else {
        screen
    };
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
        Some(Overlay::Usage) => super::usage_view::draw(frame, body, state, theme),
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
    super::quit_dialog_view::draw(frame, area, state, theme);
    command_palette_view::draw(frame, body, state, theme, keymap);
}

/// Views are laid out for 80 columns; the frame's sides are drawn only when
/// the screen has the two columns they take to spare.
const FRAME_SIDES_MIN_WIDTH: u16 = 82;

/// Below this height the frame keeps only its top rule, a single row.
const FRAME_BOTTOM_MIN_HEIGHT: u16 = 16;

/// Draws the production frame and returns the area inside it. At 80 columns
/// the frame is a rule above and below the console (rows are cheaper than
/// columns there: the overview's AZ panels need every column), with the sides
/// added from 82 columns.
fn production_frame(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) -> Rect {
    let mut borders = Borders::TOP;
    if area.height >= FRAME_BOTTOM_MIN_HEIGHT {
        borders |= Borders::BOTTOM;
    }
    if area.width >= FRAME_SIDES_MIN_WIDTH {
        borders |= Borders::LEFT | Borders::RIGHT;
    }
    let title = Line::from(Span::styled(
        format!(" PRODUCTION · {} ", sanitize(&state.env.name)),
        theme.style(Role::EnvProduction),
    ))
    .centered();
    let block = Block::new()
        .borders(borders)
        .border_type(BorderType::Thick)
        .border_style(theme.style(Role::BorderProduction))
        .title_top(title.clone())
        .title_bottom(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}
