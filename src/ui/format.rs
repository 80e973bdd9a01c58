//! Small text helpers shared by the views: display widths, padding and
//! truncation by terminal cells, and the units operators read (lag, rates,
//! bytes, ages). Unknown values always print as unknown, never as zero.

use ratatui::text::Span;

/// Cells a string takes on screen.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

fn char_width(c: char) -> usize {
    let mut buf = [0u8; 4];
    Span::raw(&*c.encode_utf8(&mut buf)).width()
}

/// `s` cut to at most `max` cells, ending in `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `s` cut to at most `max` cells from the start, beginning with `…` when cut,
/// for values whose end matters most (image tags, paths).
/// An artifact as people read it: `web:v1.42.3@sha256:9acd1a98ae80` from
/// `registry.example.com/team/web:v1.42.3@sha256:<64 hex>`. Registry path and
/// most of the digest go; a commit hash is cut to 12 characters.
pub fn short_artifact(artifact: &str) -> String {
    let (image, digest) = match artifact.split_once('@') {
        Some((i, d)) => (i, Some(d)),
        None => (artifact, None),
    };
    let name = image.rsplit('/').next().unwrap_or(image);
    let name = if digest.is_none() && name.len() > 12 && name.chars().all(|c| c.is_ascii_hexdigit())
    {
        &name[..12]
    } else {
        name
    };
    match digest {
        Some(d) => {
            let (algo, hex) = d.split_once(':').unwrap_or(("", d));
            let hex: String = hex.chars().take(12).collect();
            if algo.is_empty() {
                format!("{name}@{hex}")
            } else {
                format!("{name}@{algo}:{hex}")
            }
        }
        None => name.to_string(),
    }
}

pub fn truncate_start(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in s.chars().rev() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        tail.push(c);
        used += w;
    }
    let mut out = String::from("…");
    out.extend(tail.into_iter().rev());
    out
}

/// `s` broken into lines of at most `w` cells, at spaces where possible.
pub fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in s.split_inclusive(' ') {
        // A trailing space may hang past the edge; it is trimmed at the break.
        let bare = word.trim_end_matches(' ');
        let bw = width(bare);
        if used + bw > w && used > 0 {
            lines.push(line.trim_end().to_string());
            line.clear();
            used = 0;
        }
        if bw > w {
            for c in bare.chars() {
                let cw = char_width(c);
                if used + cw > w {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += cw;
            }
            line.push_str(&word[bare.len()..]);
            used += word.len() - bare.len();
        } else {
            line.push_str(word);
            used += width(word);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// `s` truncated or padded with spaces to exactly `w` cells, left-aligned.
pub fn pad(s: &str, w: usize) -> String {
    let t = truncate(s, w);
    let fill = w.saturating_sub(width(&t));
    format!("{t}{}", " ".repeat(fill))
}

/// `s` truncated or padded with spaces to exactly `w` cells, right-aligned.
pub fn pad_left(s: &str, w: usize) -> String {
    let t = truncate(s, w);
    let fill = w.saturating_sub(width(&t));
    format!("{}{t}", " ".repeat(fill))
}

/// The short form of an AZ: `ap-northeast-2a` → `2a`, `us-east-1b` → `1b`.
pub fn short_az(az: &str) -> &str {
    az.rsplit('-').next().unwrap_or(az)
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Replica lag in seconds: `0.4s`, `12s`, `3m 05s`, or `? unknown`.
pub fn lag(seconds: Option<f64>) -> String {
    match seconds {
        None => "? unknown".to_string(),
        Some(s) => seconds_value(s),
    }
}

/// Replica lag, short: `12s` or `?`.
pub fn lag_short(seconds: Option<f64>) -> String {
    match seconds {
        None => "?".to_string(),
        Some(s) => seconds_value(s),
    }
}

fn seconds_value(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.1}s")
    } else if s < 120.0 {
        format!("{s:.0}s")
    } else {
        let whole = s.round() as i64;
        format!("{}m {:02}s", whole / 60, whole % 60)
    }
}

/// A fraction as a percentage: `0.0%`, `0.42%`, `12.3%`.
pub fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if p > 0.0 && p < 1.0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Requests per second: `0`, `12.5`, `412`, `1.2k`.
pub fn rps(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Bytes: `512 B`, `1.5 KiB`, `3.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// An optional number with a unit, or `?`.
pub fn opt(v: Option<f64>, decimals: usize, unit: &str) -> String {
    match v {
        Some(v) => format!("{v:.decimals$}{unit}"),
        None => "?".to_string(),
    }
}

/// A duration as operators read it: `0.4s`, `12s`, `1m 05s`, `2h 03m`.
pub fn format_elapsed_ms(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 10_000 {
        return format!("{:.1}s", ms as f64 / 1000.0);
    }
    let s = ms / 1000;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// A target's pool state, with the time left of the load balancer's
/// deregistration delay while it drains: `draining 4m 12s`, or in a table
/// cell (`compact`, 9 columns) `drain 42s` / `drain 5m`.
pub fn target_state_text(
    t: &crate::core::fleet::Target,
    now: crate::core::Timestamp,
    compact: bool,
) -> String {
    match (t.state, t.drain_ends_at) {
        (crate::core::fleet::TargetState::Draining, Some(end)) => {
            let left = end.since(now).max(0);
            if !compact {
                format!("draining {}", format_elapsed_ms(left))
            } else if left < 100_000 {
                format!("drain {}s", (left + 999) / 1000)
            } else {
                format!("drain {}m", (left + 59_999) / 60_000)
            }
        }
        _ => t.state.label().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_are_shortened_the_way_people_read_them() {
        let img = format!(
            "registry.example.com/team/web:v1.42.3@sha256:{}",
            "ab".repeat(32)
        );
        assert_eq!(short_artifact(&img), "web:v1.42.3@sha256:abababababab");
        assert_eq!(
            short_artifact("0123456789abcdef0123456789abcdef01234567"),
            "0123456789ab"
        );
        assert_eq!(short_artifact("releases/v42"), "v42");
    }

    #[test]
    fn widths_and_truncation() {
        assert_eq!(truncate("web-a1", 10), "web-a1");
        assert_eq!(truncate("registry/web:1.4.2", 8), "registr…");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad_left("ab", 4), "  ab");
        assert_eq!(width("● ok"), 4);
        assert_eq!(truncate("日本語", 4), "日…");
        assert_eq!(
            wrap("error reconnecting to source", 12),
            vec!["error", "reconnecting", "to source"]
        );
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(truncate_start("registry/web:1.4.2", 10), "…web:1.4.2");
    }

    #[test]
    fn units() {
        assert_eq!(short_az("ap-northeast-2a"), "2a");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(123), "123");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(lag(None), "? unknown");
        assert_eq!(lag(Some(0.4)), "0.4s");
        assert_eq!(lag(Some(42.0)), "42s");
        assert_eq!(lag(Some(185.0)), "3m 05s");
        assert_eq!(percent(0.004), "0.40%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.123), "12.3%");
        assert_eq!(rps(412.3), "412");
        assert_eq!(rps(12.34), "12.3");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(format_elapsed_ms(400), "0.4s");
        assert_eq!(format_elapsed_ms(12_300), "12s");
        assert_eq!(format_elapsed_ms(65_000), "1m 05s");
        assert_eq!(format_elapsed_ms(7_380_000), "2h 03m");
    }
}
