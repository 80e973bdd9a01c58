//! OpenSSH host patterns, shared by `Host` lines and known_hosts entries:
//! `*` and `?` wildcards, comma or space separated lists, `!` negation.

/// Whether `text` matches the wildcard `pattern` (`*` any run, `?` one
/// character). Case-insensitive, as OpenSSH lowercases host names.
pub(crate) fn wildcard_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    // Iterative matcher with one backtrack point for the last `*`.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether `name` matches a pattern list: at least one positive pattern
/// matches and no negated one does.
pub(crate) fn list_matches<'a>(patterns: impl IntoIterator<Item = &'a str>, name: &str) -> bool {
    let mut matched = false;
    for pattern in patterns {
        if let Some(negated) = pattern.strip_prefix('!') {
            if wildcard_matches(negated, name) {
                return false;
            }
        } else if wildcard_matches(pattern, name) {
            matched = true;
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_matches("*", "anything"));
        assert!(wildcard_matches("web-*", "web-a1"));
        assert!(wildcard_matches("web-?1", "WEB-a1"));
        assert!(!wildcard_matches("web-?1", "web-a12"));
        assert!(wildcard_matches("*.internal", "db.b.internal"));
        assert!(wildcard_matches("a*b*c", "axxbyyc"));
        assert!(!wildcard_matches("a*b*c", "axxbyy"));
        assert!(wildcard_matches("[10.0.0.*]:2222", "[10.0.0.7]:2222"));
        assert!(!wildcard_matches("", "x"));
        assert!(wildcard_matches("", ""));
    }

    #[test]
    fn negation_wins() {
        assert!(list_matches(["*", "!bastion"], "web-a1"));
        assert!(!list_matches(["*", "!bastion"], "bastion"));
        assert!(!list_matches(["!bastion"], "web-a1"));
    }
}
