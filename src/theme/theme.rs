//! The active theme: a style per semantic role, built by `theme_loader` from
//! the layered theme files (`themes/default.toml` is embedded and is always the
//! base). A role that no layer styles falls back to its parent (`health.ok` →
//! `health` → `text`). `degrade` fits the theme to the terminal's colour depth;
//! `with_accent` gives an environment its own badge colour.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};

use super::color_depth::{ColorDepth, index_to_rgb};
use super::role::Role;
use super::theme_file::{ColourRef, StyleSpec, parse_literal};
use crate::core::fleet::{DeployOutcome, Health, LogLevel, Severity, TargetState};

/// Styles per role, resolved with fallback once at load time.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    /// The palette after every layer, for `with_accent` colour names.
    palette: BTreeMap<String, Color>,
    /// Styles the layers defined, by dotted name (roles and parents of roles).
    defined: BTreeMap<String, Style>,
    /// One style per `Role`, indexed by the role's position in `Role::ALL`.
    resolved: Vec<Style>,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::builtin()
    }
}

/// Roles that colour alone set apart from their surroundings (a background);
/// without colour they are drawn in reverse video.
const REVERSED_WITHOUT_COLOUR: &[Role] = &[
    Role::RowSelected,
    Role::TabActive,
    Role::StatusBar,
    Role::InputCursor,
    Role::Env,
    Role::BadgeReadOnly,
    Role::EnvProduction,
];

/// Roles that mark a problem; without colour they are at least bold.
const BOLD_WITHOUT_COLOUR: &[Role] = &[
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
    Role::BadgeReadOnly,
    Role::EnvProduction,
    Role::BorderProduction,
];

impl Theme {
    /// The built-in dark theme (`themes/default.toml`). Shipped files are test
    /// fixtures that must load cleanly, so this has no diagnostics to show.
    pub fn builtin() -> Theme {
        super::theme_loader::load(None, None).theme
    }

    /// For `NO_COLOR`: the built-in theme without colour (see `degrade`).
    pub fn no_color() -> Theme {
        Theme::builtin().degrade(ColorDepth::None)
    }

    /// Builds a theme from checked role specs and the final palette. A palette
    /// name missing from `palette` (which the loader prevents) means no colour.
    pub(crate) fn from_specs(
        palette: BTreeMap<String, Color>,
        specs: &BTreeMap<String, StyleSpec>,
    ) -> Theme {
        let colour = |c: &Option<ColourRef>| match c {
            Some(ColourRef::Literal(c)) => Some(*c),
            Some(ColourRef::Palette(name)) => palette.get(name).copied(),
            None => None,
        };
        let defined = specs
            .iter()
            .map(|(name, spec)| {
                let mut style = Style::default().add_modifier(spec.modifiers);
                style.fg = colour(&spec.fg);
                style.bg = colour(&spec.bg);
                (name.clone(), style)
            })
            .collect();
        Theme::from_defined(palette, defined)
    }

    fn from_defined(palette: BTreeMap<String, Color>, defined: BTreeMap<String, Style>) -> Theme {
        let resolved = Role::ALL
            .iter()
            .map(|r| resolve(&defined, r.name()))
            .collect();
        Theme {
            palette,
            defined,
            resolved,
        }
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

    /// Every colour the theme uses, foreground and background (for tests and
    /// `opsdeck check`).
    pub fn colours(&self) -> Vec<Color> {
        self.resolved
            .iter()
            .flat_map(|s| [s.fg, s.bg, s.underline_color])
            .flatten()
            .collect()
    }

    /// The theme as a terminal of `depth` can show it: RGB colours become the
    /// nearest xterm-256 index or ANSI colour (a grey selection bar becomes
    /// reverse video at 16 colours); with no colour at all, colours
    /// go, modifiers stay, and what only a background marked (the selected
    /// row, the active tab, badges) is drawn in reverse video, problems in bold.
    pub fn degrade(&self, depth: ColorDepth) -> Theme {
        let convert = |c: Option<Color>| c.and_then(|c| depth.convert(c));
        let palette = self
            .palette
            .iter()
            .filter_map(|(k, c)| Some((k.clone(), depth.convert(*c)?)))
            .collect();
        let mut defined: BTreeMap<String, Style> = self
            .defined
            .iter()
            .map(|(k, s)| {
                let mut s = *s;
                s.fg = convert(s.fg);
                s.bg = convert(s.bg);
                s.underline_color = convert(s.underline_color);
                (k.clone(), s)
            })
            .collect();
        if depth == ColorDepth::Ansi16
            && let Some(selected) = defined.get_mut(Role::RowSelected.name())
            && matches!(
                selected.bg,
                Some(Color::Black | Color::DarkGray | Color::Gray | Color::White)
            )
        {
            // A grey selection bar hides the dim text it crosses at 16
            // colours (both become DarkGray); reverse video cannot.
            selected.bg = None;
            selected.add_modifier |= Modifier::REVERSED;
        }
        if depth == ColorDepth::None {
            let plain = Theme::from_defined(BTreeMap::new(), defined.clone());
            let mut emphasise = |role: Role, m: Modifier| {
                let style = defined
                    .get(role.name())
                    .copied()
                    .unwrap_or_else(|| plain.style(role));
                defined.insert(role.name().to_string(), style.add_modifier(m));
            };
            for role in REVERSED_WITHOUT_COLOUR {
                emphasise(*role, Modifier::REVERSED);
            }
            // An accent set on purpose is a badge too.
            if self.defined.contains_key(Role::EnvAccent.name()) {
                emphasise(Role::EnvAccent, Modifier::REVERSED);
            }
            for role in BOLD_WITHOUT_COLOUR {
                emphasise(*role, Modifier::BOLD);
            }
        }
        Theme::from_defined(palette, defined)
    }

    /// This theme with `colour` (a palette name, `#rrggbb`, an ANSI name or a
    /// 256-colour index) as the environment accent: the environment badge in
    /// the tab bar, drawn on `colour` with black or white text, whichever reads.
    /// Call it before `degrade`.
    pub fn with_accent(&self, colour: &str) -> Result<Theme, String> {
        let c = self
            .palette
            .get(colour)
            .copied()
            .or_else(|| parse_literal(colour))
            .ok_or_else(|| {
                format!(
                    "unknown accent colour '{colour}' (use a palette name, '#rrggbb', an ANSI name or a 256-colour index)"
                )
            })?;
        let mut defined = self.defined.clone();
        defined.insert(
            Role::EnvAccent.name().to_string(),
            Style::default()
                .fg(readable_on(c))
                .bg(c)
                .add_modifier(Modifier::BOLD),
        );
        Ok(Theme::from_defined(self.palette.clone(), defined))
    }

    /// The environment's name badge: the accent when one is set (by
    /// `with_accent` or a theme's `env.accent`), else `env.production` in
    /// production, else `env`.
    pub fn env_badge(&self, production: bool) -> Style {
        if self.defined.contains_key(Role::EnvAccent.name()) {
            self.style(Role::EnvAccent)
        } else if production {
            self.style(Role::EnvProduction)
        } else {
            self.style(Role::Env)
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

/// Black or white, whichever is easier to read on `bg`.
fn readable_on(bg: Color) -> Color {
    let rgb = match bg {
        Color::Rgb(r, g, b) => Some((r, g, b)),
        Color::Indexed(i) => index_to_rgb(i),
        _ => None,
    };
    let light = match (rgb, bg) {
        (Some((r, g, b)), _) => {
            // Relative luminance of the gamma-encoded values: close enough to
            // choose between black and white.
            0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(b) > 140.0
        }
        (None, Color::Black | Color::Red | Color::Blue | Color::Magenta | Color::DarkGray) => false,
        (None, _) => true,
    };
    if light { Color::Black } else { Color::White }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme::theme_loader::load;

    #[test]
    fn default_theme_defines_every_role() {
        let theme = Theme::builtin();
        for role in Role::ALL {
            assert!(
                theme.defines(*role) || matches!(*role, Role::Text | Role::EnvAccent),
                "role '{}' has no style in themes/default.toml",
                role.name()
            );
        }
        assert!(theme.defined.contains_key("text"));
        // The accent is left to environments.
        assert!(!theme.defined.contains_key("env.accent"));
    }

    #[test]
    fn no_color_has_no_colours_but_keeps_meaning() {
        let theme = Theme::no_color();
        for role in Role::ALL {
            let s = theme.style(*role);
            assert!(s.fg.is_none() && s.bg.is_none(), "{}", role.name());
        }
        assert!(theme.colours().is_empty());
        let has = |r: Role, m: Modifier| theme.style(r).add_modifier.contains(m);
        assert!(has(Role::RowSelected, Modifier::REVERSED));
        assert!(has(Role::TabActive, Modifier::REVERSED));
        assert!(has(Role::HealthDown, Modifier::BOLD));
        assert!(has(Role::EnvProduction, Modifier::REVERSED));
        // Italic stale rows keep their italic.
        assert!(has(Role::RowStale, Modifier::ITALIC));
    }

    #[test]
    fn degrade_maps_every_colour() {
        let theme = Theme::builtin();
        let c256 = theme.degrade(ColorDepth::Ansi256);
        assert!(
            c256.colours().iter().all(|c| !matches!(c, Color::Rgb(..))),
            "{:?}",
            c256.colours()
        );
        let c16 = theme.degrade(ColorDepth::Ansi16);
        assert!(
            c16.colours()
                .iter()
                .all(|c| crate::theme::color_depth::is_ansi16(*c)),
            "{:?}",
            c16.colours()
        );
        // Meaning survives: down is still not ok.
        assert_ne!(c16.style(Role::HealthDown).fg, c16.style(Role::HealthOk).fg);
        assert_eq!(theme.degrade(ColorDepth::TrueColor), theme);
    }

    #[test]
    fn accent_sets_the_badge_with_readable_text() {
        let theme = Theme::builtin();
        assert_eq!(theme.env_badge(true), theme.style(Role::EnvProduction));
        assert_eq!(theme.env_badge(false), theme.style(Role::Env));
        let staging = theme.with_accent("#e5c07b").expect("accent");
        let badge = staging.env_badge(false);
        assert_eq!(badge.bg, Some(Color::Rgb(0xe5, 0xc0, 0x7b)));
        assert_eq!(badge.fg, Some(Color::Black));
        assert_eq!(staging.env_badge(true), badge);
        let dark = theme.with_accent("red").expect("accent");
        assert_eq!(dark.env_badge(false).fg, Some(Color::White));
        // Palette names of the theme work too.
        let warn = theme.with_accent("warn").expect("palette accent");
        assert_eq!(warn.env_badge(false).bg, staging.env_badge(false).bg);
        let err = theme.with_accent("chartreuse").expect_err("bad colour");
        assert!(err.contains("'chartreuse'"), "{err}");
        // Without colour the accent badge is reversed.
        let plain = staging.degrade(ColorDepth::None);
        assert!(
            plain
                .env_badge(false)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert_eq!(plain.env_badge(false).bg, None);
    }

    #[test]
    fn loaded_and_builtin_agree() {
        assert_eq!(load(Some("default"), None).theme, Theme::builtin());
    }
}
