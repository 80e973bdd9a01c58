//! A remote command that keeps running while the console holds something on
//! the host through it (the fleet lock's `flock`): it reports readiness with a
//! line on stdout, is fed a heartbeat on stdin, and ends when stdin closes.
//! If the console dies or its connection drops, the remote side sees EOF (or
//! a missed heartbeat) and lets go by itself.

use std::sync::Arc;
use std::time::Duration;

use russh::client;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::task::JoinHandle;

use super::exec_output::ExecOutput;
use super::ssh_error::SshError;

/// What the console writes on stdin to say it is alive: exactly five bytes,
/// so the remote side can read it with `head -c 5`.
pub const HEARTBEAT: &[u8] = b"beat\n";

/// How a held command started.
pub enum HoldStart {
    /// It printed its ready line and now runs until released.
    Held(HeldCommand),
    /// It ended before (or instead of) saying it was ready.
    Ended(ExecOutput),
}

/// A command started by [`super::SshConnection::hold`] that printed its ready
/// line. Dropping it without [`HeldCommand::release`] stops the heartbeat, so
/// the remote side lets go after its heartbeat timeout.
pub struct HeldCommand {
    host: String,
    writer: Arc<ChannelWriteHalf<client::Msg>>,
    heartbeat: JoinHandle<()>,
    /// Reads the rest of the output until the channel closes.
    reader: JoinHandle<ExecOutput>,
    /// stdout up to and including the ready line.
    pub started_output: String,
}

impl Drop for HeldCommand {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

impl HeldCommand {
    /// Reads `reader` until a line equal to `ready` arrives (then returns the
    /// held command) or the channel closes (then its output).
    pub(super) async fn start(
        host: &str,
        mut reader: ChannelReadHalf,
        writer: ChannelWriteHalf<client::Msg>,
        ready: &str,
        every: Duration,
    ) -> HoldStart {
        let mut out = Partial::default();
        while let Some(msg) = reader.wait().await {
            if out.take(msg) {
                break;
            }
            if out.stdout_has_line(ready) {
                let writer = Arc::new(writer);
                let beat = writer.clone();
                let heartbeat = tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(every).await;
                        if beat.data_bytes(HEARTBEAT.to_vec()).await.is_err() {
                            return;
                        }
                    }
                });
                let started_output = String::from_utf8_lossy(&out.stdout).into_owned();
                let rest = tokio::spawn(async move {
                    let mut tail = Partial::default();
                    while let Some(msg) = reader.wait().await {
                        if tail.take(msg) {
                            break;
                        }
                    }
                    tail.into_output()
                });
                return HoldStart::Held(HeldCommand {
                    host: host.to_string(),
                    writer,
                    heartbeat,
                    reader: rest,
                    started_output,
                });
            }
        }
        HoldStart::Ended(out.into_output())
    }

    /// Whether the remote command has already ended (it let go on its own:
    /// missed heartbeats, the host killed it, the connection dropped).
    pub fn has_ended(&self) -> bool {
        self.reader.is_finished()
    }

    /// Closes stdin so the remote command lets go, and waits (up to
    /// `timeout`) for it to end. `Err` when it had ended on its own before,
    /// or did not end in time.
    pub async fn release(mut self, timeout: Duration) -> Result<ExecOutput, SshError> {
        self.heartbeat.abort();
        let ended_before = self.reader.is_finished();
        let _ = self.writer.eof().await;
        let reader = &mut self.reader;
        let result = tokio::time::timeout(timeout, reader).await;
        let _ = self.writer.close().await;
        match result {
            Ok(Ok(out)) if !ended_before => Ok(out),
            Ok(Ok(out)) => Err(SshError::channel(
                &self.host,
                format!(
                    "the held command had already ended (status {}): {}",
                    out.status.map_or("none".to_string(), |s| s.to_string()),
                    out.stderr.trim()
                ),
            )),
            Ok(Err(e)) => Err(SshError::channel(&self.host, format!("reader: {e}"))),
            Err(_) => Err(SshError::timeout(
                &self.host,
                "waiting for a held command to end",
                timeout,
            )),
        }
    }
}

/// Output gathered so far.
#[derive(Default)]
struct Partial {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    status: Option<u32>,
    signal: Option<String>,
}

impl Partial {
    /// Records one message; `true` when the channel is closed.
    fn take(&mut self, msg: ChannelMsg) -> bool {
        match msg {
            ChannelMsg::Data { data } => self.stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, .. } => self.stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => self.status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                self.signal = Some(format!("{signal_name:?}"));
            }
            ChannelMsg::Close => return true,
            _ => {}
        }
        false
    }

    fn stdout_has_line(&self, line: &str) -> bool {
        String::from_utf8_lossy(&self.stdout)
            .lines()
            .any(|l| l.trim_end() == line)
    }

    fn into_output(self) -> ExecOutput {
        let mut stderr = String::from_utf8_lossy(&self.stderr).into_owned();
        if let Some(sig) = &self.signal {
            stderr.push_str(&format!("(killed by signal {sig})"));
        }
        ExecOutput {
            status: self.status,
            stdout: String::from_utf8_lossy(&self.stdout).into_owned(),
            stderr,
        }
    }
}
