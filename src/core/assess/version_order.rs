//! How versions order: naturally, so `v9 < v10` and `v1.9.0 < v1.10.0`. A
//! leading `v` before a digit is ignored (`v1.2` and `1.2` compare by their
//! numbers); runs of digits compare as numbers of any length, other text
//! compares as text, and a number sorts before text at the same place. Ties
//! (`v1.2` vs `1.2`, `01` vs `1`) fall back to the raw strings, so the order
//! is total and `Equal` only for equal strings.

use std::cmp::Ordering;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Token<'a> {
    /// Digits without leading zeros; compared by length, then digit by digit,
    /// which is numeric order without overflow. (Declared first: numbers sort
    /// before text.)
    Number(&'a str),
    Text(&'a str),
}

fn tokens(version: &str) -> Vec<Token<'_>> {
    let body = match version.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => version,
    };
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(first) = rest.chars().next() {
        let digit = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digit)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        out.push(if digit {
            let trimmed = run.trim_start_matches('0');
            Token::Number(trimmed)
        } else {
            Token::Text(run)
        });
        rest = tail;
    }
    out
}

fn cmp_token(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    match (a, b) {
        (Token::Number(x), Token::Number(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
        _ => a.cmp(b),
    }
}

/// Natural order of two version strings (a total order).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    for (x, y) in ta.iter().zip(tb.iter()) {
        let o = cmp_token(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    ta.len().cmp(&tb.len()).then_with(|| a.cmp(b))
}
