//! `Runner`: carries out one operation's steps in order: guards again on a
//! fresh observation and a "step" audit record before each step that changes
//! the fleet, progress reports, and on a stop the wind-down (wind_down.rs)
//! and a verdict that states what it left.

use crate::core::capabilities::{OldPrimary, PromoteCaps};
use crate::core::fleet::{ReplicaRole, ReplicationObservation, TargetState};
use crate::core::guard::{self, OpsPolicy};
use crate::core::operation::{OpKind, OpRequest, Step, StepSpec, StepStatus, Verdict};
use crate::core::state::{EnvInfo, State};
use crate::runtime::audit_log::AuditRecord;

use super::fleet_io::FleetIo;
use super::step_error::StepError;

/// How long a promotion may take to show in the topology.
const PROMOTE_TIMEOUT_MS: i64 = 120_000;
/// How long verification waits for the fleet to settle.
const VERIFY_TIMEOUT_MS: i64 = 15_000;
/// How long a post-promote hook may run.
const HOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// How an operation stopped early.
pub(super) enum Stop {
    Cancelled,
    Failed { label: String, why: String },
    Refused { label: String, why: String },
}

pub(super) struct Runner<'a> {
    pub io: FleetIo<'a>,
    pub request: &'a OpRequest,
    pub policy: &'a OpsPolicy,
    /// The audit log's key for this operation's records.
    pub op_key: &'a str,
    pub steps: Vec<Step>,
    /// What the operation changed so far and has not undone, in words.
    pub changed: Vec<String>,
    pub notes: Vec<String>,
    /// Nodes this operation made (or may have made) read-only and has not
    /// made writable again.
    pub made_read_only: Vec<String>,
    /// A Promote call was issued, even if it errored: it may have half
    /// happened (the replica reset, then the call failed).
    pub promote_issued: bool,
    /// The provider accepted the Promote call: a provider that promotes
    /// asynchronously may still complete it after a cancel.
    pub promote_accepted: bool,
    /// Whether any step that changes the fleet has started.
    pub touched: bool,
    /// What the wind-down did, for the verdict.
    pub wound_down: Vec<String>,
    /// Overridden guards that objected again (said once).
    pub overrides_said: Vec<String>,
    /// Backends a rollback found drained by someone else when their wave
    /// came (after it was planned): they stay drained.
    pub found_drained: Vec<String>,
}

impl<'a> Runner<'a> {
    pub fn new(
        io: FleetIo<'a>,
        request: &'a OpRequest,
        policy: &'a OpsPolicy,
        op_key: &'a str,
        plan: &[StepSpec],
    ) -> Self {
        Runner {
            io,
            request,
            policy,
            op_key,
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
            made_read_only: Vec::new(),
            promote_issued: false,
            promote_accepted: false,
            touched: false,
            wound_down: Vec::new(),
            overrides_said: Vec::new(),
            found_drained: Vec::new(),
        }
    }

    pub fn note(&mut self, note: String) {
        self.notes.push(note.clone());
        self.io.note(note);
    }

    pub fn report(&mut self, index: usize, status: StepStatus, detail: Option<String>) {
        let at = self.io.now();
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
        self.io.step_update(index, status, detail);
    }

    /// Appends a fsynced "step" record: a kill mid-operation leaves a trail
    /// of what had started.
    pub fn audit_step(&mut self, what: String) {
        let mut rec = AuditRecord::new(
            "step",
            self.op_key,
            &self.io.ctx.environment,
            self.request,
            self.io.now().to_rfc3339(),
        );
        rec.notes.push(format!("started: {what}"));
        if let Err(e) = self.io.ctx.audit.append(&rec) {
            self.note(format!("audit log: a step record was not written: {e}"));
        }
    }

    pub async fn run_steps(&mut self) -> Verdict {
        let specs: Vec<StepSpec> = self.steps.iter().map(|s| s.spec.clone()).collect();
        for (i, spec) in specs.iter().enumerate() {
            if self.io.cancel.is_set() && spec.safe_to_stop_before() {
                self.skip_from(i);
                return self.stop(Stop::Cancelled).await;
            }
            if spec.changes_fleet() {
                if let Err(why) = self.guard_before(spec).await {
                    self.report(i, StepStatus::Failed(format!("refused: {why}")), None);
                    self.skip_from(i + 1);
                    return self
                        .stop(Stop::Refused {
                            label: spec.label(),
                            why,
                        })
                        .await;
                }
                self.touched = true;
                self.audit_step(spec.label());
            }
            self.report(i, StepStatus::Running, None);
            match self.execute(i, spec).await {
                Ok(detail) => self.report(i, StepStatus::Done, detail),
                Err(StepError::Cancelled) => {
                    self.report(i, StepStatus::Failed("cancelled".into()), None);
                    self.skip_from(i + 1);
                    return self.stop(Stop::Cancelled).await;
                }
                Err(StepError::Failed(why)) => {
                    self.report(i, StepStatus::Failed(why.clone()), None);
                    self.skip_from(i + 1);
                    return self
                        .stop(Stop::Failed {
                            label: spec.label(),
                            why,
                        })
                        .await;
                }
            }
        }
        Verdict::Succeeded
    }

    fn skip_from(&mut self, from: usize) {
        for j in from..self.steps.len() {
            self.report(j, StepStatus::Skipped, None);
        }
    }

    /// Winds down, then says how it ended and what it left.
    async fn stop(&mut self, how: Stop) -> Verdict {
        self.wind_down().await;
        if let Stop::Refused { label, why } = &how
            && !self.touched
        {
            return Verdict::Refused(format!("{label}: {why}; nothing was changed"));
        }
        let left = self.left_behind().await;
        match how {
            Stop::Cancelled => Verdict::Cancelled(left),
            Stop::Failed { label, why } => Verdict::Failed(format!("{label}: {why}; {left}")),
            Stop::Refused { label, why } => {
                Verdict::Failed(format!("stopped before {label}: {why}; {left}"))
            }
        }
    }

    /// Checks the guard that protects `spec` again on a fresh observation.
    /// A guard the operator overrode by typing stays overridden. When the
    /// observation the check needs fails, the step is refused too: its
    /// precondition cannot be checked.
    async fn guard_before(&mut self, spec: &StepSpec) -> Result<(), String> {
        let kind = match (spec, &self.request.kind) {
            (StepSpec::Drain { backend }, _) => OpKind::Drain {
                backend: backend.clone(),
            },
            (
                StepSpec::SetReadOnly {
                    read_only: true, ..
                }
                | StepSpec::Promote { .. },
                k @ OpKind::Promote { .. },
            ) => k.clone(),
            (StepSpec::Deploy { .. }, k @ OpKind::DeployVersion { .. }) => k.clone(),
            _ => return Ok(()),
        };
        let now = self.io.now();
        let mut state = State::new(
            EnvInfo {
                name: self.io.ctx.environment.clone(),
                region: None,
                source: String::new(),
                production: false,
            },
            false,
            now,
        );
        state.policy = self.policy.clone();
        let observed = match &kind {
            OpKind::Drain { .. } => self.io.hosts().await.map(|h| {
                state.hosts.data = Some(h);
                state.hosts.updated_at = Some(now);
            }),
            OpKind::Promote { .. } => self.io.replication().await.map(|r| {
                state.replication.data = Some(r);
                state.replication.updated_at = Some(now);
            }),
            // A rollback's guards read the deploy history and the pool.
            _ => match self.io.deploys().await {
                Ok(d) => {
                    state.deploys.data = Some(d);
                    state.deploys.updated_at = Some(now);
                    self.io.hosts().await.map(|h| {
                        state.hosts.data = Some(h);
                        state.hosts.updated_at = Some(now);
                    })
                }
                Err(e) => Err(e),
            },
        };
        if let Err(StepError::Failed(e)) = observed {
            return Err(format!(
                "its guard cannot be checked on a fresh observation: {e}"
            ));
        }
        match guard::check(&kind, &state, self.policy) {
            Ok(()) => Ok(()),
            Err(r) if self.request.overridden_guards.iter().any(|g| g == r.guard) => {
                // Shown once on the console; the audit records carry the
                // override already.
                if !self.overrides_said.iter().any(|g| g == r.guard) {
                    self.overrides_said.push(r.guard.to_string());
                    self.io.note(format!(
                        "guard '{}' still objects ({}); it stays overridden",
                        r.guard, r.reason
                    ));
                }
                Ok(())
            }
            Err(r) => Err(format!("guard '{}' refused: {}", r.guard, r.reason)),
        }
    }

    /// What the operation leaves, exactly: the wind-down's actions, what it
    /// changed, and a fresh look at the pool or the replication topology.
    pub async fn left_behind(&mut self) -> String {
        let mut parts = if self.touched {
            Vec::new()
        } else {
            vec!["nothing was changed".to_string()]
        };
        parts.extend(self.wound_down.iter().cloned());
        parts.extend(self.changed.iter().cloned());
        if let OpKind::DeployVersion {
            maintenance_drained,
            backends,
            ..
        } = &self.request.kind
        {
            for b in maintenance_drained.iter().filter(|b| backends.contains(b)) {
                parts.push(format!("{b} was drained for maintenance and stays drained"));
            }
            for b in &self.found_drained {
                parts.push(format!(
                    "{b} was drained by someone else during the rollback and stays drained"
                ));
            }
        }
        match &self.request.kind {
            OpKind::Promote {
                replica,
                primary,
                node,
                ..
            } => {
                let (replica, primary, node) = (replica.clone(), primary.clone(), *node);
                parts.push(format!(
                    "topology left: {}",
                    self.topology_now(&replica, &primary, node).await
                ));
            }
            OpKind::Drain { .. } | OpKind::Undrain { .. } | OpKind::DeployVersion { .. } => {
                parts.push(format!("pool left: {}", self.pool_now().await));
            }
            OpKind::SshOpen { .. } | OpKind::TrustHostKey { .. } => {}
        }
        parts.join("; ")
    }

    /// Every target of the pool with its state, on a fresh observation.
    async fn pool_now(&self) -> String {
        match self.io.hosts().await {
            Ok(h) => match &h.load_balancer {
                Some(lb) => lb
                    .targets
                    .iter()
                    .map(|t| format!("{} {}", t.backend, t.state.label()))
                    .collect::<Vec<_>>()
                    .join(", "),
                None => "unknown (the load balancer was not observed)".to_string(),
            },
            Err(StepError::Failed(e)) => {
                format!("unknown (observing it failed: {e})")
            }
            Err(StepError::Cancelled) => "unknown".to_string(),
        }
    }

    async fn execute(
        &mut self,
        index: usize,
        spec: &StepSpec,
    ) -> Result<Option<String>, StepError> {
        let now = self.io.now();
        let op = self.io.ctx.operate.clone();
        match spec {
            StepSpec::Drain { backend } => {
                if matches!(self.request.kind, OpKind::DeployVersion { .. }) {
                    // Drained by someone else since the plan was made: it is
                    // theirs, and it stays drained after its wave.
                    let t = self.io.target(backend).await?;
                    if t.state != TargetState::Active {
                        self.found_drained.push(backend.clone());
                        return Ok(Some(format!(
                            "{backend} was already {} (drained by someone else): it stays drained",
                            t.state.label()
                        )));
                    }
                }
                self.io.call(op.drain(backend, now)).await?;
                self.changed.push(format!(
                    "{backend} is drained (undrain-backend puts it back)"
                ));
                Ok(None)
            }
            StepSpec::Undrain { backend } => {
                if self.found_drained.contains(backend) {
                    return Ok(Some(format!(
                        "not undrained: {backend} was drained by someone else and stays drained"
                    )));
                }
                self.io.call(op.undrain(backend, now)).await?;
                self.changed
                    .retain(|c| !c.starts_with(&format!("{backend} is drained")));
                Ok(None)
            }
            StepSpec::WaitDrained {
                backend,
                timeout_ms,
            } => {
                // The last state seen: a target still in the pool when the
                // wait ends was not drained at all (the load balancer did not
                // take the change), which is a failure, not cut requests.
                let last = std::sync::Mutex::new(TargetState::Unknown);
                let last = &last;
                self.io
                    .wait_target(
                        index,
                        backend,
                        *timeout_ms,
                        |t| {
                            if let Ok(mut l) = last.lock() {
                                *l = t.state;
                            }
                            match t.in_flight {
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
                            }
                        },
                        // The drain timeout ends the wait; in-flight requests
                        // are cut. A target still active was never drained.
                        |progress| {
                            let state = last.lock().map_or(TargetState::Unknown, |l| *l);
                            if state == TargetState::Active {
                                Err(StepError::Failed(format!(
                                    "{backend} is still in the pool after the drain timeout ({progress})"
                                )))
                            } else {
                                Ok(Some(format!("drain timeout reached with {progress}")))
                            }
                        },
                    )
                    .await
            }
            StepSpec::VerifyNoTraffic { backend } => {
                self.io
                    .wait_target(
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
            StepSpec::VerifyServing { backend } if self.found_drained.contains(backend) => Ok(
                Some(format!("{backend} stays drained (drained by someone else)")),
            ),
            StepSpec::VerifyServing { backend } => {
                self.io
                    .wait_target(
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
                if *read_only {
                    // Recorded before the call: a call that errors may still
                    // have taken effect, and the wind-down must undo it.
                    if !self.made_read_only.contains(node) {
                        self.made_read_only.push(node.clone());
                    }
                    self.io.call(op.set_read_only(node, true, now)).await?;
                } else {
                    self.io.call(op.set_read_only(node, false, now)).await?;
                    self.made_read_only.retain(|n| n != node);
                }
                Ok(None)
            }
            StepSpec::WaitCaughtUp {
                replica,
                timeout_ms,
            } => {
                let io = &self.io;
                io.wait(
                    index,
                    *timeout_ms,
                    || async move {
                        let rep = io.replication().await?;
                        judged(crate::core::assess::caught_up(&rep, replica))
                    },
                    |progress| {
                        Err(StepError::Failed(format!(
                            "{replica} did not catch up: {progress}"
                        )))
                    },
                )
                .await
            }
            StepSpec::Promote { replica, mode } => {
                // Issued from here on, whatever the call answers.
                self.promote_issued = true;
                self.io.call(op.promote(replica, *mode, now)).await?;
                self.promote_accepted = true;
                // RDS takes minutes: the wait is the provider's, and the
                // progress names the node's status as the service reports it.
                let timeout = self
                    .promote_caps()
                    .and_then(|c| c.takes_ms)
                    .unwrap_or(PROMOTE_TIMEOUT_MS);
                let io = &self.io;
                io.wait(
                    index,
                    timeout,
                    || async move {
                        let rep = io.replication().await?;
                        let role = role_of(&rep, replica);
                        let status = rep
                            .databases
                            .iter()
                            .find(|d| d.name == *replica)
                            .and_then(|d| d.status.clone())
                            .map_or(String::new(), |s| format!(" ({s})"));
                        Ok((
                            role == Some(ReplicaRole::Primary),
                            format!(
                                "{replica} is {}{status}",
                                role.map_or("unknown", |x| x.label())
                            ),
                        ))
                    },
                    |progress| {
                        Err(StepError::Failed(format!(
                            "the new topology did not show: {progress}"
                        )))
                    },
                )
                .await
            }
            StepSpec::Rejoin {
                old_primary,
                new_primary,
            } => {
                self.io
                    .call(op.rejoin(old_primary, new_primary, now))
                    .await?;
                Ok(Some(format!("{old_primary} replicates from {new_primary}")))
            }
            StepSpec::RunHook { command } => self.run_hook(command).await,
            StepSpec::VerifyPrimary { node } => {
                let io = &self.io;
                let verified = io
                    .wait(
                        index,
                        VERIFY_TIMEOUT_MS,
                        || async move {
                            let rep = io.replication().await?;
                            judged(crate::core::assess::writable_primary(&rep, node))
                        },
                        |progress| Err(StepError::Failed(progress)),
                    )
                    .await?;
                Ok(Some(self.after_promotion(node, verified).await))
            }
            StepSpec::Deploy { backend, version } => {
                self.changed.push(format!("{backend} was given {version}"));
                self.io
                    .call(op.deploy_version(backend, version, now))
                    .await?;
                Ok(None)
            }
            StepSpec::WaitHealthy {
                backend,
                version,
                timeout_ms,
            } => {
                let io = &self.io;
                let detail = io
                    .wait(
                        index,
                        *timeout_ms,
                        || async move {
                            let h = io.hosts().await?;
                            match h.host(backend) {
                                Some(x) => Ok((
                                    x.version.as_deref() == Some(version.as_str())
                                        && !x.health.is_problem(),
                                    format!(
                                        "{} on {}",
                                        x.health.label(),
                                        x.version.as_deref().unwrap_or("?")
                                    ),
                                )),
                                None => Err(StepError::Failed(format!("{backend} vanished"))),
                            }
                        },
                        |progress| {
                            Err(StepError::Failed(format!(
                                "{backend} is not healthy on {version}: {progress}"
                            )))
                        },
                    )
                    .await?;
                let giving = format!("{backend} was given {version}");
                self.changed.retain(|c| *c != giving);
                self.changed.push(format!("{backend} runs {version}"));
                Ok(detail)
            }
            StepSpec::VerifyVersions {
                version,
                backends,
                kept_drained,
            } => {
                let h = self.io.hosts().await?;
                let wrong: Vec<String> = backends
                    .iter()
                    .filter_map(|b| {
                        let host = h.host(b)?;
                        let target = h.load_balancer.as_ref().and_then(|lb| lb.target(b));
                        // A backend drained for maintenance is right drained.
                        let placed = if kept_drained.contains(b) || self.found_drained.contains(b) {
                            target.is_none_or(|t| t.state != TargetState::Active)
                        } else {
                            target.is_none_or(|t| t.state == TargetState::Active)
                        };
                        let ok = host.version.as_deref() == Some(version.as_str())
                            && !host.health.is_problem()
                            && placed;
                        (!ok).then(|| {
                            format!(
                                "{b} ({}, {}{})",
                                host.version.as_deref().unwrap_or("?"),
                                host.health.label(),
                                target.map_or(String::new(), |t| format!(", {}", t.state.label()))
                            )
                        })
                    })
                    .collect();
                if wrong.is_empty() {
                    self.changed.clear();
                    let mut detail = format!(
                        "all {} on {version}, healthy, in the pool",
                        backends.len() - kept_drained.len() - self.found_drained.len()
                    );
                    for b in kept_drained {
                        let said = format!("{b} was drained for maintenance and stays drained");
                        detail.push_str(&format!("; {said}"));
                        self.note(said);
                    }
                    for b in self.found_drained.clone() {
                        let said = format!(
                            "{b} was drained by someone else during the rollback and stays drained"
                        );
                        detail.push_str(&format!("; {said}"));
                        self.note(said);
                    }
                    Ok(Some(detail))
                } else {
                    Err(StepError::Failed(format!(
                        "not as planned on {version}: {}",
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

impl Runner<'_> {
    /// How the provider promotes the node kind this operation is about.
    pub(super) fn promote_caps(&self) -> Option<PromoteCaps> {
        match &self.request.kind {
            OpKind::Promote { node, .. } => {
                Some(self.io.ctx.observe.capabilities().promote(*node).clone())
            }
            _ => None,
        }
    }

    /// The verification's words and, where the service (not opsdeck)
    /// decides what the old primary becomes, the topology a fresh look
    /// shows: ElastiCache's old primary following the new one, or RDS's
    /// still a writable standalone primary (said, with what to do, and not
    /// mistaken for a split brain opsdeck made).
    async fn after_promotion(&self, node: &str, verified: Option<String>) -> String {
        let mut said = verified.unwrap_or_else(|| format!("{node} is a writable primary"));
        let (
            Some(caps),
            OpKind::Promote {
                primary,
                node: kind,
                ..
            },
        ) = (self.promote_caps(), &self.request.kind)
        else {
            return said;
        };
        if caps.old_primary == OldPrimary::Rejoin {
            return said;
        }
        let Ok(rep) = self.io.replication().await else {
            return said;
        };
        let views = crate::core::assess::node_view::nodes(&rep, *kind, &[]);
        said.push_str(&format!(
            "; topology now: {}",
            crate::core::assess::node_view::describe(&views, &[node, primary])
        ));
        if caps.old_primary == OldPrimary::StaysWritable
            && crate::core::assess::writable_primary(&rep, primary).done
        {
            said.push_str(&format!(
                "; {primary} is still a writable primary (the service leaves it standalone): point the application at {node}, then retire {primary}"
            ));
        }
        said
    }
}

fn role_of(rep: &ReplicationObservation, node: &str) -> Option<ReplicaRole> {
    rep.databases
        .iter()
        .find(|d| d.name == node)
        .map(|d| d.role)
        .or_else(|| rep.caches.iter().find(|c| c.name == node).map(|c| c.role))
}

/// A judgement from `core::assess` as a wait's check: a node missing from
/// the observation fails at once instead of being waited for.
fn judged(j: crate::core::assess::Judgement) -> Result<(bool, String), StepError> {
    if j.found {
        Ok((j.done, j.detail))
    } else {
        Err(StepError::Failed(j.detail))
    }
}
