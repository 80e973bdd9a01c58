//! The active theme: a style per semantic role, loaded from a theme file
//! (`themes/default.toml` is embedded and is the built-in). Files define a
//! palette and style roles by dotted name; a role that is not defined falls back
//! to its parent (`health.ok` → `health` → `text`). Problems in a file become
//! diagnostics with file:line:col and loading carries on.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::role::Role;
use crate::core::fleet::{DeployOutcome, Health, LogLevel, Severity, TargetState};
use crate::diagnostic::Diagnostic;

/// The built-in theme, shipped as a file users can read and copy.
pub const DEFAULT_THEME: &str = include_str!("../../themes/default.toml");
pub const DEFAULT_THEME_NAME: &str = "themes/default.toml";

/// Replica lag (seconds) above which lag is shown as high.
pub const LAG_HIGH_SECONDS: f64 = 10.0;

/// Styles per role, resolved with fallback once at load time.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    /// Styles the file defined, by dotted name (roles and parents of roles).
    defined: BTreeMap<String, Style>,
    /// One style per `Role`, indexed by the role's position in `Role::ALL`.
    resolved: Vec<Style>,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::builtin()
    }
}

impl Theme {
    /// The built-in dark theme. Its file is a test fixture that must load cleanly.
    pub fn builtin() -> Theme {
        Theme::parse(DEFAULT_THEME, DEFAULT_THEME_NAME).0
    }

    /// For `NO_COLOR`: the built-in theme's modifiers without any colour, plus
    /// reversed video where colour alone marked something (selection, tabs, badges).
    pub fn no_color() -> Theme {
        let base = Theme::builtin();
        let mut defined: BTreeMap<String, Style> = base
            .defined
            .iter()
            .map(|(k, s)| {
                let plain = Style::default()
                    .add_modifier(s.add_modifier)
                    .remove_modifier(s.sub_modifier);
                (k.clone(), plain)
            })
            .collect();
        let reversed = Style::default().add_modifier(Modifier::REVERSED);
        let bold = Style::default().add_modifier(Modifier::BOLD);
        for role in [
            Role::RowSelected,
            Role::TabActive,
            Role::StatusBar,
            Role::InputCursor,
            Role::Env,
        ] {
            defined.insert(role.name().to_string(), reversed);
        }
        for role in [Role::BadgeReadOnly, Role::EnvProduction] {
            defined.insert(role.name().to_string(), reversed.patch(bold));
        }
        for role in [
            Role::HealthDown,
            Role::HealthDegraded,
            Role::HealthUnknown,
            Role::LagHigh,
            Role::LagUnknown,
            Role::SeverityCritical,
            Role::LevelError,
            Role::DeployFailed,
            Role::Drift,
            Role::Stale,
            Role::Error,
            Role::ProblemHeadline,
        ] {
            defined.insert(role.name().to_string(), bold);
        }
        Theme::from_defined(defined)
    }

    /// Parses a theme file on its own, with diagnostics. `inherits = "default"`
    /// starts from the built-in theme; otherwise undefined roles fall back to
    /// their parents and finally to `text`.
    pub fn parse(text: &str, file: &str) -> (Theme, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut defined = BTreeMap::new();
        let doc = match DeTable::parse(text) {
            Ok(d) => d,
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                diags.push(Diagnostic::at_offset(
                    file,
                    text,
                    offset,
                    e.message().to_string(),
                ));
                return (Theme::from_defined(defined), diags);
            }
        };
        let at = |span: std::ops::Range<usize>, msg: String| {
            Diagnostic::at_offset(file, text, span.start, msg)
        };

        let mut palette: BTreeMap<String, Color> = BTreeMap::new();
        let mut roles = None;
        for (key, value) in doc.get_ref().iter() {
            match key.get_ref().as_ref() {
                "inherits" => match value.get_ref().as_str() {
                    Some("default") => {
                        if file != DEFAULT_THEME_NAME {
                            defined = Theme::builtin().defined;
                        }
                    }
                    Some("none") => {}
                    Some(other) => diags.push(at(
                        value.span(),
                        format!(
                            "unknown theme '{other}' to inherit from (expected 'default' or 'none')"
                        ),
                    )),
                    None => diags.push(at(value.span(), "'inherits' must be a string".to_string())),
                },
                "palette" => match value.get_ref().as_table() {
                    Some(table) => {
                        for (name, colour) in table.iter() {
                            match colour.get_ref().as_str().map(|c| parse_colour(c, &BTreeMap::new())) {
                                Some(Some(c)) => {
                                    palette.insert(name.get_ref().to_string(), c);
                                }
                                Some(None) => diags.push(at(
                                    colour.span(),
                                    format!(
                                        "unknown colour '{}' for palette entry '{}' (use '#rrggbb' or an ANSI name)",
                                        colour.get_ref().as_str().unwrap_or_default(),
                                        name.get_ref()
                                    ),
                                )),
                                None => diags.push(at(
                                    colour.span(),
                                    format!("palette entry '{}' must be a colour string", name.get_ref()),
                                )),
                            }
                        }
                    }
                    None => diags.push(at(value.span(), "[palette] must be a table".to_string())),
                },
                "roles" => roles = Some(value),
                other => diags.push(at(
                    key.span(),
                    format!("unknown key '{other}' (expected 'inherits', [palette] or [roles])"),
                )),
            }
        }
        if let Some(roles) = roles {
            match roles.get_ref().as_table() {
                Some(table) => {
                    for (name, entry) in table.iter() {
                        let name_str = name.get_ref().as_ref();
                        if !Role::is_known_prefix(name_str) {
                            diags.push(at(
                                name.span(),
                                format!(
                                    "unknown role '{name_str}' (see src/theme/role.rs for the list)"
                                ),
                            ));
                            continue;
                        }
                        if let Some(style) =
                            parse_style(entry, &palette, &mut |span, msg| diags.push(at(span, msg)))
                        {
                            defined.insert(name_str.to_string(), style);
                        }
                    }
                }
                None => diags.push(at(roles.span(), "[roles] must be a table".to_string())),
            }
        }
        diags.sort_by_key(|d| (d.line, d.col));
        (Theme::from_defined(defined), diags)
    }

    fn from_defined(defined: BTreeMap<String, Style>) -> Theme {
        let resolved = Role::ALL
            .iter()
            .map(|r| resolve(&defined, r.name()))
            .collect();
        Theme { defined, resolved }
    }

    /// The style of a role, after fallback.
    pub fn style(&self, role: Role) -> Style {
        let index = Role::ALL.iter().position(|r| *r == role).unwrap_or(0);
        self.resolved.get(index).copied().unwrap_or_default()
    }

    /// True when the theme defines `role` itself or one of its parents (other
    /// than the `text` root).
    pub fn defines(&self, role: Role) -> bool {
        let mut name = role.name();
        loop {
            if self.defined.contains_key(name) {
                return true;
            }
            match name.rfind('.') {
                Some(i) => name = &name[..i],
                None => return false,
            }
        }
    }

    pub fn health(&self, h: Health) -> Style {
        self.style(health_role(h))
    }

    pub fn target_state(&self, t: TargetState) -> Style {
        self.style(match t {
            TargetState::Active => Role::TargetActive,
            TargetState::Draining => Role::TargetDraining,
            TargetState::Drained => Role::TargetDrained,
            TargetState::Unknown => Role::TargetUnknown,
        })
    }

    pub fn severity(&self, s: Severity) -> Style {
        self.style(match s {
            Severity::Info => Role::SeverityInfo,
            Severity::Warning => Role::SeverityWarning,
            Severity::Critical => Role::SeverityCritical,
        })
    }

    pub fn level(&self, l: LogLevel) -> Style {
        self.style(match l {
            LogLevel::Error => Role::LevelError,
            LogLevel::Warn => Role::LevelWarn,
            LogLevel::Info => Role::LevelInfo,
            LogLevel::Debug => Role::LevelDebug,
            LogLevel::Trace => Role::LevelTrace,
            LogLevel::None => Role::LevelNone,
        })
    }

    pub fn outcome(&self, o: DeployOutcome) -> Style {
        self.style(match o {
            DeployOutcome::Succeeded => Role::DeploySucceeded,
            DeployOutcome::Failed => Role::DeployFailed,
            DeployOutcome::RolledBack => Role::DeployRolledBack,
            DeployOutcome::InProgress => Role::DeployInProgress,
        })
    }

    /// Replica lag: unknown is its own style, never the ok one.
    pub fn lag(&self, seconds: Option<f64>) -> Style {
        self.style(match seconds {
            None => Role::LagUnknown,
            Some(s) if s > LAG_HIGH_SECONDS => Role::LagHigh,
            Some(_) => Role::LagOk,
        })
    }

    /// A table row: selection wins over staleness.
    pub fn row(&self, selected: bool, stale: bool) -> Style {
        match (selected, stale) {
            (true, _) => self.style(Role::RowSelected),
            (false, true) => self.style(Role::RowStale),
            (false, false) => self.style(Role::Text),
        }
    }
}

/// The role for a health value.
pub fn health_role(h: Health) -> Role {
    match h {
        Health::Ok => Role::HealthOk,
        Health::Degraded => Role::HealthDegraded,
        Health::Down => Role::HealthDown,
        Health::Unknown => Role::HealthUnknown,
    }
}

fn resolve(defined: &BTreeMap<String, Style>, name: &str) -> Style {
    let mut name = name;
    loop {
        if let Some(s) = defined.get(name) {
            return *s;
        }
        match name.rfind('.') {
            Some(i) => name = &name[..i],
            None => break,
        }
    }
    defined.get(Role::Text.name()).copied().unwrap_or_default()
}

/// A role entry: a colour string (foreground only) or a table with `fg`, `bg`
/// and `modifiers`. Reports problems through `report` and returns what it could.
fn parse_style(
    entry: &Spanned<DeValue<'_>>,
    palette: &BTreeMap<String, Color>,
    report: &mut dyn FnMut(std::ops::Range<usize>, String),
) -> Option<Style> {
    let colour = |v: &Spanned<DeValue<'_>>,
                  report: &mut dyn FnMut(std::ops::Range<usize>, String)| match v
        .get_ref()
        .as_str()
    {
        Some(s) => {
            let c = parse_colour(s, palette);
            if c.is_none() {
                report(
                    v.span(),
                    format!("unknown colour '{s}' (use a palette name, '#rrggbb' or an ANSI name)"),
                );
            }
            c
        }
        None => {
            report(v.span(), "a colour must be a string".to_string());
            None
        }
    };
    match entry.get_ref() {
        DeValue::String(_) => colour(entry, report).map(|c| Style::default().fg(c)),
        DeValue::Table(table) => {
            let mut style = Style::default();
            for (key, value) in table.iter() {
                match key.get_ref().as_ref() {
                    "fg" => {
                        if let Some(c) = colour(value, report) {
                            style = style.fg(c);
                        }
                    }
                    "bg" => {
                        if let Some(c) = colour(value, report) {
                            style = style.bg(c);
                        }
                    }
                    "modifiers" => match value.get_ref().as_array() {
                        Some(items) => {
                            for item in items.iter() {
                                match item.get_ref().as_str().map(|s| (s, parse_modifier(s))) {
                                    Some((_, Some(m))) => style = style.add_modifier(m),
                                    Some((s, None)) => report(
                                        item.span(),
                                        format!(
                                            "unknown modifier '{s}' (expected one of: {})",
                                            MODIFIERS
                                                .iter()
                                                .map(|(n, _)| *n)
                                                .collect::<Vec<_>>()
                                                .join(", ")
                                        ),
                                    ),
                                    None => report(
                                        item.span(),
                                        "a modifier must be a string".to_string(),
                                    ),
                                }
                            }
                        }
                        None => report(
                            value.span(),
                            "'modifiers' must be an array of strings".to_string(),
                        ),
                    },
                    other => report(
                        key.span(),
                        format!(
                            "unknown style field '{other}' (expected 'fg', 'bg' or 'modifiers')"
                        ),
                    ),
                }
            }
            Some(style)
        }
        other => {
            report(
                entry.span(),
                format!(
                    "malformed style: expected a colour string or a table like {{ fg = \"red\" }}, found {}",
                    other.type_str()
                ),
            );
            None
        }
    }
}

const MODIFIERS: &[(&str, Modifier)] = &[
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

/// A palette name, `#rrggbb`, an ANSI colour name or a 256-colour index.
fn parse_colour(s: &str, palette: &BTreeMap<String, Color>) -> Option<Color> {
    if let Some(c) = palette.get(s) {
        return Some(*c);
    }
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
    fn default_theme_loads_cleanly_and_defines_every_role() {
        let (theme, diags) = Theme::parse(DEFAULT_THEME, DEFAULT_THEME_NAME);
        assert!(diags.is_empty(), "{diags:?}");
        for role in Role::ALL {
            assert!(
                theme.defines(*role) || *role == Role::Text,
                "role '{}' has no style in {DEFAULT_THEME_NAME}",
                role.name()
            );
        }
        assert!(theme.defined.contains_key("text"));
    }

    #[test]
    fn dotted_fallback() {
        let text = "[roles]\ntext = \"white\"\nhealth = \"red\"\n\"health.ok\" = \"green\"\n";
        let (theme, diags) = Theme::parse(text, "t.toml");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(theme.style(Role::HealthOk).fg, Some(Color::Green));
        assert_eq!(theme.style(Role::HealthDown).fg, Some(Color::Red));
        assert_eq!(theme.style(Role::LagHigh).fg, Some(Color::White));
    }

    #[test]
    fn palette_hex_ansi_and_modifiers() {
        let text = "[palette]\nred = \"#e06c75\"\n[roles]\n\"health.down\" = { fg = \"red\", bg = \"lightblue\", modifiers = [\"bold\"] }\n\"lag.ok\" = \"#00ff00\"\n\"row.selected\" = { bg = \"236\" }\n";
        let (theme, diags) = Theme::parse(text, "t.toml");
        assert!(diags.is_empty(), "{diags:?}");
        let down = theme.style(Role::HealthDown);
        assert_eq!(down.fg, Some(Color::Rgb(0xe0, 0x6c, 0x75)));
        assert_eq!(down.bg, Some(Color::LightBlue));
        assert!(down.add_modifier.contains(Modifier::BOLD));
        assert_eq!(theme.style(Role::LagOk).fg, Some(Color::Rgb(0, 255, 0)));
        assert_eq!(theme.style(Role::RowSelected).bg, Some(Color::Indexed(236)));
    }

    #[test]
    fn reports_bad_entries_with_positions_and_carries_on() {
        let text = "[palette]\nfoo = \"#12\"\n[roles]\n\"health.okk\" = \"red\"\n\"health.ok\" = { fg = \"chartreuse\" }\n\"lag.ok\" = 5\n\"lag.high\" = { fg = \"red\", modifiers = [\"blink\"], size = 3 }\n[extra]\n";
        let (theme, diags) = Theme::parse(text, "t.toml");
        let shown: Vec<String> = diags.iter().map(ToString::to_string).collect();
        let has = |prefix: &str| shown.iter().any(|d| d.starts_with(prefix));
        assert!(has("t.toml:2:7: unknown colour '#12'"), "{shown:?}");
        assert!(has("t.toml:4:1: unknown role 'health.okk'"), "{shown:?}");
        assert!(has("t.toml:5:22: unknown colour 'chartreuse'"), "{shown:?}");
        assert!(has("t.toml:6:12: malformed style"), "{shown:?}");
        assert!(has("t.toml:7:41: unknown modifier 'blink'"), "{shown:?}");
        assert!(has("t.toml:7:51: unknown style field 'size'"), "{shown:?}");
        assert!(has("t.toml:8:2: unknown key 'extra'"), "{shown:?}");
        assert_eq!(theme.style(Role::LagHigh).fg, Some(Color::Red));
    }

    #[test]
    fn syntax_errors_are_diagnostics() {
        let (_, diags) = Theme::parse("[roles\n", "t.toml");
        assert_eq!(diags.len(), 1);
        assert!(diags[0].to_string().starts_with("t.toml:1:"), "{diags:?}");
    }

    #[test]
    fn inherits_default() {
        let (theme, diags) = Theme::parse(
            "inherits = \"default\"\n[roles]\n\"health.ok\" = \"blue\"\n",
            "t.toml",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(theme.style(Role::HealthOk).fg, Some(Color::Blue));
        assert_eq!(
            theme.style(Role::HealthDown),
            Theme::builtin().style(Role::HealthDown)
        );
    }

    #[test]
    fn no_color_has_no_colours() {
        let theme = Theme::no_color();
        for role in Role::ALL {
            let s = theme.style(*role);
            assert!(s.fg.is_none() && s.bg.is_none(), "{}", role.name());
        }
        assert!(
            theme
                .style(Role::RowSelected)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
    }
}
