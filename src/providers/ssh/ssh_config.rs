//! The OpenSSH client config (`~/.ssh/config`), the subset opsdeck needs:
//! `Host` blocks with `*`/`?`/`!` patterns, `HostName`, `User`, `Port`,
//! `IdentityFile` (several, `~` and `%` tokens), `ProxyJump` (hops or an
//! alias), `UserKnownHostsFile`, `StrictHostKeyChecking`,
//! `ServerAliveInterval`, `ServerAliveCountMax`, `ConnectTimeout`. As in
//! OpenSSH the first value found for a keyword wins, so specific `Host`
//! blocks go first and `Host *` last. Other keywords are ignored; `Match`
//! blocks and `Include` are not supported and are skipped (listed in
//! [`SshConfig::skipped`]).

use std::path::{Path, PathBuf};

use super::host_pattern::list_matches;
use super::ssh_error::SshError;
use super::ssh_target::{
    DEFAULT_CONNECT_TIMEOUT_SECS, DEFAULT_KEEPALIVE_MAX, DEFAULT_KEEPALIVE_SECS, SshTarget,
    StrictHostKeyChecking,
};

/// A parsed ssh client config; [`SshConfig::resolve`] turns an alias into a
/// [`SshTarget`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshConfig {
    file: PathBuf,
    home: PathBuf,
    local_user: String,
    blocks: Vec<Block>,
    skipped: Vec<(usize, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Block {
    /// Empty for a `Match` block, which never matches here.
    patterns: Vec<String>,
    settings: Vec<Setting>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Setting {
    HostName(String),
    User(String),
    Port(u16),
    IdentityFile(String),
    /// `None` for `ProxyJump none`.
    ProxyJump(Option<Vec<String>>),
    UserKnownHostsFile(Vec<String>),
    StrictHostKeyChecking(StrictHostKeyChecking),
    ServerAliveInterval(u64),
    ServerAliveCountMax(u32),
    ConnectTimeout(u64),
}

/// How deep a ProxyJump chain may go before we call it a loop.
const MAX_JUMPS: usize = 8;

impl SshConfig {
    /// `~/.ssh/config`.
    pub fn default_path() -> Option<PathBuf> {
        home_dir().map(|h| h.join(".ssh").join("config"))
    }

    /// A config with no entries: every alias resolves to itself on port 22.
    pub fn empty() -> SshConfig {
        SshConfig {
            file: PathBuf::from("<none>"),
            home: home_dir().unwrap_or_else(|| PathBuf::from("/")),
            local_user: local_user(),
            blocks: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Loads `~/.ssh/config`, or an empty config when there is none.
    pub fn load_default() -> Result<SshConfig, SshError> {
        match Self::default_path() {
            Some(path) if path.exists() => Self::load(&path),
            _ => Ok(Self::empty()),
        }
    }

    /// Loads and checks a config file; errors name `file:line`.
    pub fn load(path: &Path) -> Result<SshConfig, SshError> {
        let text = std::fs::read_to_string(path).map_err(|e| SshError::Config {
            file: path.to_path_buf(),
            line: 0,
            msg: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, path)
    }

    /// Parses config text; `file` is only used in errors.
    pub fn parse(text: &str, file: &Path) -> Result<SshConfig, SshError> {
        let mut config = SshConfig {
            file: file.to_path_buf(),
            ..Self::empty()
        };
        // Lines before the first `Host` apply to every host.
        let mut current = Block {
            patterns: vec!["*".to_string()],
            settings: Vec::new(),
        };
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let err = |msg: String| SshError::Config {
                file: file.to_path_buf(),
                line: n,
                msg,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let split_at = line
                .find(|c: char| c.is_whitespace() || c == '=')
                .unwrap_or(line.len());
            let (keyword, rest) = line.split_at(split_at);
            let rest = rest.trim_start();
            let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
            let args = split_args(rest).map_err(&err)?;
            let keyword_lc = keyword.to_ascii_lowercase();
            let one = || -> Result<String, SshError> {
                match args.as_slice() {
                    [a] => Ok(a.clone()),
                    [] => Err(err(format!("{keyword} needs a value"))),
                    _ => Err(err(format!(
                        "{keyword} takes one value, got {}",
                        args.len()
                    ))),
                }
            };
            let number = |what: &str| -> Result<u64, SshError> {
                let v = one()?;
                v.parse::<u64>()
                    .map_err(|_| err(format!("{keyword}: {v:?} is not {what}")))
            };
            let setting = match keyword_lc.as_str() {
                "host" => {
                    if args.is_empty() {
                        return Err(err("Host needs at least one pattern".into()));
                    }
                    config.blocks.push(std::mem::replace(
                        &mut current,
                        Block {
                            patterns: args,
                            settings: Vec::new(),
                        },
                    ));
                    continue;
                }
                "match" => {
                    config
                        .skipped
                        .push((n, "Match (not supported; block skipped)".into()));
                    config.blocks.push(std::mem::replace(
                        &mut current,
                        Block {
                            patterns: Vec::new(),
                            settings: Vec::new(),
                        },
                    ));
                    continue;
                }
                "include" => {
                    config.skipped.push((n, "Include (not supported)".into()));
                    continue;
                }
                "hostname" => Setting::HostName(one()?),
                "user" => Setting::User(one()?),
                "port" => {
                    let v = one()?;
                    match v.parse::<u16>() {
                        Ok(p) if p > 0 => Setting::Port(p),
                        _ => return Err(err(format!("Port: {v:?} is not a port number"))),
                    }
                }
                "identityfile" => Setting::IdentityFile(one()?),
                "proxyjump" => {
                    let v = one()?;
                    if v.eq_ignore_ascii_case("none") {
                        Setting::ProxyJump(None)
                    } else {
                        let hops: Vec<String> =
                            v.split(',').map(|h| h.trim().to_string()).collect();
                        for hop in &hops {
                            parse_hop(hop).map_err(|m| err(format!("ProxyJump: {m}")))?;
                        }
                        Setting::ProxyJump(Some(hops))
                    }
                }
                "userknownhostsfile" => {
                    if args.is_empty() {
                        return Err(err("UserKnownHostsFile needs a value".into()));
                    }
                    Setting::UserKnownHostsFile(args.clone())
                }
                "stricthostkeychecking" => {
                    let v = one()?;
                    Setting::StrictHostKeyChecking(match v.to_ascii_lowercase().as_str() {
                        "ask" => StrictHostKeyChecking::Ask,
                        "yes" | "true" => StrictHostKeyChecking::Yes,
                        "accept-new" => StrictHostKeyChecking::AcceptNew,
                        "no" | "false" | "off" => StrictHostKeyChecking::No,
                        _ => {
                            return Err(err(format!(
                                "StrictHostKeyChecking: {v:?} is not one of yes, no, ask, accept-new"
                            )));
                        }
                    })
                }
                "serveraliveinterval" => {
                    Setting::ServerAliveInterval(number("a number of seconds")?)
                }
                "serveralivecountmax" => {
                    let n = number("a count")?;
                    Setting::ServerAliveCountMax(u32::try_from(n).unwrap_or(u32::MAX))
                }
                "connecttimeout" => Setting::ConnectTimeout(number("a number of seconds")?),
                _ => continue,
            };
            current.settings.push(setting);
        }
        config.blocks.push(current);
        Ok(config)
    }

    /// Uses `home` for `~` and `%d`, and `user` as the local user name.
    pub fn with_home(mut self, home: &Path, user: &str) -> SshConfig {
        self.home = home.to_path_buf();
        self.local_user = user.to_string();
        self
    }

    /// The file this config came from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Lines that were skipped because opsdeck does not support them.
    pub fn skipped(&self) -> &[(usize, String)] {
        &self.skipped
    }

    /// The `Host` aliases without wildcards or negation, in file order: the
    /// hosts a user can pick.
    pub fn aliases(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for b in &self.blocks {
            for p in &b.patterns {
                if !p.contains(['*', '?', '!']) && !out.contains(p) {
                    out.push(p.clone());
                }
            }
        }
        out
    }

    /// Everything needed to connect to `alias`.
    pub fn resolve(&self, alias: &str) -> SshTarget {
        self.resolve_inner(alias, &mut vec![alias.to_ascii_lowercase()])
    }

    fn resolve_inner(&self, alias: &str, chain: &mut Vec<String>) -> SshTarget {
        let name = alias.to_ascii_lowercase();
        let mut hostname = None;
        let mut user = None;
        let mut port = None;
        let mut identity_files: Vec<String> = Vec::new();
        let mut proxy_jump: Option<Option<Vec<String>>> = None;
        let mut known_hosts = None;
        let mut strict = None;
        let mut keepalive = None;
        let mut keepalive_max = None;
        let mut connect_timeout = None;
        for block in &self.blocks {
            if !list_matches(block.patterns.iter().map(String::as_str), &name) {
                continue;
            }
            for s in &block.settings {
                match s {
                    Setting::HostName(v) => {
                        hostname.get_or_insert_with(|| v.clone());
                    }
                    Setting::User(v) => {
                        user.get_or_insert_with(|| v.clone());
                    }
                    Setting::Port(v) => {
                        port.get_or_insert(*v);
                    }
                    Setting::IdentityFile(v) => {
                        if !identity_files.contains(v) {
                            identity_files.push(v.clone());
                        }
                    }
                    Setting::ProxyJump(v) => {
                        proxy_jump.get_or_insert_with(|| v.clone());
                    }
                    Setting::UserKnownHostsFile(v) => {
                        known_hosts.get_or_insert_with(|| v.clone());
                    }
                    Setting::StrictHostKeyChecking(v) => {
                        strict.get_or_insert(*v);
                    }
                    Setting::ServerAliveInterval(v) => {
                        keepalive.get_or_insert(*v);
                    }
                    Setting::ServerAliveCountMax(v) => {
                        keepalive_max.get_or_insert(*v);
                    }
                    Setting::ConnectTimeout(v) => {
                        connect_timeout.get_or_insert(*v);
                    }
                }
            }
        }
        let hostname = hostname
            .map(|h| h.replace("%h", alias).replace("%%", "%"))
            .unwrap_or_else(|| alias.to_string());
        let user = user.unwrap_or_else(|| self.local_user.clone());
        let port = port.unwrap_or(22);
        let tokens = Tokens {
            home: &self.home,
            local_user: &self.local_user,
            user: &user,
            hostname: &hostname,
            alias,
            port,
        };
        let identity_files = if identity_files.is_empty() {
            ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|f| self.home.join(".ssh").join(f))
                .collect()
        } else {
            identity_files.iter().map(|f| tokens.path(f)).collect()
        };
        let known_hosts = match known_hosts {
            Some(files) if files.len() == 1 && files[0].eq_ignore_ascii_case("none") => Vec::new(),
            Some(files) => files.iter().map(|f| tokens.path(f)).collect(),
            None => vec![
                self.home.join(".ssh").join("known_hosts"),
                self.home.join(".ssh").join("known_hosts2"),
            ],
        };
        let mut target = SshTarget {
            alias: alias.to_string(),
            hostname,
            port,
            user,
            identity_files,
            proxy_jump: None,
            known_hosts,
            strict_host_key_checking: strict.unwrap_or_default(),
            keepalive_secs: keepalive.unwrap_or(DEFAULT_KEEPALIVE_SECS),
            keepalive_max: keepalive_max.unwrap_or(DEFAULT_KEEPALIVE_MAX),
            connect_timeout_secs: connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT_SECS),
        };
        if let Some(Some(hops)) = proxy_jump {
            target.proxy_jump = self.resolve_hops(&hops, chain).map(Box::new);
        }
        target
    }

    /// The last hop of `hops` (the one that reaches the target), tunnelled
    /// through the earlier ones. `None` when following it would loop.
    fn resolve_hops(&self, hops: &[String], chain: &mut Vec<String>) -> Option<SshTarget> {
        let (last, earlier) = hops.split_last()?;
        let (user, host, port) = parse_hop(last).ok()?;
        let key = host.to_ascii_lowercase();
        if chain.contains(&key) || chain.len() > MAX_JUMPS {
            tracing::warn!(hop = %last, "ProxyJump loop; not following it further");
            return None;
        }
        chain.push(key);
        let mut hop = self.resolve_inner(&host, chain);
        chain.pop();
        if let Some(u) = user {
            hop.user = u;
        }
        if let Some(p) = port {
            hop.port = p;
        }
        if !earlier.is_empty() {
            // An explicit chain overrides the hop's own ProxyJump, as `ssh -J a,b` does.
            hop.proxy_jump = self.resolve_hops(earlier, chain).map(Box::new);
        }
        Some(hop)
    }
}

/// `[user@]host[:port]`, with `[v6addr]:port` allowed.
fn parse_hop(hop: &str) -> Result<(Option<String>, String, Option<u16>), String> {
    let hop = hop.strip_prefix("ssh://").unwrap_or(hop);
    let (user, rest) = match hop.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, hop),
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (h, after) = inner
            .split_once(']')
            .ok_or_else(|| format!("{hop:?}: missing ']'"))?;
        (h, after.strip_prefix(':'))
    } else if rest.matches(':').count() == 1 {
        let (h, p) = rest.split_once(':').unwrap_or((rest, ""));
        (h, Some(p))
    } else {
        (rest, None)
    };
    if host.is_empty() {
        return Err(format!("{hop:?}: no host"));
    }
    let port = match port {
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("{hop:?}: {p:?} is not a port number")),
        },
        None => None,
    };
    Ok((user, host.to_string(), port))
}

/// Splits arguments on whitespace, honouring double and single quotes.
fn split_args(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            break;
        };
        if first == '#' {
            break;
        }
        let mut arg = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == first {
                    closed = true;
                    break;
                }
                if c == '\\' && chars.peek().is_some_and(|n| *n == first || *n == '\\') {
                    if let Some(n) = chars.next() {
                        arg.push(n);
                    }
                    continue;
                }
                arg.push(c);
            }
            if !closed {
                return Err(format!("unterminated {first} quote"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                arg.push(c);
                chars.next();
            }
        }
        out.push(arg);
    }
    Ok(out)
}

/// The `%` tokens and `~` of IdentityFile and UserKnownHostsFile.
struct Tokens<'a> {
    home: &'a Path,
    local_user: &'a str,
    user: &'a str,
    hostname: &'a str,
    alias: &'a str,
    port: u16,
}

impl Tokens<'_> {
    fn path(&self, raw: &str) -> PathBuf {
        let mut out = String::new();
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some('d') => out.push_str(&self.home.to_string_lossy()),
                Some('u') => out.push_str(self.local_user),
                Some('r') => out.push_str(self.user),
                Some('h') => out.push_str(self.hostname),
                Some('n') => out.push_str(self.alias),
                Some('p') => out.push_str(&self.port.to_string()),
                Some(other) => {
                    out.push('%');
                    out.push(other);
                }
                None => out.push('%'),
            }
        }
        if out == "~" {
            self.home.to_path_buf()
        } else if let Some(rest) = out.strip_prefix("~/") {
            self.home.join(rest)
        } else {
            PathBuf::from(out)
        }
    }
}

fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
}

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
# fleet
Host bastion
    HostName bastion.example.net
    User ops
    Port 2222
    IdentityFile ~/.ssh/bastion_ed25519

Host web-a? web-b?
    HostName %h.internal
    ProxyJump bastion
    ServerAliveInterval 5

Host db-*  !db-legacy
    User=dba
    ProxyJump jump@10.0.0.9:2200
    IdentityFile ~/.ssh/db_%r
    IdentityFile "/keys/with space"
    StrictHostKeyChecking accept-new

Host chain
    ProxyJump bastion,ops2@inner:2022

Host loop-a
    ProxyJump loop-b
Host loop-b
    ProxyJump loop-a

Match host foo
    User nobody

Host *
    User deploy
    UserKnownHostsFile ~/.ssh/known_hosts /etc/opsdeck/known_hosts
    ConnectTimeout 4
    ServerAliveInterval 30
    IdentityFile ~/.ssh/id_ed25519
"#;

    fn config() -> SshConfig {
        SshConfig::parse(CONFIG, Path::new("/home/u/.ssh/config"))
            .expect("parses")
            .with_home(Path::new("/home/u"), "u")
    }

    #[test]
    fn host_with_jump_alias() {
        let t = config().resolve("web-a1");
        assert_eq!(t.alias, "web-a1");
        assert_eq!(t.hostname, "web-a1.internal");
        assert_eq!(t.port, 22);
        assert_eq!(t.user, "deploy");
        assert_eq!(t.keepalive_secs, 5, "first value wins");
        assert_eq!(t.connect_timeout_secs, 4);
        assert_eq!(
            t.identity_files,
            vec![PathBuf::from("/home/u/.ssh/id_ed25519")]
        );
        assert_eq!(
            t.known_hosts,
            vec![
                PathBuf::from("/home/u/.ssh/known_hosts"),
                PathBuf::from("/etc/opsdeck/known_hosts")
            ]
        );
        let jump = t.proxy_jump.expect("jump");
        assert_eq!(jump.alias, "bastion");
        assert_eq!(jump.hostname, "bastion.example.net");
        assert_eq!(jump.port, 2222);
        assert_eq!(jump.user, "ops");
        assert_eq!(
            jump.identity_files,
            vec![
                PathBuf::from("/home/u/.ssh/bastion_ed25519"),
                PathBuf::from("/home/u/.ssh/id_ed25519")
            ]
        );
        assert!(jump.proxy_jump.is_none());
    }

    #[test]
    fn negation_hop_and_tokens() {
        let c = config();
        let t = c.resolve("db-b");
        assert_eq!(t.user, "dba");
        assert_eq!(t.strict_host_key_checking, StrictHostKeyChecking::AcceptNew);
        assert_eq!(
            t.identity_files,
            vec![
                PathBuf::from("/home/u/.ssh/db_dba"),
                PathBuf::from("/keys/with space"),
                PathBuf::from("/home/u/.ssh/id_ed25519"),
            ]
        );
        let jump = t.proxy_jump.expect("jump");
        assert_eq!(
            (jump.user.as_str(), jump.hostname.as_str(), jump.port),
            ("jump", "10.0.0.9", 2200)
        );

        let legacy = c.resolve("db-legacy");
        assert_eq!(legacy.user, "deploy");
        assert!(legacy.proxy_jump.is_none());
        assert_eq!(legacy.strict_host_key_checking, StrictHostKeyChecking::Ask);
    }

    #[test]
    fn hop_chain_and_loops() {
        let c = config();
        let t = c.resolve("chain");
        let inner = t.proxy_jump.expect("inner hop");
        assert_eq!(
            (inner.user.as_str(), inner.hostname.as_str(), inner.port),
            ("ops2", "inner", 2022)
        );
        let outer = inner.proxy_jump.expect("outer hop");
        assert_eq!(outer.hostname, "bastion.example.net");
        assert!(outer.proxy_jump.is_none());

        let l = c.resolve("loop-a");
        let b = l.proxy_jump.expect("loop-b");
        assert_eq!(b.alias, "loop-b");
        assert!(b.proxy_jump.is_none(), "the loop back to loop-a is cut");
    }

    #[test]
    fn unknown_alias_gets_defaults() {
        let t = SshConfig::parse("", Path::new("c"))
            .expect("empty parses")
            .with_home(Path::new("/h"), "me")
            .resolve("10.1.2.3");
        assert_eq!(t.hostname, "10.1.2.3");
        assert_eq!(t.port, 22);
        assert_eq!(t.user, "me");
        assert_eq!(t.keepalive_secs, DEFAULT_KEEPALIVE_SECS);
        assert_eq!(t.known_hosts[0], PathBuf::from("/h/.ssh/known_hosts"));
        assert_eq!(t.identity_files.len(), 3);
    }

    #[test]
    fn aliases_and_skipped() {
        let c = config();
        assert_eq!(c.aliases(), vec!["bastion", "chain", "loop-a", "loop-b"]);
        assert_eq!(c.skipped().len(), 1);
        assert_eq!(c.resolve("foo").user, "deploy", "Match blocks are skipped");
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = SshConfig::parse("Host a\n  Port 99999\n", Path::new("/x/config"))
            .expect_err("bad port");
        assert_eq!(
            e,
            SshError::Config {
                file: "/x/config".into(),
                line: 2,
                msg: "Port: \"99999\" is not a port number".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "/x/config:2: Port: \"99999\" is not a port number"
        );
        let e = SshConfig::parse("\n\nHost\n", Path::new("c")).expect_err("no pattern");
        assert!(e.to_string().starts_with("c:3: "), "{e}");
        let e = SshConfig::parse("StrictHostKeyChecking maybe\n", Path::new("c"))
            .expect_err("bad value");
        assert!(
            e.to_string().starts_with("c:1: StrictHostKeyChecking"),
            "{e}"
        );
        let e = SshConfig::parse("ProxyJump a@b:x\n", Path::new("c")).expect_err("bad hop");
        assert!(e.to_string().contains("not a port"), "{e}");
        let e = SshConfig::parse("IdentityFile \"abc\n", Path::new("c")).expect_err("quote");
        assert!(e.to_string().contains("unterminated"), "{e}");
        assert!(SshConfig::load(Path::new("/nonexistent/opsdeck/config")).is_err());
    }

    #[test]
    fn hop_parsing() {
        assert_eq!(parse_hop("h"), Ok((None, "h".into(), None)));
        assert_eq!(
            parse_hop("u@h:2"),
            Ok((Some("u".into()), "h".into(), Some(2)))
        );
        assert_eq!(
            parse_hop("[::1]:2022"),
            Ok((None, "::1".into(), Some(2022)))
        );
        assert!(parse_hop("@").is_err());
    }
}
