//! One authenticated SSH connection (russh) to one host, possibly tunnelled
//! through a ProxyJump bastion. Many channels share it: commands with a
//! deadline, streamed lines (`tail -F`), and PTY sessions. Nothing here can
//! hang: connecting, authenticating, opening channels and running commands
//! all have timeouts, and keepalives notice a dead peer.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg};
use russh::{Channel, ChannelMsg, Disconnect, Sig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::exec_output::ExecOutput;
use super::held_command::{HeldCommand, HoldStart};
use super::host_key_verifier::{HostKeyVerifier, Verdict};
use super::known_hosts::{KnownHosts, fingerprint, same_family};
use super::pty_session::PtySession;
use super::ssh_error::SshError;
use super::ssh_target::SshTarget;

/// How long opening a channel (and starting its command) may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Authentication may wait on an agent (a hardware key wants a touch).
const MIN_AUTH_TIMEOUT: Duration = Duration::from_secs(30);
/// Each of stdout and stderr of `exec` keeps at most this much.
const MAX_OUTPUT: usize = 8 * 1024 * 1024;
/// A streamed "line" longer than this is cut and delivered in pieces.
const MAX_LINE: usize = 64 * 1024;
/// Lines buffered between the stream and its reader (backpressure beyond).
const LINE_BUFFER: usize = 1024;

/// An authenticated connection. Cheap to share behind an `Arc`: every
/// method takes `&self` and opens its own channel.
pub struct SshConnection {
    target: SshTarget,
    handle: Handle<HostKeyVerifier>,
    /// Kept alive while this connection tunnels through it.
    jump: Option<Arc<SshConnection>>,
}

impl std::fmt::Debug for SshConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshConnection")
            .field("target", &self.target.describe())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl SshConnection {
    /// Connects (through the target's ProxyJump chain, each hop its own
    /// connection) and authenticates.
    pub async fn connect(target: &SshTarget) -> Result<SshConnection, SshError> {
        let jump = match &target.proxy_jump {
            Some(hop) => Some(Arc::new(Box::pin(SshConnection::connect(hop)).await?)),
            None => None,
        };
        SshConnection::connect_via(target, jump).await
    }

    /// Connects to `target` through an already open `jump` connection (a
    /// direct-tcpip channel), or directly when `jump` is `None`; the
    /// target's own `proxy_jump` is not looked at.
    pub async fn connect_via(
        target: &SshTarget,
        jump: Option<Arc<SshConnection>>,
    ) -> Result<SshConnection, SshError> {
        let alias = target.alias.as_str();
        let addr = target.host_port();
        let timeout = Duration::from_secs(target.connect_timeout_secs.max(1));
        let connect_error = |detail: String| SshError::Connect {
            host: alias.to_string(),
            addr: addr.clone(),
            detail,
        };
        let config = Arc::new(client_config(target));
        let verdict = Verdict::default();
        let handler = HostKeyVerifier::new(target, verdict.clone());
        let handshake = match &jump {
            None => {
                let tcp = tokio::time::timeout(
                    timeout,
                    tokio::net::TcpStream::connect((target.hostname.as_str(), target.port)),
                )
                .await
                .map_err(|_| SshError::timeout(alias, &format!("connecting to {addr}"), timeout))?
                .map_err(|e| connect_error(e.to_string()))?;
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(host = alias, error = %e, "set_nodelay failed");
                }
                handshake(config, tcp, handler, timeout).await
            }
            Some(via) => {
                let channel = tokio::time::timeout(
                    timeout,
                    via.handle.channel_open_direct_tcpip(
                        target.hostname.as_str(),
                        u32::from(target.port),
                        "127.0.0.1",
                        0,
                    ),
                )
                .await
                .map_err(|_| {
                    SshError::timeout(
                        alias,
                        &format!("opening a tunnel to {addr} via {}", via.target.alias),
                        timeout,
                    )
                })?
                .map_err(|e| connect_error(format!("via {}: {e}", via.target.alias)))?;
                handshake(config, channel.into_stream(), handler, timeout).await
            }
        };
        let mut handle = match handshake {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                let refused = verdict.lock().ok().and_then(|mut slot| slot.take());
                return Err(refused.unwrap_or_else(|| connect_error(format!("SSH handshake: {e}"))));
            }
            Err(_) => {
                return Err(SshError::timeout(
                    alias,
                    &format!("SSH handshake with {addr}"),
                    timeout,
                ));
            }
        };
        let auth_timeout = timeout.max(MIN_AUTH_TIMEOUT);
        match tokio::time::timeout(auth_timeout, authenticate(&mut handle, target)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(SshError::timeout(
                    alias,
                    &format!("authenticating as {}", target.user),
                    auth_timeout,
                ));
            }
        }
        tracing::info!(host = alias, target = %target.describe(), "ssh connected");
        Ok(SshConnection {
            target: target.clone(),
            handle,
            jump,
        })
    }

    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    pub fn alias(&self) -> &str {
        &self.target.alias
    }

    /// The connection (or a bastion under it) has dropped; open a new one.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed() || self.jump.as_ref().is_some_and(|j| j.is_closed())
    }

    /// Says goodbye to the server; channels still open end.
    pub async fn close(&self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            self.handle.disconnect(Disconnect::ByApplication, "", "en"),
        )
        .await;
    }

    /// Runs `command` (through the login shell, like `ssh host command`) and
    /// collects its output and status. The whole call, channel opening
    /// included, is bounded by `timeout`; on timeout the command is sent
    /// SIGKILL and its channel closed.
    pub async fn exec(&self, command: &str, timeout: Duration) -> Result<ExecOutput, SshError> {
        let deadline = Instant::now() + timeout;
        let what = format!("running `{}`", shorten(command));
        let mut channel = tokio::time::timeout_at(deadline, self.start(command))
            .await
            .map_err(|_| self.timeout(&what, timeout))??;
        let mut collected = Collected::default();
        match tokio::time::timeout_at(deadline, collected.read_all(&mut channel)).await {
            Ok(()) => {}
            Err(_) => {
                stop(&channel).await;
                return Err(self.timeout(&what, timeout));
            }
        }
        if collected.status.is_none() && collected.signal.is_none() && self.is_closed() {
            return Err(SshError::channel(
                self.alias(),
                format!("the connection dropped while {what}"),
            ));
        }
        Ok(collected.into_output())
    }

    /// Runs `command` (e.g. `tail -F /var/log/app.log`) and delivers its
    /// stdout line by line as it arrives (without the newline; `\r\n`
    /// endings trimmed too). The receiver closes when the command ends or
    /// the connection drops; dropping the receiver stops the command.
    /// stderr is logged, not delivered.
    pub async fn stream_lines(&self, command: &str) -> Result<mpsc::Receiver<String>, SshError> {
        let what = format!("starting `{}`", shorten(command));
        let channel = tokio::time::timeout(OPEN_TIMEOUT, self.start(command))
            .await
            .map_err(|_| self.timeout(&what, OPEN_TIMEOUT))??;
        let (tx, rx) = mpsc::channel(LINE_BUFFER);
        tokio::spawn(pump_lines(channel, tx, self.alias().to_string()));
        Ok(rx)
    }

    /// Runs `command` and keeps it running: returns once it prints the line
    /// `ready` (held: a heartbeat goes to its stdin every `heartbeat` until
    /// released) or ends. Starting is bounded by `timeout`; on timeout the
    /// command is killed.
    pub async fn hold(
        &self,
        command: &str,
        ready: &str,
        heartbeat: Duration,
        timeout: Duration,
    ) -> Result<HoldStart, SshError> {
        let deadline = Instant::now() + timeout;
        let what = format!("running `{}`", shorten(command));
        let channel = tokio::time::timeout_at(deadline, self.start(command))
            .await
            .map_err(|_| self.timeout(&what, timeout))??;
        let (reader, writer) = channel.split();
        let started = HeldCommand::start(self.alias(), reader, writer, ready, heartbeat);
        match tokio::time::timeout_at(deadline, started).await {
            Ok(HoldStart::Ended(out))
                if out.status.is_none() && out.stderr.is_empty() && self.is_closed() =>
            {
                Err(SshError::channel(
                    self.alias(),
                    format!("the connection dropped while {what}"),
                ))
            }
            Ok(started) => Ok(started),
            // Dropping the halves closes the channel; the remote side sees
            // EOF and lets go.
            Err(_) => Err(self.timeout(&what, timeout)),
        }
    }

    /// Opens an interactive login shell on a PTY of `term` type and size.
    /// Hand the session to [`super::run_interactive`] to give it the local
    /// terminal, or drive it yourself.
    pub async fn open_pty(&self, term: &str, cols: u16, rows: u16) -> Result<PtySession, SshError> {
        let host = self.alias();
        let open = async {
            let channel = self.open_session().await?;
            channel
                .request_pty(true, term, u32::from(cols), u32::from(rows), 0, 0, &[])
                .await
                .map_err(|e| SshError::channel(host, format!("cannot request a PTY: {e}")))?;
            channel
                .request_shell(true)
                .await
                .map_err(|e| SshError::channel(host, format!("cannot start a shell: {e}")))?;
            Ok::<_, SshError>(channel)
        };
        let channel = tokio::time::timeout(OPEN_TIMEOUT, open)
            .await
            .map_err(|_| self.timeout("opening a terminal session", OPEN_TIMEOUT))??;
        Ok(PtySession::new(host, channel, cols, rows))
    }

    async fn open_session(&self) -> Result<Channel<client::Msg>, SshError> {
        if self.is_closed() {
            return Err(SshError::channel(
                self.alias(),
                "the connection has dropped",
            ));
        }
        self.handle
            .channel_open_session()
            .await
            .map_err(|e| SshError::channel(self.alias(), format!("cannot open a channel: {e}")))
    }

    /// A session channel running `command`.
    async fn start(&self, command: &str) -> Result<Channel<client::Msg>, SshError> {
        let channel = self.open_session().await?;
        channel.exec(true, command).await.map_err(|e| {
            SshError::channel(
                self.alias(),
                format!("cannot run `{}`: {e}", shorten(command)),
            )
        })?;
        Ok(channel)
    }

    fn timeout(&self, what: &str, after: Duration) -> SshError {
        SshError::timeout(self.alias(), what, after)
    }
}

/// The SSH handshake (and host key check) over any byte stream, bounded.
async fn handshake<S>(
    config: Arc<client::Config>,
    stream: S,
    handler: HostKeyVerifier,
    timeout: Duration,
) -> Result<Result<Handle<HostKeyVerifier>, russh::Error>, tokio::time::error::Elapsed>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::time::timeout(timeout, client::connect_stream(config, stream, handler)).await
}

/// russh client settings for `target`: keepalives, and host key
/// algorithms already in known_hosts asked for first.
fn client_config(target: &SshTarget) -> client::Config {
    let mut config = client::Config::default();
    if target.keepalive_secs > 0 {
        config.keepalive_interval = Some(Duration::from_secs(target.keepalive_secs));
        config.keepalive_max = target.keepalive_max.max(1) as usize;
    }
    config.nodelay = true;
    let known =
        KnownHosts::new(target.known_hosts.clone()).known_algorithms(&target.hostname, target.port);
    if !known.is_empty() {
        let mut algorithms = config.preferred.key.to_vec();
        // Stable: known kinds first, each group keeps russh's order.
        algorithms.sort_by_key(|a| !known.iter().any(|k| same_family(k, a)));
        config.preferred.key = Cow::Owned(algorithms);
    }
    config
}

/// ssh-agent's keys first, then each IdentityFile, like OpenSSH.
async fn authenticate(
    handle: &mut Handle<HostKeyVerifier>,
    target: &SshTarget,
) -> Result<(), SshError> {
    let user = target.user.as_str();
    let mut tried: Vec<String> = Vec::new();
    let mut rsa_hash: Option<Option<HashAlg>> = None;

    if std::env::var_os("SSH_AUTH_SOCK").is_some() {
        match AgentClient::connect_env().await {
            Ok(mut agent) => match agent.request_identities().await {
                Ok(identities) if identities.is_empty() => tried.push("ssh-agent: no keys".into()),
                Ok(identities) => {
                    for identity in identities {
                        let AgentIdentity::PublicKey { key, comment } = identity else {
                            continue;
                        };
                        let hash = if key.algorithm().is_rsa() {
                            rsa_hash_for(handle, &mut rsa_hash).await
                        } else {
                            None
                        };
                        let label = format!("ssh-agent key {comment} ({})", fingerprint(&key));
                        match handle
                            .authenticate_publickey_with(user, key, hash, &mut agent)
                            .await
                        {
                            Ok(r) if r.success() => return Ok(()),
                            Ok(_) => tried.push(format!("{label}: rejected")),
                            Err(e) => tried.push(format!("{label}: {e}")),
                        }
                    }
                }
                Err(e) => tried.push(format!("ssh-agent: {e}")),
            },
            Err(e) => tried.push(format!("ssh-agent ($SSH_AUTH_SOCK): {e}")),
        }
    }

    for path in &target.identity_files {
        if !path.exists() {
            continue;
        }
        let shown = path.display();
        match russh::keys::load_secret_key(path, None) {
            Ok(key) => {
                let hash = if key.algorithm().is_rsa() {
                    rsa_hash_for(handle, &mut rsa_hash).await
                } else {
                    None
                };
                let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
                match handle.authenticate_publickey(user, key).await {
                    Ok(r) if r.success() => return Ok(()),
                    Ok(_) => tried.push(format!("{shown}: rejected")),
                    Err(e) => tried.push(format!("{shown}: {e}")),
                }
            }
            Err(russh::keys::Error::KeyIsEncrypted) => tried.push(format!(
                "{shown}: encrypted with a passphrase, which opsdeck does not ask for; \
                 load it into ssh-agent (`ssh-add {shown}`)"
            )),
            Err(e) => tried.push(format!("{shown}: cannot load: {e}")),
        }
    }

    let detail = if tried.is_empty() {
        let files: Vec<String> = target
            .identity_files
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!(
            "no ssh-agent and no identity file found (looked for {})",
            files.join(", ")
        )
    } else {
        tried.join("; ")
    };
    Err(SshError::Auth {
        host: target.alias.clone(),
        user: user.to_string(),
        detail,
    })
}

/// The RSA signature hash the server takes, asked once (it may wait ~1 s).
async fn rsa_hash_for(
    handle: &Handle<HostKeyVerifier>,
    cached: &mut Option<Option<HashAlg>>,
) -> Option<HashAlg> {
    if let Some(h) = cached {
        return *h;
    }
    let h = match handle.best_supported_rsa_hash().await {
        Ok(Some(h)) => h,
        // The server did not say: modern servers all take rsa-sha2-256.
        Ok(None) | Err(_) => Some(HashAlg::Sha256),
    };
    *cached = Some(h);
    h
}

/// Output of one `exec`, gathered until the channel closes.
#[derive(Default)]
struct Collected {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    status: Option<u32>,
    signal: Option<String>,
}

impl Collected {
    async fn read_all(&mut self, channel: &mut Channel<client::Msg>) {
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Data { data } => append_capped(&mut self.stdout, &data),
                ChannelMsg::ExtendedData { data, .. } => append_capped(&mut self.stderr, &data),
                ChannelMsg::ExitStatus { exit_status } => self.status = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    self.signal = Some(format!("{signal_name:?}"));
                }
                ChannelMsg::Close => break,
                _ => {}
            }
        }
    }

    fn into_output(self) -> ExecOutput {
        let mut stderr = String::from_utf8_lossy(&self.stderr).into_owned();
        if let Some(sig) = &self.signal {
            if !stderr.is_empty() && !stderr.ends_with('\n') {
                stderr.push('\n');
            }
            stderr.push_str(&format!("(killed by signal {sig})"));
        }
        ExecOutput {
            status: self.status,
            stdout: String::from_utf8_lossy(&self.stdout).into_owned(),
            stderr,
        }
    }
}

fn append_capped(buf: &mut Vec<u8>, data: &[u8]) {
    let room = MAX_OUTPUT.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..data.len().min(room)]);
}

/// Kills the remote command and closes its channel, without waiting long.
async fn stop(channel: &Channel<client::Msg>) {
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        let _ = channel.signal(Sig::KILL).await;
        let _ = channel.close().await;
    })
    .await;
}

/// Forwards a streaming command's stdout, a line at a time, until the
/// command ends, the connection drops, or the receiver goes away.
async fn pump_lines(mut channel: Channel<client::Msg>, tx: mpsc::Sender<String>, host: String) {
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let msg = tokio::select! {
            msg = channel.wait() => msg,
            () = tx.closed() => {
                stop(&channel).await;
                return;
            }
        };
        match msg {
            Some(ChannelMsg::Data { data }) => {
                pending.extend_from_slice(&data);
                while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=pos).collect();
                    if tx.send(decode_line(&line)).await.is_err() {
                        stop(&channel).await;
                        return;
                    }
                }
                while pending.len() > MAX_LINE {
                    let piece: Vec<u8> = pending.drain(..MAX_LINE).collect();
                    if tx.send(decode_line(&piece)).await.is_err() {
                        stop(&channel).await;
                        return;
                    }
                }
            }
            Some(ChannelMsg::ExtendedData { data, .. }) => {
                tracing::debug!(host = %host, stderr = %String::from_utf8_lossy(&data), "stream stderr");
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                tracing::debug!(host = %host, exit_status, "stream command ended");
            }
            Some(ChannelMsg::Close) | None => break,
            Some(_) => {}
        }
    }
    if !pending.is_empty() {
        let _ = tx.send(decode_line(&pending)).await;
    }
}

fn decode_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.trim_end_matches('\n')
        .trim_end_matches('\r')
        .to_string()
}

/// A command as errors show it: first line, at most 60 characters.
fn shorten(command: &str) -> String {
    let first = command.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(60).collect();
    if out.len() < command.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_and_decode() {
        assert_eq!(shorten("uptime"), "uptime");
        assert_eq!(shorten("a\nb"), "a…");
        assert_eq!(decode_line(b"x\r\n"), "x");
        assert_eq!(decode_line(b"caf\xc3\xa9\n"), "café");
    }
}
