//! Loading a theme in layers: the built-in default, then a shipped or named
//! theme (`--theme NAME|FILE`, with its `inherits` chain, parents first), then
//! the user's `theme.toml` in the config dir (with its chain). A later layer's
//! palette entry or role entry replaces the earlier one; palette names are
//! looked up once every layer is in, so changing a palette colour recolours
//! every role that names it, whichever layer styled the role. Broken entries
//! are reported with file:line:col and skipped, so the earlier value stays.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::Color;

use super::theme::Theme;
use super::theme_file::{StyleSpec, ThemeFile};
use crate::diagnostic::Diagnostic;
use crate::layered_file::{Shipped, Source};

/// Themes shipped in `themes/`, compiled in. `default` is always the base.
pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
];

/// The user's theme file, in the opsdeck config dir.
pub const USER_FILE: &str = "theme.toml";

/// How deep `inherits` chains may go.
const MAX_DEPTH: usize = 8;

/// The names of the shipped themes, for `--theme` help and `opsdeck check`.
pub fn shipped_names() -> Vec<&'static str> {
    FILES.names()
}

/// A theme with the diagnostics of every layer that built it.
#[derive(Clone, Debug)]
pub struct LoadedTheme {
    pub theme: Theme,
    pub diagnostics: Vec<Diagnostic>,
    /// Files that contributed, in the order applied (for `opsdeck check`).
    pub layers: Vec<String>,
}

const FILES: Shipped = Shipped {
    folder: "themes",
    files: SHIPPED,
};

fn unknown_theme(spec: &str) -> String {
    format!(
        "no shipped theme or file '{spec}' (shipped themes: {})",
        shipped_names().join(", ")
    )
}

/// The layers merged so far.
#[derive(Default)]
struct Builder {
    palette: BTreeMap<String, Color>,
    specs: BTreeMap<String, StyleSpec>,
    diagnostics: Vec<Diagnostic>,
    layers: Vec<String>,
}

/// Builds the active theme: default, then `selected` (`--theme NAME|FILE`),
/// then `user_file` (the config dir's `theme.toml`) if it exists.
pub fn load(selected: Option<&str>, user_file: Option<&Path>) -> LoadedTheme {
    let mut b = Builder::default();
    if let Some(default) = FILES.get("default") {
        apply(&mut b, &default, &mut Vec::new());
    }
    if let Some(spec) = selected {
        let source = FILES.lookup(spec, None);
        if !source.exists() {
            b.diagnostics
                .push(Diagnostic::new("--theme", 0, 0, unknown_theme(spec)));
        } else if !source.is_shipped("default") {
            apply(&mut b, &source, &mut Vec::new());
        }
    }
    if let Some(user) = user_file
        && user.exists()
    {
        apply(&mut b, &Source::File(user.to_path_buf()), &mut Vec::new());
    }
    LoadedTheme {
        theme: Theme::from_specs(b.palette, &b.specs),
        diagnostics: b.diagnostics,
        layers: b.layers,
    }
}

/// Applies `source` after its `inherits` chain. `chain` holds the sources
/// being applied below this one, to catch loops.
fn apply(b: &mut Builder, source: &Source, chain: &mut Vec<String>) {
    let label = source.label();
    let text = match source.read() {
        Ok(t) => t,
        Err(e) => {
            b.diagnostics.push(Diagnostic::new(
                &label,
                0,
                0,
                format!("cannot read theme: {e}"),
            ));
            return;
        }
    };
    let file = ThemeFile::parse(&text, &label);
    let mut diags = file.diagnostics.clone();
    let at = |offset: usize, msg: String| Diagnostic::at_offset(&label, &text, offset, msg);

    chain.push(source.identity());
    if let Some((parent, offset)) = &file.inherits {
        let dir = source.dir();
        let parent_source = FILES.lookup(parent, dir.as_deref());
        if parent_source.is_shipped("default") {
            // The default is already the base layer.
        } else if !parent_source.exists() {
            diags.push(at(*offset, format!("inherits: {}", unknown_theme(parent))));
        } else if chain.contains(&parent_source.identity()) {
            diags.push(at(
                *offset,
                format!(
                    "inherits '{parent}' makes a loop ({} → {})",
                    label,
                    parent_source.label()
                ),
            ));
        } else if chain.len() > MAX_DEPTH {
            diags.push(at(
                *offset,
                format!("inherits '{parent}': the chain is deeper than {MAX_DEPTH} files"),
            ));
        } else {
            apply(b, &parent_source, chain);
        }
    }
    chain.pop();

    b.layers.push(label.clone());
    for (name, colour) in &file.palette {
        b.palette.insert(name.clone(), *colour);
    }
    for entry in &file.roles {
        let mut report = |offset: usize, msg: String| diags.push(at(offset, msg));
        if let Some(spec) = entry.check(&b.palette, &mut report) {
            b.specs.insert(entry.name.clone(), spec);
        }
    }
    diags.sort_by_key(|d| (d.line, d.col));
    b.diagnostics.extend(diags);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme::Role;
    use ratatui::style::Modifier;
    use std::path::PathBuf;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn shown(loaded: &LoadedTheme) -> Vec<String> {
        loaded.diagnostics.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_shipped_theme_loads_cleanly_over_the_default() {
        for name in shipped_names() {
            let loaded = load(Some(name), None);
            assert!(
                loaded.diagnostics.is_empty(),
                "{name}: {:?}",
                shown(&loaded)
            );
            assert_eq!(
                loaded.layers.first().map(String::as_str),
                Some("themes/default.toml")
            );
            assert_eq!(
                loaded.layers.last(),
                Some(&format!("themes/{name}.toml")),
                "{name}"
            );
        }
    }

    #[test]
    fn user_file_layers_over_the_selected_theme() {
        let dir = tempfile::tempdir().expect("tempdir");
        let user = write(
            dir.path(),
            "theme.toml",
            "[roles]\n\"health.ok\" = \"#0000ff\"\n",
        );
        let light = load(Some("light"), None).theme;
        let loaded = load(Some("light"), Some(&user));
        assert!(loaded.diagnostics.is_empty(), "{:?}", shown(&loaded));
        assert_eq!(
            loaded.layers,
            [
                "themes/default.toml",
                "themes/light.toml",
                &user.display().to_string()
            ]
        );
        let t = loaded.theme;
        assert_eq!(t.style(Role::HealthOk).fg, Some(Color::Rgb(0, 0, 255)));
        assert_eq!(t.style(Role::HealthDown), light.style(Role::HealthDown));
        // A missing user file is no layer and no diagnostic.
        let none = load(None, Some(&dir.path().join("missing.toml")));
        assert!(none.diagnostics.is_empty());
        assert_eq!(none.layers, ["themes/default.toml"]);
    }

    #[test]
    fn a_palette_change_recolours_inherited_roles() {
        let dir = tempfile::tempdir().expect("tempdir");
        let user = write(dir.path(), "theme.toml", "[palette]\nbad = \"#ff0000\"\n");
        let t = load(None, Some(&user)).theme;
        assert_eq!(t.style(Role::HealthDown).fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(t.style(Role::DeployFailed).fg, Some(Color::Rgb(255, 0, 0)));
        assert!(
            t.style(Role::HealthDown)
                .add_modifier
                .contains(Modifier::BOLD)
        );
    }

    #[test]
    fn inherits_a_file_relative_to_the_inheriting_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("more")).expect("mkdir");
        write(
            &dir.path().join("more"),
            "base.toml",
            "inherits = \"colorblind\"\n[roles]\n\"lag.ok\" = \"white\"\n",
        );
        let user = write(
            dir.path(),
            "theme.toml",
            "inherits = \"more/base.toml\"\n[roles]\n\"lag.high\" = \"lightmagenta\"\n",
        );
        let loaded = load(None, Some(&user));
        assert!(loaded.diagnostics.is_empty(), "{:?}", shown(&loaded));
        assert_eq!(loaded.layers.len(), 4, "{:?}", loaded.layers);
        let t = loaded.theme;
        let cb = load(Some("colorblind"), None).theme;
        assert_eq!(t.style(Role::LagOk).fg, Some(Color::White));
        assert_eq!(t.style(Role::LagHigh).fg, Some(Color::LightMagenta));
        assert_eq!(t.style(Role::HealthOk), cb.style(Role::HealthOk));
    }

    #[test]
    fn inherits_loops_are_reported_once_and_loading_carries_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "a.toml",
            "inherits = \"b.toml\"\n[roles]\n\"lag.ok\" = \"white\"\n",
        );
        let b = write(
            dir.path(),
            "b.toml",
            "inherits = \"a.toml\"\n[roles]\n\"lag.high\" = \"lightmagenta\"\n",
        );
        let loaded = load(None, Some(&b));
        let shown = shown(&loaded);
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].ends_with(&format!(
                "a.toml:1:12: inherits 'b.toml' makes a loop ({} → {})",
                dir.path().join("a.toml").display(),
                dir.path().join("b.toml").display()
            )),
            "{shown:?}"
        );
        assert_eq!(loaded.theme.style(Role::LagOk).fg, Some(Color::White));
        assert_eq!(
            loaded.theme.style(Role::LagHigh).fg,
            Some(Color::LightMagenta)
        );
    }

    #[test]
    fn a_self_loop_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = write(dir.path(), "theme.toml", "inherits = \"theme.toml\"\n");
        let shown = shown(&load(None, Some(&a)));
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].contains(":1:12: inherits 'theme.toml' makes a loop"),
            "{shown:?}"
        );
    }

    #[test]
    fn broken_entries_keep_the_earlier_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        let user = write(
            dir.path(),
            "theme.toml",
            "[palette]\nbad = \"#zz0000\"\n[roles]\n\"health.down\" = { fg = \"nope\", modifiers = [\"italic\"] }\n\"health.ok\" = { fg = \"#0000ff\", modifiers = [\"blink\"] }\n\"lag.ok\" = \"lightcyan\"\n",
        );
        let loaded = load(None, Some(&user));
        let shown = shown(&loaded);
        let file = user.display().to_string();
        assert_eq!(
            shown,
            [
                format!(
                    "{file}:2:7: unknown colour '#zz0000' for palette entry 'bad' (use '#rrggbb', an ANSI name or a 256-colour index)"
                ),
                format!(
                    "{file}:4:24: unknown colour 'nope' (use a palette name, '#rrggbb', an ANSI name or a 256-colour index)"
                ),
                format!(
                    "{file}:5:46: unknown modifier 'blink' (expected one of: bold, dim, italic, underlined, slow_blink, rapid_blink, reversed, hidden, crossed_out)"
                ),
            ]
        );
        let default = Theme::builtin();
        assert_eq!(
            loaded.theme.style(Role::HealthDown),
            default.style(Role::HealthDown)
        );
        assert_eq!(
            loaded.theme.style(Role::HealthOk),
            default.style(Role::HealthOk)
        );
        assert_eq!(loaded.theme.style(Role::LagOk).fg, Some(Color::LightCyan));
    }

    #[test]
    fn unknown_selected_theme_and_unreadable_file() {
        let loaded = load(Some("solarized"), None);
        assert_eq!(
            shown(&loaded),
            [
                "--theme: no shipped theme or file 'solarized' (shipped themes: default, light, high-contrast, colorblind)"
            ]
        );
        assert_eq!(loaded.theme, Theme::builtin());

        let dir = tempfile::tempdir().expect("tempdir");
        // A directory exists but cannot be read as a file.
        let loaded = load(Some(&dir.path().display().to_string()), None);
        let shown = shown(&loaded);
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].starts_with(&format!("{}: cannot read theme: ", dir.path().display())),
            "{shown:?}"
        );
    }
}
