//! An interactive shell on a remote PTY: write input bytes, read output
//! bytes, resize, learn the exit status. [`super::run_interactive`] drives
//! one with the local terminal; tests drive one directly.

use russh::client;
use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf};

use super::ssh_error::SshError;

/// A running remote shell with a PTY. Output is raw terminal bytes
/// (escape sequences included): it is meant for a real terminal, never for
/// a ratatui widget.
pub struct PtySession {
    pub(super) host: String,
    pub(super) reader: ChannelReadHalf,
    pub(super) writer: ChannelWriteHalf<client::Msg>,
    pub(super) size: (u16, u16),
    exit_status: Option<u32>,
    exit_signal: Option<String>,
    ended: bool,
}

impl PtySession {
    pub(crate) fn new(
        host: &str,
        channel: Channel<client::Msg>,
        cols: u16,
        rows: u16,
    ) -> PtySession {
        let (reader, writer) = channel.split();
        PtySession {
            host: host.to_string(),
            reader,
            writer,
            size: (cols, rows),
            exit_status: None,
            exit_signal: None,
            ended: false,
        }
    }

    /// The host alias the session runs on.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Sends input (keystrokes, pasted text) to the remote shell.
    pub async fn write(&self, bytes: &[u8]) -> Result<(), SshError> {
        self.writer
            .data_bytes(bytes.to_vec())
            .await
            .map_err(|e| SshError::channel(&self.host, format!("terminal session: {e}")))
    }

    /// Tells the remote PTY the terminal's new size.
    pub async fn resize(&mut self, cols: u16, rows: u16) -> Result<(), SshError> {
        self.size = (cols, rows);
        self.writer
            .window_change(u32::from(cols), u32::from(rows), 0, 0)
            .await
            .map_err(|e| SshError::channel(&self.host, format!("terminal resize: {e}")))
    }

    /// The next chunk of output (stdout and stderr, as the PTY merges
    /// them), or `None` once the session has ended. Cancel-safe.
    pub async fn read(&mut self) -> Option<Vec<u8>> {
        if self.ended {
            return None;
        }
        loop {
            match self.reader.wait().await {
                Some(ChannelMsg::Data { data }) | Some(ChannelMsg::ExtendedData { data, .. }) => {
                    return Some(data.to_vec());
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    self.exit_status = Some(exit_status)
                }
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    self.exit_signal = Some(format!("{signal_name:?}"));
                }
                Some(ChannelMsg::Close) | None => {
                    self.ended = true;
                    return None;
                }
                Some(_) => {}
            }
        }
    }

    /// The shell's exit status, once [`PtySession::read`] has returned `None`
    /// (`None` if it died of a signal or the connection dropped).
    pub fn exit_status(&self) -> Option<u32> {
        self.exit_status
    }

    /// The signal that ended the shell, if one did.
    pub fn exit_signal(&self) -> Option<&str> {
        self.exit_signal.as_deref()
    }

    /// Whether the session has ended.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Signals end of input (like Ctrl-D on an empty line, but for the
    /// channel).
    pub async fn eof(&self) -> Result<(), SshError> {
        self.writer
            .eof()
            .await
            .map_err(|e| SshError::channel(&self.host, format!("terminal session: {e}")))
    }

    /// Closes the session from this side.
    pub async fn close(&self) -> Result<(), SshError> {
        self.writer
            .close()
            .await
            .map_err(|e| SshError::channel(&self.host, format!("terminal session: {e}")))
    }
}
