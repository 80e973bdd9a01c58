//! The AWS fleet observed: EC2 instances by tag, ALB target health,
//! RDS and ElastiCache topology, CloudWatch metrics, alarms and Logs.
//!
//! Each service is its own source inside a panel: a hung ElastiCache API
//! leaves the RDS topology live (and the reverse), a hung CloudWatch leaves
//! the instances and targets live without CPU and traffic. A part that
//! failed shows its last answer, named stale, beside the error.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;

use crate::config::EnvConfig;
use crate::config::aws_config::AwsSettings;
use crate::core::Timestamp;
use crate::core::fleet::{
    Alert, AzTraffic, CacheNode, DbNode, DeploysObservation, Health, Host, HostState,
    HostsObservation, LoadBalancer, LogLevel, LogLine, ReplicaRole, ReplicationObservation,
    SourceFault, Target, TargetState,
};
use crate::core::service::ServiceObservation;
use crate::providers::{ObserveProvider, ProviderError, SourceInfo};

use super::call_meter::Usage;
use super::clients::{Clients, Identity};
use super::instances::{self, Ec2Instance};
use super::log_cursor::LogCursor;
use super::metrics::{self, MetricKey, MetricStore};
use super::{alarms, cache_nodes, rds_nodes, targets};

/// How long a failed metrics refresh is reused before CloudWatch is asked
/// again (both panels poll; a dead endpoint is asked once, not twice).
const METRICS_RETRY_MS: i64 = 10_000;
/// Target group attributes (the deregistration delay) change rarely.
const ATTRIBUTES_TTL_MS: i64 = 300_000;

/// What the last rounds found, for the parts that depend on it (metrics,
/// log stream names) and for showing a failed part's last answer.
#[derive(Debug, Default)]
struct Memory {
    /// Each discovery has had its first answer (or failure): until then the
    /// metrics it needs are not known, and the first refresh waits a moment
    /// for them so one GetMetricData call serves it.
    settled_instances: bool,
    settled_targets: bool,
    settled_rds: bool,
    settled_cache: bool,
    instances: Vec<Ec2Instance>,
    /// (CloudWatch `LoadBalancer` dimension, name) of the target groups' ALBs.
    lbs: Vec<(String, String)>,
    load_balancer: Option<LoadBalancer>,
    databases: Option<Vec<DbNode>>,
    caches: Option<Vec<CacheNode>>,
    rds_replicas: Vec<String>,
    cache_replicas: Vec<String>,
    /// When each target was first seen draining (the API does not say when
    /// its deregistration began).
    draining_since: BTreeMap<String, Timestamp>,
    /// Target group ARN → (deregistration delay s, read at).
    delays: BTreeMap<String, (u32, Timestamp)>,
    /// The configured target groups' ARNs, in configured order.
    tg_arns: Vec<String>,
    /// (target group ARN, instance id) → the port it was registered with,
    /// kept after it leaves so an undrain registers it as it was.
    ports: BTreeMap<(String, String), Option<i32>>,
    /// (target group ARN, instance id) → its last state in that group.
    registered: BTreeMap<(String, String), String>,
}

#[derive(Debug, Default)]
struct MetricsState {
    store: MetricStore,
    failed: Option<(Timestamp, ProviderError)>,
}

pub struct AwsProvider {
    env: String,
    settings: AwsSettings,
    azs: Vec<String>,
    clients: Clients,
    identity: Identity,
    memory: Mutex<Memory>,
    metrics: tokio::sync::Mutex<MetricsState>,
    logs: tokio::sync::Mutex<LogCursor>,
    /// True once the hosts panel's first DescribeInstances has ended (either
    /// way): the logs panel names streams by instance, so its first poll waits
    /// for that rather than label lines with bare stream names and no AZ.
    described: tokio::sync::watch::Sender<bool>,
    prober: Option<crate::providers::selfhosted::service_prober::ServiceProber>,
    /// Live tail while the logs view is open.
    tail: Mutex<Option<tokio::task::JoinHandle<()>>>,
    tail_buffer: std::sync::Arc<Mutex<super::live_tail::TailBuffer>>,
    /// When the cost meter started counting (the first poll).
    started: Mutex<Option<Timestamp>>,
    /// SSH to the instances (`[aws.ssh]`), through the bastion.
    ssh: Option<super::aws_ssh::AwsSsh>,
}

/// The service as the config names it (`elbv2`, `logs`), from the SDK's
/// service id (`Elastic Load Balancing v2`, `CloudWatch Logs`).
fn service_name(sdk: &str) -> String {
    match sdk.to_ascii_lowercase().as_str() {
        "ec2" => "ec2",
        "elastic load balancing v2" | "elasticloadbalancingv2" => "elbv2",
        "rds" => "rds",
        "elasticache" => "elasticache",
        "cloudwatch" => "cloudwatch",
        "cloudwatch logs" | "cloudwatchlogs" | "logs" => "logs",
        "sts" => "sts",
        other => return other.to_string(),
    }
    .to_string()
}

/// How an event is named on both log paths (FilterLogEvents and live tail):
/// live tail events carry no id.
fn event_key(ts: i64, stream: &str, text: &str) -> String {
    format!("{ts}\u{1f}{stream}\u{1f}{text}")
}

impl AwsProvider {
    /// Builds the clients and, when the environment names an account, checks
    /// it with STS before anything else is read.
    pub async fn connect(
        env_name: &str,
        env: &EnvConfig,
        region_flag: Option<&str>,
        profile_flag: Option<&str>,
        read_only: bool,
    ) -> Result<AwsProvider, String> {
        let settings = env.aws.clone().ok_or_else(|| {
            format!(
                "environment '{env_name}': provider \"aws\" needs [environments.{env_name}.aws]"
            )
        })?;
        let region = region_flag.or(env.region.as_deref());
        let clients = Clients::build(&settings, region, profile_flag, !read_only).await;
        if clients.region.is_none() {
            return Err(format!(
                "environment '{env_name}': no AWS region (set region = \"…\" in the environment, --region, or AWS_REGION)"
            ));
        }
        // Required (an expected account): the whole call budget. Only for the
        // status bar: one second at most, so a slow STS cannot hold the
        // first frame back.
        let lookup = async {
            if settings.expected_account.is_some() {
                clients.identity().await
            } else {
                tokio::time::timeout(Duration::from_secs(1), clients.identity())
                    .await
                    .unwrap_or_else(|_| {
                        Err(ProviderError::Timeout {
                            origin: super::aws_error::origin("sts"),
                            after_ms: 1000,
                        })
                    })
            }
        };
        let identity = match (&settings.expected_account, lookup.await) {
            (Some(expected), Ok(id)) if id.account.as_deref() != Some(expected.as_str()) => {
                return Err(format!(
                    "environment '{env_name}' expects AWS account {expected}, but the credentials{} are for {}; nothing was read",
                    clients
                        .profile
                        .as_deref()
                        .map_or(String::new(), |p| format!(" (profile {p})")),
                    id.account.as_deref().unwrap_or("an unknown account"),
                ));
            }
            (Some(_), Err(e)) => {
                return Err(format!(
                    "environment '{env_name}': cannot check the AWS account: {e}"
                ));
            }
            (None, Err(e)) => {
                // The panels will each say the same; the session still starts.
                tracing::warn!("aws identity: {e}");
                Identity::default()
            }
            (_, Ok(id)) => id,
        };
        let ssh = match &settings.ssh {
            Some(s) => Some(
                super::aws_ssh::AwsSsh::new(s)
                    .map_err(|e| format!("environment '{env_name}': aws.ssh: {e}"))?,
            ),
            None => None,
        };
        let prober = (!env.probes.is_empty()).then(|| {
            crate::providers::selfhosted::service_prober::ServiceProber::probes_only(
                &env.probes,
                "alb",
            )
        });
        Ok(AwsProvider {
            env: env_name.to_string(),
            azs: env.azs.clone(),
            settings,
            clients,
            identity,
            memory: Mutex::new(Memory::default()),
            metrics: tokio::sync::Mutex::new(MetricsState::default()),
            logs: tokio::sync::Mutex::new(LogCursor::default()),
            described: tokio::sync::watch::Sender::new(false),
            prober,
            tail: Mutex::new(None),
            tail_buffer: std::sync::Arc::default(),
            started: Mutex::new(None),
            ssh,
        })
    }

    /// SSH to the instances, or why there is none.
    pub(super) fn ssh(&self) -> Result<&super::aws_ssh::AwsSsh, ProviderError> {
        self.ssh.as_ref().ok_or_else(|| ProviderError::Refused {
            origin: "config".into(),
            detail: super::aws_ssh::NOT_CONFIGURED
                .replace("environments.NAME.", &format!("environments.{}.", self.env)),
        })
    }

    pub(super) fn environment(&self) -> &str {
        &self.env
    }

    /// One DescribeInstances, remembered.
    pub(super) async fn refresh_instances(&self) -> Result<Vec<Ec2Instance>, ProviderError> {
        let found = self.bounded("ec2", self.describe_instances()).await?;
        self.remember(|m| m.instances = found.clone());
        Ok(found)
    }

    /// The instances as last observed.
    pub(super) fn instances_seen(&self) -> Vec<Ec2Instance> {
        self.remember(|m| m.instances.clone())
    }

    /// The instance named `name` (its Name tag), observing the fleet first
    /// when it has not been seen yet (a fresh `opsdeck do`).
    pub(super) async fn instance_named(&self, name: &str) -> Result<Ec2Instance, ProviderError> {
        let find = || self.remember(|m| m.instances.iter().find(|i| i.name == name).cloned());
        if let Some(i) = find() {
            return Ok(i);
        }
        self.refresh_instances().await?;
        find().ok_or_else(|| ProviderError::Failed {
            origin: super::aws_error::origin("ec2"),
            detail: format!("no instance named {name} among the configured instances"),
        })
    }

    pub(super) fn clients(&self) -> &Clients {
        &self.clients
    }

    pub(super) fn settings(&self) -> &AwsSettings {
        &self.settings
    }

    /// The longest deregistration delay of the configured target groups, once read.
    pub(super) fn longest_delay_s(&self) -> Option<u32> {
        self.remember(|m| m.delays.values().map(|(d, _)| *d).max())
    }

    pub(super) fn has_target_groups(&self) -> bool {
        self.settings
            .alb
            .as_ref()
            .is_some_and(|a| !a.target_groups.is_empty())
    }

    pub(super) fn target_group_arns(&self) -> Vec<String> {
        self.remember(|m| m.tg_arns.clone())
    }

    pub(super) fn instance_id(&self, name: &str) -> Option<String> {
        self.remember(|m| {
            m.instances
                .iter()
                .find(|i| i.name == name)
                .map(|i| i.id.clone())
        })
    }

    /// Each configured target group with the instance's port there (as last
    /// registered) and its state now (`None`: not listed).
    pub(super) fn target_placements(&self, id: &str) -> Vec<(String, Option<i32>, Option<String>)> {
        self.remember(|m| {
            m.tg_arns
                .iter()
                .map(|arn| {
                    let key = (arn.clone(), id.to_string());
                    (
                        arn.clone(),
                        m.ports.get(&key).copied().flatten(),
                        m.registered.get(&key).cloned(),
                    )
                })
                .collect()
        })
    }

    /// A fresh look at instances and targets before a change (an operation
    /// must not act on what an older round saw).
    pub(super) async fn hosts_for_operation(&self, now: Timestamp) -> Result<(), ProviderError> {
        let obs = self.hosts(now).await?;
        match obs
            .faults
            .iter()
            .find(|f| f.source == super::aws_error::origin("elbv2"))
        {
            Some(f) => Err(ProviderError::Failed {
                origin: f.source.clone(),
                detail: format!("target health unknown now: {}", f.message),
            }),
            None => Ok(()),
        }
    }

    /// What this session has asked of AWS so far.
    pub fn usage(&self) -> Usage {
        self.clients.meter.snapshot()
    }

    /// Live tail sessions started so far, and whether one is open.
    pub fn live_tail_sessions(&self) -> (u64, bool) {
        let b = self
            .tail_buffer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (b.sessions, b.active)
    }

    /// The longest one panel's round can take (its calls run in at most
    /// three steps, each bounded by the call budget).
    pub fn round_timeout(&self) -> Duration {
        self.clients.budget.operation() * 3 + Duration::from_secs(1)
    }

    fn remember<R>(&self, f: impl FnOnce(&mut Memory) -> R) -> R {
        let mut m = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut m)
    }

    /// One bounded step: the SDK's own timeouts end it, and this is the net
    /// under them.
    async fn bounded<T>(
        &self,
        service: &str,
        fut: impl std::future::Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        let limit = self.clients.budget.operation() + Duration::from_millis(500);
        let started = std::time::Instant::now();
        match tokio::time::timeout(limit, fut).await {
            // The SDK's timeout fired: say how long it really waited.
            Ok(Err(ProviderError::Timeout { origin, .. })) => Err(ProviderError::Timeout {
                origin,
                after_ms: started.elapsed().as_millis() as u64,
            }),
            Ok(r) => r,
            Err(_) => Err(ProviderError::Timeout {
                origin: super::aws_error::origin(service),
                after_ms: limit.as_millis() as u64,
            }),
        }
    }

    async fn describe_instances(&self) -> Result<Vec<Ec2Instance>, ProviderError> {
        let Some(cfg) = &self.settings.instances else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        // A bound on pages: 100 pages of 1000 reservations is far beyond a
        // two-AZ web service.
        for _ in 0..100 {
            let out = self
                .clients
                .ec2
                .describe_instances()
                .set_filters(Some(instances::tag_filters(cfg)))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.clients.error("ec2", "DescribeInstances", &e))?;
            for r in out.reservations() {
                found.extend(
                    r.instances()
                        .iter()
                        .filter_map(|i| instances::from_sdk(i, cfg)),
                );
            }
            token = out
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(instances::dedupe(found))
    }

    /// Status checks by instance id (DescribeInstanceStatus, 100 ids a call).
    async fn status_checks(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        let mut out = BTreeMap::new();
        for chunk in ids.chunks(100) {
            let resp = self
                .clients
                .ec2
                .describe_instance_status()
                .include_all_instances(true)
                .set_instance_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| self.clients.error("ec2", "DescribeInstanceStatus", &e))?;
            for s in resp.instance_statuses() {
                if let (Some(id), Some(text)) = (s.instance_id(), instances::checks_text(s)) {
                    out.insert(id.to_string(), text);
                }
            }
        }
        Ok(out)
    }

    /// The configured target groups' health, with each group's ALB and
    /// deregistration delay.
    async fn target_health(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(String, u32, Vec<targets::TargetHealthInfo>)>, ProviderError> {
        let Some(alb) = &self.settings.alb else {
            return Ok(Vec::new());
        };
        if alb.target_groups.is_empty() {
            return Ok(Vec::new());
        }
        let (arns, names): (Vec<String>, Vec<String>) = alb
            .target_groups
            .iter()
            .cloned()
            .partition(|g| g.starts_with("arn:"));
        let mut request = self.clients.elbv2.describe_target_groups();
        if !arns.is_empty() {
            request = request.set_target_group_arns(Some(arns));
        }
        if !names.is_empty() {
            request = request.set_names(Some(names));
        }
        let groups = request
            .send()
            .await
            .map_err(|e| self.clients.error("elbv2", "DescribeTargetGroups", &e))?;
        let mut lbs = Vec::new();
        for g in groups.target_groups() {
            for arn in g.load_balancer_arns() {
                if let Some(d) = targets::lb_dimension(arn)
                    && !lbs.contains(&d)
                {
                    lbs.push(d);
                }
            }
        }
        let per_group = join_all(groups.target_groups().iter().filter_map(|g| {
            let arn = g.target_group_arn()?.to_string();
            Some(async move {
                let health = self
                    .clients
                    .elbv2
                    .describe_target_health()
                    .target_group_arn(&arn)
                    .send()
                    .await
                    .map_err(|e| self.clients.error("elbv2", "DescribeTargetHealth", &e))?;
                let delay = self.deregistration_delay(&arn, now).await?;
                let list: Vec<targets::TargetHealthInfo> = health
                    .target_health_descriptions()
                    .iter()
                    .filter_map(targets::from_sdk)
                    .collect();
                Ok::<_, ProviderError>((arn, delay, list))
            })
        }))
        .await;
        let per_group: Vec<_> = per_group.into_iter().collect::<Result<_, _>>()?;
        self.remember(|m| {
            m.lbs = lbs;
            m.tg_arns = per_group.iter().map(|(arn, _, _)| arn.clone()).collect();
            m.registered.clear();
            for (arn, _, list) in &per_group {
                for t in list {
                    m.ports.insert((arn.clone(), t.id.clone()), t.port);
                    m.registered
                        .insert((arn.clone(), t.id.clone()), t.state.clone());
                }
            }
        });
        Ok(per_group)
    }

    async fn deregistration_delay(&self, arn: &str, now: Timestamp) -> Result<u32, ProviderError> {
        if let Some((delay, at)) = self.remember(|m| m.delays.get(arn).copied())
            && now.since(at) < ATTRIBUTES_TTL_MS
        {
            return Ok(delay);
        }
        let out = self
            .clients
            .elbv2
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| {
                self.clients
                    .error("elbv2", "DescribeTargetGroupAttributes", &e)
            })?;
        let attrs: Vec<(String, String)> = out
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
            .collect();
        let delay = targets::deregistration_delay_s(&attrs);
        self.remember(|m| m.delays.insert(arn.to_string(), (delay, now)));
        Ok(delay)
    }

    fn discovery_settled(&self) -> bool {
        let s = &self.settings;
        let configured = |v: Option<usize>| v.is_some_and(|n| n > 0);
        self.remember(|m| {
            (s.instances.is_none() || m.settled_instances)
                && (!configured(s.alb.as_ref().map(|a| a.target_groups.len())) || m.settled_targets)
                && (!configured(s.rds.as_ref().map(|r| r.instances.len())) || m.settled_rds)
                && (!configured(s.elasticache.as_ref().map(|e| e.replication_groups.len()))
                    || m.settled_cache)
        })
    }

    /// The metrics every panel needs now, from what the last rounds found.
    fn wanted_metrics(&self) -> Vec<MetricKey> {
        self.remember(|m| {
            let mut keys: Vec<MetricKey> = m
                .instances
                .iter()
                .filter(|i| i.state == HostState::Running)
                .map(|i| MetricKey::ec2_cpu(&i.id))
                .collect();
            for (dim, _) in &m.lbs {
                for az in self.az_list(&m.instances) {
                    keys.push(MetricKey::alb("RequestCount", dim, &az));
                    keys.push(MetricKey::alb("HTTPCode_Target_5XX_Count", dim, &az));
                }
            }
            keys.extend(m.rds_replicas.iter().map(|d| MetricKey::rds_replica_lag(d)));
            keys.extend(
                m.cache_replicas
                    .iter()
                    .map(|c| MetricKey::cache_replication_lag(c)),
            );
            keys
        })
    }

    fn az_list(&self, found: &[Ec2Instance]) -> Vec<String> {
        let mut azs = self.azs.clone();
        for i in found {
            if !azs.contains(&i.az) && i.az != "?" {
                azs.push(i.az.clone());
            }
        }
        azs
    }

    /// Refreshes the metrics that are due (one GetMetricData call per 500),
    /// shared by both panels; then `read` sees the store.
    async fn with_metrics<R>(
        &self,
        now: Timestamp,
        read: impl FnOnce(&MetricStore) -> R,
    ) -> (R, Option<ProviderError>) {
        // The first refresh: wait (one call's budget at most) until every
        // configured discovery has answered once, so its metrics go in the
        // same call.
        let deadline = std::time::Instant::now() + self.clients.budget.operation();
        while !self.discovery_settled() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let wanted = self.wanted_metrics();
        let mut state = self.metrics.lock().await;
        let recently_failed = state
            .failed
            .as_ref()
            .filter(|(at, _)| now.since(*at) < METRICS_RETRY_MS)
            .map(|(_, e)| e.clone());
        let error = match recently_failed {
            Some(e) => Some(e),
            None => {
                let due = state.store.to_ask(&wanted, now);
                if due.is_empty() {
                    None
                } else {
                    let fut = metrics::refresh(&self.clients, &mut state.store, &due, now);
                    let limit = self.clients.budget.operation() + Duration::from_millis(500);
                    let result = match tokio::time::timeout(limit, fut).await {
                        Ok(r) => r.map(|_| ()),
                        Err(_) => Err(ProviderError::Timeout {
                            origin: super::aws_error::origin("cloudwatch"),
                            after_ms: limit.as_millis() as u64,
                        }),
                    };
                    match result {
                        Ok(()) => {
                            state.failed = None;
                            None
                        }
                        Err(e) => {
                            state.failed = Some((now, e.clone()));
                            Some(e)
                        }
                    }
                }
            }
        };
        (read(&state.store), error)
    }

    /// A failed part; its message without the origin (the panel names it).
    fn fault(e: &ProviderError, stale: Vec<String>) -> SourceFault {
        let source = e.source_name().to_string();
        let text = e.to_string();
        let message = text
            .strip_prefix(&format!("{source}: "))
            .unwrap_or(&text)
            .to_string();
        SourceFault {
            source,
            message,
            stale,
        }
    }

    async fn rds_instances(&self) -> Result<Vec<aws_sdk_rds::types::DbInstance>, ProviderError> {
        let ids = self
            .settings
            .rds
            .as_ref()
            .map(|r| r.instances.clone())
            .unwrap_or_default();
        let found = join_all(ids.iter().map(|id| async move {
            self.clients
                .rds
                .describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
                .map_err(|e| self.clients.error("rds", "DescribeDBInstances", &e))
        }))
        .await;
        let mut out = Vec::new();
        for r in found {
            out.extend(r?.db_instances().iter().cloned());
        }
        Ok(out)
    }

    /// The configured replication groups as DescribeReplicationGroups gives
    /// them now.
    pub(super) async fn cache_groups(
        &self,
    ) -> Result<Vec<aws_sdk_elasticache::types::ReplicationGroup>, ProviderError> {
        let ids = self
            .settings
            .elasticache
            .as_ref()
            .map(|r| r.replication_groups.clone())
            .unwrap_or_default();
        let found = join_all(ids.iter().map(|id| async move {
            self.clients
                .elasticache
                .describe_replication_groups()
                .replication_group_id(id)
                .send()
                .await
                .map_err(|e| {
                    self.clients
                        .error("elasticache", "DescribeReplicationGroups", &e)
                })
        }))
        .await;
        let mut out = Vec::new();
        for r in found {
            out.extend(r?.replication_groups().iter().cloned());
        }
        Ok(out)
    }

    /// One poll of a log group: every page since the cursor (bounded).
    async fn poll_group(
        &self,
        group: &str,
        start_ms: i64,
    ) -> Result<Vec<(String, i64, (String, String))>, ProviderError> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..10 {
            let out = self
                .clients
                .logs
                .filter_log_events()
                .log_group_name(group)
                .start_time(start_ms)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.clients.error("logs", "FilterLogEvents", &e))?;
            let mut bytes = 0u64;
            for e in out.events() {
                let (Some(ts), Some(msg)) = (e.timestamp(), e.message()) else {
                    continue;
                };
                bytes += msg.len() as u64;
                let stream = e.log_stream_name().unwrap_or("?").to_string();
                events.push((event_key(ts, &stream, msg), ts, (stream, msg.to_string())));
            }
            self.clients
                .meter
                .add_log_events(out.events().len() as u64, bytes);
            token = out
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(events)
    }
}

/// Host health from EC2 state, status checks and, for a target, the ALB.
fn host_health(i: &Ec2Instance, checks: Option<&str>, target: Option<&Target>) -> Health {
    if i.state != HostState::Running {
        return Health::Down;
    }
    if checks.is_some_and(|c| c.contains("impaired")) {
        return Health::Down;
    }
    if i.state_name == "pending" {
        return Health::Unknown;
    }
    match target {
        Some(t) if t.health != Health::Unknown => t.health,
        _ => match checks {
            Some("2/2 ok") => Health::Ok,
            _ => Health::Unknown,
        },
    }
}

#[async_trait]
impl ObserveProvider for AwsProvider {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            environment: self.env.clone(),
            region: self.clients.region.clone(),
            source: "aws".into(),
            account: self.identity.account.clone(),
            profile: self.clients.profile.clone(),
        }
    }

    async fn hosts(&self, now: Timestamp) -> Result<HostsObservation, ProviderError> {
        let found = self.bounded("ec2", self.describe_instances()).await;
        self.remember(|m| {
            m.settled_instances = true;
            // Failed here, the round reads no targets: nothing to wait for.
            if found.is_err() {
                m.settled_targets = true;
            }
        });
        if let Ok(found) = &found {
            self.remember(|m| m.instances = found.clone());
        }
        self.described.send_replace(true);
        let found = found?;
        let ids: Vec<String> = found.iter().map(|i| i.id.clone()).collect();
        let (checks, health) = tokio::join!(self.bounded("ec2", self.status_checks(&ids)), async {
            let r = self.bounded("elbv2", self.target_health(now)).await;
            self.remember(|m| m.settled_targets = true);
            r
        },);
        let mut faults = Vec::new();
        let checks = checks.unwrap_or_else(|e| {
            faults.push(Self::fault(&e, Vec::new()));
            BTreeMap::new()
        });
        let azs = self.az_list(&found);
        let by_id: BTreeMap<&str, &Ec2Instance> =
            found.iter().map(|i| (i.id.as_str(), i)).collect();
        let load_balancer = match health {
            Ok(groups) if groups.is_empty() => None,
            Ok(groups) => {
                let lb_name = self
                    .remember(|m| m.lbs.first().map(|(_, n)| n.clone()))
                    .unwrap_or_else(|| "alb".into());
                let mut list: Vec<Target> = Vec::new();
                let mut seen_draining = Vec::new();
                for (_arn, delay, health) in &groups {
                    for t in health {
                        let (state, h) = targets::classify(&t.state);
                        let inst = by_id.get(t.id.as_str());
                        let backend = inst.map_or_else(|| t.id.clone(), |i| i.name.clone());
                        let drain_ends_at = (state == TargetState::Draining).then(|| {
                            seen_draining.push(backend.clone());
                            let since = self.remember(|m| {
                                *m.draining_since.entry(backend.clone()).or_insert(now)
                            });
                            since.plus_millis(i64::from(*delay) * 1000)
                        });
                        let target = Target {
                            backend: backend.clone(),
                            az: inst.map_or_else(|| "?".to_string(), |i| i.az.clone()),
                            weight: 1,
                            state,
                            health: h,
                            requests_per_sec: None,
                            error_rate: None,
                            in_flight: None,
                            reason: targets::reason_text(t),
                            drain_ends_at,
                        };
                        // In two groups: the worse state shows.
                        match list.iter_mut().find(|x| x.backend == backend) {
                            Some(existing) if target.health > existing.health => *existing = target,
                            Some(_) => {}
                            None => list.push(target),
                        }
                    }
                }
                self.remember(|m| m.draining_since.retain(|k, _| seen_draining.contains(k)));
                // A backend in no group's listing is out of the pool: the API
                // drops a deregistered target once its delay has passed.
                for i in found
                    .iter()
                    .filter(|i| i.role == crate::core::fleet::HostRole::Backend)
                {
                    if !list.iter().any(|t| t.backend == i.name) {
                        list.push(Target {
                            backend: i.name.clone(),
                            az: i.az.clone(),
                            weight: 1,
                            state: TargetState::Drained,
                            health: Health::Unknown,
                            requests_per_sec: None,
                            error_rate: None,
                            in_flight: None,
                            reason: Some("not registered in a configured target group".into()),
                            drain_ends_at: None,
                        });
                    }
                }
                list.sort_by(|a, b| (&a.az, &a.backend).cmp(&(&b.az, &b.backend)));
                Some(LoadBalancer {
                    name: lb_name,
                    kind: "alb".into(),
                    targets: list,
                    az_traffic: Vec::new(),
                })
            }
            Err(e) => {
                let last = self.remember(|m| m.load_balancer.clone());
                let stale = last
                    .as_ref()
                    .map(|lb| lb.targets.iter().map(|t| t.backend.clone()).collect())
                    .unwrap_or_default();
                faults.push(Self::fault(&e, stale));
                last
            }
        };
        let lbs = self.remember(|m| m.lbs.clone());
        let ((cpu, traffic), metrics_error) = self
            .with_metrics(now, |store| {
                let cpu: BTreeMap<String, f64> = found
                    .iter()
                    .filter_map(|i| {
                        Some((
                            i.id.clone(),
                            store.latest(&MetricKey::ec2_cpu(&i.id))?.value,
                        ))
                    })
                    .collect();
                let traffic: Vec<AzTraffic> = match lbs.first() {
                    None => Vec::new(),
                    Some((dim, _)) => azs
                        .iter()
                        .map(|az| {
                            let req = store.latest(&MetricKey::alb("RequestCount", dim, az));
                            let err =
                                store.latest(&MetricKey::alb("HTTPCode_Target_5XX_Count", dim, az));
                            AzTraffic {
                                az: az.clone(),
                                // Sum per 60 s period → per second.
                                requests_per_sec: req.map(|s| s.value / 60.0),
                                error_rate: match (req, err) {
                                    (Some(r), Some(e)) if r.value > 0.0 => Some(e.value / r.value),
                                    (Some(_), _) => Some(0.0),
                                    _ => None,
                                },
                                sampled_at: req.map(|s| s.at),
                            }
                        })
                        .collect(),
                };
                (cpu, traffic)
            })
            .await;
        if let Some(e) = metrics_error {
            faults.push(Self::fault(&e, Vec::new()));
        }
        let load_balancer = load_balancer.map(|mut lb| {
            lb.az_traffic = traffic;
            lb
        });
        self.remember(|m| m.load_balancer = load_balancer.clone());
        // Release directories over SSH: each backend's version, and the
        // health of those the ALB does not check (out of its pool).
        let out_of_pool: Vec<String> = found
            .iter()
            .filter(|i| {
                load_balancer
                    .as_ref()
                    .and_then(|lb| lb.target(&i.name))
                    .is_none_or(|t| t.state != TargetState::Active)
            })
            .map(|i| i.name.clone())
            .collect();
        let probed = self.probe_releases(&found, &out_of_pool).await;
        for e in probed.values().filter_map(|p| p.error.as_ref()) {
            faults.push(Self::fault(e, Vec::new()));
        }
        let hosts = found
            .iter()
            .map(|i| {
                let target = load_balancer.as_ref().and_then(|lb| lb.target(&i.name));
                let check = checks.get(&i.id).map(String::as_str);
                let probe = probed.get(&i.name);
                let mut health = host_health(i, check, target);
                if i.state == HostState::Running
                    && let Some(p) = probe.filter(|_| out_of_pool.contains(&i.name))
                {
                    health = match p.healthy {
                        Some(true) => Health::Ok,
                        Some(false) => Health::Down,
                        None => Health::Unknown,
                    };
                }
                Host {
                    name: i.name.clone(),
                    az: i.az.clone(),
                    role: i.role,
                    state: i.state,
                    health,
                    latency_ms: None,
                    cpu_pct: cpu.get(&i.id).copied(),
                    version: probe.and_then(|p| p.version.clone()),
                    address: i.private_ip.clone(),
                    instance_type: i.instance_type.clone(),
                    checks: check.map(str::to_string),
                    id: Some(i.id.clone()),
                }
            })
            .collect();
        Ok(HostsObservation {
            azs,
            hosts,
            load_balancer,
            faults,
        })
    }

    async fn replication(&self, now: Timestamp) -> Result<ReplicationObservation, ProviderError> {
        let (dbs, groups) = tokio::join!(
            self.bounded("rds", self.rds_instances()),
            self.bounded("elasticache", self.cache_groups()),
        );
        self.remember(|m| {
            m.settled_rds = true;
            m.settled_cache = true;
        });
        if let Ok(dbs) = &dbs {
            let replicas = dbs
                .iter()
                .filter(|d| d.read_replica_source_db_instance_identifier().is_some())
                .filter_map(|d| d.db_instance_identifier().map(str::to_string))
                .collect();
            self.remember(|m| m.rds_replicas = replicas);
        }
        if let Ok(groups) = &groups {
            let replicas = groups
                .iter()
                .flat_map(|g| g.node_groups())
                .flat_map(|n| n.node_group_members())
                .filter(|m| m.current_role() != Some("primary"))
                .filter_map(|m| m.cache_cluster_id().map(str::to_string))
                .collect();
            self.remember(|m| m.cache_replicas = replicas);
        }
        let ((databases, caches), metrics_error) = self
            .with_metrics(now, |store| {
                let sample = |k: MetricKey| store.latest(&k).map(|s| (s.at, s.value));
                let databases: Option<Vec<DbNode>> = dbs.as_ref().ok().map(|dbs| {
                    dbs.iter()
                        .filter_map(|d| {
                            let id = d.db_instance_identifier()?;
                            rds_nodes::from_sdk(d, sample(MetricKey::rds_replica_lag(id)), now)
                        })
                        .collect()
                });
                let caches: Option<Vec<CacheNode>> = groups.as_ref().ok().map(|gs| {
                    gs.iter()
                        .flat_map(|g| {
                            cache_nodes::from_sdk(
                                g,
                                |id| sample(MetricKey::cache_replication_lag(id)),
                                now,
                            )
                        })
                        .collect()
                });
                (databases, caches)
            })
            .await;
        let mut faults = Vec::new();
        let databases = match (databases, dbs) {
            (Some(d), _) => {
                self.remember(|m| m.databases = Some(d.clone()));
                d
            }
            (None, Err(e)) => {
                let last = self.remember(|m| m.databases.clone()).unwrap_or_default();
                faults.push(Self::fault(
                    &e,
                    last.iter().map(|d| d.name.clone()).collect(),
                ));
                last
            }
            (None, Ok(_)) => Vec::new(),
        };
        let caches = match (caches, groups) {
            (Some(c), _) => {
                self.remember(|m| m.caches = Some(c.clone()));
                c
            }
            (None, Err(e)) => {
                let last = self.remember(|m| m.caches.clone()).unwrap_or_default();
                faults.push(Self::fault(
                    &e,
                    last.iter().map(|c| c.name.clone()).collect(),
                ));
                last
            }
            (None, Ok(_)) => Vec::new(),
        };
        let has_replicas = databases.iter().any(|d| d.role == ReplicaRole::Replica)
            || caches.iter().any(|c| c.role == ReplicaRole::Replica);
        if let Some(e) = metrics_error
            && has_replicas
        {
            faults.push(Self::fault(&e, Vec::new()));
        }
        Ok(ReplicationObservation {
            databases,
            caches,
            faults,
        })
    }

    async fn deploys(&self, _now: Timestamp) -> Result<DeploysObservation, ProviderError> {
        self.release_history().await
    }

    async fn alerts(&self, now: Timestamp) -> Result<Vec<Alert>, ProviderError> {
        let Some(cfg) = &self.settings.alarms else {
            return Ok(Vec::new());
        };
        let fetch = async {
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            for _ in 0..10 {
                let mut req = self
                    .clients
                    .cloudwatch
                    .describe_alarms()
                    .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
                    .set_next_token(token.take());
                if let Some(p) = &cfg.prefix {
                    req = req.alarm_name_prefix(p);
                }
                let resp = req
                    .send()
                    .await
                    .map_err(|e| self.clients.error("cloudwatch", "DescribeAlarms", &e))?;
                // Only alarms in ALARM (asked for, and checked: a server
                // that ignores the filter must not raise OK alarms).
                out.extend(
                    resp.metric_alarms()
                        .iter()
                        .filter(|a| {
                            a.state_value() == Some(&aws_sdk_cloudwatch::types::StateValue::Alarm)
                        })
                        .filter_map(|a| alarms::from_sdk(a, now)),
                );
                token = resp
                    .next_token()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            Ok(out)
        };
        let mut alerts: Vec<Alert> = self.bounded("cloudwatch", fetch).await?;
        // moto and AWS both filter by prefix; keep the promise locally too.
        if let Some(p) = &cfg.prefix {
            alerts.retain(|a| a.name.starts_with(p.as_str()));
        }
        alerts.sort_by_key(|a| std::cmp::Reverse(a.since));
        Ok(alerts)
    }

    async fn logs(&self, now: Timestamp) -> Result<Vec<LogLine>, ProviderError> {
        let groups = self
            .settings
            .logs
            .as_ref()
            .map(|l| l.groups.clone())
            .unwrap_or_default();
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        // Streams are named by instance: until the instances have been read
        // once, a line could not say its host and AZ (and would keep "?").
        if self.settings.instances.is_some() {
            // Bounded: the hosts panel's DescribeInstances ends within this.
            let mut described = self.described.subscribe();
            let limit = self.clients.budget.operation() + Duration::from_millis(500);
            let _ = tokio::time::timeout(limit, described.wait_for(|d| *d)).await;
        }
        let mut cursor = self.logs.lock().await;
        let names: BTreeMap<String, (String, String)> = self.remember(|m| {
            m.instances
                .iter()
                .flat_map(|i| {
                    let v = (i.name.clone(), i.az.clone());
                    [(i.name.clone(), v.clone()), (i.id.clone(), v)]
                })
                .collect()
        });
        let line = |ts: i64, stream: &str, text: String| {
            let (host, az) = names
                .get(stream)
                .cloned()
                .unwrap_or_else(|| (stream.to_string(), "?".to_string()));
            LogLine {
                at: Timestamp::from_millis(ts),
                host,
                az,
                level: LogLevel::detect(&text),
                text,
            }
        };
        // Live tail open: its events, and no polling.
        let (tailing, tailed) = {
            let mut b = self
                .tail_buffer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (b.active, std::mem::take(&mut b.events))
        };
        let mut lines = Vec::new();
        let mut by_group: BTreeMap<String, Vec<(String, i64, (String, String))>> = BTreeMap::new();
        for (ts, group, stream, text) in tailed {
            let key = event_key(ts, &stream, &text);
            by_group
                .entry(group)
                .or_default()
                .push((key, ts, (stream, text)));
        }
        for (group, events) in by_group {
            for (ts, (stream, text)) in cursor.admit(&group, events) {
                lines.push(line(ts, &stream, text));
            }
        }
        if tailing {
            lines.sort_by_key(|l| l.at);
            return Ok(lines);
        }
        let starts: Vec<i64> = groups
            .iter()
            .map(|g| cursor.start_ms(g, now.millis()))
            .collect();
        let polled = join_all(
            groups
                .iter()
                .zip(starts)
                .map(|(g, start)| self.bounded("logs", self.poll_group(g, start))),
        )
        .await;
        let mut first_error = None;
        for (group, result) in groups.iter().zip(polled) {
            match result {
                Ok(events) => {
                    for (ts, (stream, text)) in cursor.admit(group, events) {
                        lines.push(line(ts, &stream, text));
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        lines.sort_by_key(|l| l.at);
        match first_error {
            // Some groups answered: their lines count; the error shows next poll.
            Some(e) if lines.is_empty() => Err(e),
            _ => Ok(lines),
        }
    }

    fn capabilities(&self) -> crate::core::capabilities::Capabilities {
        self.aws_capabilities()
    }

    async fn lock_holder(
        &self,
        now: Timestamp,
    ) -> Result<Option<crate::core::lock::LockHolder>, ProviderError> {
        self.lock_holder_now(now).await
    }

    fn usage(&self, now: Timestamp) -> Option<crate::core::usage::UsageReport> {
        let started = *self
            .started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert(now);
        let u = self.clients.meter.snapshot();
        let (sessions, tail_ms) = {
            let b = self
                .tail_buffer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (b.sessions, b.total_ms())
        };
        Some(crate::core::usage::UsageReport {
            started,
            at: now,
            calls: u
                .calls
                .iter()
                .map(|((service, operation), n)| crate::core::usage::UsageLine {
                    service: service_name(service),
                    operation: operation.clone(),
                    calls: *n,
                })
                .collect(),
            metrics_requested: u.metrics_requested,
            log_events: u.log_events,
            log_bytes: u.log_bytes,
            live_tail_sessions: sessions,
            live_tail_ms: tail_ms,
        })
    }

    fn logs_visible(&self, visible: bool) {
        let groups = self
            .settings
            .logs
            .as_ref()
            .map(|l| l.groups.clone())
            .unwrap_or_default();
        let mut tail = self
            .tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(task) = tail.take() {
            // Closed (or reopened): the old session stops; billing with it.
            task.abort();
            if let Ok(mut b) = self.tail_buffer.lock() {
                b.close();
            }
        }
        if !visible || groups.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let identifiers: Vec<String> = groups
            .iter()
            .take(10) // the service's limit per session
            .map(|g| {
                super::live_tail::group_arn(
                    g,
                    self.clients.region.as_deref(),
                    self.identity.account.as_deref(),
                )
            })
            .collect();
        *tail = Some(runtime.spawn(super::live_tail::run(
            self.clients.logs.clone(),
            identifiers,
            self.tail_buffer.clone(),
        )));
    }

    async fn service(&self, _now: Timestamp) -> Result<ServiceObservation, ProviderError> {
        match &self.prober {
            Some(p) => Ok(p.observe().await),
            None => Ok(ServiceObservation::default()),
        }
    }
}

impl Drop for AwsProvider {
    fn drop(&mut self) {
        if let Ok(mut tail) = self.tail.lock()
            && let Some(task) = tail.take()
        {
            task.abort();
        }
    }
}
