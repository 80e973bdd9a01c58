//! The service as its users reach it, from the console's machine: every
//! configured probe URL (through the load balancer) on its own deadline, the
//! load balancer's own check (its `health_url`, or the first probe), and
//! nginx's `stub_status` counters. Counts the requests it sends to that nginx
//! so its own polling is not read as users' traffic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::join_all;

use crate::config::selfhosted_config::{LbSettings, ProbeSettings};
use crate::core::sanitize::sanitize;
use crate::core::service::{LbCheck, ProbeSample, ServiceObservation, StubStatus};

use super::http_probe;

/// The longest deadline a probe may have: a round must end inside the
/// poller's own timeout (5 s) with the status read after it.
pub const MAX_PROBE_TIMEOUT: Duration = Duration::from_millis(3500);
/// Deadline of the `stub_status` read (it comes after the probes).
const STATUS_TIMEOUT: Duration = Duration::from_millis(1000);

/// Probes the service and the load balancer.
pub struct ServiceProber {
    probes: Vec<ProbeSettings>,
    lb_name: String,
    health_url: Option<String>,
    status_url: Option<String>,
    /// `host:port` of the status URL: requests there are the console's own.
    nginx_authority: Option<String>,
    own_requests: AtomicU64,
}

impl ServiceProber {
    /// Probes only (a managed load balancer such as an ALB, which has no
    /// status page of its own): the first probe stands for the LB's check.
    pub fn probes_only(probes: &[ProbeSettings], lb_name: &str) -> Self {
        Self {
            probes: probes.to_vec(),
            lb_name: lb_name.to_string(),
            health_url: None,
            status_url: None,
            nginx_authority: None,
            own_requests: AtomicU64::new(0),
        }
    }

    pub fn new(probes: &[ProbeSettings], lb: &LbSettings) -> Self {
        Self {
            probes: probes.to_vec(),
            lb_name: lb.name.clone(),
            health_url: lb.health_url.clone(),
            status_url: lb.status_url.clone(),
            nginx_authority: lb.status_url.as_deref().and_then(authority),
            own_requests: AtomicU64::new(0),
        }
    }

    /// One round: the probes and the LB's health URL together (each on its
    /// own deadline), then `stub_status`.
    pub async fn observe(&self) -> ServiceObservation {
        let probes = join_all(self.probes.iter().map(|p| {
            let timeout = Duration::from_millis(p.timeout_ms).min(MAX_PROBE_TIMEOUT);
            self.probe(&p.url, p.expect_status, timeout)
        }));
        let health = async {
            match &self.health_url {
                Some(url) => {
                    let timeout = self
                        .probes
                        .first()
                        .map_or(Duration::from_millis(2000), |p| {
                            Duration::from_millis(p.timeout_ms)
                        })
                        .min(MAX_PROBE_TIMEOUT);
                    Some(self.probe(url, 200, timeout).await)
                }
                None => None,
            }
        };
        let (probes, health) = futures::join!(probes, health);
        let health = health.or_else(|| probes.first().cloned());
        let lb = if health.is_none() && self.status_url.is_none() {
            None
        } else {
            let (stub, stub_error) = match &self.status_url {
                Some(url) => match self.read_status(url).await {
                    Ok(s) => (Some(s), None),
                    Err(e) => (None, Some(e)),
                },
                None => (None, None),
            };
            // nginx answers when its health URL got any HTTP answer (a 502
            // is nginx speaking) or its status page answered: a probe that
            // timed out behind slow backends does not make the LB down.
            let (answered, error, url) = match &health {
                Some(h) => (
                    h.answered() || stub.is_some(),
                    h.error.clone(),
                    Some(h.url.clone()),
                ),
                None => (stub.is_some(), stub_error.clone(), self.status_url.clone()),
            };
            Some(LbCheck {
                name: self.lb_name.clone(),
                url,
                answered,
                error: (!answered).then(|| error.unwrap_or_else(|| "no answer".into())),
                stub,
                stub_error,
            })
        };
        ServiceObservation { probes, lb }
    }

    async fn probe(&self, url: &str, expect: u16, timeout: Duration) -> ProbeSample {
        self.count(url);
        let r = http_probe::probe(url, timeout).await;
        let shown = sanitize(&http_probe::url_origin(url));
        let ok = r.status == Some(expect);
        let error = match (&r.error, r.status) {
            (Some(e), _) => {
                // The error already names the URL; say it once.
                let e = e.strip_prefix(&format!("{shown}: ")).unwrap_or(e);
                Some(format!("GET {shown}: {e}"))
            }
            (None, Some(s)) if s != expect => {
                let body = r.body.lines().next().unwrap_or("").trim();
                Some(
                    format!("GET {shown}: HTTP {s} (expected {expect}) {body}")
                        .trim_end()
                        .to_string(),
                )
            }
            _ => None,
        };
        ProbeSample {
            url: shown,
            ok,
            status: r.status,
            expect_status: expect,
            latency_ms: r.status.map(|_| (r.latency_ms * 10.0).round() / 10.0),
            error,
        }
    }

    async fn read_status(&self, url: &str) -> Result<StubStatus, String> {
        self.count(url);
        let r = http_probe::get(url, STATUS_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        if r.status != 200 {
            return Err(format!(
                "{}: HTTP {}",
                http_probe::url_origin(url),
                r.status
            ));
        }
        let mut s = StubStatus::parse(&r.body).ok_or_else(|| {
            format!(
                "{}: not an nginx stub_status page",
                http_probe::url_origin(url)
            )
        })?;
        s.own_requests = self.own_requests.load(Ordering::Relaxed);
        Ok(s)
    }

    /// Counts a request about to be sent to the LB's nginx.
    fn count(&self, url: &str) {
        if self.nginx_authority.is_some() && authority(url) == self.nginx_authority {
            self.own_requests.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `host:port` of a URL (port filled in from the scheme).
fn authority(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?))
}
