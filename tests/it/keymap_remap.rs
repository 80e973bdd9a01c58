//! The promise: remap `drain-backend` to `X` and every place that
//! names the key says `X` — here the help overlay and the status-bar hints
//! (`opsdeck keys` and runbooks are covered in `cli`).

use opsdeck::cli::snapshot::buffer_to_text;
use opsdeck::core::state::Overlay;
use opsdeck::core::{ActionId, Msg, update};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::support::fixture;

#[test]
fn the_help_overlay_shows_the_remapped_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keymap.toml");
    std::fs::write(
        &path,
        "[overview]\n\"d\" = \"noop\"\n\"X\" = \"drain-backend\"\n",
    )
    .expect("write");
    let loaded = opsdeck::keymap::load(None, Some(&path));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let mut state = fixture();
    state.overlay = Some(Overlay::Help);
    let mut terminal = Terminal::new(TestBackend::new(140, 40)).expect("terminal");
    terminal
        .draw(|f| opsdeck::ui::draw(f, &state, &Theme::builtin(), &loaded.keymap))
        .expect("draw");
    let text = buffer_to_text(terminal.backend().buffer());
    let line = text
        .lines()
        .find(|l| l.contains("drain-backend"))
        .expect("help lists drain-backend");
    assert!(line.contains('X'), "{line}");
    assert!(!line.contains(" d "), "{line}");

    // And pressing X in the overview opens the drain dialog through the keymap.
    let sections = opsdeck::keymap::Keymap::sections_for(state.view, false, false);
    let keys = opsdeck::core::key::parse_sequence("X").expect("key");
    assert_eq!(
        loaded.keymap.resolve_in(&sections, &keys),
        opsdeck::keymap::KeyResult::Matched(ActionId::DrainBackend)
    );
    state.overlay = None;
    update(&mut state, Msg::Action(ActionId::DrainBackend));
    assert!(state.dialog.is_some());
}
