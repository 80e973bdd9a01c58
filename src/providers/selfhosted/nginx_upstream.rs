//! The nginx upstream include file: reading its `server` lines and draining one
//! by adding or removing the `down` flag.
//!
//! Open-source nginx has no API to change an upstream at run time, so a drain is
//! an edit of this file followed by `nginx -t` and `nginx -s reload`. The edit
//! keeps the operator's file byte for byte (comments, alignment, other
//! upstreams) and touches only the one server directive, so a `diff` of the
//! change shows exactly one line.

use std::fmt;

use crate::providers::ProviderError;

/// One `server` directive inside an `upstream` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamServer {
    /// Name of the enclosing `upstream` block.
    pub upstream: String,
    /// Address as written (`127.0.1.11:8081`, `app-a.internal:8080`, `unix:/x.sock`).
    pub addr: String,
    /// `weight=N`; nginx's default is 1.
    pub weight: u32,
    pub down: bool,
    pub backup: bool,
    /// 1-based line of the `server` keyword.
    pub line: usize,
}

/// A problem in the file, with the line it is on when there is one. Turn it
/// into a `ProviderError` naming `file:line` with [`UpstreamError::at_file`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamError {
    pub line: Option<usize>,
    pub message: String,
}

impl UpstreamError {
    fn at(line: usize, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            message: message.into(),
        }
    }

    fn general(message: impl Into<String>) -> Self {
        Self {
            line: None,
            message: message.into(),
        }
    }

    /// The error as a provider error whose origin is `file:line`.
    pub fn at_file(&self, file: &str) -> ProviderError {
        let origin = match self.line {
            Some(line) => format!("{file}:{line}"),
            None => file.to_string(),
        };
        ProviderError::Failed {
            origin,
            detail: self.message.clone(),
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for UpstreamError {}

/// Every `server` of every `upstream` block, in file order.
pub fn servers(text: &str) -> Result<Vec<UpstreamServer>, UpstreamError> {
    Ok(parse(text)?.into_iter().map(|d| d.server).collect())
}

/// Returns `text` with the `down` flag of server `addr` set or cleared. Only
/// that directive changes; setting a state it already has returns `text`
/// unchanged. Fails when `addr` is in no upstream, or in several (use
/// [`set_down_in`] to say which).
pub fn set_down(text: &str, addr: &str, down: bool) -> Result<String, UpstreamError> {
    set_down_in(text, None, addr, down)
}

/// Like [`set_down`], limited to the upstream named `upstream` when given.
pub fn set_down_in(
    text: &str,
    upstream: Option<&str>,
    addr: &str,
    down: bool,
) -> Result<String, UpstreamError> {
    let directives = parse(text)?;
    let matches: Vec<&Directive> = directives
        .iter()
        .filter(|d| d.server.addr == addr && upstream.is_none_or(|u| d.server.upstream == u))
        .collect();
    let directive = match matches.as_slice() {
        [] => {
            return Err(UpstreamError::general(match upstream {
                Some(u) => format!("no server {addr} in upstream {u}"),
                None => format!("no server {addr} in any upstream"),
            }));
        }
        [one] => *one,
        several => {
            let lines: Vec<String> = several
                .iter()
                .map(|d| format!("{} (line {})", d.server.upstream, d.server.line))
                .collect();
            return Err(UpstreamError::at(
                several[0].server.line,
                format!(
                    "server {addr} appears {} times: {}; name the upstream",
                    several.len(),
                    lines.join(", ")
                ),
            ));
        }
    };
    let mut out = String::with_capacity(text.len() + 5);
    match (down, directive.down_span) {
        (true, Some(_)) | (false, None) => return Ok(text.to_string()),
        (true, None) => {
            out.push_str(&text[..directive.last_end]);
            out.push_str(" down");
            out.push_str(&text[directive.last_end..]);
        }
        (false, Some((start, end))) => {
            // Drop the flag and the blank before it, keeping what follows.
            out.push_str(&text[..start]);
            out.push_str(&text[end..]);
        }
    }
    Ok(out)
}

/// A parsed server directive plus the byte positions an edit needs.
struct Directive {
    server: UpstreamServer,
    /// From the end of the token before `down` to the end of `down`.
    down_span: Option<(usize, usize)>,
    /// End of the directive's last word, where ` down` is inserted.
    last_end: usize,
}

#[derive(Debug)]
enum Token {
    Word {
        text: String,
        start: usize,
        end: usize,
    },
    Semicolon(usize),
    Open(usize),
    Close(usize),
}

struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// 1-based line of byte offset `pos`.
    fn of(&self, pos: usize) -> usize {
        self.starts.partition_point(|&s| s <= pos)
    }
}

fn tokenize(text: &str, lines: &Lines) -> Result<Vec<Token>, UpstreamError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b';' => {
                tokens.push(Token::Semicolon(i));
                i += 1;
            }
            b'{' => {
                tokens.push(Token::Open(i));
                i += 1;
            }
            b'}' => {
                tokens.push(Token::Close(i));
                i += 1;
            }
            b'"' | b'\'' => {
                let start = i;
                i += 1;
                let mut value = Vec::new();
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(UpstreamError::at(
                                lines.of(start),
                                "unterminated quoted string",
                            ));
                        }
                        Some(b'\\') if i + 1 < bytes.len() => {
                            value.push(bytes[i + 1]);
                            i += 2;
                        }
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(&b) => {
                            value.push(b);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Word {
                    text: String::from_utf8_lossy(&value).into_owned(),
                    start,
                    end: i,
                });
            }
            _ => {
                let start = i;
                while i < bytes.len()
                    && !matches!(
                        bytes[i],
                        b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b'}' | b'"' | b'\''
                    )
                {
                    i += 1;
                }
                tokens.push(Token::Word {
                    text: text[start..i].to_string(),
                    start,
                    end: i,
                });
            }
        }
    }
    Ok(tokens)
}

/// Words of one statement: (text, start, end).
type Words = Vec<(String, usize, usize)>;

fn parse(text: &str) -> Result<Vec<Directive>, UpstreamError> {
    let lines = Lines::new(text);
    let tokens = tokenize(text, &lines)?;
    // Enclosing blocks: (directive name, first argument, line).
    let mut blocks: Vec<(String, String, usize)> = Vec::new();
    let mut words: Words = Vec::new();
    let mut out = Vec::new();
    for token in tokens {
        match token {
            Token::Word { text, start, end } => words.push((text, start, end)),
            Token::Open(pos) => {
                let Some((name, start, _)) = words.first() else {
                    return Err(UpstreamError::at(lines.of(pos), "`{` without a directive"));
                };
                let arg = words.get(1).map(|w| w.0.clone()).unwrap_or_default();
                if name == "upstream" && arg.is_empty() {
                    return Err(UpstreamError::at(
                        lines.of(*start),
                        "upstream without a name",
                    ));
                }
                blocks.push((name.clone(), arg, lines.of(*start)));
                words.clear();
            }
            Token::Close(pos) => {
                if let Some((name, _, _)) = words.first() {
                    return Err(UpstreamError::at(
                        lines.of(pos),
                        format!("directive `{name}` is not terminated by `;`"),
                    ));
                }
                if blocks.pop().is_none() {
                    return Err(UpstreamError::at(lines.of(pos), "unexpected `}`"));
                }
            }
            Token::Semicolon(pos) => {
                let in_upstream = blocks.last().filter(|b| b.0 == "upstream");
                if let (Some((_, upstream, _)), Some((name, _, _))) = (in_upstream, words.first())
                    && name == "server"
                {
                    out.push(server_directive(upstream, &words, &lines)?);
                } else if words.is_empty() {
                    return Err(UpstreamError::at(lines.of(pos), "empty directive `;`"));
                }
                words.clear();
            }
        }
    }
    if let Some((name, _, start)) = words.first() {
        return Err(UpstreamError::at(
            lines.of(*start),
            format!("directive `{name}` is not terminated by `;`"),
        ));
    }
    if let Some((name, arg, line)) = blocks.last() {
        return Err(UpstreamError::at(
            *line,
            format!("block `{name} {arg}` is not closed by `}}`"),
        ));
    }
    Ok(out)
}

fn server_directive(
    upstream: &str,
    words: &Words,
    lines: &Lines,
) -> Result<Directive, UpstreamError> {
    let line = lines.of(words[0].1);
    let Some((addr, _, _)) = words.get(1) else {
        return Err(UpstreamError::at(line, "server without an address"));
    };
    let mut server = UpstreamServer {
        upstream: upstream.to_string(),
        addr: addr.clone(),
        weight: 1,
        down: false,
        backup: false,
        line,
    };
    let mut down_span = None;
    for (i, (word, start, end)) in words.iter().enumerate().skip(2) {
        if let Some(weight) = word.strip_prefix("weight=") {
            server.weight = match weight.parse::<u32>() {
                Ok(w) if w > 0 => w,
                _ => {
                    return Err(UpstreamError::at(
                        lines.of(*start),
                        format!("server {addr}: invalid weight `{weight}`"),
                    ));
                }
            };
        } else if word == "down" {
            server.down = true;
            down_span = Some((words[i - 1].2, *end));
        } else if word == "backup" {
            server.backup = true;
        }
        // max_fails=, fail_timeout=, max_conns=, slow_start=, resolve, ... are kept as written.
    }
    let last_end = words.last().map_or(0, |w| w.2);
    Ok(Directive {
        server,
        down_span,
        last_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# managed by opsdeck: backends of the web tier
upstream web {
    server 127.0.1.11:8081 weight=3 max_fails=2 fail_timeout=5s;   # app-a1
    server 127.0.2.11:8081 weight=2;
    server 127.0.2.12:8081 down;  # app-b2, broken disk
    server 127.0.9.9:8081 backup;
    keepalive 16;
}

upstream api {
    server 127.0.1.11:9000
        weight=5
        down;
    server unix:/run/api.sock;
}
";

    #[test]
    fn lists_servers_of_every_upstream() {
        let s = servers(FILE).expect("parses");
        let summary: Vec<(&str, &str, u32, bool, bool, usize)> = s
            .iter()
            .map(|s| {
                (
                    s.upstream.as_str(),
                    s.addr.as_str(),
                    s.weight,
                    s.down,
                    s.backup,
                    s.line,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("web", "127.0.1.11:8081", 3, false, false, 3),
                ("web", "127.0.2.11:8081", 2, false, false, 4),
                ("web", "127.0.2.12:8081", 1, true, false, 5),
                ("web", "127.0.9.9:8081", 1, false, true, 6),
                ("api", "127.0.1.11:9000", 5, true, false, 11),
                ("api", "unix:/run/api.sock", 1, false, false, 14),
            ]
        );
    }

    fn changed_lines(a: &str, b: &str) -> Vec<(String, String)> {
        assert_eq!(a.lines().count(), b.lines().count());
        a.lines()
            .zip(b.lines())
            .filter(|(x, y)| x != y)
            .map(|(x, y)| (x.to_string(), y.to_string()))
            .collect()
    }

    #[test]
    fn drain_changes_only_that_line_and_is_idempotent() {
        let drained = set_down(FILE, "127.0.2.11:8081", true).expect("drains");
        assert_eq!(
            changed_lines(FILE, &drained),
            vec![(
                "    server 127.0.2.11:8081 weight=2;".to_string(),
                "    server 127.0.2.11:8081 weight=2 down;".to_string()
            )]
        );
        assert_eq!(
            set_down(&drained, "127.0.2.11:8081", true).as_deref(),
            Ok(drained.as_str())
        );
        let back = set_down(&drained, "127.0.2.11:8081", false).expect("undrains");
        assert_eq!(back, FILE);
        assert_eq!(
            set_down(FILE, "127.0.2.11:8081", false).as_deref(),
            Ok(FILE)
        );
    }

    #[test]
    fn undrain_keeps_trailing_comment() {
        let up = set_down(FILE, "127.0.2.12:8081", false).expect("undrains");
        assert_eq!(
            changed_lines(FILE, &up),
            vec![(
                "    server 127.0.2.12:8081 down;  # app-b2, broken disk".to_string(),
                "    server 127.0.2.12:8081;  # app-b2, broken disk".to_string()
            )]
        );
        let again = set_down(&up, "127.0.2.12:8081", true).expect("drains");
        assert_eq!(again, FILE);
    }

    #[test]
    fn multi_line_directive_and_upstream_choice() {
        let err = set_down(FILE, "127.0.1.11:8081", true);
        assert!(err.is_ok(), "{err:?}");
        let up = set_down_in(FILE, Some("api"), "127.0.1.11:9000", false).expect("undrains");
        let s = servers(&up).expect("parses");
        assert!(!s[4].down);
        assert_eq!(s[4].weight, 5);
        assert!(up.contains("        weight=5;\n"));
    }

    #[test]
    fn ambiguous_and_missing_addresses_are_errors() {
        let twice = "upstream a { server 10.0.0.1:80; }\nupstream b { server 10.0.0.1:80; }\n";
        let err = set_down(twice, "10.0.0.1:80", true).expect_err("ambiguous");
        assert!(err.message.contains("2 times"), "{err}");
        let ok = set_down_in(twice, Some("b"), "10.0.0.1:80", true).expect("named");
        assert_eq!(
            ok,
            "upstream a { server 10.0.0.1:80; }\nupstream b { server 10.0.0.1:80 down; }\n"
        );
        let err = set_down(FILE, "10.9.9.9:80", true).expect_err("missing");
        assert_eq!(err.to_string(), "no server 10.9.9.9:80 in any upstream");
        assert_eq!(
            err.at_file("/etc/nginx/upstream.conf").source_name(),
            "/etc/nginx/upstream.conf"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let cases = [
            (
                "upstream web {\n  server 10.0.0.1:80\n}\n",
                3,
                "not terminated",
            ),
            ("upstream web {\n  server 10.0.0.1:80;\n", 1, "not closed"),
            (
                "upstream web {\n  server 10.0.0.1:80 weight=x;\n}\n",
                2,
                "invalid weight",
            ),
            ("upstream web {\n  server;\n}\n", 2, "without an address"),
            ("}\n", 1, "unexpected"),
            (
                "upstream web {\n server \"10.0.0.1:80;\n}\n",
                2,
                "unterminated",
            ),
        ];
        for (text, line, needle) in cases {
            let err = servers(text).expect_err(text);
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
            assert!(err.message.contains(needle), "{text:?}: {err}");
        }
        let err = servers("upstream web {\n  server 10.0.0.1:80 weight=0;\n}\n").expect_err("zero");
        let provider = err.at_file("conf/upstream.conf");
        assert_eq!(provider.source_name(), "conf/upstream.conf:2");
    }

    #[test]
    fn server_blocks_outside_upstreams_are_not_backends() {
        let text =
            "upstream web { server 10.0.0.1:80; }\nserver {\n  listen 80;\n  server_name x;\n}\n";
        let s = servers(text).expect("parses");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].addr, "10.0.0.1:80");
    }

    #[test]
    fn lab_upstream_file() {
        let test = "nginx_upstream::lab_upstream_file";
        let Some(lab) = crate::providers::selfhosted::lab_env::LabEnv::load(test) else {
            return;
        };
        let Some(path) = lab.get("LAB_UPSTREAM_FILE") else {
            crate::providers::selfhosted::lab_env::skip(test);
            return;
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            crate::providers::selfhosted::lab_env::skip(test);
            return;
        };
        let before = servers(&text)
            .map_err(|e| e.at_file(path))
            .expect("lab file parses");
        println!("{before:?}");
        assert_eq!(before.len(), 4);
        assert!(before.iter().all(|s| s.upstream == "web"));
        // Drain and undrain in memory only: the real file belongs to the lab.
        let addr = before[2].addr.clone();
        let drained = set_down(&text, &addr, !before[2].down).expect("toggles");
        assert_eq!(changed_lines(&text, &drained).len(), 1);
        let back = set_down(&drained, &addr, before[2].down).expect("toggles back");
        assert_eq!(back, text);
    }
}
