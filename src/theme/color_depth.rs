//! How many colours the terminal can show, detected from the environment, and
//! the conversion of a theme's colours down to that depth: 24-bit colours to
//! the nearest xterm-256 index or the nearest of the 16 ANSI colours, or no
//! colour at all (`NO_COLOR`).

use ratatui::style::Color;

/// The colours a terminal can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorDepth {
    /// 24-bit colour (`COLORTERM=truecolor`).
    TrueColor,
    /// The xterm 256-colour palette (`TERM=*-256color`).
    Ansi256,
    /// The 16 ANSI colours, whatever the user's terminal palette makes of them.
    Ansi16,
    /// No colour: modifiers only (`NO_COLOR`, `TERM=dumb`).
    None,
}

impl ColorDepth {
    /// Reads the depth from environment variables through `env` (pass
    /// `|k| std::env::var(k).ok()`; tests pass a map). `NO_COLOR` wins
    /// (<https://no-color.org>: set and not empty), then `COLORTERM`, then `TERM`.
    pub fn detect(env: impl Fn(&str) -> Option<String>) -> ColorDepth {
        if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return ColorDepth::None;
        }
        let colorterm = env("COLORTERM").unwrap_or_default().to_ascii_lowercase();
        if colorterm == "truecolor" || colorterm == "24bit" {
            return ColorDepth::TrueColor;
        }
        let term = env("TERM").unwrap_or_default().to_ascii_lowercase();
        if term.contains("256color") {
            ColorDepth::Ansi256
        } else if term == "dumb" {
            ColorDepth::None
        } else {
            ColorDepth::Ansi16
        }
    }

    /// Parses a depth as a user would write it on a command line or in config:
    /// `truecolor` (`24bit`), `256`, `16` or `none`.
    pub fn from_name(name: &str) -> Option<ColorDepth> {
        match name.to_ascii_lowercase().as_str() {
            "truecolor" | "24bit" => Some(ColorDepth::TrueColor),
            "256" | "ansi256" => Some(ColorDepth::Ansi256),
            "16" | "ansi16" => Some(ColorDepth::Ansi16),
            "none" | "no" | "off" => Some(ColorDepth::None),
            _ => None,
        }
    }

    /// `colour` as this depth can show it; `None` strips it.
    pub fn convert(self, colour: Color) -> Option<Color> {
        match self {
            ColorDepth::TrueColor => Some(colour),
            ColorDepth::Ansi256 => Some(match colour {
                Color::Rgb(r, g, b) => Color::Indexed(rgb_to_256(r, g, b)),
                other => other,
            }),
            ColorDepth::Ansi16 => Some(match colour {
                Color::Rgb(r, g, b) => rgb_to_16(r, g, b),
                Color::Indexed(i) => match index_to_rgb(i) {
                    Some(_) if i < 16 => ANSI16[usize::from(i)].0,
                    Some((r, g, b)) => rgb_to_16(r, g, b),
                    None => Color::Reset,
                },
                other => other,
            }),
            ColorDepth::None => None,
        }
    }
}

/// The channel values of the xterm 6×6×6 colour cube (indices 16–231).
const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// The 16 ANSI colours with xterm's default RGB values (used to read indices
/// 0–15 and to map 256-colour indices down).
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).unsigned_abs();
    // Weighted towards green, where the eye is most sensitive.
    2 * d(a.0, b.0).pow(2) + 4 * d(a.1, b.1).pow(2) + 3 * d(a.2, b.2).pow(2)
}

/// The nearest xterm-256 index: the nearest cube colour or the nearest of the
/// 24 greys (232–255), whichever is closer. Indices 0–15 are never chosen
/// because terminals redefine them.
pub fn rgb_to_256(r: u8, g: u8, b: u8) -> u8 {
    let level = |c: u8| -> usize {
        CUBE.iter()
            .enumerate()
            .min_by_key(|(_, v)| (i32::from(**v) - i32::from(c)).unsigned_abs())
            .map_or(0, |(i, _)| i)
    };
    let (ri, gi, bi) = (level(r), level(g), level(b));
    let cube = (CUBE[ri], CUBE[gi], CUBE[bi]);
    let cube_index = 16 + 36 * ri + 6 * gi + bi;

    // Greys run 8, 18, …, 238.
    let mean = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let step = (mean.saturating_sub(3) / 10).min(23);
    let grey_value = (8 + 10 * step) as u8;
    let grey = (grey_value, grey_value, grey_value);
    let grey_index = 232 + step as usize;

    let target = (r, g, b);
    let index = if distance(target, grey) < distance(target, cube) {
        grey_index
    } else {
        cube_index
    };
    u8::try_from(index).unwrap_or(u8::MAX)
}

/// The RGB value xterm gives a 256-colour index.
pub fn index_to_rgb(i: u8) -> Option<(u8, u8, u8)> {
    match i {
        0..=15 => Some(ANSI16[usize::from(i)].1),
        16..=231 => {
            let n = usize::from(i - 16);
            Some((CUBE[n / 36], CUBE[(n / 6) % 6], CUBE[n % 6]))
        }
        232..=255 => {
            let v = 8 + 10 * (i - 232);
            Some((v, v, v))
        }
    }
}

/// The ANSI colour closest in meaning to an RGB colour. Themes use soft,
/// desaturated colours that are far from xterm's pure ones in RGB distance
/// (a soft green is nearer xterm's grey than its green), so this goes by hue:
/// greys by lightness, otherwise the hue's sextant, bright when light.
pub fn rgb_to_16(r: u8, g: u8, b: u8) -> Color {
    let (rf, gf, bf) = (f64::from(r), f64::from(g), f64::from(b));
    let max = rf.max(gf).max(bf);
    let min = rf.min(gf).min(bf);
    let chroma = max - min;
    let lightness = (max + min) / 2.0;
    // Pale and dark tints (selection and alert backgrounds) are closer to
    // white or black than to xterm's saturated colours.
    if chroma < 100.0 && lightness >= 200.0 {
        return Color::White;
    }
    if chroma < 100.0 && lightness < 64.0 {
        return Color::Black;
    }
    if chroma < 40.0 {
        return if lightness < 48.0 {
            Color::Black
        } else if lightness < 144.0 {
            Color::DarkGray
        } else if lightness < 216.0 {
            Color::Gray
        } else {
            Color::White
        };
    }
    let hue = if max == rf {
        60.0 * (((gf - bf) / chroma).rem_euclid(6.0))
    } else if max == gf {
        60.0 * ((bf - rf) / chroma + 2.0)
    } else {
        60.0 * ((rf - gf) / chroma + 4.0)
    };
    // Normal blue is too dark to read on black in most palettes, so blues
    // turn bright sooner.
    let blue = (200.0..270.0).contains(&hue);
    let bright = lightness >= if blue { 120.0 } else { 160.0 };
    // Orange (from ~28°) counts as yellow: xterm has no orange, and red is
    // kept for what is broken (vermillion, ~26°, stays red).
    let pick = |normal: Color, light: Color| if bright { light } else { normal };
    if !(28.0..330.0).contains(&hue) {
        pick(Color::Red, Color::LightRed)
    } else if hue < 75.0 {
        pick(Color::Yellow, Color::LightYellow)
    } else if hue < 165.0 {
        pick(Color::Green, Color::LightGreen)
    } else if hue < 200.0 {
        pick(Color::Cyan, Color::LightCyan)
    } else if hue < 270.0 {
        pick(Color::Blue, Color::LightBlue)
    } else {
        pick(Color::Magenta, Color::LightMagenta)
    }
}

/// True for the 16 named ANSI colours (and `Reset`), the only colours a
/// 16-colour terminal shows as intended.
pub fn is_ansi16(colour: Color) -> bool {
    colour == Color::Reset || ANSI16.iter().any(|(c, _)| *c == colour)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn detects_depth_from_the_environment() {
        use ColorDepth::*;
        let cases: &[(&[(&str, &str)], ColorDepth)] = &[
            (&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")], None),
            (&[("NO_COLOR", ""), ("COLORTERM", "truecolor")], TrueColor),
            (&[("COLORTERM", "24bit"), ("TERM", "xterm")], TrueColor),
            (&[("TERM", "xterm-256color")], Ansi256),
            (&[("TERM", "tmux-256color"), ("COLORTERM", "yes")], Ansi256),
            (&[("TERM", "dumb")], None),
            (&[("TERM", "xterm")], Ansi16),
            (&[], Ansi16),
        ];
        for (vars, want) in cases {
            assert_eq!(ColorDepth::detect(env(vars)), *want, "{vars:?}");
        }
    }

    #[test]
    fn rgb_to_256_picks_cube_or_grey() {
        assert_eq!(rgb_to_256(0, 0, 0), 16);
        assert_eq!(rgb_to_256(255, 255, 255), 231);
        assert_eq!(rgb_to_256(255, 0, 0), 196);
        assert_eq!(rgb_to_256(0, 255, 0), 46);
        assert_eq!(rgb_to_256(0, 0, 255), 21);
        // #5f87af is exactly cube (1, 2, 3).
        assert_eq!(rgb_to_256(0x5f, 0x87, 0xaf), 67);
        // A dark grey lands on the grey ramp, not the coarse cube.
        assert_eq!(rgb_to_256(0x3a, 0x3a, 0x3a), 237);
        assert_eq!(index_to_rgb(237), Some((58, 58, 58)));
        // One Dark's red #e06c75 → 168 (#d75f87) is the nearest cube colour.
        assert_eq!(rgb_to_256(0xe0, 0x6c, 0x75), 168);
        // Round trip for every cube and grey index.
        for i in 16..=255u8 {
            let (r, g, b) = index_to_rgb(i).unwrap_or_default();
            assert_eq!(rgb_to_256(r, g, b), i, "index {i}");
        }
    }

    #[test]
    fn rgb_to_16_goes_by_hue_and_lightness() {
        assert_eq!(rgb_to_16(0x98, 0xc3, 0x79), Color::Green); // soft green
        assert_eq!(rgb_to_16(0xe0, 0x6c, 0x75), Color::LightRed);
        assert_eq!(rgb_to_16(0xb4, 0x23, 0x18), Color::Red);
        assert_eq!(rgb_to_16(0xe5, 0xc0, 0x7b), Color::LightYellow);
        assert_eq!(rgb_to_16(0xe6, 0x9f, 0x00), Color::Yellow); // orange
        assert_eq!(rgb_to_16(0xd5, 0x5e, 0x00), Color::Red); // vermillion
        assert_eq!(rgb_to_16(0x56, 0xb4, 0xe9), Color::LightBlue); // sky blue
        assert_eq!(rgb_to_16(0x61, 0xaf, 0xef), Color::LightBlue);
        assert_eq!(rgb_to_16(0x0b, 0x5c, 0xad), Color::Blue);
        assert_eq!(rgb_to_16(0x56, 0xb6, 0xc2), Color::Cyan);
        assert_eq!(rgb_to_16(0xc6, 0x78, 0xdd), Color::LightMagenta);
        assert_eq!(rgb_to_16(0x16, 0x18, 0x1d), Color::Black);
        assert_eq!(rgb_to_16(0x6b, 0x72, 0x80), Color::DarkGray);
        assert_eq!(rgb_to_16(0xab, 0xb2, 0xbf), Color::Gray);
        assert_eq!(rgb_to_16(0xff, 0xff, 0xff), Color::White);
        // Tinted backgrounds: a pale blue selection, a dark red alert.
        assert_eq!(rgb_to_16(0xcf, 0xe0, 0xfb), Color::White);
        assert_eq!(rgb_to_16(0x5c, 0x1f, 0x24), Color::Black);
    }

    #[test]
    fn convert_per_depth() {
        let soft_red = Color::Rgb(0xe0, 0x6c, 0x75);
        assert_eq!(ColorDepth::TrueColor.convert(soft_red), Some(soft_red));
        assert_eq!(
            ColorDepth::Ansi256.convert(soft_red),
            Some(Color::Indexed(168))
        );
        assert_eq!(ColorDepth::Ansi256.convert(Color::Blue), Some(Color::Blue));
        assert_eq!(ColorDepth::Ansi16.convert(soft_red), Some(Color::LightRed));
        assert_eq!(
            ColorDepth::Ansi16.convert(Color::Indexed(234)),
            Some(Color::Black)
        );
        assert_eq!(
            ColorDepth::Ansi16.convert(Color::Indexed(9)),
            Some(Color::LightRed)
        );
        assert_eq!(ColorDepth::None.convert(soft_red), None);
        assert_eq!(ColorDepth::from_name("256"), Some(ColorDepth::Ansi256));
        assert_eq!(ColorDepth::from_name("nope"), None);
    }
}
