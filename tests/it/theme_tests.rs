//! Themes: every shipped theme loads cleanly and styles every role, renders
//! every view with the same text as the default, the colour-blind theme
//! keeps health states apart without red and green, invalid fixtures produce
//! their file:line:col messages, colour depth is respected, and production
//! gets its frame.
//!
//! `cargo test --test it theme_preview -- --ignored --nocapture` prints the
//! overview in every shipped theme, in colour, to look at in a terminal.

use std::path::{Path, PathBuf};

use opsdeck::core::state::State;
use opsdeck::core::view::ViewId;
use opsdeck::theme::color_depth::is_ansi16;
use opsdeck::theme::{ColorDepth, Role, Theme, load, shipped_names};
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

use crate::support::{buffer_text, fixture, render_with};

fn theme(name: &str) -> Theme {
    let loaded = load(Some(name), None);
    assert!(
        loaded.diagnostics.is_empty(),
        "{name}: {:?}",
        loaded.diagnostics
    );
    loaded.theme
}

fn view(v: ViewId) -> State {
    let mut s = fixture();
    s.view = v;
    s
}

/// Every colour in a rendered buffer, foreground and background.
fn buffer_colours(buf: &Buffer) -> Vec<Color> {
    buf.content()
        .iter()
        .flat_map(|c| [c.fg, c.bg])
        .filter(|c| *c != Color::Reset)
        .collect()
}

#[test]
fn every_shipped_theme_loads_cleanly_and_styles_every_role() {
    assert_eq!(
        shipped_names(),
        ["default", "light", "high-contrast", "colorblind"]
    );
    for name in shipped_names() {
        let t = theme(name);
        for role in Role::ALL {
            let resolved = t.style(*role);
            assert_ne!(
                resolved,
                Style::default(),
                "{name}: role '{}' resolves to no style",
                role.name()
            );
            assert!(
                t.defines(*role) || matches!(role, Role::Text | Role::EnvAccent),
                "{name}: role '{}' is not styled",
                role.name()
            );
        }
    }
}

#[test]
fn every_view_renders_the_same_text_in_every_theme() {
    let themes: Vec<(&str, Theme)> = shipped_names().into_iter().map(|n| (n, theme(n))).collect();
    for v in ViewId::ALL {
        let state = view(v);
        let default = render_with(&state, &themes[0].1, 80, 24);
        let default_text = buffer_text(&default);
        for (name, t) in &themes[1..] {
            let buf = render_with(&state, t, 80, 24);
            assert_eq!(
                buffer_text(&buf),
                default_text,
                "{v:?} in {name}: themes change only styles"
            );
            assert_ne!(buf, default, "{v:?} in {name} looks like the default");
        }
    }
    // Light really is light: the tab bar's background is lighter than the
    // default's, and its text darker.
    let luma = |c: Option<Color>| match c {
        Some(Color::Rgb(r, g, b)) => u32::from(r) + u32::from(g) + u32::from(b),
        other => panic!("expected an RGB colour, got {other:?}"),
    };
    let (dark, light) = (&themes[0].1, &themes[1].1);
    assert!(luma(light.style(Role::TabBar).bg) > luma(dark.style(Role::TabBar).bg));
    assert!(luma(light.style(Role::Text).fg) < luma(dark.style(Role::Text).fg));
}

/// sRGB (0–255) to linear light (0–1).
fn linear(c: u8) -> f64 {
    let c = f64::from(c) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// What a viewer without green (deuteranopia) or red (protanopia) cones sees,
/// by the full-severity matrices of Machado, Oliveira and Fernandes (2009)
/// applied in linear RGB. Returns linear RGB, each channel clamped to 0–1.
fn simulate(c: Color, matrix: &[[f64; 3]; 3]) -> [f64; 3] {
    let Color::Rgb(r, g, b) = c else {
        panic!("expected an RGB colour, got {c:?}");
    };
    let v = [linear(r), linear(g), linear(b)];
    matrix.map(|row| (row[0] * v[0] + row[1] * v[1] + row[2] * v[2]).clamp(0.0, 1.0))
}

const DEUTERANOPIA: [[f64; 3]; 3] = [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.011820, 0.042940, 0.968881],
];
const PROTANOPIA: [[f64; 3]; 3] = [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
];

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Hue in degrees of an RGB colour.
fn hue(c: Color) -> f64 {
    let Color::Rgb(r, g, b) = c else {
        panic!("expected an RGB colour, got {c:?}");
    };
    let (r, g, b) = (f64::from(r), f64::from(g), f64::from(b));
    let max = r.max(g).max(b);
    let chroma = max - r.min(g).min(b);
    if max == r {
        60.0 * ((g - b) / chroma).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / chroma + 2.0)
    } else {
        60.0 * ((r - g) / chroma + 4.0)
    }
}

#[test]
fn colorblind_health_states_do_not_rely_on_red_and_green() {
    let t = theme("colorblind");
    let fg = |r: Role| t.style(r).fg.unwrap_or(Color::Reset);
    let (ok, degraded, down) = (
        fg(Role::HealthOk),
        fg(Role::HealthDegraded),
        fg(Role::HealthDown),
    );
    assert!(ok != degraded && ok != down && degraded != down);

    // Ok is not green, so ok/down is not the red–green pair: ok is blue and
    // down is not, the blue–yellow axis that red–green colour blindness keeps.
    assert!(!(75.0..165.0).contains(&hue(ok)), "ok hue {}", hue(ok));
    let blue = |c: Color| match c {
        Color::Rgb(_, _, b) => i32::from(b),
        _ => 0,
    };
    assert!(blue(ok) - blue(down) > 128 && blue(ok) - blue(degraded) > 128);

    // Under simulated deuteranopia and protanopia (distance in linear RGB,
    // 0–√3) ok stands well apart from both problems: more than the default
    // theme's green ok and red down do, which is the pair this theme exists
    // to avoid. Degraded and down, orange and vermillion, differ less in hue;
    // down's reverse video (below) is what sets it apart.
    const OK_APART: f64 = 0.5;
    const PROBLEMS_APART: f64 = 0.25;
    for (vision, m) in [("deuteranopia", DEUTERANOPIA), ("protanopia", PROTANOPIA)] {
        for (a, b, what, apart) in [
            (ok, degraded, "ok/degraded", OK_APART),
            (ok, down, "ok/down", OK_APART),
            (degraded, down, "degraded/down", PROBLEMS_APART),
        ] {
            let d = distance(simulate(a, &m), simulate(b, &m));
            assert!(d > apart, "{vision}: {what} only {d:.3} apart");
        }
    }
    let default = theme("default");
    let dfg = |r: Role| default.style(r).fg.unwrap_or(Color::Reset);
    let d = distance(
        simulate(dfg(Role::HealthOk), &DEUTERANOPIA),
        simulate(dfg(Role::HealthDown), &DEUTERANOPIA),
    );
    assert!(
        d < OK_APART,
        "default ok/down are {d:.3} apart for deuteranopia"
    );

    // Down does not depend on colour at all: it is a reversed, bold block.
    let down_mods = t.style(Role::HealthDown).add_modifier;
    assert!(down_mods.contains(Modifier::REVERSED | Modifier::BOLD));
}

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/themes")
        .join(name)
}

#[test]
fn invalid_theme_fixtures_report_file_line_col() {
    let shipped = shipped_names().join(", ");
    let cases = [
        (
            "bad-colour.toml",
            "5:22: unknown colour 'chartreuse' (use a palette name, '#rrggbb', an ANSI name or a 256-colour index)".to_string(),
        ),
        (
            "bad-role.toml",
            "5:1: unknown role 'health.fine' (see themes/default.toml for the list)".to_string(),
        ),
        (
            "bad-inherits.toml",
            format!(
                "2:12: inherits: no shipped theme or file 'solarized' (shipped themes: {shipped})"
            ),
        ),
        (
            "bad-syntax.toml",
            "5:20: invalid basic string, expected `\"`".to_string(),
        ),
    ];
    let default = Theme::builtin();
    for (file, message) in cases {
        let path = fixture_path(file);
        let loaded = load(Some(&path.display().to_string()), None);
        let shown: Vec<String> = loaded
            .diagnostics
            .iter()
            .map(|d| {
                d.to_string()
                    .replace(&format!("{}/", env!("CARGO_MANIFEST_DIR")), "")
            })
            .collect();
        assert_eq!(
            shown,
            [format!("tests/fixtures/themes/{file}:{message}")],
            "{file}"
        );
        // Loading carries on: the broken entry keeps the default's style.
        assert_eq!(
            loaded.theme.style(Role::HealthOk),
            match file {
                // The file's own entry still applies ("blue" is a palette name).
                "bad-inherits.toml" => Style::default().fg(Color::Rgb(0x61, 0xaf, 0xef)),
                _ => default.style(Role::HealthOk),
            },
            "{file}"
        );
    }
}

#[test]
fn no_colour_renders_no_colour_at_all() {
    for name in shipped_names() {
        let t = theme(name).degrade(ColorDepth::None);
        for v in ViewId::ALL {
            let buf = render_with(&view(v), &t, 80, 24);
            for cell in buf.content() {
                assert_eq!(
                    (cell.fg, cell.bg, cell.underline_color),
                    (Color::Reset, Color::Reset, Color::Reset),
                    "{name} {v:?}"
                );
            }
        }
    }
    // NO_COLOR in the environment means ColorDepth::None.
    let env = |k: &str| (k == "NO_COLOR").then(|| "1".to_string());
    assert_eq!(ColorDepth::detect(env), ColorDepth::None);
    assert_eq!(
        Theme::builtin().degrade(ColorDepth::detect(env)),
        Theme::no_color()
    );
}

#[test]
fn ansi16_renders_only_the_sixteen_named_colours() {
    for name in shipped_names() {
        let t16 = theme(name).degrade(ColorDepth::Ansi16);
        let t256 = theme(name).degrade(ColorDepth::Ansi256);
        for v in ViewId::ALL {
            let buf = render_with(&view(v), &t16, 80, 24);
            let colours = buffer_colours(&buf);
            assert!(!colours.is_empty(), "{name} {v:?}");
            if let Some(c) = colours.iter().find(|c| !is_ansi16(**c)) {
                panic!("{name} {v:?}: {c:?} is not one of the 16 ANSI colours");
            }
            let buf = render_with(&view(v), &t256, 80, 24);
            assert!(
                buffer_colours(&buf)
                    .iter()
                    .all(|c| !matches!(c, Color::Rgb(..))),
                "{name} {v:?}: RGB colour at 256 colours"
            );
        }
        // Health states stay apart at 16 colours.
        let fg = |r: Role| t16.style(r).fg;
        let (ok, degraded, down) = (
            fg(Role::HealthOk),
            fg(Role::HealthDegraded),
            fg(Role::HealthDown),
        );
        assert!(
            ok != degraded && ok != down && degraded != down,
            "{name}: {ok:?} {degraded:?} {down:?}"
        );
    }
}

/// The row of the buffer as text.
fn row(buf: &Buffer, y: usize) -> String {
    buffer_text(buf)
        .lines()
        .nth(y)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn production_is_framed_and_staging_is_not() {
    let t = Theme::builtin();
    let frame_fg = t.style(Role::BorderProduction).fg;
    for (w, h) in [(80u16, 24u16), (140, 40)] {
        let buf = render_with(&view(ViewId::Overview), &t, w, h);
        let (top, bottom) = (row(&buf, 0), row(&buf, usize::from(h) - 1));
        for line in [&top, &bottom] {
            assert!(line.contains(" PRODUCTION · prod "), "{w}x{h}: {line}");
            assert!(line.contains('━'), "{w}x{h}: {line}");
        }
        assert_eq!(buf[(1, 0)].fg, frame_fg.unwrap_or(Color::Reset));
        // Sides only where there is room beyond 80 columns.
        let sides = buf[(0, 5)].symbol() == "┃" && buf[(w - 1, 5)].symbol() == "┃";
        assert_eq!(sides, w > 80, "{w}x{h}");
        // The tab bar and the status bar are inside the frame.
        assert!(row(&buf, 1).contains("Overview"), "{}", row(&buf, 1));
        assert!(
            row(&buf, usize::from(h) - 2).contains("timed out"),
            "{}",
            row(&buf, usize::from(h) - 2)
        );
    }
    let mut staging = view(ViewId::Overview);
    staging.env.production = false;
    staging.env.name = "staging".into();
    let text = buffer_text(&render_with(&staging, &t, 80, 24));
    assert!(
        !text.contains("PRODUCTION") && !text.contains('━'),
        "{text}"
    );
    assert!(row(&render_with(&staging, &t, 80, 24), 0).contains("Overview"));
}

#[test]
fn the_environment_badge_takes_the_accent() {
    let mut staging = view(ViewId::Overview);
    staging.env.production = false;
    staging.env.name = "staging".into();
    let t = Theme::builtin()
        .with_accent("#e5c07b")
        .unwrap_or_else(|e| panic!("{e}"));
    let buf = render_with(&staging, &t, 80, 24);
    let top = row(&buf, 0);
    let x = top
        .find("staging")
        .map(|i| top[..i].chars().count())
        .unwrap_or(0) as u16;
    assert_eq!(buf[(x, 0)].bg, Color::Rgb(0xe5, 0xc0, 0x7b), "{top}");
    assert_eq!(buf[(x, 0)].fg, Color::Black);
    assert!(Theme::builtin().with_accent("not-a-colour").is_err());
}

/// SGR parameters for a colour, foreground (`base` 30) or background (40).
fn sgr(c: Color, base: u8) -> String {
    let named = |i: u8| {
        if i < 8 {
            format!("{}", base + i)
        } else {
            format!("{}", base + 60 + i - 8)
        }
    };
    match c {
        Color::Reset => format!("{}", base + 9),
        Color::Rgb(r, g, b) => format!("{};2;{r};{g};{b}", base + 8),
        Color::Indexed(i) => format!("{};5;{i}", base + 8),
        Color::Black => named(0),
        Color::Red => named(1),
        Color::Green => named(2),
        Color::Yellow => named(3),
        Color::Blue => named(4),
        Color::Magenta => named(5),
        Color::Cyan => named(6),
        Color::Gray => named(7),
        Color::DarkGray => named(8),
        Color::LightRed => named(9),
        Color::LightGreen => named(10),
        Color::LightYellow => named(11),
        Color::LightBlue => named(12),
        Color::LightMagenta => named(13),
        Color::LightCyan => named(14),
        Color::White => named(15),
    }
}

/// The buffer as text with SGR escapes, to print in a real terminal.
fn ansi(buf: &Buffer) -> String {
    let mut out = String::new();
    let width = usize::from(buf.area.width);
    for (i, cell) in buf.content().iter().enumerate() {
        let m = cell.modifier;
        let mut codes = vec!["0".to_string(), sgr(cell.fg, 30), sgr(cell.bg, 40)];
        for (flag, code) in [
            (Modifier::BOLD, "1"),
            (Modifier::DIM, "2"),
            (Modifier::ITALIC, "3"),
            (Modifier::UNDERLINED, "4"),
            (Modifier::REVERSED, "7"),
        ] {
            if m.contains(flag) {
                codes.push(code.to_string());
            }
        }
        out.push_str(&format!("\x1b[{}m{}", codes.join(";"), cell.symbol()));
        if (i + 1) % width == 0 {
            out.push_str("\x1b[0m\n");
        }
    }
    out
}

#[test]
#[ignore = "prints the overview in every theme, to look at"]
fn theme_preview() {
    for name in shipped_names() {
        for depth in [ColorDepth::TrueColor, ColorDepth::Ansi16] {
            let t = theme(name).degrade(depth);
            println!("── {name} ({depth:?}) ──");
            print!(
                "{}",
                ansi(&render_with(&view(ViewId::Overview), &t, 80, 24))
            );
        }
    }
}
