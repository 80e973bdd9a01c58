//! The interceptor on every observe client: an operation that is not a read
//! (Describe, Get, List, Filter, or StartLiveTail) is refused before it is
//! serialized or signed, so no code path of an observing session can send a
//! mutating request, whatever it calls.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Whether an API operation only reads.
pub fn is_read_operation(name: &str) -> bool {
    const READ_PREFIXES: [&str; 4] = ["Describe", "Get", "List", "Filter"];
    // StartLiveTail starts a stream of log events: it reads, though its name
    // says Start.
    READ_PREFIXES.iter().any(|p| name.starts_with(p)) || name == "StartLiveTail"
}

#[derive(Debug, Default)]
pub struct ReadOnlyGuard;

impl Intercept for ReadOnlyGuard {
    fn name(&self) -> &'static str {
        "opsdeck-read-only-guard"
    }

    /// Before serialization (so before signing and sending). The operation's
    /// name is in the config bag from here on: client interceptors'
    /// `read_before_execution` runs before the operation's config is applied.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match cfg.load::<Metadata>() {
            Some(m) if is_read_operation(m.name()) => Ok(()),
            Some(m) => Err(format!(
                "{}.{} refused: this client only observes (read-only)",
                m.service(),
                m.name()
            )
            .into()),
            // No metadata means an operation we cannot name: refuse it too.
            None => Err("an unnamed operation was refused: this client only observes".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_pass() {
        for op in [
            "DescribeInstances",
            "DescribeTargetHealth",
            "GetMetricData",
            "GetCallerIdentity",
            "ListTagsForResource",
            "FilterLogEvents",
            "StartLiveTail",
        ] {
            assert!(is_read_operation(op), "{op}");
        }
        for op in [
            "DeregisterTargets",
            "RegisterTargets",
            "PromoteReadReplica",
            "ModifyReplicationGroup",
            "TestFailover",
            "PutMetricData",
            "AddTags",
            "StopInstances",
            "StartInstances",
            "SetAlarmState",
            "describeInstances",
        ] {
            assert!(!is_read_operation(op), "{op}");
        }
    }
}
