//! CloudWatch metrics, fetched as GetMetricData is billed: per metric
//! requested. Every metric the screens need is one query; the queries of a
//! refresh go out together, at most 500 to a call, so the number of calls
//! does not grow with the fleet while they fit in one. A metric is asked for
//! again only once its period has passed (no new data exists before that).

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

use crate::core::Timestamp;

/// A refresh brings along what falls due this soon (see [`MetricStore::to_ask`]).
pub const ALIGN_MS: i64 = 30_000;

/// GetMetricData's limit of queries per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// One metric the screens need.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricKey {
    pub namespace: &'static str,
    pub name: &'static str,
    /// In the order CloudWatch lists them.
    pub dimensions: Vec<(&'static str, String)>,
    pub stat: &'static str,
    /// Seconds; never finer than the metric's resolution.
    pub period: i32,
}

impl MetricKey {
    /// EC2 CPU: basic monitoring has 5-minute resolution.
    pub fn ec2_cpu(instance_id: &str) -> MetricKey {
        MetricKey {
            namespace: "AWS/EC2",
            name: "CPUUtilization",
            dimensions: vec![("InstanceId", instance_id.to_string())],
            stat: "Average",
            period: 300,
        }
    }

    /// ALB requests (`RequestCount`) or 5xx (`HTTPCode_Target_5XX_Count`) in one AZ.
    pub fn alb(name: &'static str, lb_dimension: &str, az: &str) -> MetricKey {
        MetricKey {
            namespace: "AWS/ApplicationELB",
            name,
            dimensions: vec![
                ("LoadBalancer", lb_dimension.to_string()),
                ("AvailabilityZone", az.to_string()),
            ],
            stat: "Sum",
            period: 60,
        }
    }

    pub fn rds_replica_lag(db: &str) -> MetricKey {
        MetricKey {
            namespace: "AWS/RDS",
            name: "ReplicaLag",
            dimensions: vec![("DBInstanceIdentifier", db.to_string())],
            stat: "Average",
            period: 60,
        }
    }

    pub fn cache_replication_lag(cluster: &str) -> MetricKey {
        MetricKey {
            namespace: "AWS/ElastiCache",
            name: "ReplicationLag",
            dimensions: vec![("CacheClusterId", cluster.to_string())],
            stat: "Average",
            period: 60,
        }
    }

    fn query(&self, id: String) -> MetricDataQuery {
        let mut metric = Metric::builder()
            .namespace(self.namespace)
            .metric_name(self.name);
        for (k, v) in &self.dimensions {
            metric = metric.dimensions(Dimension::builder().name(*k).value(v).build());
        }
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(metric.build())
                    .period(self.period)
                    .stat(self.stat)
                    .build(),
            )
            .return_data(true)
            .build()
    }
}

/// The newest sample of one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub at: Timestamp,
    pub value: f64,
}

/// What the session knows of each metric, and when it last asked.
#[derive(Debug, Default)]
pub struct MetricStore {
    latest: BTreeMap<MetricKey, Sample>,
    asked: BTreeMap<MetricKey, Timestamp>,
}

impl MetricStore {
    /// The keys among `wanted` whose period has passed since they were last
    /// asked for (or that were never asked for).
    pub fn due(&self, wanted: &[MetricKey], now: Timestamp) -> Vec<MetricKey> {
        let mut out: Vec<MetricKey> = wanted
            .iter()
            .filter(|k| {
                self.asked
                    .get(*k)
                    .is_none_or(|at| now.since(*at) >= i64::from(k.period) * 1000)
            })
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// What a refresh at `now` asks for: nothing while nothing is due; once
    /// something is, also what falls due within [`ALIGN_MS`], so one call
    /// serves both (and a metric is never asked for twice in its period).
    pub fn to_ask(&self, wanted: &[MetricKey], now: Timestamp) -> Vec<MetricKey> {
        if self.due(wanted, now).is_empty() {
            Vec::new()
        } else {
            self.due(wanted, now.plus_millis(ALIGN_MS))
        }
    }

    pub fn latest(&self, key: &MetricKey) -> Option<Sample> {
        self.latest.get(key).copied()
    }

    pub(crate) fn record(&mut self, key: &MetricKey, sample: Option<Sample>, now: Timestamp) {
        self.asked.insert(key.clone(), now);
        match sample {
            Some(s) => {
                self.latest.insert(key.clone(), s);
            }
            // No datapoint in the window: the metric stopped reporting, so
            // what was known is no longer current.
            None => {
                self.latest.remove(key);
            }
        }
    }
}

/// The calls a refresh of `keys` makes: chunks of at most 500 queries.
pub fn batches(keys: &[MetricKey]) -> Vec<&[MetricKey]> {
    keys.chunks(MAX_QUERIES_PER_CALL).collect()
}

/// Asks CloudWatch for `keys` (one GetMetricData call per 500) and records
/// the newest sample of each. Returns the number of calls made.
pub async fn refresh(
    clients: &super::clients::Clients,
    store: &mut MetricStore,
    keys: &[MetricKey],
    now: Timestamp,
) -> Result<usize, crate::providers::ProviderError> {
    let mut calls = 0;
    for batch in batches(keys) {
        // Twenty minutes back: ALB and RDS points arrive a minute or two
        // late, EC2 basic monitoring every five.
        let end = aws_smithy_types::DateTime::from_millis(now.millis());
        let start = aws_smithy_types::DateTime::from_millis(now.millis() - 20 * 60 * 1000);
        let mut request = clients
            .cloudwatch
            .get_metric_data()
            .start_time(start)
            .end_time(end);
        for (i, key) in batch.iter().enumerate() {
            request = request.metric_data_queries(key.query(format!("m{i}")));
        }
        clients.meter.add_metrics(batch.len() as u64);
        calls += 1;
        let out = request
            .send()
            .await
            .map_err(|e| clients.error("cloudwatch", "GetMetricData", &e))?;
        let mut found: BTreeMap<usize, Sample> = BTreeMap::new();
        for r in out.metric_data_results() {
            let Some(index) = r
                .id()
                .and_then(|id| id.strip_prefix('m')?.parse::<usize>().ok())
            else {
                continue;
            };
            let newest = r
                .timestamps()
                .iter()
                .zip(r.values())
                .max_by_key(|(t, _)| t.to_millis().unwrap_or(i64::MIN));
            if let Some((t, v)) = newest
                && let Ok(ms) = t.to_millis()
            {
                found.insert(
                    index,
                    Sample {
                        at: Timestamp::from_millis(ms),
                        value: *v,
                    },
                );
            }
        }
        for (i, key) in batch.iter().enumerate() {
            store.record(key, found.get(&i).copied(), now);
        }
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_holds_at_most_500_queries() {
        let keys: Vec<MetricKey> = (0..1201)
            .map(|i| MetricKey::ec2_cpu(&format!("i-{i}")))
            .collect();
        let b = batches(&keys);
        assert_eq!(
            b.iter().map(|c| c.len()).collect::<Vec<_>>(),
            [500, 500, 201]
        );
        assert_eq!(batches(&keys[..500]).len(), 1);
        assert_eq!(batches(&keys[..4]).len(), 1);
        assert!(batches(&[]).is_empty());
    }

    /// The seed fleet's metrics (tests/aws/seed.py: a bastion and four
    /// backends, an ALB in two AZs, an RDS replica, an ElastiCache replica).
    fn seed_fleet() -> Vec<MetricKey> {
        let mut keys: Vec<MetricKey> = (0..5)
            .map(|i| MetricKey::ec2_cpu(&format!("i-{i}")))
            .collect();
        for az in ["ap-northeast-2a", "ap-northeast-2c"] {
            keys.push(MetricKey::alb("RequestCount", "app/prod-alb/1", az));
            keys.push(MetricKey::alb(
                "HTTPCode_Target_5XX_Count",
                "app/prod-alb/1",
                az,
            ));
        }
        keys.push(MetricKey::rds_replica_lag("prod-db-replica"));
        keys.push(MetricKey::cache_replication_lag("prod-redis-002"));
        keys
    }

    /// Metrics requested in an hour of refreshes every `every_ms` (screens
    /// open: the hosts and replication panels refresh every 10 s), counted
    /// through the same `to_ask` the provider uses; `offset_ms` shifts the
    /// start so the alignment is tried at every phase.
    fn metrics_in_an_hour(every_ms: i64, offset_ms: i64) -> usize {
        let wanted = seed_fleet();
        let mut store = MetricStore::default();
        let start = Timestamp::from_millis(1_800_000_000_000 + offset_ms);
        let mut asked = 0;
        let mut t = 0;
        while t < 3_600_000 {
            let now = start.plus_millis(t);
            let keys = store.to_ask(&wanted, now);
            asked += keys.len();
            for k in &keys {
                store.record(
                    k,
                    Some(Sample {
                        at: now,
                        value: 1.0,
                    }),
                    now,
                );
            }
            t += every_ms;
        }
        asked
    }

    #[test]
    fn the_seed_fleet_stays_far_under_1200_metrics_an_hour() {
        // 5 EC2 CPU every 5 min (60) + 6 one-minute metrics (360) = 420,
        // whatever the phase of the refreshes against the periods.
        for offset in [0, 3_000, 7_000, 29_000, 31_000, 59_000] {
            assert_eq!(metrics_in_an_hour(10_000, offset), 420, "offset {offset}");
        }
        // A 2 s refresh (C-r held down, the refresh-triggered polls) costs
        // no more: nothing is asked again within its period.
        assert_eq!(metrics_in_an_hour(2_000, 0), 420);
        // The naive way, every metric on every 10 s poll: 360 × 11.
        assert_eq!(360 * seed_fleet().len(), 3_960);
    }

    #[test]
    fn a_metric_is_due_again_only_after_its_period() {
        let mut store = MetricStore::default();
        let t0 = Timestamp::from_millis(1_000_000);
        let cpu = MetricKey::ec2_cpu("i-1");
        let lag = MetricKey::rds_replica_lag("db");
        let wanted = vec![cpu.clone(), lag.clone(), lag.clone()];
        assert_eq!(store.due(&wanted, t0).len(), 2, "duplicates asked once");
        store.record(&cpu, Some(Sample { at: t0, value: 3.0 }), t0);
        store.record(&lag, None, t0);
        assert!(store.due(&wanted, t0.plus_millis(59_000)).is_empty());
        assert_eq!(
            store.due(&wanted, t0.plus_millis(60_000)),
            vec![lag.clone()]
        );
        assert_eq!(store.due(&wanted, t0.plus_millis(300_000)).len(), 2);
        assert_eq!(store.latest(&cpu).map(|s| s.value), Some(3.0));
        assert_eq!(store.latest(&lag), None);
    }
}
