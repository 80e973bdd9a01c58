//! One theme file as written: its `inherits`, its `[palette]` and its
//! `[roles]`, with the byte offset of every value so the loader can report
//! problems at file:line:col. Parsing checks what a file can check alone
//! (syntax, role names, colour literals in the palette, modifiers); colour
//! names in roles are checked by the loader against the palette of every
//! layer so far.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::role::Role;
use crate::diagnostic::Diagnostic;

/// A parsed theme file.
#[derive(Clone, Debug, Default)]
pub struct ThemeFile {
    /// `inherits = "NAME|PATH"` and the offset of its value.
    pub inherits: Option<(String, usize)>,
    /// Palette entries that parsed, in file order.
    pub palette: Vec<(String, Color)>,
    /// Role entries that parsed, in file order.
    pub roles: Vec<RoleEntry>,
    /// Problems found while parsing, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

/// A role's style as written: colours are still names or literals.
#[derive(Clone, Debug)]
pub struct RoleEntry {
    pub name: String,
    pub fg: Option<ColourText>,
    pub bg: Option<ColourText>,
    pub modifiers: Modifier,
}

/// A colour string and where it was written.
#[derive(Clone, Debug)]
pub struct ColourText {
    pub text: String,
    pub offset: usize,
}

/// A colour in a role after checking: a palette name (looked up once every
/// layer is in, so a later layer's palette recolours earlier roles) or a literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColourRef {
    Palette(String),
    Literal(Color),
}

/// A role's style after checking, before the palette is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StyleSpec {
    pub fg: Option<ColourRef>,
    pub bg: Option<ColourRef>,
    pub modifiers: Modifier,
}

impl ThemeFile {
    /// Parses `text`; `file` names it in diagnostics. A syntax error is the only
    /// diagnostic of a file that does not parse.
    pub fn parse(text: &str, file: &str) -> ThemeFile {
        let mut out = ThemeFile::default();
        let doc = match DeTable::parse(text) {
            Ok(d) => d,
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                out.diagnostics.push(Diagnostic::at_offset(
                    file,
                    text,
                    offset,
                    e.message().trim().to_string(),
                ));
                return out;
            }
        };
        let mut report = |offset: usize, msg: String| {
            out.diagnostics
                .push(Diagnostic::at_offset(file, text, offset, msg))
        };

        let mut palette = Vec::new();
        let mut roles = Vec::new();
        let mut inherits = None;
        for (key, value) in doc.get_ref().iter() {
            match key.get_ref().as_ref() {
                "inherits" => match value.get_ref().as_str() {
                    Some(s) => inherits = Some((s.to_string(), value.span().start)),
                    None => report(
                        value.span().start,
                        "inherits must be a theme name or a file path".to_string(),
                    ),
                },
                "palette" => match value.get_ref().as_table() {
                    Some(table) => {
                        for (name, colour) in table.iter() {
                            let name = name.get_ref().to_string();
                            match colour.get_ref().as_str() {
                                Some(s) => match parse_literal(s) {
                                    Some(c) => palette.push((name, c)),
                                    None => report(
                                        colour.span().start,
                                        format!(
                                            "unknown colour '{s}' for palette entry '{name}' (use '#rrggbb', an ANSI name or a 256-colour index)"
                                        ),
                                    ),
                                },
                                None => report(
                                    colour.span().start,
                                    format!("palette entry '{name}' must be a colour string"),
                                ),
                            }
                        }
                    }
                    None => report(value.span().start, "[palette] must be a table".to_string()),
                },
                "roles" => match value.get_ref().as_table() {
                    Some(table) => {
                        for (name, entry) in table.iter() {
                            let name_str = name.get_ref().as_ref();
                            if !Role::is_known_prefix(name_str) {
                                report(
                                    name.span().start,
                                    format!(
                                        "unknown role '{name_str}' (see themes/default.toml for the list)"
                                    ),
                                );
                                continue;
                            }
                            if let Some(e) = parse_entry(name_str, entry, &mut report) {
                                roles.push(e);
                            }
                        }
                    }
                    None => report(value.span().start, "[roles] must be a table".to_string()),
                },
                other => report(
                    key.span().start,
                    format!("unknown key '{other}' (expected 'inherits', [palette] or [roles])"),
                ),
            }
        }
        out.inherits = inherits;
        out.palette = palette;
        out.roles = roles;
        out.diagnostics.sort_by_key(|d| (d.line, d.col));
        out
    }
}

/// A role entry: a colour string (the foreground) or a table with `fg`, `bg`
/// and `modifiers`. Any problem drops the whole entry, so the earlier layer's
/// style for the role stays.
fn parse_entry(
    name: &str,
    entry: &Spanned<DeValue<'_>>,
    report: &mut dyn FnMut(usize, String),
) -> Option<RoleEntry> {
    let colour = |v: &Spanned<DeValue<'_>>, report: &mut dyn FnMut(usize, String)| match v
        .get_ref()
        .as_str()
    {
        Some(s) => Some(ColourText {
            text: s.to_string(),
            offset: v.span().start,
        }),
        None => {
            report(v.span().start, "a colour must be a string".to_string());
            None
        }
    };
    let mut out = RoleEntry {
        name: name.to_string(),
        fg: None,
        bg: None,
        modifiers: Modifier::empty(),
    };
    match entry.get_ref() {
        DeValue::String(_) => {
            out.fg = colour(entry, report);
            Some(out)
        }
        DeValue::Table(table) => {
            let mut ok = true;
            for (key, value) in table.iter() {
                match key.get_ref().as_ref() {
                    "fg" => {
                        out.fg = colour(value, report);
                        ok &= out.fg.is_some();
                    }
                    "bg" => {
                        out.bg = colour(value, report);
                        ok &= out.bg.is_some();
                    }
                    "modifiers" => match value.get_ref().as_array() {
                        Some(items) => {
                            for item in items.iter() {
                                match item.get_ref().as_str().map(|s| (s, parse_modifier(s))) {
                                    Some((_, Some(m))) => out.modifiers |= m,
                                    Some((s, None)) => {
                                        ok = false;
                                        report(
                                            item.span().start,
                                            format!(
                                                "unknown modifier '{s}' (expected one of: {})",
                                                MODIFIERS
                                                    .iter()
                                                    .map(|(n, _)| *n)
                                                    .collect::<Vec<_>>()
                                                    .join(", ")
                                            ),
                                        );
                                    }
                                    None => {
                                        ok = false;
                                        report(
                                            item.span().start,
                                            "a modifier must be a string".to_string(),
                                        );
                                    }
                                }
                            }
                        }
                        None => {
                            ok = false;
                            report(
                                value.span().start,
                                "'modifiers' must be an array of strings".to_string(),
                            );
                        }
                    },
                    other => {
                        ok = false;
                        report(
                            key.span().start,
                            format!(
                                "unknown style field '{other}' (expected 'fg', 'bg' or 'modifiers')"
                            ),
                        );
                    }
                }
            }
            ok.then_some(out)
        }
        other => {
            report(
                entry.span().start,
                format!(
                    "malformed style for '{name}': expected a colour string or a table like {{ fg = \"red\" }}, found {}",
                    other.type_str()
                ),
            );
            None
        }
    }
}

impl RoleEntry {
    /// Checks the entry's colours against `palette` (every name defined so far);
    /// reports each unknown colour and returns the spec only if all are known.
    pub fn check(
        &self,
        palette: &BTreeMap<String, Color>,
        report: &mut dyn FnMut(usize, String),
    ) -> Option<StyleSpec> {
        let mut ok = true;
        let mut resolve = |c: &Option<ColourText>| -> Option<ColourRef> {
            let c = c.as_ref()?;
            let found = colour_ref(&c.text, palette);
            if found.is_none() {
                ok = false;
                report(
                    c.offset,
                    format!(
                        "unknown colour '{}' (use a palette name, '#rrggbb', an ANSI name or a 256-colour index)",
                        c.text
                    ),
                );
            }
            found
        };
        let fg = resolve(&self.fg);
        let bg = resolve(&self.bg);
        ok.then_some(StyleSpec {
            fg,
            bg,
            modifiers: self.modifiers,
        })
    }
}

/// A palette name (when `palette` has it) or a literal colour.
pub fn colour_ref(s: &str, palette: &BTreeMap<String, Color>) -> Option<ColourRef> {
    if palette.contains_key(s) {
        return Some(ColourRef::Palette(s.to_string()));
    }
    parse_literal(s).map(ColourRef::Literal)
}

pub const MODIFIERS: &[(&str, Modifier)] = &[
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("slow_blink", Modifier::SLOW_BLINK),
    ("rapid_blink", Modifier::RAPID_BLINK),
    ("reversed", Modifier::REVERSED),
    ("hidden", Modifier::HIDDEN),
    ("crossed_out", Modifier::CROSSED_OUT),
];

fn parse_modifier(s: &str) -> Option<Modifier> {
    MODIFIERS.iter().find(|(n, _)| *n == s).map(|(_, m)| *m)
}

const ANSI: &[(&str, Color)] = &[
    ("reset", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("grey", Color::Gray),
    ("darkgray", Color::DarkGray),
    ("darkgrey", Color::DarkGray),
    ("lightred", Color::LightRed),
    ("lightgreen", Color::LightGreen),
    ("lightyellow", Color::LightYellow),
    ("lightblue", Color::LightBlue),
    ("lightmagenta", Color::LightMagenta),
    ("lightcyan", Color::LightCyan),
    ("white", Color::White),
];

/// `#rrggbb`, an ANSI colour name or a 256-colour index.
pub fn parse_literal(s: &str) -> Option<Color> {
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        return Some(Color::Rgb(byte(0)?, byte(2)?, byte(4)?));
    }
    let lower = s.to_ascii_lowercase();
    if let Some((_, c)) = ANSI.iter().find(|(n, _)| *n == lower) {
        return Some(*c);
    }
    s.parse::<u8>().ok().map(Color::Indexed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(parse_literal("#e06c75"), Some(Color::Rgb(0xe0, 0x6c, 0x75)));
        assert_eq!(parse_literal("LightBlue"), Some(Color::LightBlue));
        assert_eq!(parse_literal("236"), Some(Color::Indexed(236)));
        assert_eq!(parse_literal("#12"), None);
        assert_eq!(parse_literal("256"), None);
        assert_eq!(parse_literal("chartreuse"), None);
    }

    #[test]
    fn reports_what_one_file_can_check() {
        let text = "[palette]\nfoo = \"#12\"\n[roles]\n\"health.okk\" = \"red\"\n\"lag.ok\" = 5\n\"lag.high\" = { fg = \"red\", modifiers = [\"blink\"], size = 3 }\n[extra]\n";
        let file = ThemeFile::parse(text, "t.toml");
        let shown: Vec<String> = file.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown
                .iter()
                .map(|d| d.split(": ").next().unwrap_or_default())
                .collect::<Vec<_>>(),
            [
                "t.toml:2:7",
                "t.toml:4:1",
                "t.toml:5:12",
                "t.toml:6:41",
                "t.toml:6:51",
                "t.toml:7:2"
            ],
            "{shown:?}"
        );
        assert!(shown[0].contains("unknown colour '#12' for palette entry 'foo'"));
        assert!(shown[1].contains("unknown role 'health.okk'"));
        assert!(shown[2].contains("malformed style for 'lag.ok'"));
        assert!(shown[3].contains("unknown modifier 'blink'"));
        assert!(shown[4].contains("unknown style field 'size'"));
        assert!(shown[5].contains("unknown key 'extra'"));
        // Broken entries are dropped whole.
        assert!(file.roles.is_empty());
        assert!(file.palette.is_empty());
    }

    #[test]
    fn syntax_error_is_one_diagnostic() {
        let file = ThemeFile::parse("[roles\n", "t.toml");
        assert_eq!(file.diagnostics.len(), 1);
        assert!(file.diagnostics[0].to_string().starts_with("t.toml:1:"));
    }
}
