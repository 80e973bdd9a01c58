//! SIGTERM, SIGHUP and SIGINT as values. Once these handlers are installed
//! the process no longer dies on them: the console (through the reducer) and
//! `opsdeck do` cancel the running operation safely, wait for its result up
//! to `SIGNAL_DEADLINE_MS`, and exit with 128+signal.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::core::Msg;
use crate::core::quit::Signal;

/// The three signals that end a session.
pub struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (from here on the default action no longer applies).
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The next signal.
    pub async fn recv(&mut self) -> Signal {
        loop {
            let got = tokio::select! {
                s = self.term.recv() => s.map(|()| Signal::Terminate),
                s = self.hup.recv() => s.map(|()| Signal::Hangup),
                s = self.int.recv() => s.map(|()| Signal::Interrupt),
            };
            if let Some(sig) = got {
                return sig;
            }
        }
    }

    /// Sends every signal to the console as `Msg::Signal`, until the console
    /// is gone.
    pub fn forward(mut self, tx: mpsc::Sender<Msg>) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let sig = self.recv().await;
                tracing::warn!(signal = sig.name(), "signal received");
                if tx.send(Msg::Signal(sig)).await.is_err() {
                    return;
                }
            }
        })
    }
}
