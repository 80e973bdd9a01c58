//! Remote text is never allowed to drive the terminal. Every log line and remote
//! string passes through `sanitize` before it is stored for display: escape
//! sequences and control characters become visible, inert symbols.

/// Returns `input` with every control character replaced by a visible symbol:
/// C0 controls become their Unicode "control picture" (ESC shows as `␛`), DEL
/// shows as `␡`, C1 controls and bidirectional overrides as `�`. A tab becomes a
/// space. The text after an escape stays visible, so `\x1b[31m` reads `␛[31m`:
/// an operator can see that someone tried.
pub fn sanitize(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    sanitize_into(&mut out, input);
    out
}

/// Appends `input`, sanitized as `sanitize` does, to `out`: the log store
/// writes lines straight into its text chunks, with no string per line.
pub fn sanitize_into(out: &mut String, input: &str) {
    // Fast path: printable ASCII (most log lines) needs no char decoding.
    if input.bytes().all(|b| (0x20..0x7f).contains(&b)) || input.chars().all(is_plain) {
        out.push_str(input);
        return;
    }
    out.extend(input.chars().map(replace));
}

fn is_plain(c: char) -> bool {
    !(c.is_control() || is_bidi_control(c))
}

fn replace(c: char) -> char {
    match c {
        '\t' => ' ',
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        c if c.is_control() || is_bidi_control(c) => '\u{fffd}',
        c => c,
    }
}

/// Bidi embedding, override and isolate controls, which can reorder what an
/// operator reads.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(sanitize("GET /health 200 3ms"), "GET /health 200 3ms");
        assert_eq!(sanitize("ünïcödé ✔"), "ünïcödé ✔");
    }

    #[test]
    fn escapes_become_visible_and_inert() {
        let hostile = "\x1b[2J\x1b]0;pwned\x07\x1b[31mred\r\nnext\x08\u{9b}31m\u{202e}txt";
        let clean = sanitize(hostile);
        assert!(!clean.chars().any(|c| c.is_control()), "{clean:?}");
        assert_eq!(clean, "␛[2J␛]0;pwned␇␛[31mred␍␊next␈\u{fffd}31m\u{fffd}txt");
    }

    #[test]
    fn sanitize_into_appends() {
        let mut out = String::from("x ");
        super::sanitize_into(&mut out, "a\x1b[1mb");
        super::sanitize_into(&mut out, " plain");
        assert_eq!(out, "x a␛[1mb plain");
    }

    #[test]
    fn tabs_and_del() {
        assert_eq!(sanitize("a\tb\x7f"), "a b␡");
    }
}
