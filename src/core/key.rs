//! The one key syntax used by keymap files, docs, the help overlay and tests:
//! `j`, `G`, `g g` (a sequence), `C-r`, `S-tab`, `A-x`, `<enter>`, `<esc>`, `<f5>`.
//! `Key::parse` and `parse_sequence` are the only parsers; `Display` writes the
//! canonical form back.

use std::fmt;

/// A key without modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyCode {
    Char(char),
    Enter,
    Esc,
    Tab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    F(u8),
}

/// Modifier keys held with a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Modifiers {
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

impl Modifiers {
    pub const NONE: Modifiers = Modifiers {
        ctrl: false,
        alt: false,
        shift: false,
    };
}

/// One key press, normalised: an upper-case letter never carries `shift`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: Modifiers,
}

/// Why a key string did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyParseError {
    #[error("empty key")]
    Empty,
    #[error("unknown modifier '{0}' (use C-, A- or S-)")]
    UnknownModifier(String),
    #[error("unknown key name '{0}'")]
    UnknownName(String),
}

const NAMES: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("ret", KeyCode::Enter),
    ("cr", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("escape", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backspace", KeyCode::Backspace),
    ("bs", KeyCode::Backspace),
    ("del", KeyCode::Delete),
    ("delete", KeyCode::Delete),
    ("ins", KeyCode::Insert),
    ("insert", KeyCode::Insert),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pageup", KeyCode::PageUp),
    ("pgup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("pgdn", KeyCode::PageDown),
    ("space", KeyCode::Char(' ')),
    ("lt", KeyCode::Char('<')),
    ("gt", KeyCode::Char('>')),
    ("minus", KeyCode::Char('-')),
];

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            mods: Modifiers::NONE,
        }
    }

    pub const fn char(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }

    pub fn with(code: KeyCode, mods: Modifiers) -> Key {
        Key { code, mods }.normalised()
    }

    /// Folds `S-a` into `A`, and shift on any other printable character into
    /// the character itself, so terminals that do and do not report shift agree.
    pub fn normalised(mut self) -> Key {
        if let KeyCode::Char(c) = self.code {
            if self.mods.shift && c.is_ascii_lowercase() {
                self.code = KeyCode::Char(c.to_ascii_uppercase());
            }
            // Shift is part of any printable character but space (`?`, `G`).
            if c != ' ' && (self.mods.shift || c.is_ascii_uppercase()) {
                self.mods.shift = false;
            }
        }
        self
    }

    /// Parses one key: `j`, `G`, `C-r`, `S-tab`, `A-x`, `<enter>`, `<C-r>`, `f5`.
    pub fn parse(s: &str) -> Result<Key, KeyParseError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(KeyParseError::Empty);
        }
        let inner = if s.len() > 2 && s.starts_with('<') && s.ends_with('>') {
            &s[1..s.len() - 1]
        } else {
            s
        };
        let mut mods = Modifiers::NONE;
        let mut rest = inner;
        // Modifier prefixes: a single letter followed by '-', with something after it.
        while rest.chars().count() > 2 && rest.as_bytes().get(1) == Some(&b'-') {
            match &rest[..1] {
                "C" | "c" => mods.ctrl = true,
                "A" | "a" | "M" | "m" => mods.alt = true,
                "S" | "s" => mods.shift = true,
                other => return Err(KeyParseError::UnknownModifier(other.to_string())),
            }
            rest = &rest[2..];
            if let Some(stripped) = rest.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
                rest = stripped;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => named(rest)?,
        };
        Ok(Key::with(code, mods))
    }

    /// True for keys that type text (no ctrl or alt, a printable character).
    pub fn is_text(&self) -> bool {
        matches!(self.code, KeyCode::Char(_)) && !self.mods.ctrl && !self.mods.alt
    }
}

fn named(name: &str) -> Result<KeyCode, KeyParseError> {
    let lower = name.to_ascii_lowercase();
    if let Some((_, code)) = NAMES.iter().find(|(n, _)| *n == lower) {
        return Ok(*code);
    }
    if let Some(num) = lower.strip_prefix('f')
        && let Ok(n) = num.parse::<u8>()
        && (1..=24).contains(&n)
    {
        return Ok(KeyCode::F(n));
    }
    Err(KeyParseError::UnknownName(name.to_string()))
}

/// Parses a space-separated key sequence such as `g g` or `<space> f`.
pub fn parse_sequence(s: &str) -> Result<Vec<Key>, KeyParseError> {
    let keys: Vec<Key> = s
        .split_whitespace()
        .map(Key::parse)
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(KeyParseError::Empty);
    }
    Ok(keys)
}

/// Writes a sequence back in canonical form: `g g`.
pub fn format_sequence(keys: &[Key]) -> String {
    keys.iter()
        .map(Key::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn code_name(code: KeyCode) -> String {
    match code {
        KeyCode::Char(' ') => "space".into(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::Backspace => "backspace".into(),
        KeyCode::Delete => "del".into(),
        KeyCode::Insert => "ins".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::PageUp => "pageup".into(),
        KeyCode::PageDown => "pagedown".into(),
        KeyCode::F(n) => format!("f{n}"),
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = code_name(self.code);
        let is_named = !matches!(self.code, KeyCode::Char(c) if c != ' ');
        let mut prefix = String::new();
        if self.mods.ctrl {
            prefix.push_str("C-");
        }
        if self.mods.alt {
            prefix.push_str("A-");
        }
        if self.mods.shift {
            prefix.push_str("S-");
        }
        if prefix.is_empty() && is_named {
            write!(f, "<{name}>")
        } else {
            write!(f, "{prefix}{name}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(Key::parse("j"), Ok(Key::char('j')));
        assert_eq!(Key::parse("G"), Ok(Key::char('G')));
        assert_eq!(Key::parse("S-g"), Ok(Key::char('G')));
        assert_eq!(Key::parse("<enter>"), Ok(Key::plain(KeyCode::Enter)));
        assert_eq!(Key::parse("<Esc>"), Ok(Key::plain(KeyCode::Esc)));
        let ctrl_r = Key::parse("C-r").expect("C-r");
        assert!(ctrl_r.mods.ctrl && ctrl_r.code == KeyCode::Char('r'));
        assert_eq!(Key::parse("<C-r>"), Ok(ctrl_r));
        let back = Key::parse("S-tab").expect("S-tab");
        assert!(back.mods.shift && back.code == KeyCode::Tab);
        assert_eq!(Key::parse("A-x").map(|k| k.mods.alt), Ok(true));
        assert_eq!(Key::parse("<f5>"), Ok(Key::plain(KeyCode::F(5))));
        assert_eq!(Key::parse("-"), Ok(Key::char('-')));
        assert_eq!(Key::parse("?"), Ok(Key::char('?')));
    }

    #[test]
    fn rejects_bad_keys() {
        assert_eq!(Key::parse(""), Err(KeyParseError::Empty));
        assert_eq!(
            Key::parse("<bogus>"),
            Err(KeyParseError::UnknownName("bogus".into()))
        );
        assert_eq!(
            Key::parse("X-r"),
            Err(KeyParseError::UnknownModifier("X".into()))
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "j", "G", "C-r", "S-tab", "A-x", "<enter>", "<esc>", "<f5>", "<space>", "?",
        ] {
            let k = Key::parse(s).expect(s);
            assert_eq!(k.to_string(), s);
            assert_eq!(Key::parse(&k.to_string()), Ok(k));
        }
    }

    #[test]
    fn sequences() {
        let seq = parse_sequence("g g").expect("g g");
        assert_eq!(seq, vec![Key::char('g'), Key::char('g')]);
        assert_eq!(format_sequence(&seq), "g g");
        assert!(parse_sequence("  ").is_err());
    }
}
