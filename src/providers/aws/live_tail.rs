//! CloudWatch Logs live tail while the logs view is open. It is billed per
//! minute, so it runs only while the view is visible; FilterLogEvents
//! polling covers the rest (and takes over when a session ends or the
//! service does not offer it). Both paths name an event by its timestamp,
//! stream and text, so the switch between them repeats nothing.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::types::StartLiveTailResponseStream;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The SDK sends StartLiveTail to a `stream-` host prefix. Against an
/// endpoint override (moto, LocalStack, a VPC endpoint given by address) that
/// host does not exist; this interceptor, installed only on overridden Logs
/// clients, takes the prefix off again.
#[derive(Debug, Default)]
pub struct StripStreamPrefix;

impl Intercept for StripStreamPrefix {
    fn name(&self) -> &'static str {
        "opsdeck-strip-stream-prefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let uri = context.request().uri().to_string();
        for scheme in ["http://", "https://"] {
            if let Some(rest) = uri.strip_prefix(&format!("{scheme}stream-")) {
                context
                    .request_mut()
                    .set_uri(format!("{scheme}{rest}"))
                    .map_err(|e| format!("live tail endpoint: {e}"))?;
            }
        }
        Ok(())
    }
}

/// One event from either path: (timestamp ms, group, stream, text).
pub type TailEvent = (i64, String, String, String);

/// What the tail task hands to the provider's logs poll.
#[derive(Debug, Default)]
pub struct TailBuffer {
    /// A session is open: the poll reads this buffer instead of polling.
    pub active: bool,
    pub events: Vec<TailEvent>,
    /// Why the last session ended badly, for the log.
    pub last_error: Option<String>,
    /// Sessions started (for the cost meter and tests).
    pub sessions: u64,
    /// Since when the open session runs, and the time of the ended ones
    /// (live tail is billed per minute).
    pub open_since: Option<Instant>,
    pub closed_ms: i64,
}

impl TailBuffer {
    pub fn open(&mut self) {
        self.active = true;
        self.sessions += 1;
        self.open_since = Some(Instant::now());
    }

    pub fn close(&mut self) {
        self.active = false;
        if let Some(since) = self.open_since.take() {
            self.closed_ms += since.elapsed().as_millis() as i64;
        }
    }

    /// Session time so far, the open one included.
    pub fn total_ms(&self) -> i64 {
        self.closed_ms
            + self
                .open_since
                .map_or(0, |s| s.elapsed().as_millis() as i64)
    }
}

/// The most events kept between two polls (the service sends at most 500 a
/// second; the poll runs every 2 s).
const MAX_BUFFERED: usize = 10_000;

/// A group's name from a live tail identifier (an ARN, possibly with `:*`).
pub fn group_name(identifier: &str) -> String {
    let s = identifier.strip_suffix(":*").unwrap_or(identifier);
    match s.split_once(":log-group:") {
        Some((_, name)) => name.to_string(),
        None => s.to_string(),
    }
}

/// The ARN StartLiveTail wants for a group, when the account is known.
pub fn group_arn(name: &str, region: Option<&str>, account: Option<&str>) -> String {
    match (region, account) {
        (Some(r), Some(a)) => format!("arn:aws:logs:{r}:{a}:log-group:{name}"),
        _ => name.to_string(),
    }
}

/// Runs live tail sessions until aborted. A session that ends within a
/// minute of starting (a service that only sends what it has, then closes)
/// is not restarted: polling takes over. A long session that ends (the
/// three-hour limit) is started again.
pub async fn run(
    logs: aws_sdk_cloudwatchlogs::Client,
    identifiers: Vec<String>,
    buffer: Arc<Mutex<TailBuffer>>,
) {
    let with = |f: &mut dyn FnMut(&mut TailBuffer)| {
        let mut b = buffer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut b);
    };
    loop {
        let started = Instant::now();
        let out = logs
            .start_live_tail()
            .set_log_group_identifiers(Some(identifiers.clone()))
            .send()
            .await;
        let mut stream = match out {
            Ok(o) => o.response_stream,
            Err(e) => {
                let text = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
                with(&mut |b| {
                    b.active = false;
                    b.last_error = Some(text.clone());
                });
                return;
            }
        };
        with(&mut |b| b.open());
        loop {
            match stream.recv().await {
                Ok(Some(StartLiveTailResponseStream::SessionUpdate(u))) => {
                    let events: Vec<TailEvent> = u
                        .session_results()
                        .iter()
                        .filter_map(|e| {
                            Some((
                                e.timestamp()?,
                                group_name(e.log_group_identifier().unwrap_or("?")),
                                e.log_stream_name().unwrap_or("?").to_string(),
                                e.message()?.to_string(),
                            ))
                        })
                        .collect();
                    with(&mut |b| {
                        b.events.extend(events.iter().cloned());
                        let over = b.events.len().saturating_sub(MAX_BUFFERED);
                        b.events.drain(..over);
                    });
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    let text =
                        aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
                    with(&mut |b| b.last_error = Some(text.clone()));
                    break;
                }
            }
        }
        with(&mut |b| b.close());
        if started.elapsed() < Duration::from_secs(60) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_and_arns() {
        let arn = group_arn(
            "/prod/web/app",
            Some("ap-northeast-2"),
            Some("123456789012"),
        );
        assert_eq!(
            arn,
            "arn:aws:logs:ap-northeast-2:123456789012:log-group:/prod/web/app"
        );
        assert_eq!(group_name(&arn), "/prod/web/app");
        assert_eq!(group_name(&format!("{arn}:*")), "/prod/web/app");
        assert_eq!(group_name("/prod/web/app"), "/prod/web/app");
        assert_eq!(group_arn("/g", None, Some("1")), "/g");
    }
}
