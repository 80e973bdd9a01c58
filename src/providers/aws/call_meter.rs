//! Counts what this session asks of AWS, per service and operation: the
//! calls (every attempt counts: AWS bills and throttles attempts) and the
//! CloudWatch metrics requested, which is what GetMetricData is billed by.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Requests sent, per (service, operation).
    pub calls: BTreeMap<(String, String), u64>,
    /// CloudWatch metrics requested (GetMetricData queries).
    pub metrics_requested: u64,
    /// CloudWatch Logs events received.
    pub log_events: u64,
    /// CloudWatch Logs bytes received (the scanned bytes are billed; this
    /// counts what came back).
    pub log_bytes: u64,
}

impl Usage {
    pub fn calls_of(&self, operation: &str) -> u64 {
        self.calls
            .iter()
            .filter(|((_, op), _)| op == operation)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }
}

/// Shared by every client of a session.
#[derive(Clone, Debug, Default)]
pub struct CallMeter {
    usage: Arc<Mutex<Usage>>,
}

impl CallMeter {
    pub fn snapshot(&self) -> Usage {
        self.usage.lock().map(|u| u.clone()).unwrap_or_default()
    }

    pub fn add_metrics(&self, n: u64) {
        if let Ok(mut u) = self.usage.lock() {
            u.metrics_requested += n;
        }
    }

    pub fn add_log_events(&self, events: u64, bytes: u64) {
        if let Ok(mut u) = self.usage.lock() {
            u.log_events += events;
            u.log_bytes += bytes;
        }
    }

    fn count(&self, service: &str, operation: &str) {
        if let Ok(mut u) = self.usage.lock() {
            *u.calls
                .entry((service.to_string(), operation.to_string()))
                .or_default() += 1;
        }
    }
}

impl Intercept for CallMeter {
    fn name(&self) -> &'static str {
        "opsdeck-call-meter"
    }

    /// Once per attempt, just before the request leaves.
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            self.count(m.service(), m.name());
        }
        Ok(())
    }
}
