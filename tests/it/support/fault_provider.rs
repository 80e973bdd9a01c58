//! `FaultProvider`: a fault-injecting provider wrapping the demo provider
//! (calm scenario, fixed seed) for the operation runner's fault matrices. It
//! forwards everything to the demo fleet, and on request injects what the
//! demo cannot do by itself: a promotion that resets the replica (it follows
//! nobody and may take writes) and then errors; replication observations
//! that hang from the promotion on; failing host observations; making a node
//! read-only or writable that takes a while (a slow SSH round trip); a fleet-wide
//! lock held by someone else (which `break_lock` clears, only if it is still
//! that holder's, as a provider keeping the lock where the fleet is would).
//! It also records when the lock was taken and
//! given back relative to the audit log, and exposes the truth (who accepts
//! writes, who follows whom) that tests assert on.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use opsdeck::core::Timestamp;
use opsdeck::core::fleet::{
    Alert, DeploysObservation, HostsObservation, LogLine, ReplicaRole, ReplicationObservation,
    ThreadState,
};
use opsdeck::core::lock::LockHolder;
use opsdeck::providers::demo::{DemoConfig, DemoProvider, Scenario};
use opsdeck::providers::{
    LockError, ObserveProvider, OperateProvider, PromoteMode, ProviderError, SourceInfo,
};

/// What a Promote call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromoteFault {
    /// The demo's own promotion.
    None,
    /// The replica is reset (it follows nobody; `writable` says whether it
    /// takes writes), then the call errors: a half-done promotion.
    ResetsThenFails { writable: bool },
    /// The call errors before anything happened.
    FailsCleanly,
    /// The call is accepted but the promotion never takes effect.
    AcceptedNeverTakesEffect,
}

/// What replication observations do once a Promote was called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObserveFault {
    /// Every replication observation from the promotion on hangs.
    HangsAfterPromote,
    /// The first `n` replication observations after the promotion hang, the
    /// rest answer.
    HangsAfterPromoteFor(usize),
}

#[derive(Default)]
struct Faults {
    promote: Option<PromoteFault>,
    observe: Option<ObserveFault>,
    hosts_fail: bool,
    /// How long making a node read-only or writable takes.
    read_only_delay: Option<std::time::Duration>,
    promoted: bool,
    hung: usize,
    /// Nodes a faulty promotion detached, with whether they take writes.
    detached: HashMap<String, bool>,
    /// Someone else's lock.
    held_by: Option<LockHolder>,
    holder: Option<LockHolder>,
    /// Audit log lines when the lock was taken and given back.
    audit_lines_at_acquire: Option<usize>,
    audit_lines_at_release: Option<usize>,
    /// Every mutating call, in order ("drain web-a1").
    calls: Vec<String>,
}

pub struct FaultProvider {
    pub demo: DemoProvider,
    audit_path: PathBuf,
    faults: Mutex<Faults>,
}

impl FaultProvider {
    /// The calm demo fleet (seed 11) starting at `start`; `audit_path` is the
    /// audit log the runner writes, read when the lock changes hands.
    pub fn calm(start: Timestamp, audit_path: PathBuf) -> Self {
        Self {
            demo: DemoProvider::new(DemoConfig {
                seed: 11,
                scenario: Scenario::Calm,
                log_rate: 20.0,
                start,
            }),
            audit_path,
            faults: Mutex::new(Faults::default()),
        }
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_promote_fault(&self, f: PromoteFault) {
        self.faults().promote = Some(f);
    }

    pub fn set_observe_fault(&self, f: ObserveFault) {
        self.faults().observe = Some(f);
    }

    pub fn set_hosts_fail(&self, fail: bool) {
        self.faults().hosts_fail = fail;
    }

    /// Making a node read-only (or writable) takes `delay` from now on.
    pub fn set_read_only_delay(&self, delay: std::time::Duration) {
        self.faults().read_only_delay = Some(delay);
    }

    pub fn hold_lock(&self, other: LockHolder) {
        self.faults().held_by = Some(other);
    }

    /// Someone else's lock, until it is broken.
    pub fn held_by(&self) -> Option<LockHolder> {
        self.faults().held_by.clone()
    }

    pub fn lock_holder_now(&self) -> Option<LockHolder> {
        self.faults().holder.clone()
    }

    pub fn audit_lines_at_acquire(&self) -> Option<usize> {
        self.faults().audit_lines_at_acquire
    }

    pub fn audit_lines_at_release(&self) -> Option<usize> {
        self.faults().audit_lines_at_release
    }

    pub fn calls(&self) -> Vec<String> {
        self.faults().calls.clone()
    }

    fn audit_lines(&self) -> usize {
        std::fs::read_to_string(&self.audit_path)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    fn record(&self, call: String) {
        self.faults().calls.push(call);
    }

    /// The truth about one database or cache node at `now`: whether it
    /// accepts writes and whom it follows (`None`: nobody), with
    /// reachability. Read from the demo fleet itself (not from what the
    /// runner observed), with the injected detachments applied.
    pub async fn truth(&self, node: &str, now: Timestamp) -> (bool, bool, Option<String>) {
        let rep = self.demo.replication(now).await.expect("demo replication");
        let detached = self.faults().detached.get(node).copied();
        if let Some(writable) = detached {
            return (true, writable, None);
        }
        let writes = self.demo.accepts_writes(node, now).expect("known node");
        let (reachable, source) = rep
            .databases
            .iter()
            .find(|d| d.name == node)
            .map(|d| (d.reachable, d.source.clone()))
            .or_else(|| {
                rep.caches
                    .iter()
                    .find(|c| c.name == node)
                    .map(|c| (c.reachable, c.source.clone()))
            })
            .expect("node observed");
        (reachable, writes, source)
    }

    /// The demo's observation with the injected detachments applied.
    fn patch(&self, mut rep: ReplicationObservation) -> ReplicationObservation {
        let f = self.faults();
        for d in &mut rep.databases {
            if let Some(writable) = f.detached.get(&d.name) {
                d.role = ReplicaRole::Primary;
                d.read_only = !writable;
                d.source = None;
                d.lag_seconds = None;
                d.io_thread = ThreadState::Stopped;
                d.sql_thread = ThreadState::Stopped;
                d.gtid_received = None;
                d.last_error = None;
            }
        }
        for c in &mut rep.caches {
            if f.detached.contains_key(&c.name) {
                c.role = ReplicaRole::Primary;
                c.source = None;
                c.link_up = None;
                c.lag_bytes = None;
                c.lag_seconds = None;
            }
        }
        rep
    }
}

#[async_trait]
impl ObserveProvider for FaultProvider {
    fn info(&self) -> SourceInfo {
        self.demo.info()
    }

    async fn hosts(&self, now: Timestamp) -> Result<HostsObservation, ProviderError> {
        if self.faults().hosts_fail {
            return Err(ProviderError::Unreachable {
                origin: "lb".into(),
                detail: "connection refused (injected)".into(),
            });
        }
        self.demo.hosts(now).await
    }

    async fn replication(&self, now: Timestamp) -> Result<ReplicationObservation, ProviderError> {
        let hang = {
            let mut f = self.faults();
            let hang = match f.observe {
                Some(ObserveFault::HangsAfterPromote) => f.promoted,
                Some(ObserveFault::HangsAfterPromoteFor(n)) => f.promoted && f.hung < n,
                _ => false,
            };
            if hang {
                f.hung += 1;
            }
            hang
        };
        if hang {
            // A peer that never answers: only the caller's timeout ends this.
            std::future::pending::<()>().await;
        }
        let rep = self.demo.replication(now).await?;
        Ok(self.patch(rep))
    }

    async fn deploys(&self, now: Timestamp) -> Result<DeploysObservation, ProviderError> {
        self.demo.deploys(now).await
    }

    async fn alerts(&self, now: Timestamp) -> Result<Vec<Alert>, ProviderError> {
        self.demo.alerts(now).await
    }

    async fn logs(&self, now: Timestamp) -> Result<Vec<LogLine>, ProviderError> {
        self.demo.logs(now).await
    }

    async fn service(
        &self,
        now: Timestamp,
    ) -> Result<opsdeck::core::service::ServiceObservation, ProviderError> {
        self.demo.service(now).await
    }

    async fn lock_holder(&self, _now: Timestamp) -> Result<Option<LockHolder>, ProviderError> {
        let f = self.faults();
        Ok(f.held_by.clone().or_else(|| f.holder.clone()))
    }
}

#[async_trait]
impl OperateProvider for FaultProvider {
    async fn drain(&self, backend: &str, now: Timestamp) -> Result<(), ProviderError> {
        self.record(format!("drain {backend}"));
        self.demo.drain(backend, now).await
    }

    async fn undrain(&self, backend: &str, now: Timestamp) -> Result<(), ProviderError> {
        self.record(format!("undrain {backend}"));
        self.demo.undrain(backend, now).await
    }

    async fn set_read_only(
        &self,
        node: &str,
        read_only: bool,
        now: Timestamp,
    ) -> Result<(), ProviderError> {
        self.record(format!("set-read-only {node} {read_only}"));
        let delay = self.faults().read_only_delay;
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        {
            let mut f = self.faults();
            if let Some(w) = f.detached.get_mut(node) {
                *w = !read_only;
                return Ok(());
            }
        }
        self.demo.set_read_only(node, read_only, now).await
    }

    async fn promote(
        &self,
        replica: &str,
        mode: PromoteMode,
        now: Timestamp,
    ) -> Result<(), ProviderError> {
        self.record(format!("promote {replica}"));
        let fault = {
            let mut f = self.faults();
            f.promoted = true;
            f.promote.unwrap_or(PromoteFault::None)
        };
        match fault {
            PromoteFault::None => self.demo.promote(replica, mode, now).await,
            PromoteFault::ResetsThenFails { writable } => {
                self.faults().detached.insert(replica.to_string(), writable);
                Err(ProviderError::Failed {
                    origin: replica.to_string(),
                    detail: "connection lost after RESET REPLICA (injected)".into(),
                })
            }
            PromoteFault::AcceptedNeverTakesEffect => Ok(()),
            PromoteFault::FailsCleanly => Err(ProviderError::Failed {
                origin: replica.to_string(),
                detail: "access denied (injected)".into(),
            }),
        }
    }

    async fn rejoin(
        &self,
        old_primary: &str,
        new_primary: &str,
        now: Timestamp,
    ) -> Result<(), ProviderError> {
        self.record(format!("rejoin {old_primary} {new_primary}"));
        self.demo.rejoin(old_primary, new_primary, now).await
    }

    async fn deploy_version(
        &self,
        backend: &str,
        version: &str,
        now: Timestamp,
    ) -> Result<(), ProviderError> {
        self.record(format!("deploy {backend} {version}"));
        self.demo.deploy_version(backend, version, now).await
    }

    async fn acquire_lock(&self, me: &LockHolder, _now: Timestamp) -> Result<(), LockError> {
        let lines = self.audit_lines();
        let mut f = self.faults();
        if let Some(other) = &f.held_by {
            return Err(LockError::Held(other.clone()));
        }
        f.holder = Some(me.clone());
        f.audit_lines_at_acquire = Some(lines);
        Ok(())
    }

    async fn break_lock(&self, stale: &LockHolder, _now: Timestamp) -> Result<(), ProviderError> {
        self.record(format!("break-lock {}@{}", stale.operator, stale.machine));
        let mut f = self.faults();
        if f.held_by.as_ref().is_some_and(|h| h.same_as(stale)) {
            f.held_by = None;
        }
        Ok(())
    }

    async fn release_lock(&self, me: &LockHolder, _now: Timestamp) -> Result<(), ProviderError> {
        let lines = self.audit_lines();
        let mut f = self.faults();
        if f.holder.as_ref().is_some_and(|h| h.same_as(me)) {
            f.holder = None;
            f.audit_lines_at_release = Some(lines);
        }
        Ok(())
    }
}
