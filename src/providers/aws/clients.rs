//! The SDK clients of one session, built once: credentials from the whole
//! default chain (env, profiles, SSO, assume-role, credential_process),
//! timeouts on every call, a bounded retry with jitter, endpoint overrides,
//! and on every client the read-only guard and the call meter.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::config::aws_config::AwsSettings;

use super::call_meter::CallMeter;
use super::read_only_guard::ReadOnlyGuard;

/// How long one attempt may take, and how many attempts a call gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallBudget {
    pub connect: Duration,
    pub attempt: Duration,
    pub attempts: u32,
}

impl CallBudget {
    pub fn of(settings: &AwsSettings) -> CallBudget {
        CallBudget {
            connect: Duration::from_millis(1000),
            attempt: Duration::from_millis(settings.timeout_ms.unwrap_or(2000).clamp(100, 60_000)),
            attempts: settings.max_attempts.unwrap_or(3).clamp(1, 10),
        }
    }

    /// A whole call, retries and their backoff included, ends by then.
    pub fn operation(&self) -> Duration {
        self.attempt * self.attempts + Duration::from_millis(250) * (self.attempts - 1)
    }
}

/// Who the session is, for the status bar and the account check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub account: Option<String>,
    pub arn: Option<String>,
}

/// One client per service; all read-only.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub rds: aws_sdk_rds::Client,
    pub elasticache: aws_sdk_elasticache::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sts: aws_sdk_sts::Client,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub budget: CallBudget,
    pub meter: CallMeter,
    /// The clients that may change the fleet (DeregisterTargets,
    /// RegisterTargets, the lock's tags; PromoteReadReplica;
    /// ModifyReplicationGroup, TestFailover): built only for a session that
    /// is not read-only, without the read-only guard.
    pub elbv2_write: Option<aws_sdk_elasticloadbalancingv2::Client>,
    pub rds_write: Option<aws_sdk_rds::Client>,
    pub elasticache_write: Option<aws_sdk_elasticache::Client>,
}

macro_rules! client {
    ($krate:ident, $sdk:expr, $settings:expr, $service:literal, $meter:expr) => {{
        let mut b = $krate::config::Builder::from($sdk)
            .interceptor(ReadOnlyGuard)
            .interceptor($meter.clone());
        if let Some(url) = $settings.endpoint_for($service) {
            b = b.endpoint_url(url);
        }
        $krate::Client::from_conf(b.build())
    }};
}

/// A client that may change the fleet: only built for a session that is not
/// read-only, and without the read-only guard.
macro_rules! writer {
    ($krate:ident, $sdk:expr, $settings:expr, $service:literal, $meter:expr) => {{
        let mut b = $krate::config::Builder::from($sdk).interceptor($meter.clone());
        if let Some(url) = $settings.endpoint_for($service) {
            b = b.endpoint_url(url);
        }
        $krate::Client::from_conf(b.build())
    }};
}

impl Clients {
    /// Loads the shared config (no request is sent: credentials resolve on
    /// the first call) and builds the observe clients.
    pub async fn build(
        settings: &AwsSettings,
        region: Option<&str>,
        profile: Option<&str>,
        writable: bool,
    ) -> Clients {
        let budget = CallBudget::of(settings);
        let profile = profile
            .map(str::to_string)
            .or_else(|| settings.profile.clone())
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(budget.connect)
                    .read_timeout(budget.attempt)
                    .operation_attempt_timeout(budget.attempt)
                    .operation_timeout(budget.operation())
                    .build(),
            )
            .retry_config(
                // Standard mode: exponential backoff with full jitter, and
                // throttling errors back off too.
                RetryConfig::standard()
                    .with_max_attempts(budget.attempts)
                    .with_initial_backoff(Duration::from_millis(100))
                    .with_max_backoff(Duration::from_millis(250)),
            );
        if let Some(r) = region {
            loader = loader.region(Region::new(r.to_string()));
        }
        if let Some(p) = &profile {
            loader = loader.profile_name(p);
        }
        let sdk: SdkConfig = loader.load().await;
        let meter = CallMeter::default();
        Clients {
            elbv2_write: writable.then(|| {
                writer!(
                    aws_sdk_elasticloadbalancingv2,
                    &sdk,
                    settings,
                    "elbv2",
                    meter
                )
            }),
            rds_write: writable.then(|| writer!(aws_sdk_rds, &sdk, settings, "rds", meter)),
            elasticache_write: writable
                .then(|| writer!(aws_sdk_elasticache, &sdk, settings, "elasticache", meter)),
            ec2: client!(aws_sdk_ec2, &sdk, settings, "ec2", meter),
            elbv2: client!(
                aws_sdk_elasticloadbalancingv2,
                &sdk,
                settings,
                "elbv2",
                meter
            ),
            rds: client!(aws_sdk_rds, &sdk, settings, "rds", meter),
            elasticache: client!(aws_sdk_elasticache, &sdk, settings, "elasticache", meter),
            cloudwatch: client!(aws_sdk_cloudwatch, &sdk, settings, "cloudwatch", meter),
            logs: {
                let mut b = aws_sdk_cloudwatchlogs::config::Builder::from(&sdk)
                    .interceptor(ReadOnlyGuard)
                    .interceptor(meter.clone());
                if let Some(url) = settings.endpoint_for("logs") {
                    b = b
                        .endpoint_url(url)
                        .interceptor(super::live_tail::StripStreamPrefix);
                }
                aws_sdk_cloudwatchlogs::Client::from_conf(b.build())
            },
            sts: client!(aws_sdk_sts, &sdk, settings, "sts", meter),
            region: sdk.region().map(|r| r.to_string()),
            profile,
            budget,
            meter,
        }
    }

    /// Who the credentials belong to (STS GetCallerIdentity).
    pub async fn identity(&self) -> Result<Identity, crate::providers::ProviderError> {
        let out = self.sts.get_caller_identity().send().await.map_err(|e| {
            super::aws_error::from_sdk(
                "sts",
                "GetCallerIdentity",
                &e,
                self.profile.as_deref(),
                self.budget.attempt.as_millis() as u64,
            )
        })?;
        Ok(Identity {
            account: out.account().map(str::to_string),
            arn: out.arn().map(str::to_string),
        })
    }

    /// An SDK error of this session as a provider error.
    pub fn error<E, R>(
        &self,
        service: &str,
        operation: &str,
        err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> crate::providers::ProviderError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        super::aws_error::from_sdk(
            service,
            operation,
            err,
            self.profile.as_deref(),
            self.budget.operation().as_millis() as u64,
        )
    }
}
