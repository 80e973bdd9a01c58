//! A Prometheus HTTP API client: firing alerts (`/api/v1/alerts`), scrape
//! targets (`/api/v1/targets`) and instant queries (`/api/v1/query`).
//!
//! Response bodies are mapped by pure functions (`parse_*`) so the mapping is
//! tested against bodies in the documented format without a server.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::core::Timestamp;
use crate::core::fleet::{Alert, Severity};
use crate::core::sanitize::sanitize;
use crate::providers::ProviderError;

use super::http_probe;

/// One sample of an instant query: its labels and value.
pub type Sample = (BTreeMap<String, String>, f64);

/// One scrape target and whether its last scrape worked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScrapeTarget {
    pub job: String,
    pub instance: String,
    pub up: bool,
    /// `lastError`, when not empty.
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrometheusClient {
    /// `http://127.0.0.90:9090` (a trailing `/` is fine).
    pub base_url: String,
}

impl PrometheusClient {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }

    /// Firing alerts. `now` stands in for an `activeAt` Prometheus did not send.
    pub async fn alerts(
        &self,
        now: Timestamp,
        timeout: Duration,
    ) -> Result<Vec<Alert>, ProviderError> {
        let url = self.url("/api/v1/alerts");
        let response = http_probe::get(&url, timeout).await?;
        parse_alerts(&response.body, now).map_err(|d| failed(&url, response.status, d))
    }

    /// Every active scrape target.
    pub async fn targets(&self, timeout: Duration) -> Result<Vec<ScrapeTarget>, ProviderError> {
        let url = self.url("/api/v1/targets?state=active");
        let response = http_probe::get(&url, timeout).await?;
        parse_targets(&response.body).map_err(|d| failed(&url, response.status, d))
    }

    /// `(job, instance, up, last_error)` of every active scrape target.
    pub async fn targets_up(
        &self,
        timeout: Duration,
    ) -> Result<Vec<(String, String, bool, Option<String>)>, ProviderError> {
        Ok(self
            .targets(timeout)
            .await?
            .into_iter()
            .map(|t| (t.job, t.instance, t.up, t.last_error))
            .collect())
    }

    /// The value of an instant query: the scalar, or the first sample of a
    /// vector. `None` for an empty result or NaN (unknown, never 0).
    pub async fn query_scalar(
        &self,
        promql: &str,
        timeout: Duration,
    ) -> Result<Option<f64>, ProviderError> {
        Ok(self
            .query_vector(promql, timeout)
            .await?
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .filter(|v| !v.is_nan()))
    }

    /// Every sample of an instant query with its labels (a scalar comes back
    /// as one sample without labels).
    pub async fn query_vector(
        &self,
        promql: &str,
        timeout: Duration,
    ) -> Result<Vec<Sample>, ProviderError> {
        let url = match reqwest::Url::parse_with_params(
            &self.url("/api/v1/query"),
            [("query", promql)],
        ) {
            Ok(u) => u.to_string(),
            Err(e) => {
                return Err(ProviderError::Failed {
                    origin: self.base_url.clone(),
                    detail: format!("bad base URL: {e}"),
                });
            }
        };
        let response = http_probe::get(&url, timeout).await?;
        parse_query(&response.body).map_err(|d| failed(&url, response.status, d))
    }
}

fn failed(url: &str, status: u16, detail: String) -> ProviderError {
    ProviderError::Failed {
        origin: http_probe::url_origin(url),
        detail: if (200..300).contains(&status) {
            sanitize(&detail)
        } else {
            sanitize(&format!("HTTP {status}: {detail}"))
        },
    }
}

/// The envelope every API answer comes in.
#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

fn open<T: for<'de> Deserialize<'de>>(body: &str) -> Result<T, String> {
    let envelope: Envelope<T> = serde_json::from_str(body).map_err(|e| {
        let start: String = body.chars().take(120).collect();
        format!("not a Prometheus API answer ({e}): {start}")
    })?;
    if envelope.status != "success" {
        return Err(format!(
            "{}: {}",
            envelope.error_type.unwrap_or_else(|| "error".into()),
            envelope.error.unwrap_or_default()
        ));
    }
    envelope
        .data
        .ok_or_else(|| "answer without data".to_string())
}

#[derive(Deserialize)]
struct AlertsData {
    alerts: Vec<RawAlert>,
}

#[derive(Deserialize)]
struct RawAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    state: String,
    #[serde(rename = "activeAt")]
    active_at: Option<String>,
}

/// Maps an `/api/v1/alerts` body to the firing alerts, oldest first.
pub fn parse_alerts(body: &str, now: Timestamp) -> Result<Vec<Alert>, String> {
    let data: AlertsData = open(body)?;
    let mut alerts: Vec<Alert> = data
        .alerts
        .into_iter()
        .filter(|a| a.state == "firing")
        .map(|a| {
            let label = |k: &str| a.labels.get(k).filter(|v| !v.is_empty());
            let note = |k: &str| a.annotations.get(k).filter(|v| !v.is_empty());
            let name = label("alertname")
                .cloned()
                .unwrap_or_else(|| "unnamed".into());
            let severity = match label("severity").map(|s| s.to_ascii_lowercase()).as_deref() {
                Some("critical" | "page" | "error") => Severity::Critical,
                Some("info" | "informational" | "none") => Severity::Info,
                _ => Severity::Warning,
            };
            let target = label("instance")
                .or_else(|| label("job"))
                .cloned()
                .unwrap_or_default();
            let summary = note("summary")
                .or_else(|| note("description"))
                .cloned()
                .unwrap_or_else(|| name.clone());
            let since = a
                .active_at
                .as_deref()
                .and_then(parse_rfc3339)
                .unwrap_or(now);
            Alert {
                name: sanitize(&name),
                severity,
                target: sanitize(&target),
                since,
                summary: sanitize(&summary),
            }
        })
        .collect();
    alerts.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.name.cmp(&b.name)));
    Ok(alerts)
}

/// RFC 3339 (`2026-11-22T02:19:07.123456789+01:00`) to a `Timestamp`.
/// Go's zero time (`0001-01-01T00:00:00Z`) is "not set".
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let dt = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    let ms = dt.timestamp_millis();
    (ms > 0).then_some(Timestamp::from_millis(ms))
}

#[derive(Deserialize)]
struct TargetsData {
    #[serde(rename = "activeTargets", default)]
    active_targets: Vec<RawTarget>,
}

#[derive(Deserialize)]
struct RawTarget {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(rename = "scrapePool", default)]
    scrape_pool: String,
    #[serde(rename = "scrapeUrl", default)]
    scrape_url: String,
    #[serde(rename = "lastError", default)]
    last_error: String,
    health: String,
}

/// Maps an `/api/v1/targets` body to its active targets.
pub fn parse_targets(body: &str) -> Result<Vec<ScrapeTarget>, String> {
    let data: TargetsData = open(body)?;
    Ok(data
        .active_targets
        .into_iter()
        .map(|t| ScrapeTarget {
            job: sanitize(t.labels.get("job").unwrap_or(&t.scrape_pool)),
            instance: sanitize(t.labels.get("instance").unwrap_or(&t.scrape_url)),
            // "unknown" (not scraped yet) is not up.
            up: t.health == "up",
            last_error: (!t.last_error.is_empty()).then(|| sanitize(&t.last_error)),
        })
        .collect())
}

#[derive(Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct RawSample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// Maps an `/api/v1/query` body to its samples. Scalars come back as one
/// sample without labels; range matrices and strings are errors.
pub fn parse_query(body: &str) -> Result<Vec<Sample>, String> {
    let data: QueryData = open(body)?;
    let number = |s: &str| {
        s.parse::<f64>()
            .map_err(|_| format!("sample value `{s}` is not a number"))
    };
    match data.result_type.as_str() {
        "vector" => {
            let samples: Vec<RawSample> = serde_json::from_value(data.result)
                .map_err(|e| format!("bad vector result: {e}"))?;
            samples
                .into_iter()
                .map(|s| Ok((s.metric, number(&s.value.1)?)))
                .collect()
        }
        "scalar" => {
            let (_, value): (f64, String) = serde_json::from_value(data.result)
                .map_err(|e| format!("bad scalar result: {e}"))?;
            Ok(vec![(BTreeMap::new(), number(&value)?)])
        }
        other => Err(format!("expected an instant vector or scalar, got {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::selfhosted::lab_env::{LabEnv, answers, skip};

    // Shapes from https://prometheus.io/docs/prometheus/latest/querying/api/
    const ALERTS: &str = r#"{
      "status": "success",
      "data": {
        "alerts": [
          {
            "labels": {"alertname": "ReplicaLagHigh", "severity": "critical", "instance": "db-replica:9104", "job": "mysql"},
            "annotations": {"summary": "Replica 42 s behind", "description": "long text"},
            "state": "firing",
            "activeAt": "2026-11-22T02:19:07.5+01:00",
            "value": "4.2e+01"
          },
          {
            "labels": {"alertname": "BackendDown", "job": "web"},
            "annotations": {"description": "app-b1 is \u001b[31mdown"},
            "state": "firing",
            "activeAt": "2026-11-22T01:00:00Z",
            "value": "0e+00"
          },
          {
            "labels": {"alertname": "DiskFilling", "severity": "info", "instance": "lb-a"},
            "annotations": {},
            "state": "firing",
            "activeAt": "0001-01-01T00:00:00Z",
            "value": "1e+00"
          },
          {
            "labels": {"alertname": "Pending", "severity": "critical"},
            "annotations": {},
            "state": "pending",
            "activeAt": "2026-11-22T02:00:00Z",
            "value": "1e+00"
          }
        ]
      }
    }"#;

    #[test]
    fn maps_firing_alerts() {
        let now = Timestamp::from_secs(1_800_000_000);
        let alerts = parse_alerts(ALERTS, now).expect("parses");
        assert_eq!(alerts.len(), 3, "pending alerts are left out");
        assert_eq!(
            alerts[0],
            Alert {
                name: "BackendDown".into(),
                severity: Severity::Warning,
                target: "web".into(),
                since: Timestamp::from_millis(1_795_309_200_000),
                summary: "app-b1 is ␛[31mdown".into(),
            }
        );
        assert_eq!(
            alerts[1],
            Alert {
                name: "ReplicaLagHigh".into(),
                severity: Severity::Critical,
                target: "db-replica:9104".into(),
                since: Timestamp::from_millis(1_795_310_347_500),
                summary: "Replica 42 s behind".into(),
            }
        );
        assert_eq!(alerts[2].severity, Severity::Info);
        assert_eq!(alerts[2].summary, "DiskFilling");
        assert_eq!(
            alerts[2].since, now,
            "Go zero time is unknown: now stands in"
        );
    }

    #[test]
    fn api_errors_are_reported() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        assert_eq!(
            parse_query(body),
            Err("bad_data: parse error at char 3".to_string())
        );
        assert!(
            parse_alerts("<html>502 Bad Gateway</html>", Timestamp::default())
                .expect_err("html")
                .starts_with("not a Prometheus API answer")
        );
        let err = failed(
            "http://p:9090/api/v1/query?query=up",
            400,
            "bad_data: x".into(),
        );
        assert_eq!(
            err.to_string(),
            "http://p:9090/api/v1/query: HTTP 400: bad_data: x"
        );
    }

    #[test]
    fn maps_targets() {
        let body = r#"{
          "status": "success",
          "data": {
            "activeTargets": [
              {
                "discoveredLabels": {"__address__": "127.0.0.1:9090"},
                "labels": {"instance": "127.0.0.1:9090", "job": "prometheus"},
                "scrapePool": "prometheus",
                "scrapeUrl": "http://127.0.0.1:9090/metrics",
                "globalUrl": "http://host:9090/metrics",
                "lastError": "",
                "lastScrape": "2017-01-17T15:07:44.723715405+01:00",
                "lastScrapeDuration": 0.050688943,
                "health": "up",
                "scrapeInterval": "1m",
                "scrapeTimeout": "10s"
              },
              {
                "labels": {"instance": "127.0.2.21:9104", "job": "mysql"},
                "scrapePool": "mysql",
                "scrapeUrl": "http://127.0.2.21:9104/metrics",
                "lastError": "Get \"http://127.0.2.21:9104/metrics\": dial tcp: connection refused",
                "health": "down"
              },
              {
                "labels": {},
                "scrapePool": "redis",
                "scrapeUrl": "http://127.0.1.31:9121/metrics",
                "lastError": "",
                "health": "unknown"
              }
            ],
            "droppedTargets": []
          }
        }"#;
        let t = parse_targets(body).expect("parses");
        assert_eq!(
            t,
            vec![
                ScrapeTarget {
                    job: "prometheus".into(),
                    instance: "127.0.0.1:9090".into(),
                    up: true,
                    last_error: None
                },
                ScrapeTarget {
                    job: "mysql".into(),
                    instance: "127.0.2.21:9104".into(),
                    up: false,
                    last_error: Some(
                        "Get \"http://127.0.2.21:9104/metrics\": dial tcp: connection refused"
                            .into()
                    )
                },
                ScrapeTarget {
                    job: "redis".into(),
                    instance: "http://127.0.1.31:9121/metrics".into(),
                    up: false,
                    last_error: None
                },
            ]
        );
    }

    #[test]
    fn maps_vectors_and_scalars() {
        let vector = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","job":"prometheus","instance":"localhost:9090"},"value":[1435781451.781,"1"]},
            {"metric":{"__name__":"up","job":"node","instance":"localhost:9100"},"value":[1435781451.781,"0"]}]}}"#;
        let v = parse_query(vector).expect("parses");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].0.get("job").map(String::as_str), Some("prometheus"));
        assert_eq!(v[1].1, 0.0);

        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1435781451.781,"+Inf"]}}"#;
        let s = parse_query(scalar).expect("parses");
        assert_eq!(s[0].1, f64::INFINITY);

        let nan = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}"#;
        assert!(parse_query(nan).expect("parses")[0].1.is_nan());

        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(parse_query(matrix).is_err());
    }

    fn lab_client(test: &str) -> Option<(LabEnv, PrometheusClient, String)> {
        let lab = LabEnv::load(test)?;
        let url = lab
            .get("LAB_PROMETHEUS_URL")
            .unwrap_or("http://127.0.0.90:9090")
            .to_string();
        let hostport = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        Some((lab, PrometheusClient::new(url), hostport))
    }

    #[tokio::test]
    async fn lab_alerts_and_targets() {
        let _lab = crate::providers::selfhosted::lab_env::LOCK.lock().await;
        let test = "prometheus::lab_alerts_and_targets";
        let Some((_lab, client, hostport)) = lab_client(test) else {
            return;
        };
        if !answers(&hostport).await {
            skip(test);
            return;
        }
        let timeout = Duration::from_secs(5);
        // A Prometheus that just started has no scrape results yet: give it
        // a few scrape intervals.
        let mut targets = Vec::new();
        for _ in 0..60 {
            targets = client.targets_up(timeout).await.expect("targets");
            if targets.iter().any(|t| t.2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        println!("targets: {targets:?}");
        assert!(!targets.is_empty());
        assert!(targets.iter().any(|t| t.2), "some target is up");
        let alerts = client
            .alerts(Timestamp::default(), timeout)
            .await
            .expect("alerts");
        println!("alerts: {alerts:?}");
        let up = client
            .query_scalar("count(up == 1)", timeout)
            .await
            .expect("query");
        assert!(up.is_some_and(|n| n >= 1.0), "{up:?}");
        let none = client
            .query_scalar("absent_metric_opsdeck_xyz", timeout)
            .await
            .expect("query");
        assert_eq!(none, None);
        let err = client
            .query_scalar("sum(", timeout)
            .await
            .expect_err("bad promql");
        assert!(err.to_string().contains("/api/v1/query"), "{err}");
    }
}
