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
}
