//! HTTP health probes (`/actuator/health`, `/healthz`) and plain GETs for the
//! JSON APIs (Prometheus), over one shared `reqwest::Client`.
//!
//! The client ignores `HTTP_PROXY`/`HTTPS_PROXY` from the environment: a probe
//! of a private backend must not be routed through a corporate proxy and
//! report the proxy's health. Bodies are read up to a limit, so a backend that
//! streams forever cannot hold a probe open or fill memory.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::time::Instant;

use crate::core::sanitize::sanitize;
use crate::providers::ProviderError;

/// Bytes of body a probe keeps for display.
pub const PROBE_BODY_LIMIT: usize = 512;
/// Bytes of body `get`/`fetch_text` accept before failing.
pub const FETCH_LIMIT: usize = 16 * 1024 * 1024;
/// Connect timeout of the shared client; each call's own timeout bounds the total.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Total timeout of the shared client, a backstop behind each call's own.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(60);

/// The outcome of one probe. A failed probe is a result, not an error: the
/// panel shows it as the backend's health.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeResult {
    /// A 2xx answer arrived within the timeout.
    pub ok: bool,
    pub status: Option<u16>,
    /// From sending the request to the end of the (limited) body.
    pub latency_ms: f64,
    /// Start of the body, sanitized for the terminal; `…` marks a cut.
    pub body: String,
    /// What went wrong, naming the URL; `None` when an answer arrived.
    pub error: Option<String>,
}

/// A whole answer, whatever its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// The client every probe and fetch shares (connection reuse, one TLS setup).
pub fn client() -> Result<&'static reqwest::Client, ProviderError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .no_proxy()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(TOTAL_TIMEOUT)
                .redirect(reqwest::redirect::Policy::limited(3))
                .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| describe(&e))
        })
        .as_ref()
        .map_err(|detail| ProviderError::Failed {
            origin: "http client".into(),
            detail: detail.clone(),
        })
}

/// GETs `url` and reports health: `ok` for a 2xx within `timeout`.
pub async fn probe(url: &str, timeout: Duration) -> ProbeResult {
    let started = Instant::now();
    let outcome = request(url, timeout, PROBE_BODY_LIMIT, false).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok((status, body, cut)) => {
            let mut body = sanitize(&String::from_utf8_lossy(&body));
            if cut {
                body.push('…');
            }
            ProbeResult {
                ok: (200..300).contains(&status),
                status: Some(status),
                latency_ms,
                body,
                error: None,
            }
        }
        Err(e) => ProbeResult {
            ok: false,
            status: None,
            latency_ms,
            body: String::new(),
            error: Some(sanitize(&e.to_string())),
        },
    }
}

/// GETs `url` and returns its status and body (up to [`FETCH_LIMIT`]).
pub async fn get(url: &str, timeout: Duration) -> Result<HttpResponse, ProviderError> {
    let (status, body, _) = request(url, timeout, FETCH_LIMIT, true).await?;
    Ok(HttpResponse {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// GETs `url` and returns its body; a non-2xx status is an error naming the URL.
pub async fn fetch_text(url: &str, timeout: Duration) -> Result<String, ProviderError> {
    let response = get(url, timeout).await?;
    if (200..300).contains(&response.status) {
        Ok(response.body)
    } else {
        Err(ProviderError::Failed {
            origin: url_origin(url),
            detail: format!(
                "HTTP {}: {}",
                response.status,
                sanitize(&first_chars(&response.body, 200))
            ),
        })
    }
}

/// `scheme://host:port/path` of `url`: the query (a PromQL expression, a token)
/// is left out of error messages.
pub fn url_origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("?");
            match u.port_or_known_default() {
                Some(port) => format!("{}://{host}:{port}{}", u.scheme(), u.path()),
                None => format!("{}://{host}{}", u.scheme(), u.path()),
            }
        }
        Err(_) => sanitize(&first_chars(url, 120)),
    }
}

/// Status, body (at most `limit` bytes) and whether the body was cut.
/// With `fail_over_limit`, a longer body is an error instead of a cut.
async fn request(
    url: &str,
    timeout: Duration,
    limit: usize,
    fail_over_limit: bool,
) -> Result<(u16, Vec<u8>, bool), ProviderError> {
    let origin = url_origin(url);
    let client = client()?;
    let work = async {
        let mut response = client
            .get(url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| classify(&origin, timeout, &e))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        let mut cut = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify(&origin, timeout, &e))?
        {
            let room = limit - body.len();
            if chunk.len() > room {
                if fail_over_limit {
                    return Err(ProviderError::Failed {
                        origin: origin.clone(),
                        detail: format!("answer larger than {limit} bytes"),
                    });
                }
                body.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body, cut))
    };
    super::endpoint::with_deadline(&origin, timeout, work).await
}

fn classify(origin: &str, timeout: Duration, e: &reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Timeout {
            origin: origin.to_string(),
            after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        }
    } else if e.is_connect() {
        ProviderError::Unreachable {
            origin: origin.to_string(),
            detail: describe(e),
        }
    } else {
        ProviderError::Failed {
            origin: origin.to_string(),
            detail: describe(e),
        }
    }
}

/// The error and its causes (`connection refused` is three levels down), with
/// the URL removed because the origin already names it.
fn describe(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let top = match e.url() {
        Some(url) => e.to_string().replace(&format!(" for url ({url})"), ""),
        None => e.to_string(),
    };
    parts.push(top);
    while let Some(s) = source {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn first_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::selfhosted::lab_env::{LabEnv, answers};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn origin_leaves_out_the_query() {
        assert_eq!(
            url_origin("http://127.0.0.90:9090/api/v1/query?query=up%7Bjob%3D%22x%22%7D"),
            "http://127.0.0.90:9090/api/v1/query"
        );
        assert_eq!(
            url_origin("https://example.test/health"),
            "https://example.test:443/health"
        );
        assert_eq!(url_origin("not a url"), "not a url");
    }

    /// A one-shot HTTP server on loopback that answers `response` verbatim.
    async fn serve_once(response: Vec<u8>, delay: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                tokio::time::sleep(delay).await;
                let _ = sock.write_all(&response).await;
                let _ = sock.shutdown().await;
            }
        });
        format!("http://{addr}/actuator/health")
    }

    fn http(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[tokio::test]
    async fn probe_reports_status_and_sanitized_body() {
        let url = serve_once(
            http("200 OK", "{\"status\":\"UP\"}\x1b[31m"),
            Duration::ZERO,
        )
        .await;
        let r = probe(&url, Duration::from_secs(2)).await;
        assert!(r.ok, "{r:?}");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.body, "{\"status\":\"UP\"}␛[31m");
        assert_eq!(r.error, None);

        let url = serve_once(
            http("503 Service Unavailable", "{\"status\":\"DOWN\"}"),
            Duration::ZERO,
        )
        .await;
        let r = probe(&url, Duration::from_secs(2)).await;
        assert!(!r.ok);
        assert_eq!(r.status, Some(503));
    }

    #[tokio::test]
    async fn probe_cuts_long_bodies() {
        let long = "x".repeat(10_000);
        let url = serve_once(http("200 OK", &long), Duration::ZERO).await;
        let r = probe(&url, Duration::from_secs(2)).await;
        assert!(r.ok);
        assert_eq!(r.body.chars().count(), PROBE_BODY_LIMIT + 1);
        assert!(r.body.ends_with('…'));
    }

    #[tokio::test]
    async fn probe_times_out_and_names_the_url() {
        let url = serve_once(http("200 OK", "late"), Duration::from_secs(5)).await;
        let r = probe(&url, Duration::from_millis(300)).await;
        assert!(!r.ok);
        assert_eq!(r.status, None);
        let error = r.error.unwrap_or_default();
        assert!(error.contains("/actuator/health"), "{error}");
        assert!(error.contains("timed out"), "{error}");
        assert!(r.latency_ms < 2000.0);
    }

    #[tokio::test]
    async fn refused_connection_is_unreachable() {
        // Bind then drop, so the port is very likely closed.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let url = format!("http://{addr}/healthz");
        let err = fetch_text(&url, Duration::from_secs(2))
            .await
            .expect_err("refused");
        assert!(matches!(err, ProviderError::Unreachable { .. }), "{err}");
        assert_eq!(err.source_name(), format!("http://{addr}/healthz"));
    }

    #[tokio::test]
    async fn fetch_text_fails_on_error_status() {
        let url = serve_once(http("500 Internal Server Error", "boom"), Duration::ZERO).await;
        let err = fetch_text(&url, Duration::from_secs(2))
            .await
            .expect_err("500");
        assert_eq!(err.to_string(), format!("{url}: HTTP 500: boom"));
    }

    #[tokio::test]
    async fn lab_backend_probe() {
        let _lab = crate::providers::selfhosted::lab_env::LOCK.lock().await;
        let test = "http_probe::lab_backend_probe";
        let Some(lab) = LabEnv::load(test) else {
            return;
        };
        let Some(url) = lab.any(&["LAB_WEB_A1_URL", "LAB_LB_URL"]) else {
            println!("SKIPPED {test}: no backend URL in lab.env");
            return;
        };
        let host = url_origin(url);
        let hostport = host
            .split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_default()
            .to_string();
        if !answers(&hostport).await {
            crate::providers::selfhosted::lab_env::skip(test);
            return;
        }
        let r = probe(url, Duration::from_secs(3)).await;
        println!("probe {url}: {r:?}");
        assert!(r.ok, "{r:?}");
        assert!(r.latency_ms < 3000.0);
    }
}
