//! The whole screen.

use ratatui::Frame;

use crate::core::state::State;
use crate::keymap::Keymap;
use crate::theme::Theme;

/// Draws the console.
pub fn draw(frame: &mut Frame, state: &State, theme: &Theme, keymap: &Keymap) {
    let _ = (frame, state, theme, keymap);
}
