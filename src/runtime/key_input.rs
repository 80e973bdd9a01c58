//! Translates crossterm key events into the core's `Key`. Only key presses
//! count (not repeats or releases, which some terminals report).

use crossterm::event::{KeyCode as CtCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::core::key::{Key, KeyCode, Modifiers};

pub fn from_crossterm(ev: &KeyEvent) -> Option<Key> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    let mut mods = Modifiers {
        ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
        alt: ev.modifiers.contains(KeyModifiers::ALT),
        shift: ev.modifiers.contains(KeyModifiers::SHIFT),
    };
    let code = match ev.code {
        CtCode::Char(c) => KeyCode::Char(c),
        CtCode::Enter => KeyCode::Enter,
        CtCode::Esc => KeyCode::Esc,
        CtCode::Tab => KeyCode::Tab,
        CtCode::BackTab => {
            mods.shift = true;
            KeyCode::Tab
        }
        CtCode::Backspace => KeyCode::Backspace,
        CtCode::Delete => KeyCode::Delete,
        CtCode::Insert => KeyCode::Insert,
        CtCode::Up => KeyCode::Up,
        CtCode::Down => KeyCode::Down,
        CtCode::Left => KeyCode::Left,
        CtCode::Right => KeyCode::Right,
        CtCode::Home => KeyCode::Home,
        CtCode::End => KeyCode::End,
        CtCode::PageUp => KeyCode::PageUp,
        CtCode::PageDown => KeyCode::PageDown,
        CtCode::F(n) => KeyCode::F(n),
        _ => return None,
    };
    Some(Key::with(code, mods))
}

/// The crossterm event a terminal would send for `key`; lets tests type keys
/// in the keymap syntax through the real input path.
pub fn to_crossterm(key: Key) -> KeyEvent {
    let mut mods = KeyModifiers::NONE;
    if key.mods.ctrl {
        mods |= KeyModifiers::CONTROL;
    }
    if key.mods.alt {
        mods |= KeyModifiers::ALT;
    }
    let code = match key.code {
        KeyCode::Char(c) => {
            if c.is_ascii_uppercase() {
                mods |= KeyModifiers::SHIFT;
            }
            CtCode::Char(c)
        }
        KeyCode::Tab if key.mods.shift => {
            mods |= KeyModifiers::SHIFT;
            CtCode::BackTab
        }
        KeyCode::Enter => CtCode::Enter,
        KeyCode::Esc => CtCode::Esc,
        KeyCode::Tab => CtCode::Tab,
        KeyCode::Backspace => CtCode::Backspace,
        KeyCode::Delete => CtCode::Delete,
        KeyCode::Insert => CtCode::Insert,
        KeyCode::Up => CtCode::Up,
        KeyCode::Down => CtCode::Down,
        KeyCode::Left => CtCode::Left,
        KeyCode::Right => CtCode::Right,
        KeyCode::Home => CtCode::Home,
        KeyCode::End => CtCode::End,
        KeyCode::PageUp => CtCode::PageUp,
        KeyCode::PageDown => CtCode::PageDown,
        KeyCode::F(n) => CtCode::F(n),
    };
    if key.mods.shift && !matches!(code, CtCode::BackTab) {
        mods |= KeyModifiers::SHIFT;
    }
    KeyEvent::new(code, mods)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_letters_and_backtab_normalise() {
        let ev = KeyEvent::new(CtCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(from_crossterm(&ev), Key::parse("G").ok());
        let ev = KeyEvent::new(CtCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(from_crossterm(&ev), Key::parse("S-tab").ok());
        let ev = KeyEvent::new(CtCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(from_crossterm(&ev), Key::parse("C-r").ok());
    }

    #[test]
    fn round_trips_through_crossterm() {
        for s in [
            "j", "G", "C-r", "S-tab", "A-x", "<enter>", "<esc>", "<f5>", "<space>", "/",
        ] {
            let key = Key::parse(s).expect(s);
            assert_eq!(from_crossterm(&to_crossterm(key)), Some(key), "{s}");
        }
    }
}
