//! Where and how to reach one host: the result of resolving an alias through
//! the ssh client config, and everything a connection needs.

use std::path::PathBuf;

/// One host as the connection sees it, after the ssh client config applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTarget {
    /// The name the user gave (the `Host` alias); errors name it.
    pub alias: String,
    /// What to connect to (`HostName`, or the alias).
    pub hostname: String,
    pub port: u16,
    pub user: String,
    /// Tried in order after the agent's identities.
    pub identity_files: Vec<PathBuf>,
    /// The bastion to tunnel through (`ProxyJump`); it may have its own.
    pub proxy_jump: Option<Box<SshTarget>>,
    /// Looked up in order; unknown keys are appended to the first.
    pub known_hosts: Vec<PathBuf>,
    pub strict_host_key_checking: StrictHostKeyChecking,
    /// `ServerAliveInterval`; 0 turns keepalives off.
    pub keepalive_secs: u64,
    /// `ServerAliveCountMax`: unanswered keepalives before the connection
    /// counts as dropped.
    pub keepalive_max: u32,
    /// `ConnectTimeout`: TCP connect and SSH handshake, each.
    pub connect_timeout_secs: u64,
}

/// What to do with a host key that no known_hosts file has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StrictHostKeyChecking {
    /// Refuse, and let the UI ask the user (`ask`, the default). A console
    /// cannot prompt mid-connection, so this refuses like `yes` and the error
    /// carries the fingerprint.
    #[default]
    Ask,
    /// Refuse unknown keys.
    Yes,
    /// Record unknown keys in the first known_hosts file and go on.
    AcceptNew,
    /// Accept unknown keys without recording them. Changed keys are refused
    /// all the same.
    No,
}

/// opsdeck's defaults where OpenSSH has none or waits too long: an ops
/// console must notice a dead host within seconds.
pub const DEFAULT_KEEPALIVE_SECS: u64 = 15;
pub const DEFAULT_KEEPALIVE_MAX: u32 = 3;
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;

impl SshTarget {
    /// A target with opsdeck's defaults and no config applied.
    pub fn new(alias: &str, hostname: &str, port: u16, user: &str) -> SshTarget {
        SshTarget {
            alias: alias.to_string(),
            hostname: hostname.to_string(),
            port,
            user: user.to_string(),
            identity_files: Vec::new(),
            proxy_jump: None,
            known_hosts: Vec::new(),
            strict_host_key_checking: StrictHostKeyChecking::Ask,
            keepalive_secs: DEFAULT_KEEPALIVE_SECS,
            keepalive_max: DEFAULT_KEEPALIVE_MAX,
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
        }
    }

    /// `hostname` or `[hostname]:port`, as known_hosts writes it.
    pub fn host_port(&self) -> String {
        host_port(&self.hostname, self.port)
    }

    /// `user@hostname:port`, with the jump chain, for logs and the pool key.
    pub fn describe(&self) -> String {
        let me = format!("{}@{}:{}", self.user, self.hostname, self.port);
        match &self.proxy_jump {
            Some(jump) => format!("{me} via {}", jump.describe()),
            None => me,
        }
    }
}

/// `host` for port 22, `[host]:port` otherwise (the known_hosts spelling).
pub fn host_port(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}
