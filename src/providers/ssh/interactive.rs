//! Hands the local terminal to a remote PTY session (`ssh-open`): raw mode,
//! keystrokes to the session, its output to stdout, window size changes
//! forwarded (SIGWINCH), and the terminal mode restored when it ends. The
//! runtime calls [`run_interactive`] between suspending and resuming the
//! TUI.

use std::io::Read;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::pty_session::PtySession;
use super::ssh_error::SshError;

/// Runs `session` with the local terminal until the remote shell exits (or
/// the connection drops) and returns its exit status.
///
/// Preconditions: the TUI is suspended (alternate screen left, raw mode
/// off) and nothing else reads the terminal meanwhile (do not poll
/// crossterm's `EventStream` while this runs). Raw mode is on while it runs
/// and off again when it returns, on every path.
pub async fn run_interactive(mut session: PtySession) -> Result<Option<u32>, SshError> {
    let host = session.host.clone();
    let terminal_error = |e: std::io::Error| SshError::Terminal {
        host: host.clone(),
        detail: e.to_string(),
    };
    crossterm::terminal::enable_raw_mode().map_err(terminal_error)?;
    let _raw = RawModeGuard;
    if let Ok(size) = crossterm::terminal::size()
        && size != session.size
    {
        session.resize(size.0, size.1).await?;
    }
    let mut winch = signal(SignalKind::window_change()).ok();
    let mut input = LocalInput::open();
    let mut stdout = tokio::io::stdout();
    let mut buf = vec![0u8; 16 * 1024];
    let mut input_open = true;
    loop {
        tokio::select! {
            output = session.read() => match output {
                Some(bytes) => {
                    stdout.write_all(&bytes).await.map_err(terminal_error)?;
                    stdout.flush().await.map_err(terminal_error)?;
                }
                None => break,
            },
            n = input.read(&mut buf), if input_open => match n {
                Ok(0) => {
                    input_open = false;
                    let _ = session.eof().await;
                }
                Ok(n) => session.write(&buf[..n]).await?,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the local terminal");
                    input_open = false;
                }
            },
            Some(()) = recv_winch(&mut winch) => {
                if let Ok((cols, rows)) = crossterm::terminal::size() {
                    session.resize(cols, rows).await?;
                }
            }
        }
    }
    stdout.flush().await.map_err(terminal_error)?;
    Ok(session.exit_status())
}

async fn recv_winch(winch: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match winch {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// Turns raw mode off when dropped (normal return, error, unwinding).
struct RawModeGuard;

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Keystrokes from the local terminal.
enum LocalInput {
    /// `/dev/tty` opened non-blocking and polled by tokio: nothing is left
    /// reading the terminal once the session ends, so the TUI gets every
    /// key after it.
    Tty(pipe::Receiver),
    /// Fallback: stdin read on a thread. That thread stays blocked in
    /// `read` after the session ends and swallows one more chunk of input.
    Thread(mpsc::Receiver<Vec<u8>>),
}

#[cfg(target_os = "linux")]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(any(
    target_os = "macos",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd"
))]
const O_NONBLOCK: i32 = 0x0004;

impl LocalInput {
    fn open() -> LocalInput {
        match open_tty_nonblocking() {
            Ok(fd) => LocalInput::Tty(fd),
            Err(e) => {
                tracing::debug!(error = %e, "no non-blocking /dev/tty; reading stdin on a thread");
                let (tx, rx) = mpsc::channel(64);
                std::thread::spawn(move || {
                    let mut stdin = std::io::stdin();
                    let mut buf = [0u8; 4096];
                    loop {
                        match stdin.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if tx.blocking_send(buf[..n].to_vec()).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
                LocalInput::Thread(rx)
            }
        }
    }

    /// Cancel-safe: bytes are only consumed when they are returned.
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            LocalInput::Tty(tty) => tty.read(buf).await,
            LocalInput::Thread(rx) => match rx.recv().await {
                Some(chunk) => {
                    let n = chunk.len().min(buf.len());
                    buf[..n].copy_from_slice(&chunk[..n]);
                    Ok(n)
                }
                None => Ok(0),
            },
        }
    }
}

#[cfg(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd"
))]
fn open_tty_nonblocking() -> std::io::Result<pipe::Receiver> {
    use std::os::unix::fs::OpenOptionsExt;
    // A fresh open file description: O_NONBLOCK here does not leak into
    // the process's stdin, which crossterm reads after the session.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open("/dev/tty")?;
    // tokio's pipe receiver is a plain non-blocking fd registered with the
    // reactor; it works for a tty too and needs no `unsafe` here (the
    // `_unchecked` only skips the FIFO check, O_NONBLOCK is set above).
    pipe::Receiver::from_file_unchecked(file)
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd"
)))]
fn open_tty_nonblocking() -> std::io::Result<pipe::Receiver> {
    Err(std::io::Error::other(
        "non-blocking /dev/tty is not wired up on this platform",
    ))
}
