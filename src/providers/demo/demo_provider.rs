//! `DemoProvider`: the demo fleet behind the observe and operate traits. A thin
//! async wrapper; every call first advances the simulation to the `now` it is
//! given, so the fleet moves only with the runtime's clock.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::core::Timestamp;
use crate::core::fleet::{
    Alert, DeploysObservation, HostsObservation, LogLine, ReplicaRole, ReplicationObservation,
};
use crate::core::lock::LockHolder;
use crate::core::log_batch::LogBatch;
use crate::providers::{
    LockError, ObserveProvider, OperateProvider, PromoteMode, ProviderError, ShellProvider,
    SourceInfo,
};

use super::demo_config::DemoConfig;
use super::demo_fleet::DemoFleet;
use super::demo_lock::DemoLock;

/// The demo fleet as a provider. Clones share one fleet.
#[derive(Clone)]
pub struct DemoProvider {
    fleet: Arc<Mutex<DemoFleet>>,
    /// The operation lock shared by consoles on this machine; `None` (no
    /// lock, as in tests that build many fleets in one process) unless
    /// `with_lock_dir` set one.
    lock: Option<Arc<DemoLock>>,
}

impl DemoProvider {
    pub fn new(cfg: DemoConfig) -> Self {
        Self {
            fleet: Arc::new(Mutex::new(DemoFleet::new(cfg))),
            lock: None,
        }
    }

    /// Takes the operation lock in `dir` (the binary passes opsdeck's state
    /// directory), so consoles on one machine exclude each other.
    pub fn with_lock_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.lock = Some(Arc::new(DemoLock::new(dir)));
        self
    }

    /// Log lines dropped from the full undelivered-lines queue so far.
    pub fn dropped_log_lines(&self) -> u64 {
        self.lock().dropped_log_lines()
    }

    /// Whether a database or cache node accepts writes at `now` (the truth
    /// behind observations; fault tests assert on it).
    pub fn accepts_writes(&self, node: &str, now: Timestamp) -> Option<bool> {
        self.at(now, |f| f.accepts_writes(node))
    }

    /// Locks the fleet. A panic while holding the lock leaves the simulation in a
    /// usable state (each step is self-contained), so a poisoned lock is taken over.
    /// The guard is never held across an await: every method below is synchronous
    /// inside.
    fn lock(&self) -> MutexGuard<'_, DemoFleet> {
        self.fleet.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Advances the fleet to `now` and runs `f` on it.
    fn at<T>(&self, now: Timestamp, f: impl FnOnce(&mut DemoFleet) -> T) -> T {
        let mut fleet = self.lock();
        fleet.advance_to(now);
        f(&mut fleet)
    }
}

#[async_trait]
impl ObserveProvider for DemoProvider {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            account: None,
            profile: None,
            environment: "demo".to_string(),
            region: Some("ap-northeast-2".to_string()),
            source: "demo".to_string(),
        }
    }

    fn replaying_history(&self, until: Option<Timestamp>) {
        self.lock().replay_history_until(until);
    }

    fn capabilities(&self) -> crate::core::capabilities::Capabilities {
        crate::core::capabilities::Capabilities {
            fleet_lock: self.lock.is_some(),
            ..Default::default()
        }
    }

    async fn lock_holder(&self, _now: Timestamp) -> Result<Option<LockHolder>, ProviderError> {
        Ok(self.lock.as_ref().and_then(|l| l.holder()))
    }

    async fn hosts(&self, now: Timestamp) -> Result<HostsObservation, ProviderError> {
        Ok(self.at(now, |f| f.hosts()))
    }

    async fn replication(&self, now: Timestamp) -> Result<ReplicationObservation, ProviderError> {
        Ok(self.at(now, |f| f.replication()))
    }

    async fn deploys(&self, now: Timestamp) -> Result<DeploysObservation, ProviderError> {
        Ok(self.at(now, |f| f.deploys()))
    }

    async fn alerts(&self, now: Timestamp) -> Result<Vec<Alert>, ProviderError> {
        Ok(self.at(now, |f| f.alerts()))
    }

    async fn service(
        &self,
        now: Timestamp,
    ) -> Result<crate::core::service::ServiceObservation, ProviderError> {
        Ok(self.at(now, |f| f.service()))
    }

    async fn logs(&self, now: Timestamp) -> Result<Vec<LogLine>, ProviderError> {
        Ok(self.at(now, |f| f.take_logs()))
    }

    async fn log_batch(&self, now: Timestamp) -> Result<LogBatch, ProviderError> {
        Ok(self.at(now, |f| f.take_log_batch()))
    }
}

#[async_trait]
impl OperateProvider for DemoProvider {
    async fn acquire_lock(&self, me: &LockHolder, _now: Timestamp) -> Result<(), LockError> {
        match &self.lock {
            Some(lock) => lock.acquire(me).await,
            None => Ok(()),
        }
    }

    async fn release_lock(&self, me: &LockHolder, _now: Timestamp) -> Result<(), ProviderError> {
        match &self.lock {
            Some(lock) => lock.release(me),
            None => Ok(()),
        }
    }

    async fn break_lock(&self, stale: &LockHolder, _now: Timestamp) -> Result<(), ProviderError> {
        match &self.lock {
            Some(lock) => lock.break_stale(stale),
            None => Ok(()),
        }
    }

    async fn drain(&self, backend: &str, now: Timestamp) -> Result<(), ProviderError> {
        self.at(now, |f| f.drain(backend, now))
    }

    async fn undrain(&self, backend: &str, now: Timestamp) -> Result<(), ProviderError> {
        self.at(now, |f| f.undrain(backend))
    }

    async fn set_read_only(
        &self,
        node: &str,
        read_only: bool,
        now: Timestamp,
    ) -> Result<(), ProviderError> {
        self.at(now, |f| f.set_read_only(node, read_only))
    }

    async fn promote(
        &self,
        replica: &str,
        mode: PromoteMode,
        now: Timestamp,
    ) -> Result<(), ProviderError> {
        self.at(now, |f| f.promote(replica, mode, now))
    }

    async fn deploy_version(
        &self,
        backend: &str,
        version: &str,
        now: Timestamp,
    ) -> Result<(), ProviderError> {
        self.at(now, |f| f.deploy_version(backend, version, now))
    }

    async fn rejoin(
        &self,
        old_primary: &str,
        new_primary: &str,
        now: Timestamp,
    ) -> Result<(), ProviderError> {
        // The simulated switchover already re-points the old primary; this
        // checks that it did, as a real provider's rejoin would verify.
        self.at(now, |f| {
            match (f.role_of(old_primary), f.role_of(new_primary)) {
                (Some(ReplicaRole::Replica), Some(ReplicaRole::Primary)) => Ok(()),
                _ => Err(ProviderError::Failed {
                    origin: old_primary.to_string(),
                    detail: format!("is not a replica of {new_primary}"),
                }),
            }
        })
    }
}

#[async_trait]
impl ShellProvider for DemoProvider {
    async fn interactive(&self, host: &str) -> Result<(), ProviderError> {
        let known = self.lock().hosts().hosts.iter().any(|h| h.name == host);
        if !known {
            return Err(ProviderError::Failed {
                origin: host.to_string(),
                detail: "no such host in the demo fleet".to_string(),
            });
        }
        // The demo's hosts are simulated: a local shell stands in for SSH, and
        // says so before anything else.
        println!(
            "opsdeck demo: {host} is simulated, so this is a local shell standing in for an SSH session.\nType `exit` to return to opsdeck."
        );
        let status = tokio::process::Command::new("/bin/sh")
            .arg("-i")
            .env("PS1", format!("demo:{host}$ "))
            .status()
            .await
            .map_err(|e| ProviderError::Failed {
                origin: host.to_string(),
                detail: format!("cannot start /bin/sh: {e}"),
            })?;
        match status.code() {
            Some(_) => Ok(()),
            None => Err(ProviderError::Failed {
                origin: host.to_string(),
                detail: format!("session ended: {status}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fleet::TargetState;
    use crate::providers::demo::Scenario;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn provider_wraps_the_fleet() {
        block_on(async {
            let cfg = DemoConfig {
                scenario: Scenario::Calm,
                ..DemoConfig::default()
            };
            let start = cfg.start;
            let p = DemoProvider::new(cfg);
            let info = p.info();
            assert_eq!(info.environment, "demo");
            assert_eq!(info.region.as_deref(), Some("ap-northeast-2"));
            assert_eq!(info.source, "demo");

            let clone = p.clone();
            clone
                .drain("web-a2", start.plus_millis(1_000))
                .await
                .expect("drain");
            let hosts = p.hosts(start.plus_millis(6_000)).await.expect("hosts");
            let t = hosts
                .load_balancer
                .and_then(|lb| lb.target("web-a2").cloned());
            assert_eq!(t.map(|t| t.state), Some(TargetState::Drained));

            p.promote(
                "cache-replica",
                PromoteMode::Planned,
                start.plus_millis(6_000),
            )
            .await
            .expect("promote");
            let repl = p.replication(start.plus_millis(9_000)).await.expect("repl");
            assert_eq!(repl.caches[1].role, ReplicaRole::Primary);

            let logs = p.logs(start.plus_millis(10_000)).await.expect("logs");
            assert!(!logs.is_empty());
            assert!(
                p.alerts(start.plus_millis(10_000))
                    .await
                    .expect("alerts")
                    .is_empty()
            );
            assert_eq!(
                p.deploys(start.plus_millis(10_000))
                    .await
                    .expect("deploys")
                    .service,
                "web"
            );
            assert_eq!(p.dropped_log_lines(), 0);
            assert!(p.undrain("nope", start.plus_millis(10_000)).await.is_err());
        });
    }
}
