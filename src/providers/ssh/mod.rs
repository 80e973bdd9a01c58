//! The SSH layer of the self-hosted provider: OpenSSH client config, known
//! hosts, one russh connection per host (exec, streamed lines, PTY sessions),
//! and the pool that shares those connections.

pub mod exec_output;
pub mod held_command;
mod hmac_sha1;
pub mod host_key_check;
mod host_key_verifier;
mod host_pattern;
pub mod interactive;
pub mod known_hosts;
pub mod presented_key;
pub mod pty_session;
pub mod ssh_config;
pub mod ssh_connection;
pub mod ssh_error;
pub mod ssh_pool;
pub mod ssh_shell;
pub mod ssh_target;
#[cfg(test)]
mod sshd_tests;
#[cfg(test)]
pub(crate) mod test_sshd;

pub use exec_output::ExecOutput;
pub use held_command::{HeldCommand, HoldStart};
pub(crate) use hmac_sha1::sha1;
pub use host_key_check::HostKeyCheck;
pub use interactive::run_interactive;
pub use known_hosts::{KnownHosts, fingerprint, trust};
pub use presented_key::PresentedKey;
pub use pty_session::PtySession;
pub use ssh_config::SshConfig;
pub use ssh_connection::SshConnection;
pub use ssh_error::SshError;
pub use ssh_pool::SshPool;
pub use ssh_shell::SshShell;
pub use ssh_target::{SshTarget, StrictHostKeyChecking};
