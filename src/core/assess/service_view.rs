//! The service as its users see it, judged: each probe's status and its
//! figures over the last minutes (latency p50/p95, success rate, last error),
//! the load balancer's own health, and a traffic drop or spike. The overview's
//! first line, the headline and `status --json` all read this.

use super::freshness::{Freshness, freshness};
use super::node_health::severity_rank;
use super::traffic::{RECENT_MS, TrafficChange, traffic_change};
use crate::core::fleet::{Health, Host, HostRole};
use crate::core::series::Series;
use crate::core::service_history::ProbeHistory;
use crate::core::state::State;
use crate::core::time::Timestamp;

/// The service's overall status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceStatus {
    /// Every probe passed in the latest fresh round.
    Up,
    /// Some probes failed, some passed.
    Degraded,
    /// Every probe failed.
    Down,
    /// No fresh data: not observed yet, or the data is stale.
    Unknown,
    /// No probe is configured.
    NotProbed,
}

impl ServiceStatus {
    pub fn label(self) -> &'static str {
        match self {
            ServiceStatus::Up => "up",
            ServiceStatus::Degraded => "degraded",
            ServiceStatus::Down => "down",
            ServiceStatus::Unknown => "unknown",
            ServiceStatus::NotProbed => "not probed",
        }
    }

    /// As a health, for symbols and colours.
    pub fn health(self) -> Health {
        match self {
            ServiceStatus::Up => Health::Ok,
            ServiceStatus::Degraded => Health::Degraded,
            ServiceStatus::Down => Health::Down,
            ServiceStatus::Unknown | ServiceStatus::NotProbed => Health::Unknown,
        }
    }
}

/// One probe, judged.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeView {
    pub url: String,
    /// The latest round's outcome (`None`: no fresh round).
    pub ok: Option<bool>,
    pub status: Option<u16>,
    /// Latency percentiles over the window's answered probes, ms.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    /// Share of the window's probes that passed, 0.0..=1.0.
    pub success_rate: Option<f64>,
    pub samples: usize,
    /// The latest round's error, if it failed.
    pub error: Option<String>,
    /// The most recent failure in memory, and when.
    pub last_error: Option<(Timestamp, String)>,
}

/// The load balancer's own health.
#[derive(Clone, Debug, PartialEq)]
pub struct LbView {
    pub name: String,
    /// Down: nginx does not answer. Degraded: it answers but its status page
    /// does not. Unknown: no fresh check.
    pub health: Health,
    pub detail: Option<String>,
    pub active_connections: Option<u64>,
    pub requests: Option<u64>,
}

/// The service, judged.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceView {
    pub status: ServiceStatus,
    pub probes: Vec<ProbeView>,
    pub lb: Option<LbView>,
    /// Users' requests per second now (stub_status, else the LB's targets).
    pub rps: Option<f64>,
    pub traffic: Option<TrafficChange>,
    pub freshness: Freshness,
}

impl ServiceView {
    pub fn of(state: &State) -> ServiceView {
        let fresh = freshness(&state.service, state.now);
        let latest = state.service.data.as_ref().filter(|_| fresh.is_fresh());
        let probes: Vec<ProbeView> = match &state.service.data {
            Some(obs) => obs
                .probes
                .iter()
                .map(|p| {
                    let now = latest.and_then(|o| o.probes.iter().find(|q| q.url == p.url));
                    probe_view(
                        &p.url,
                        now.map(|q| (q.ok, q.status, q.error.clone())),
                        state.service_history.probes.get(&p.url),
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        let status = if state.service.data.is_none() || !fresh.is_fresh() {
            ServiceStatus::Unknown
        } else if probes.is_empty() {
            ServiceStatus::NotProbed
        } else {
            let ok = probes.iter().filter(|p| p.ok == Some(true)).count();
            if ok == probes.len() {
                ServiceStatus::Up
            } else if ok == 0 {
                ServiceStatus::Down
            } else {
                ServiceStatus::Degraded
            }
        };
        let lb = state
            .service
            .data
            .as_ref()
            .and_then(|o| o.lb.as_ref())
            .map(|lb| {
                let (health, detail) = if !fresh.is_fresh() {
                    (Health::Unknown, fresh.problem("service"))
                } else if !lb.answered {
                    (
                        Health::Down,
                        Some(lb.error.clone().unwrap_or_else(|| "no answer".into())),
                    )
                } else if let Some(e) = &lb.stub_error {
                    (Health::Degraded, Some(format!("stub_status: {e}")))
                } else {
                    (Health::Ok, None)
                };
                LbView {
                    name: lb.name.clone(),
                    health,
                    detail,
                    active_connections: lb.stub.map(|s| s.active),
                    requests: lb.stub.map(|s| s.requests),
                }
            });
        let series = traffic_series(state, state.now);
        ServiceView {
            status,
            probes,
            lb,
            rps: series.last().flatten(),
            traffic: traffic_change(series, state.now),
            freshness: fresh,
        }
    }
}

/// Users' request rate to judge traffic by at `now`: `stub_status` counts
/// every request nginx handled, whatever the access log says; while it has no
/// recent reading (nginx frozen), the LB's own per-target figures, which then
/// fall too.
pub fn traffic_series(state: &State, now: Timestamp) -> &Series {
    if state
        .service_history
        .has_rate_since(now.plus_millis(-RECENT_MS))
    {
        &state.service_history.rps
    } else {
        &state.history.rps
    }
}

/// The traffic change at `now`, from [`traffic_series`].
pub fn traffic_now(state: &State, now: Timestamp) -> Option<TrafficChange> {
    traffic_change(traffic_series(state, now), now)
}

impl ServiceView {
    /// The health of `host` with the LB's own check folded in: the load
    /// balancer's host is down when nginx does not answer, even though SSH
    /// to the machine (and so its host check) still works.
    pub fn host_health(&self, host: &Host, base: Health) -> Health {
        match &self.lb {
            Some(lb)
                if host.role == HostRole::LoadBalancer
                    && host.name == lb.name
                    && matches!(lb.health, Health::Down | Health::Degraded)
                    && severity_rank(lb.health) > severity_rank(base) =>
            {
                lb.health
            }
            _ => base,
        }
    }
}

fn probe_view(
    url: &str,
    latest: Option<(bool, Option<u16>, Option<String>)>,
    history: Option<&ProbeHistory>,
) -> ProbeView {
    let (ok, status, error) = match latest {
        Some((ok, status, error)) => (Some(ok), status, error),
        None => (None, None, None),
    };
    let mut latencies: Vec<f64> = history
        .map(|h| h.records.iter().filter_map(|r| r.latency_ms).collect())
        .unwrap_or_default();
    latencies.sort_by(f64::total_cmp);
    let samples = history.map_or(0, |h| h.records.len());
    let passed = history.map_or(0, |h| h.records.iter().filter(|r| r.ok).count());
    ProbeView {
        url: url.to_string(),
        ok,
        status,
        p50_ms: percentile(&latencies, 0.50),
        p95_ms: percentile(&latencies, 0.95),
        success_rate: (samples > 0).then(|| passed as f64 / samples as f64),
        samples,
        error,
        last_error: history.and_then(|h| h.last_error.clone()),
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}
