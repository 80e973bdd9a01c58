//! CloudWatch alarms in ALARM, as alerts on the same panel as Prometheus's.

use aws_sdk_cloudwatch::types::MetricAlarm;

use crate::core::Timestamp;
use crate::core::fleet::{Alert, Severity};

/// CloudWatch alarms carry no severity: a name or description that says
/// critical (or pages someone) is critical, the rest warnings.
pub fn severity_of(name: &str, description: Option<&str>) -> Severity {
    let text = format!("{name} {}", description.unwrap_or("")).to_ascii_lowercase();
    if ["crit", "page", "sev1", "p1"]
        .iter()
        .any(|w| text.contains(w))
    {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

pub fn from_sdk(a: &MetricAlarm, now: Timestamp) -> Option<Alert> {
    let name = a.alarm_name()?.to_string();
    let since = a
        .state_updated_timestamp()
        .and_then(|t| t.to_millis().ok())
        .map_or(now, Timestamp::from_millis);
    let target = a
        .dimensions()
        .iter()
        .filter_map(|d| d.value())
        .collect::<Vec<_>>()
        .join(",");
    let target = if target.is_empty() {
        a.metric_name().unwrap_or("cloudwatch").to_string()
    } else {
        target
    };
    Some(Alert {
        severity: severity_of(&name, a.alarm_description()),
        summary: a
            .alarm_description()
            .or(a.state_reason())
            .unwrap_or("in ALARM")
            .to_string(),
        name,
        target,
        since,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::types::Dimension;

    #[test]
    fn maps_an_alarm() {
        let fired = aws_smithy_types::DateTime::from_millis(1_700_000_000_000);
        let a = MetricAlarm::builder()
            .alarm_name("prod-5xx-high")
            .state_updated_timestamp(fired)
            .state_reason("Threshold Crossed: 1 datapoint [12.0] was greater than 5.0")
            .dimensions(
                Dimension::builder()
                    .name("LoadBalancer")
                    .value("app/prod-alb/1")
                    .build(),
            )
            .build();
        let alert = from_sdk(&a, Timestamp::from_millis(0)).expect("alert");
        assert_eq!(alert.since, Timestamp::from_millis(1_700_000_000_000));
        assert_eq!(alert.target, "app/prod-alb/1");
        assert!(alert.summary.starts_with("Threshold Crossed"));
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(severity_of("prod-db-down-page", None), Severity::Critical);
    }
}
