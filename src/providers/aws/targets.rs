//! ALB target health as load-balancer targets. The ALB reports no traffic
//! per target, so requests, errors and in-flight stay unknown (`None`),
//! never 0; per-AZ traffic comes from CloudWatch instead.

use aws_sdk_elasticloadbalancingv2::types::TargetHealthDescription;

use crate::core::fleet::{Health, TargetState};

/// One target's health as ELBv2 describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetHealthInfo {
    pub id: String,
    pub port: Option<i32>,
    /// `healthy`, `draining`, … as the API spells it.
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

pub fn from_sdk(d: &TargetHealthDescription) -> Option<TargetHealthInfo> {
    let target = d.target()?;
    let health = d.target_health();
    Some(TargetHealthInfo {
        id: target.id()?.to_string(),
        port: target.port(),
        state: health
            .and_then(|h| h.state())
            .map_or("unknown".into(), |s| s.as_str().to_string()),
        reason: health
            .and_then(|h| h.reason())
            .map(|r| r.as_str().to_string()),
        description: health.and_then(|h| h.description()).map(str::to_string),
    })
}

/// The pool state and health a target-health state means. The enum may
/// gain states, so anything unrecognised is unknown, not healthy.
pub fn classify(state: &str) -> (TargetState, Health) {
    match state {
        "healthy" => (TargetState::Active, Health::Ok),
        // Registered, first health checks still running.
        "initial" => (TargetState::Active, Health::Unknown),
        "unhealthy" => (TargetState::Active, Health::Down),
        // Failing its checks while leaving the pool.
        "unhealthy.draining" => (TargetState::Draining, Health::Down),
        // Leaving the pool: no new requests, in-flight ones finishing. The
        // ALB no longer checks it, so its health is not known.
        "draining" => (TargetState::Draining, Health::Unknown),
        // Not registered (deregistered, or its AZ is not enabled).
        "unused" => (TargetState::Drained, Health::Unknown),
        // Health checks disabled: the ALB sends traffic without knowing.
        "unavailable" => (TargetState::Active, Health::Unknown),
        _ => (TargetState::Unknown, Health::Unknown),
    }
}

/// The reason as one text: `Target.FailedHealthChecks: Health checks failed`.
pub fn reason_text(t: &TargetHealthInfo) -> Option<String> {
    match (&t.reason, &t.description) {
        (Some(r), Some(d)) if !d.is_empty() => Some(format!("{r}: {d}")),
        (Some(r), _) => Some(r.clone()),
        (None, Some(d)) if !d.is_empty() => Some(d.clone()),
        _ => None,
    }
}

/// `deregistration_delay.timeout_seconds` from a target group's attributes
/// (AWS's default, 300 s, when absent or unreadable).
pub fn deregistration_delay_s(attrs: &[(String, String)]) -> u32 {
    attrs
        .iter()
        .find(|(k, _)| k == "deregistration_delay.timeout_seconds")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(300)
}

/// `app/NAME/ID` (the CloudWatch `LoadBalancer` dimension) and NAME from a
/// load balancer ARN.
pub fn lb_dimension(arn: &str) -> Option<(String, String)> {
    let rest = arn.split_once(":loadbalancer/")?.1;
    let mut parts = rest.split('/');
    let (kind, name, id) = (parts.next()?, parts.next()?, parts.next()?);
    Some((format!("{kind}/{name}/{id}"), name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::{
        TargetDescription, TargetHealth, TargetHealthReasonEnum, TargetHealthStateEnum,
    };

    #[test]
    fn every_state_maps_and_unknown_ones_are_unknown() {
        let cases = [
            ("healthy", TargetState::Active, Health::Ok),
            ("initial", TargetState::Active, Health::Unknown),
            ("unhealthy", TargetState::Active, Health::Down),
            ("unhealthy.draining", TargetState::Draining, Health::Down),
            ("draining", TargetState::Draining, Health::Unknown),
            ("unused", TargetState::Drained, Health::Unknown),
            ("unavailable", TargetState::Active, Health::Unknown),
            ("some-new-state", TargetState::Unknown, Health::Unknown),
        ];
        for (s, ts, h) in cases {
            assert_eq!(classify(s), (ts, h), "{s}");
        }
        // The SDK's own spellings are the ones matched above.
        for e in TargetHealthStateEnum::values() {
            assert_ne!(classify(e).0, TargetState::Unknown, "{e} unmapped");
        }
    }

    #[test]
    fn reasons_are_kept_with_their_description() {
        for reason in TargetHealthReasonEnum::values() {
            let d = TargetHealthDescription::builder()
                .target(TargetDescription::builder().id("i-1").port(8080).build())
                .target_health(
                    TargetHealth::builder()
                        .state(TargetHealthStateEnum::Unhealthy)
                        .reason(TargetHealthReasonEnum::from(*reason))
                        .description("Health checks failed")
                        .build(),
                )
                .build();
            let t = from_sdk(&d).expect("target");
            assert_eq!(t.state, "unhealthy");
            assert_eq!(
                reason_text(&t).as_deref(),
                Some(format!("{reason}: Health checks failed").as_str())
            );
        }
    }

    #[test]
    fn delay_and_dimension() {
        assert_eq!(deregistration_delay_s(&[]), 300);
        let attrs = [(
            "deregistration_delay.timeout_seconds".to_string(),
            "5".to_string(),
        )];
        assert_eq!(deregistration_delay_s(&attrs), 5);
        let arn = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/app/prod-alb/50dc6c495c0c9188";
        assert_eq!(
            lb_dimension(arn),
            Some(("app/prod-alb/50dc6c495c0c9188".into(), "prod-alb".into()))
        );
        assert_eq!(lb_dimension("nonsense"), None);
    }
}
