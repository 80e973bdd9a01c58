//! `FleetIo`: the runner's side effects other than its bookkeeping: provider
//! calls under a timeout, fresh observations, waits with a countdown, and
//! progress reports. Waits borrow it while the runner records what changed.

use std::time::Duration;

use crate::core::fleet::{DeploysObservation, HostsObservation, ReplicationObservation, Target};
use crate::core::operation::StepStatus;
use crate::core::{Msg, Timestamp};
use crate::providers::ProviderError;

use super::cancel_flag::CancelFlag;
use super::op_context::OpContext;
use super::progress::Progress;
use super::step_error::StepError;

/// How often waits observe the fleet.
const POLL_MS: i64 = 500;
/// Longest a single provider call may take.
pub(super) const CALL_TIMEOUT: Duration = Duration::from_secs(15);

pub(super) struct FleetIo<'a> {
    pub ctx: &'a OpContext,
    pub progress: &'a Progress,
    pub id: u64,
    pub cancel: CancelFlag,
}

impl FleetIo<'_> {
    pub fn now(&self) -> Timestamp {
        self.ctx.clock.now()
    }

    /// Reports a step's status; never waits.
    pub fn step_update(&self, index: usize, status: StepStatus, detail: Option<String>) {
        self.progress.send(Msg::OperationStep {
            id: self.id,
            index,
            status,
            detail,
            at: self.now(),
        });
    }

    pub fn note(&self, note: String) {
        self.progress.send(Msg::OperationNote { id: self.id, note });
    }

    /// A mutating provider call under `CALL_TIMEOUT`.
    pub async fn call(
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

    pub async fn hosts(&self) -> Result<HostsObservation, StepError> {
        match tokio::time::timeout(CALL_TIMEOUT, self.ctx.observe.hosts(self.now())).await {
            Ok(r) => r.map_err(StepError::from),
            Err(_) => Err(StepError::Failed("observing hosts timed out".into())),
        }
    }

    pub async fn replication(&self) -> Result<ReplicationObservation, StepError> {
        match tokio::time::timeout(CALL_TIMEOUT, self.ctx.observe.replication(self.now())).await {
            Ok(r) => r.map_err(StepError::from),
            Err(_) => Err(StepError::Failed("observing replication timed out".into())),
        }
    }

    pub async fn deploys(&self) -> Result<DeploysObservation, StepError> {
        match tokio::time::timeout(CALL_TIMEOUT, self.ctx.observe.deploys(self.now())).await {
            Ok(r) => r.map_err(StepError::from),
            Err(_) => Err(StepError::Failed("observing deploys timed out".into())),
        }
    }

    /// A backend's load-balancer target on a fresh observation.
    pub async fn target(&self, backend: &str) -> Result<Target, StepError> {
        let h = self.hosts().await?;
        let target = h
            .load_balancer
            .as_ref()
            .and_then(|lb| lb.target(backend))
            .cloned()
            .ok_or_else(|| {
                StepError::Failed(format!("{backend} is not in the load-balancer pool"))
            })?;
        // The load balancer's part failed this round and what came back is
        // its last answer: a wait must not be judged on it.
        if let Some(f) = h
            .faults
            .iter()
            .find(|f| f.stale.iter().any(|s| s == backend))
        {
            return Err(StepError::Failed(format!(
                "{backend}'s load-balancer state is not current ({}: {}); last seen {}",
                f.source,
                f.message,
                target.state.label()
            )));
        }
        Ok(target)
    }

    /// `wait` over a backend's load-balancer target: `check` says whether it
    /// is done and what to show.
    pub async fn wait_target(
        &self,
        index: usize,
        backend: &str,
        timeout_ms: i64,
        check: impl Fn(&Target) -> (bool, String),
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

    /// Polls `check` until it says done (`Ok(Some(detail))`), showing its
    /// progress and a countdown; `on_timeout` decides what a timeout means.
    /// A cancel ends the wait at its next poll.
    pub async fn wait<F, Fut>(
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
        let start = self.now();
        loop {
            if self.cancel.is_set() {
                return Err(StepError::Cancelled);
            }
            let (done, progress) = check().await?;
            let elapsed = self.now().since(start);
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
            let left = if left >= 120 {
                format!("{}m {:02}s", left / 60, left % 60)
            } else {
                format!("{left}s")
            };
            self.step_update(
                index,
                StepStatus::Running,
                Some(format!("{progress} · {left} left")),
            );
            // A wait of minutes (an RDS promotion, a 300 s deregistration
            // delay) asks less often: a few dozen calls, not hundreds.
            let poll = Duration::from_millis((timeout_ms / 60).clamp(POLL_MS, 5_000) as u64);
            tokio::time::sleep(poll).await;
        }
    }
}
