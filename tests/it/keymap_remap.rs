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

/// The keys of an unfinished sequence live once, in the state, and every key
/// goes through `core::press` (keymap, then reducer): `g` waits and the
/// which-key hint shows what can follow, Esc drops it, `g g` moves to the
/// top, and `g z` is reported as one unbound sequence.
#[test]
fn a_pending_sequence_goes_through_the_reducer_and_shows_in_which_key() {
    use opsdeck::core::key::parse_sequence;
    use opsdeck::core::view::ViewId;
    use opsdeck::core::{Key, press};

    let keymap = opsdeck::keymap::Keymap::builtin();
    let theme = Theme::builtin();
    let key = |s: &str| -> Key { parse_sequence(s).expect("key")[0] };
    let screen = |state: &opsdeck::core::State| {
        let mut terminal = Terminal::new(TestBackend::new(120, 36)).expect("terminal");
        terminal
            .draw(|f| opsdeck::ui::draw(f, state, &theme, &keymap))
            .expect("draw");
        buffer_to_text(terminal.backend().buffer())
    };
    let mut state = fixture();
    update(&mut state, Msg::ShowView(ViewId::Instances));
    update(&mut state, Msg::Action(ActionId::MoveDown));
    update(&mut state, Msg::Action(ActionId::MoveDown));
    assert_eq!(state.instances.selected, 2);

    // `g` starts a sequence: kept in the state, shown by which-key.
    assert!(press(&mut state, key("g"), &keymap).is_empty());
    assert_eq!(state.pending_keys, vec![key("g")]);
    let text = screen(&state);
    assert!(text.contains(" g … "), "which-key title:\n{text}");
    assert!(text.contains("move-top"), "which-key lists g g:\n{text}");

    // Esc drops it (and only it: the selection stays).
    press(&mut state, key("<esc>"), &keymap);
    assert!(state.pending_keys.is_empty());
    assert_eq!(state.instances.selected, 2);
    assert!(!screen(&state).contains(" g … "), "which-key still shown");

    // `g g` completes: the action runs and nothing is pending.
    press(&mut state, key("g"), &keymap);
    press(&mut state, key("g"), &keymap);
    assert_eq!(state.instances.selected, 0, "g g went to the top");
    assert!(state.pending_keys.is_empty());

    // `g z` is bound to nothing: one message names the whole sequence.
    press(&mut state, key("g"), &keymap);
    press(&mut state, key("z"), &keymap);
    assert!(state.pending_keys.is_empty());
    let message = state.message.as_ref().map(|m| m.text.clone());
    assert_eq!(
        message.as_deref(),
        Some("'g z' does nothing in instances"),
        "{message:?}"
    );
}
