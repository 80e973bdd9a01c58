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

/// The three signals that end a session: from the OS, or (in tests) from a
/// channel, so the wind-down can be driven without signalling the test run.
pub enum Signals {
    Os {
        term: tokio::signal::unix::Signal,
        hup: tokio::signal::unix::Signal,
        int: tokio::signal::unix::Signal,
    },
    Channel(mpsc::Receiver<Signal>),
}

impl Signals {
    /// Installs the handlers (from here on the default action no longer applies).
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals::Os {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The next signal; never resolves once a channel's senders are gone.
    pub async fn recv(&mut self) -> Signal {
        match self {
            Signals::Os { term, hup, int } => loop {
                let got = tokio::select! {
                    s = term.recv() => s.map(|()| Signal::Terminate),
                    s = hup.recv() => s.map(|()| Signal::Hangup),
                    s = int.recv() => s.map(|()| Signal::Interrupt),
                };
                if let Some(sig) = got {
                    return sig;
                }
            },
            Signals::Channel(rx) => match rx.recv().await {
                Some(sig) => sig,
                None => std::future::pending().await,
            },
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
    rx: &mut mpsc::UnboundedReceiver<Msg>,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::core::operation::{OpRequest, StepSpec};
    use crate::core::test_fixtures::{drain_request, drain_steps};
    use crate::providers::demo::{DemoConfig, DemoProvider};
    use crate::runtime::audit_log::{AuditLog, AuditRecord};
    use crate::runtime::clock::Clock;

    const START: Timestamp = Timestamp::from_millis(1_795_000_000_000);

    fn context(dir: &std::path::Path) -> OpContext {
        let demo = DemoProvider::new(DemoConfig {
            start: START,
            ..DemoConfig::default()
        });
        OpContext {
            observe: Arc::new(demo.clone()),
            operate: Arc::new(demo),
            clock: Clock::starting_at(START),
            audit: AuditLog::new(dir.join("audit.jsonl")),
            webhook: None,
            environment: "demo".into(),
        }
    }

    /// A drain of web-a1 whose wait outlasts every test (600 s), cut
    /// after the wait: the wait is the last step the signal can find.
    fn drain() -> (OpRequest, Vec<StepSpec>) {
        let mut steps = drain_steps("web-a1", 600_000);
        steps.truncate(2);
        (drain_request("web-a1"), steps)
    }

    /// A runner that wrote its intent and then never ends (hung on a peer),
    /// ignoring the cancel flag.
    fn hung(
        ctx: &OpContext,
        request: &OpRequest,
        tx: mpsc::UnboundedSender<Msg>,
    ) -> JoinHandle<Verdict> {
        let key = format!("{}-1", ctx.clock.now().millis());
        let intent = AuditRecord::new(
            "intent",
            &key,
            &ctx.environment,
            request,
            ctx.clock.now().to_rfc3339(),
        );
        ctx.audit.append(&intent).expect("intent");
        tokio::spawn(async move {
            let _tx = tx;
            std::future::pending::<Verdict>().await
        })
    }

    #[tokio::test(start_paused = true)]
    async fn do_abandons_a_hung_operation_at_the_signal_deadline_and_records_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = context(dir.path());
        let (request, steps) = drain();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let handle = hung(&ctx, &request, tx.clone());
        let op = Operation::new(1, request.clone(), steps, ctx.clock.now());
        // The first step is done and the wait runs when SIGTERM comes.
        for (index, status) in [(0, StepStatus::Done), (1, StepStatus::Running)] {
            tx.send(Msg::OperationStep {
                id: 1,
                index,
                status,
                detail: None,
                at: ctx.clock.now(),
            })
            .expect("send");
        }
        let (sig_tx, sig_rx) = mpsc::channel(4);
        sig_tx.send(Signal::Terminate).await.expect("signal");
        let cancel = CancelFlag::default();
        let started = tokio::time::Instant::now();
        let end = supervise(
            &ctx,
            op,
            handle,
            cancel.clone(),
            &mut rx,
            Signals::Channel(sig_rx),
            |_| {},
        )
        .await;
        assert!(cancel.is_set(), "asked to wind down first");
        assert_eq!(
            started.elapsed().as_millis() as i64,
            SIGNAL_DEADLINE_MS,
            "waited exactly the deadline"
        );
        assert_eq!(end.signal, Some(Signal::Terminate));
        assert!(end.verdict.is_none());
        let records = ctx.audit.read_all().expect("read");
        let results: Vec<&AuditRecord> = records.iter().filter(|r| r.phase == "result").collect();
        assert_eq!(results.len(), 1, "{records:#?}");
        let Some(Verdict::Failed(why)) = &results[0].outcome else {
            panic!("{results:#?}");
        };
        assert!(
            why.starts_with(
                "abandoned: at the signal deadline (30 s after SIGTERM), at step 2/2 \"wait for web-a1"
            ),
            "{why}"
        );
        assert!(
            why.contains("step 1 \"drain web-a1 (no new requests)\" done"),
            "{why}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn do_waits_for_a_runner_that_winds_down_and_keeps_its_result() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = Arc::new(context(dir.path()));
        let (request, steps) = drain();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let cancel = CancelFlag::default();
        let handle = {
            let (ctx, cancel, request, steps) =
                (ctx.clone(), cancel.clone(), request.clone(), steps.clone());
            tokio::spawn(async move {
                let job = crate::runtime::operation_runner::OpJob {
                    id: 1,
                    request,
                    plan: steps,
                    policy: crate::core::guard::OpsPolicy::default(),
                    cancel,
                };
                crate::runtime::operation_runner::run_operation(
                    &ctx,
                    &crate::runtime::operation_runner::Progress::channel(tx),
                    job,
                )
                .await
            })
        };
        let (sig_tx, sig_rx) = mpsc::channel(4);
        let op = Operation::new(1, request, steps, ctx.clock.now());
        let signals = Signals::Channel(sig_rx);
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let _ = sig_tx.send(Signal::Hangup).await;
            std::future::pending::<()>().await
        });
        let end = supervise(&ctx, op, handle, cancel, &mut rx, signals, |_| {}).await;
        assert_eq!(end.signal, Some(Signal::Hangup));
        assert!(
            matches!(end.verdict, Some(Verdict::Cancelled(_))),
            "{:?}",
            end.verdict
        );
        let records = ctx.audit.read_all().expect("read");
        let results: Vec<&AuditRecord> = records.iter().filter(|r| r.phase == "result").collect();
        assert_eq!(results.len(), 1, "{records:#?}");
        assert!(matches!(results[0].outcome, Some(Verdict::Cancelled(_))));
    }
}
