//! SIGTERM, SIGHUP and SIGINT as values. Once these handlers are installed
//! the process no longer dies on them: the console (through the reducer) and
//! `opsdeck do` cancel the running operation safely, wait for its result up
//! to `SIGNAL_DEADLINE_MS`, and exit with 128+signal.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::core::operation::{Operation, StepStatus, Verdict};
use crate::core::quit::{SIGNAL_DEADLINE_MS, Signal, abandon_reason};
use crate::core::{Msg, Timestamp};

use super::audit_log::{IntentOwner, hostname, os_user};
use super::operation_runner::{CancelFlag, OpContext};

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

/// How `opsdeck do`'s operation ended under supervision.
pub struct Supervised {
    /// The runner's verdict; `None` when it was abandoned at the deadline.
    pub verdict: Option<Verdict>,
    /// The signal that asked it to stop, if any: the exit status is 128+it.
    pub signal: Option<Signal>,
}

/// Watches an operation task for `opsdeck do`: passes every message to
/// `on_msg`; on the first signal sets the cancel flag (the runner winds down
/// at its next safe point and writes its result) and waits up to
/// `SIGNAL_DEADLINE_MS`; on a second signal or at the deadline stops the task
/// and records it as abandoned.
pub async fn supervise(
    ctx: &OpContext,
    mut op: Operation,
    mut handle: JoinHandle<Verdict>,
    cancel: CancelFlag,
    rx: &mut mpsc::Receiver<Msg>,
    mut signals: Signals,
    mut on_msg: impl FnMut(&Msg),
) -> Supervised {
    let started = ctx.clock.now();
    let mut signal: Option<Signal> = None;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let until = deadline.unwrap_or_else(tokio::time::Instant::now);
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(m) => {
                    track(&mut op, &m);
                    on_msg(&m);
                }
                // The runner has finished and dropped its sender.
                None => break,
            },
            sig = signals.recv() => {
                if let Some(first) = signal {
                    tracing::warn!(signal = sig.name(), "second signal: abandoning the operation");
                    outln!("{}: abandoning {} now (second signal)", sig.name(), op.request.summary());
                    let why = format!("{} while winding down for {}", sig.name(), first.name());
                    return abandon(ctx, &op, handle, started, &why, first).await;
                }
                signal = Some(sig);
                cancel.cancel();
                deadline = Some(
                    tokio::time::Instant::now()
                        + std::time::Duration::from_millis(SIGNAL_DEADLINE_MS as u64),
                );
                outln!(
                    "{}: cancelling {} safely; it is abandoned if still running in {} s",
                    sig.name(),
                    op.request.summary(),
                    SIGNAL_DEADLINE_MS / 1000
                );
            }
            () = tokio::time::sleep_until(until), if deadline.is_some() => {
                let sig = signal.unwrap_or(Signal::Terminate);
                outln!("{}: the {} s deadline passed; abandoning {}", sig.name(), SIGNAL_DEADLINE_MS / 1000, op.request.summary());
                let why = format!(
                    "at the signal deadline ({} s after {}),",
                    SIGNAL_DEADLINE_MS / 1000,
                    sig.name()
                );
                return abandon(ctx, &op, handle, started, &why, sig).await;
            }
        }
    }
    let verdict = match (&mut handle).await {
        Ok(v) => v,
        Err(e) => Verdict::Failed(format!("the operation task ended abnormally: {e}")),
    };
    Supervised {
        verdict: Some(verdict),
        signal,
    }
}

/// Stops the task and writes its "abandoned" result (unless it wrote one).
async fn abandon(
    ctx: &OpContext,
    op: &Operation,
    handle: JoinHandle<Verdict>,
    started: Timestamp,
    why: &str,
    sig: Signal,
) -> Supervised {
    handle.abort();
    if let Ok(v) = handle.await {
        // It finished (and recorded its result) before it could be stopped.
        return Supervised {
            verdict: Some(v),
            signal: Some(sig),
        };
    }
    let reason = abandon_reason(op, why);
    let owner = IntentOwner {
        user: os_user(),
        host: hostname(),
        id: op.id,
        not_before: started.plus_millis(-1_000),
    };
    match ctx.audit.write_abandoned(
        &ctx.environment,
        &op.request,
        &owner,
        op.steps.clone(),
        &reason,
        ctx.clock.now(),
    ) {
        Ok(_) => outln!("✖ {reason}"),
        Err(e) => eprintln!("opsdeck: {e}: the abandoned operation has no result record"),
    }
    Supervised {
        verdict: None,
        signal: Some(sig),
    }
}

/// Keeps `op`'s steps current from the runner's messages.
fn track(op: &mut Operation, msg: &Msg) {
    if let Msg::OperationStep {
        index, status, at, ..
    } = msg
        && let Some(step) = op.steps.get_mut(*index)
    {
        if *status == StepStatus::Running && step.started_at.is_none() {
            step.started_at = Some(*at);
        }
        step.status = status.clone();
    }
}
