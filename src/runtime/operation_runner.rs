//! Carries out an operation's steps through the providers: each step reports
//! its progress, waits poll fresh observations with a countdown, the verdict
//! comes from observing the fleet again, and the audit log gets a record of
//! intent before the first step and a result after the last.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::core::fleet::{HostsObservation, ReplicaRole, ReplicationObservation, TargetState};
use crate::core::operation::{OpRequest, Step, StepSpec, StepStatus, Verdict};
use crate::core::{Msg, Timestamp};
use crate::providers::{ObserveProvider, OperateProvider, ProviderError};

use super::audit_log::{AuditLog, AuditRecord, os_user};
use super::clock::Clock;
use super::webhook::Webhook;

/// How often waits observe the fleet.
const POLL: Duration = Duration::from_millis(500);
/// Longest a single provider call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a promotion may take to show in the topology.
const PROMOTE_TIMEOUT_MS: i64 = 120_000;
/// How long verification waits for the fleet to settle.
const VERIFY_TIMEOUT_MS: i64 = 15_000;
/// How long a post-promote hook may run.
const HOOK_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything an operation needs. Only built when the session may mutate.
pub struct OpContext {
    pub observe: Arc<dyn ObserveProvider>,
    pub operate: Arc<dyn OperateProvider>,
    pub clock: Clock,
    pub audit: AuditLog,
    pub webhook: Option<Webhook>,
    pub environment: String,
}

/// Set to stop an operation at its next safe point.
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Why a step stopped early.
enum StepError {
    Failed(String),
    Cancelled,
}

impl From<ProviderError> for StepError {
    fn from(e: ProviderError) -> Self {
        StepError::Failed(e.to_string())
    }
}

/// The read-only half of a runner: providers, clock, reporting. Waits borrow
/// it while the runner records what changed.
struct Io<'a> {
    ctx: &'a OpContext,
    tx: &'a mpsc::Sender<Msg>,
    id: u64,
    cancel: CancelFlag,
}

struct Runner<'a> {
    io: Io<'a>,
    steps: Vec<Step>,
    /// What the operation has changed so far, for "what it left behind".
    changed: Vec<String>,
    notes: Vec<String>,
}

/// Runs the operation to its end and returns the verdict (also sent as
/// `Msg::OperationFinished`).
pub async fn run_operation(
    ctx: &OpContext,
    tx: &mpsc::Sender<Msg>,
    id: u64,
    request: OpRequest,
    plan: Vec<StepSpec>,
    cancel: CancelFlag,
) -> Verdict {
    let started = ctx.clock.now();
    let op_key = format!("{}-{id}", started.millis());
    let intent = AuditRecord::new(
        "intent",
        &op_key,
        &ctx.environment,
        &request,
        started.to_rfc3339(),
    );
    // No record of intent, no operation: the audit trail must never miss one.
    if let Err(e) = ctx.audit.append(&intent) {
        let verdict = Verdict::Failed(format!("not started: {e}"));
        let _ = tx
            .send(Msg::OperationFinished {
                id,
                verdict: verdict.clone(),
                at: ctx.clock.now(),
            })
            .await;
        return verdict;
    }
    let mut runner = Runner {
        io: Io {
            ctx,
            tx,
            id,
            cancel,
        },
        steps: plan
            .iter()
            .map(|spec| Step {
                spec: spec.clone(),
                status: StepStatus::Pending,
                started_at: None,
                finished_at: None,
                detail: None,
            })
            .collect(),
        changed: Vec::new(),
        notes: Vec::new(),
    };
    runner
        .announce(format!(
            "{} started {} in {}",
            os_user(),
            request.summary(),
            ctx.environment
        ))
        .await;
    let verdict = runner.run_steps().await;
    let finished = ctx.clock.now();
    let mut result = AuditRecord::new(
        "result",
        &op_key,
        &ctx.environment,
        &request,
        finished.to_rfc3339(),
    );
    result.steps = runner.steps.clone();
    result.outcome = Some(verdict.clone());
    result.notes = runner.notes.clone();
    if let Err(e) = ctx.audit.append(&result) {
        runner
            .note(format!("audit log: the result was not recorded: {e}"))
            .await;
    }
    let _ = tx
        .send(Msg::OperationFinished {
            id,
            verdict: verdict.clone(),
            at: finished,
        })
        .await;
    let word = match &verdict {
        Verdict::Succeeded => "✔ succeeded".to_string(),
        Verdict::Failed(why) => format!("✖ failed: {why}"),
        Verdict::Cancelled(left) => format!("cancelled: {left}"),
    };
    if let Some(hook) = &ctx.webhook
        && let Err(e) = hook
            .announce(&format!(
                "{} in {}: {word}",
                request.summary(),
                ctx.environment
            ))
            .await
    {
        let _ = tx
            .send(Msg::OperationNote {
                id,
                note: e.clone(),
            })
            .await;
        let mut note = AuditRecord::new(
            "note",
            &op_key,
            &ctx.environment,
            &request,
            ctx.clock.now().to_rfc3339(),
        );
        note.notes.push(e);
        let _ = ctx.audit.append(&note);
    }
    verdict
}

impl Runner<'_> {
    async fn announce(&mut self, text: String) {
        if let Some(hook) = &self.io.ctx.webhook
            && let Err(e) = hook.announce(&text).await
        {
            self.note(e).await;
        }
    }

    async fn note(&mut self, note: String) {
        self.notes.push(note.clone());
        let _ = self
            .io
            .tx
            .send(Msg::OperationNote {
                id: self.io.id,
                note,
            })
            .await;
    }

    async fn report(&mut self, index: usize, status: StepStatus, detail: Option<String>) {
        let at = self.io.ctx.clock.now();
        if let Some(step) = self.steps.get_mut(index) {
            match status {
                StepStatus::Running if step.started_at.is_none() => step.started_at = Some(at),
                StepStatus::Done | StepStatus::Failed(_) | StepStatus::Skipped => {
                    step.finished_at = Some(at)
                }
                _ => {}
            }
            step.status = status.clone();
            step.detail = detail.clone();
        }
        let _ = self
            .io
            .tx
            .send(Msg::OperationStep {
                id: self.io.id,
                index,
                status,
                detail,
                at,
            })
            .await;
    }

    fn left_behind(&self) -> String {
        if self.changed.is_empty() {
            "nothing was changed".to_string()
        } else {
            format!("left: {}", self.changed.join("; "))
        }
    }

    async fn run_steps(&mut self) -> Verdict {
        let specs: Vec<StepSpec> = self.steps.iter().map(|s| s.spec.clone()).collect();
        for (i, spec) in specs.iter().enumerate() {
            if self.io.cancel.is_set() && spec.safe_to_stop_before() {
                self.skip_from(i).await;
                return Verdict::Cancelled(self.left_behind());
            }
            self.report(i, StepStatus::Running, None).await;
            match self.execute(i, spec).await {
                Ok(detail) => self.report(i, StepStatus::Done, detail).await,
                Err(StepError::Cancelled) => {
                    self.report(i, StepStatus::Failed("cancelled".into()), None)
                        .await;
                    self.compensate(&specs[..i]).await;
                    self.skip_from(i + 1).await;
                    return Verdict::Cancelled(self.left_behind());
                }
                Err(StepError::Failed(why)) => {
                    self.report(i, StepStatus::Failed(why.clone()), None).await;
                    self.compensate(&specs[..i]).await;
                    self.skip_from(i + 1).await;
                    return Verdict::Failed(format!(
                        "{}: {why}; {}",
                        spec.label(),
                        self.left_behind()
                    ));
                }
            }
        }
        Verdict::Succeeded
    }

    async fn skip_from(&mut self, from: usize) {
        for j in from..self.steps.len() {
            self.report(j, StepStatus::Skipped, None).await;
        }
    }

    /// Undoes what must not stay half-done: a primary made read-only for a
    /// switchover that did not happen is made writable again.
    async fn compensate(&mut self, done: &[StepSpec]) {
        let promoted = done.iter().any(|s| matches!(s, StepSpec::Promote { .. }));
        for spec in done {
            if let StepSpec::SetReadOnly {
                node,
                read_only: true,
            } = spec
                && !promoted
            {
                let now = self.io.ctx.clock.now();
                match tokio::time::timeout(
                    CALL_TIMEOUT,
                    self.io.ctx.operate.set_read_only(node, false, now),
                )
                .await
                {
                    Ok(Ok(())) => {
                        self.changed
                            .retain(|c| !c.starts_with(&format!("{node} is read-only")));
                        self.note(format!(
                            "{node} made writable again (the switchover did not happen)"
                        ))
                        .await;
                    }
                    Ok(Err(e)) => self.note(format!("{node} is still READ-ONLY: {e}")).await,
                    Err(_) => {
                        self.note(format!(
                            "{node} is still READ-ONLY: timed out making it writable"
                        ))
                        .await
                    }
                }
            }
        }
    }

    async fn execute(
        &mut self,
        index: usize,
        spec: &StepSpec,
    ) -> Result<Option<String>, StepError> {
        let now = self.io.ctx.clock.now();
        let op = self.io.ctx.operate.clone();
        let io = &self.io;
        match spec {
            StepSpec::Drain { backend } => {
                io.call(op.drain(backend, now)).await?;
                self.changed.push(format!(
                    "{backend} is drained (undrain-backend puts it back)"
                ));
                Ok(None)
            }
            StepSpec::Undrain { backend } => {
                io.call(op.undrain(backend, now)).await?;
                self.changed
                    .retain(|c| !c.starts_with(&format!("{backend} is drained")));
                Ok(None)
            }
            StepSpec::WaitDrained {
                backend,
                timeout_ms,
            } => {
                io.wait_target(
                    index,
                    backend,
                    *timeout_ms,
                    |t| match t.in_flight {
                        Some(n) => (
                            t.state != TargetState::Active && n == 0,
                            format!("{n} in flight"),
                        ),
                        // Unknown is never 0: the load balancer saying the
                        // target is drained is the evidence.
                        None => (
                            t.state == TargetState::Drained,
                            format!("in flight unknown, {}", t.state.label()),
                        ),
                    },
                    // The drain timeout ends the wait; in-flight requests are cut.
                    |progress| Ok(Some(format!("drain timeout reached with {progress}"))),
                )
                .await
            }
            StepSpec::VerifyNoTraffic { backend } => {
                io.wait_target(
                    index,
                    backend,
                    VERIFY_TIMEOUT_MS,
                    |t| match t.requests_per_sec {
                        Some(r) => (
                            t.state != TargetState::Active && r == 0.0,
                            format!("{r:.1} requests/s, {}", t.state.label()),
                        ),
                        None => (false, format!("requests/s unknown, {}", t.state.label())),
                    },
                    |progress| {
                        Err(StepError::Failed(format!(
                            "{backend} still gets traffic: {progress}"
                        )))
                    },
                )
                .await
            }
            StepSpec::VerifyServing { backend } => {
                io.wait_target(
                    index,
                    backend,
                    VERIFY_TIMEOUT_MS,
                    |t| {
                        (
                            t.state == TargetState::Active && !t.health.is_problem(),
                            format!(
                                "{}, {}, {} requests/s",
                                t.state.label(),
                                t.health.label(),
                                t.requests_per_sec
                                    .map_or("?".to_string(), |r| format!("{r:.1}"))
                            ),
                        )
                    },
                    |progress| {
                        Err(StepError::Failed(format!(
                            "{backend} is not serving: {progress}"
                        )))
                    },
                )
                .await
            }
            StepSpec::SetReadOnly { node, read_only } => {
                io.call(op.set_read_only(node, *read_only, now)).await?;
                if *read_only {
                    self.changed.push(format!("{node} is read-only"));
                } else {
                    self.changed
                        .retain(|c| !c.starts_with(&format!("{node} is read-only")));
                }
                Ok(None)
            }
            StepSpec::WaitCaughtUp {
                replica,
                timeout_ms,
            } => {
                let r = replica.clone();
                io.wait(
                    index,
                    *timeout_ms,
                    || {
                        let r = r.clone();
                        async move {
                            let rep = io.replication().await?;
                            caught_up(&rep, &r)
                        }
                    },
                    |progress| {
                        Err(StepError::Failed(format!(
                            "{r} did not catch up: {progress}"
                        )))
                    },
                )
                .await
            }
            StepSpec::Promote { replica, mode } => {
                io.call(op.promote(replica, *mode, now)).await?;
                self.changed.retain(|c| !c.ends_with("is read-only"));
                self.changed.push(format!("{replica} is being promoted"));
                let r = replica.clone();
                let detail = self
                    .io
                    .wait(
                        index,
                        PROMOTE_TIMEOUT_MS,
                        || {
                            let r = r.clone();
                            async move {
                                let rep = io.replication().await?;
                                let role = role_of(&rep, &r);
                                Ok((
                                    role == Some(ReplicaRole::Primary),
                                    format!("{r} is {}", role.map_or("unknown", |x| x.label())),
                                ))
                            }
                        },
                        |progress| {
                            Err(StepError::Failed(format!(
                                "the new topology did not show: {progress}"
                            )))
                        },
                    )
                    .await?;
                self.changed.retain(|c| !c.ends_with("is being promoted"));
                self.changed.push(format!("{replica} is the primary"));
                Ok(detail)
            }
            StepSpec::Rejoin {
                old_primary,
                new_primary,
            } => {
                io.call(op.rejoin(old_primary, new_primary, now)).await?;
                Ok(Some(format!("{old_primary} replicates from {new_primary}")))
            }
            StepSpec::RunHook { command } => self.run_hook(command).await,
            StepSpec::VerifyPrimary { node } => {
                let n = node.clone();
                io.wait(
                    index,
                    VERIFY_TIMEOUT_MS,
                    || {
                        let n = n.clone();
                        async move {
                            let rep = io.replication().await?;
                            writable_primary(&rep, &n)
                        }
                    },
                    |progress| Err(StepError::Failed(progress)),
                )
                .await
            }
            StepSpec::Deploy { backend, version } => {
                io.call(op.deploy_version(backend, version, now)).await?;
                self.changed.push(format!("{backend} runs {version}"));
                Ok(None)
            }
            StepSpec::WaitHealthy {
                backend,
                version,
                timeout_ms,
            } => {
                let (b, v) = (backend.clone(), version.clone());
                io.wait(
                    index,
                    *timeout_ms,
                    || {
                        let (b, v) = (b.clone(), v.clone());
                        async move {
                            let h = io.hosts().await?;
                            let host = h.host(&b).cloned();
                            match host {
                                Some(x) => Ok((
                                    x.version.as_deref() == Some(v.as_str())
                                        && !x.health.is_problem(),
                                    format!(
                                        "{} on {}",
                                        x.health.label(),
                                        x.version.as_deref().unwrap_or("?")
                                    ),
                                )),
                                None => Err(StepError::Failed(format!("{b} vanished"))),
                            }
                        }
                    },
                    |progress| {
                        Err(StepError::Failed(format!(
                            "{b} is not healthy on {v}: {progress}"
                        )))
                    },
                )
                .await
            }
            StepSpec::VerifyVersions { version, backends } => {
                let h = io.hosts().await?;
                let wrong: Vec<String> = backends
                    .iter()
                    .filter_map(|b| {
                        let host = h.host(b)?;
                        let target = h.load_balancer.as_ref().and_then(|lb| lb.target(b));
                        let ok = host.version.as_deref() == Some(version.as_str())
                            && !host.health.is_problem()
                            && target.is_none_or(|t| t.state == TargetState::Active);
                        (!ok).then(|| {
                            format!(
                                "{b} ({}, {})",
                                host.version.as_deref().unwrap_or("?"),
                                host.health.label()
                            )
                        })
                    })
                    .collect();
                if wrong.is_empty() {
                    self.changed.clear();
                    Ok(Some(format!(
                        "all {} on {version}, healthy, in the pool",
                        backends.len()
                    )))
                } else {
                    Err(StepError::Failed(format!(
                        "not on {version}: {}",
                        wrong.join(", ")
                    )))
                }
            }
        }
    }

    async fn run_hook(&mut self, command: &str) -> Result<Option<String>, StepError> {
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .env("OPSDECK_ENVIRONMENT", &self.io.ctx.environment)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let out = match tokio::time::timeout(HOOK_TIMEOUT, cmd.output()).await {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => return Err(StepError::Failed(format!("cannot run the hook: {e}"))),
            Err(_) => {
                return Err(StepError::Failed(format!(
                    "the hook ran longer than {}s",
                    HOOK_TIMEOUT.as_secs()
                )));
            }
        };
        let last = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .lines()
                .last()
                .map(crate::core::sanitize::sanitize)
                .unwrap_or_default()
        };
        if out.status.success() {
            Ok(Some(last(&out.stdout)).filter(|s| !s.is_empty()))
        } else {
            Err(StepError::Failed(format!(
                "hook exited with {}: {}",
                out.status,
                last(&out.stderr)
            )))
        }
    }
}

impl Io<'_> {
    async fn call(
        &self,
        f: impl std::future::Future<Output = Result<(), ProviderError>>,
    ) -> Result<(), StepError> {
        match tokio::time::timeout(CALL_TIMEOUT, f).await {
            Ok(r) => r.map_err(StepError::from),
            Err(_) => Err(StepError::Failed(format!(
                "no answer within {}s",
                CALL_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn hosts(&self) -> Result<HostsObservation, StepError> {
        let now = self.ctx.clock.now();
        match tokio::time::timeout(CALL_TIMEOUT, self.ctx.observe.hosts(now)).await {
            Ok(r) => r.map_err(StepError::from),
            Err(_) => Err(StepError::Failed("observing hosts timed out".into())),
        }
    }

    /// `wait` over a backend's load-balancer target: `check` says whether it
    /// is done and what to show.
    async fn wait_target(
        &self,
        index: usize,
        backend: &str,
        timeout_ms: i64,
        check: impl Fn(&crate::core::fleet::Target) -> (bool, String),
        on_timeout: impl FnOnce(String) -> Result<Option<String>, StepError>,
    ) -> Result<Option<String>, StepError> {
        let check = &check;
        self.wait(
            index,
            timeout_ms,
            || async move { self.target(backend).await.map(|t| check(&t)) },
            on_timeout,
        )
        .await
    }

    /// A backend's load-balancer target on a fresh observation.
    async fn target(&self, backend: &str) -> Result<crate::core::fleet::Target, StepError> {
        let h = self.hosts().await?;
        h.load_balancer
            .as_ref()
            .and_then(|lb| lb.target(backend))
            .cloned()
            .ok_or_else(|| StepError::Failed(format!("{backend} is not in the load-balancer pool")))
    }

    async fn replication(&self) -> Result<ReplicationObservation, StepError> {
        let now = self.ctx.clock.now();
        match tokio::time::timeout(CALL_TIMEOUT, self.ctx.observe.replication(now)).await {
            Ok(r) => r.map_err(StepError::from),
            Err(_) => Err(StepError::Failed("observing replication timed out".into())),
        }
    }

    /// Polls `check` until it says done (`Ok(Some(detail))`), showing its
    /// progress and a countdown; `on_timeout` decides what a timeout means.
    async fn wait<F, Fut>(
        &self,
        index: usize,
        timeout_ms: i64,
        mut check: F,
        on_timeout: impl FnOnce(String) -> Result<Option<String>, StepError>,
    ) -> Result<Option<String>, StepError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(bool, String), StepError>>,
    {
        let start: Timestamp = self.ctx.clock.now();
        loop {
            if self.cancel.is_set() {
                return Err(StepError::Cancelled);
            }
            let (done, progress) = check().await?;
            let elapsed = self.ctx.clock.now().since(start);
            if done {
                return Ok(Some(format!(
                    "{progress} after {:.1}s",
                    elapsed as f64 / 1000.0
                )));
            }
            if elapsed >= timeout_ms {
                return on_timeout(progress);
            }
            let left = (timeout_ms - elapsed + 999) / 1000;
            let _ = self
                .tx
                .send(Msg::OperationStep {
                    id: self.id,
                    index,
                    status: StepStatus::Running,
                    detail: Some(format!("{progress} · {left}s left")),
                    at: self.ctx.clock.now(),
                })
                .await;
            tokio::time::sleep(POLL).await;
        }
    }
}

fn role_of(rep: &ReplicationObservation, node: &str) -> Option<ReplicaRole> {
    rep.databases
        .iter()
        .find(|d| d.name == node)
        .map(|d| d.role)
        .or_else(|| rep.caches.iter().find(|c| c.name == node).map(|c| c.role))
}

fn caught_up(rep: &ReplicationObservation, replica: &str) -> Result<(bool, String), StepError> {
    if let Some(r) = rep.databases.iter().find(|d| d.name == replica) {
        let primary = rep
            .databases
            .iter()
            .find(|d| d.role == ReplicaRole::Primary);
        let same_gtid = match (
            primary.and_then(|p| p.gtid_executed.as_ref()),
            r.gtid_executed.as_ref(),
        ) {
            (Some(p), Some(x)) => p == x,
            // Without GTIDs, lag 0 with both threads running is the best we can see.
            _ => true,
        };
        let lag = r.lag_seconds;
        return Ok((
            lag == Some(0.0) && same_gtid,
            format!(
                "lag {}, applied {}",
                lag.map_or("unknown".into(), |l| format!("{l:.0}s")),
                r.gtid_executed.as_deref().unwrap_or("?")
            ),
        ));
    }
    if let Some(c) = rep.caches.iter().find(|c| c.name == replica) {
        return Ok((
            c.lag_bytes == Some(0) && c.link_up == Some(true),
            format!(
                "{} bytes behind",
                c.lag_bytes.map_or("?".into(), |b| b.to_string())
            ),
        ));
    }
    Err(StepError::Failed(format!(
        "{replica} is not in the replication data"
    )))
}

fn writable_primary(rep: &ReplicationObservation, node: &str) -> Result<(bool, String), StepError> {
    if let Some(d) = rep.databases.iter().find(|d| d.name == node) {
        let ok = d.role == ReplicaRole::Primary && !d.read_only && d.reachable;
        return Ok((
            ok,
            format!(
                "{node}: {}, {}",
                d.role.label(),
                if d.read_only { "read-only" } else { "writable" }
            ),
        ));
    }
    if let Some(c) = rep.caches.iter().find(|c| c.name == node) {
        return Ok((
            c.role == ReplicaRole::Primary && c.reachable,
            format!("{node}: {}", c.role.label()),
        ));
    }
    Err(StepError::Failed(format!(
        "{node} is not in the replication data"
    )))
}
