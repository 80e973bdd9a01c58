//! One polling task per panel, and one for the fleet-wide lock's holder
//! (every console shows it, read-only ones included). Each call has a
//! timeout; failures back off; a slow or dead source only delays and
//! degrades its own panel.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::core::lock::LockHolder;
use crate::core::lock_status::LockReport;
use crate::core::{Msg, Observation, PanelId, Timestamp};
use crate::providers::{ObserveProvider, ProviderError};

use super::clock::Clock;

/// How often each panel is polled, and how long one call may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollSchedule {
    pub hosts: Duration,
    pub replication: Duration,
    pub deploys: Duration,
    pub alerts: Duration,
    pub logs: Duration,
    /// End-to-end probes and the LB's own check. Each probe has its own
    /// deadline inside the provider; `timeout` bounds the whole round.
    pub service: Duration,
    /// The fleet lock's holder: often enough that the age in the status bar
    /// and a refusal naming the holder are current.
    pub lock: Duration,
    /// Longest one read of the lock may take (shorter than `lock` plus a
    /// poll, so a hung lock host never hides a newer holder for long).
    pub lock_timeout: Duration,
    pub timeout: Duration,
    /// Longest wait between attempts after repeated failures.
    pub max_backoff: Duration,
}

impl Default for PollSchedule {
    fn default() -> Self {
        Self {
            hosts: Duration::from_secs(2),
            replication: Duration::from_secs(2),
            deploys: Duration::from_secs(10),
            alerts: Duration::from_secs(5),
            logs: Duration::from_millis(250),
            service: Duration::from_secs(5),
            lock: Duration::from_secs(2),
            lock_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl PollSchedule {
    /// An AWS fleet: instances, targets and topology every 10 s (EC2's
    /// Describe calls share a throttling bucket; the metrics behind them
    /// change once a minute), alarms every 30 s, logs every 2 s
    /// (FilterLogEvents per group). `round` bounds one panel's round: its
    /// calls have their own timeouts, in up to three steps.
    pub fn aws(round: Duration) -> Self {
        Self {
            hosts: Duration::from_secs(10),
            replication: Duration::from_secs(10),
            deploys: Duration::from_secs(60),
            alerts: Duration::from_secs(30),
            logs: Duration::from_secs(2),
            service: Duration::from_secs(5),
            timeout: round,
            ..Self::default()
        }
    }

    pub fn interval(&self, panel: PanelId) -> Duration {
        match panel {
            PanelId::Hosts => self.hosts,
            PanelId::Replication => self.replication,
            PanelId::Deploys => self.deploys,
            PanelId::Alerts => self.alerts,
            PanelId::Logs => self.logs,
            PanelId::Service => self.service,
        }
    }

    /// Data is stale after three missed polls (and never sooner than 10 s).
    pub fn stale_after_ms(&self, panel: PanelId) -> i64 {
        (self.interval(panel).as_millis() as i64 * 3).max(10_000)
    }
}

/// The shortest time between two polls of one panel when refreshes are asked for.
const MIN_REFRESH_GAP: Duration = Duration::from_secs(1);

/// Running pollers; dropping this stops them.
pub struct Pollers {
    handles: Vec<JoinHandle<()>>,
    refresh: Vec<(PanelId, Arc<Notify>)>,
}

impl Pollers {
    /// Starts one task per panel, sending results on `tx`.
    pub fn spawn(
        provider: Arc<dyn ObserveProvider>,
        clock: Clock,
        schedule: &PollSchedule,
        tx: mpsc::Sender<Msg>,
    ) -> Pollers {
        let mut handles = Vec::new();
        let mut refresh = Vec::new();
        for panel in PanelId::ALL {
            let notify = Arc::new(Notify::new());
            refresh.push((panel, notify.clone()));
            let provider = provider.clone();
            let tx = tx.clone();
            let schedule = schedule.clone();
            handles.push(tokio::spawn(async move {
                let interval = schedule.interval(panel);
                let mut failures: u32 = 0;
                loop {
                    let started = tokio::time::Instant::now();
                    let msg =
                        poll_once(provider.as_ref(), panel, clock.now(), schedule.timeout).await;
                    failures = match msg {
                        Msg::SourceFailed { .. } => failures.saturating_add(1),
                        _ => 0,
                    };
                    if tx.send(msg).await.is_err() {
                        return;
                    }
                    let wait = backoff(interval, failures, schedule.max_backoff);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = notify.notified() => {
                            // A refresh asked for (C-r held down, an operation
                            // ending): at most one poll a second per panel, so
                            // a key repeat cannot flood a rate-limited API.
                            tokio::time::sleep_until(started + MIN_REFRESH_GAP).await;
                        }
                    }
                }
            }));
        }
        handles.push(spawn_lock_poller(provider, clock, schedule.clone(), tx));
        Pollers { handles, refresh }
    }

    /// Wakes the pollers of these panels now.
    pub fn refresh(&self, panels: &[PanelId]) {
        for (panel, notify) in &self.refresh {
            if panels.contains(panel) {
                notify.notify_one();
            }
        }
    }
}

impl Drop for Pollers {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// Polls the lock's holder every `schedule.lock`, backing off on failure.
fn spawn_lock_poller(
    provider: Arc<dyn ObserveProvider>,
    clock: Clock,
    schedule: PollSchedule,
    tx: mpsc::Sender<Msg>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut failures: u32 = 0;
        loop {
            let msg = poll_lock(provider.as_ref(), clock.now(), schedule.lock_timeout).await;
            failures = match &msg {
                Msg::LockObserved { result: Err(_), .. } => failures.saturating_add(1),
                _ => 0,
            };
            if tx.send(msg).await.is_err() {
                return;
            }
            tokio::time::sleep(backoff(schedule.lock, failures, schedule.max_backoff)).await;
        }
    })
}

/// Reads the lock's holder once, with a timeout, as a message.
pub async fn poll_lock(provider: &dyn ObserveProvider, now: Timestamp, timeout: Duration) -> Msg {
    let result = match tokio::time::timeout(timeout, provider.lock_holder(now)).await {
        Ok(Ok(holder)) => Ok(holder.map(|h| judge_lock(h, &super::audit_log::hostname()))),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "reading the fleet lock: no answer within {}s",
            timeout.as_secs()
        )),
    };
    Msg::LockObserved { at: now, result }
}

/// Judges a holder from this machine: this process holds it (`ours`), or
/// the process that took it on this machine is gone (`stale`). A holder on
/// another machine cannot be judged from here and is taken as live.
pub fn judge_lock(holder: LockHolder, this_machine: &str) -> LockReport {
    let here = holder.machine == this_machine;
    let ours = here && holder.pid == std::process::id();
    let stale = here && !ours && !pid_alive(holder.pid);
    LockReport {
        holder,
        stale,
        ours,
    }
}

/// Whether a process with this pid exists on this machine.
fn pid_alive(pid: u32) -> bool {
    pid != 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Interval doubled per consecutive failure, capped.
fn backoff(interval: Duration, failures: u32, max: Duration) -> Duration {
    if failures == 0 {
        return interval;
    }
    let factor = 1u32 << failures.min(10);
    interval.saturating_mul(factor).min(max.max(interval))
}

/// Polls one panel once, with a timeout, as a message.
pub async fn poll_once(
    provider: &dyn ObserveProvider,
    panel: PanelId,
    now: Timestamp,
    timeout: Duration,
) -> Msg {
    let call = async {
        Ok::<Observation, ProviderError>(match panel {
            PanelId::Hosts => Observation::Hosts(provider.hosts(now).await?),
            PanelId::Replication => Observation::Replication(provider.replication(now).await?),
            PanelId::Deploys => Observation::Deploys(provider.deploys(now).await?),
            PanelId::Alerts => Observation::Alerts(provider.alerts(now).await?),
            PanelId::Logs => Observation::Logs(provider.log_batch(now).await?),
            PanelId::Service => Observation::Service(provider.service(now).await?),
        })
    };
    let result = match tokio::time::timeout(timeout, call).await {
        Ok(r) => r,
        Err(_) => Err(ProviderError::Timeout {
            origin: provider.info().source,
            after_ms: timeout.as_millis() as u64,
        }),
    };
    match result {
        Ok(observation) => Msg::Observed {
            at: now,
            observation,
        },
        Err(e) => {
            tracing::warn!(panel = panel.name(), error = %e, "poll failed");
            Msg::SourceFailed {
                at: now,
                panel,
                source: e.source_name().to_string(),
                error: e.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let s = Duration::from_secs;
        assert_eq!(backoff(s(2), 0, s(60)), s(2));
        assert_eq!(backoff(s(2), 1, s(60)), s(4));
        assert_eq!(backoff(s(2), 3, s(60)), s(16));
        assert_eq!(backoff(s(2), 30, s(60)), s(60));
    }

    fn holder(machine: &str, pid: u32) -> LockHolder {
        LockHolder {
            operator: "alice".into(),
            machine: machine.into(),
            pid,
            operation: "drain-backend web-a1".into(),
            environment: "prod".into(),
            started_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn a_lock_held_by_a_dead_process_on_this_machine_is_stale() {
        // A child that has exited and been reaped: its pid is gone.
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let dead = child.id();
        child.wait().expect("wait");
        let r = judge_lock(holder("here", dead), "here");
        assert!(r.stale && !r.ours, "{r:?}");
        // The same pid on another machine cannot be judged from here.
        let r = judge_lock(holder("elsewhere", dead), "here");
        assert!(!r.stale && !r.ours, "{r:?}");
        // This process: ours, not stale.
        let r = judge_lock(holder("here", std::process::id()), "here");
        assert!(r.ours && !r.stale, "{r:?}");
        // A live process that is not this one (pid 1): live, not ours.
        let r = judge_lock(holder("here", 1), "here");
        assert!(!r.stale && !r.ours, "{r:?}");
    }
}
