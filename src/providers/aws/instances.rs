//! EC2 instances as hosts: found by tag, named by the name tag (else their
//! id), with role, state, status checks, type and private IP.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Instance, InstanceStatus};

use crate::config::aws_config::AwsInstances;
use crate::core::fleet::{HostRole, HostState};

/// One instance, as the console needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Ec2Instance {
    pub id: String,
    pub name: String,
    pub az: String,
    pub role: HostRole,
    pub state: HostState,
    /// The EC2 state name (`running`, `stopping`).
    pub state_name: String,
    pub instance_type: Option<String>,
    pub private_ip: Option<String>,
}

/// The tag filters of a DescribeInstances call (ANDed by EC2).
pub fn tag_filters(cfg: &AwsInstances) -> Vec<aws_sdk_ec2::types::Filter> {
    cfg.tags
        .iter()
        .map(|(k, v)| {
            aws_sdk_ec2::types::Filter::builder()
                .name(format!("tag:{k}"))
                .values(v)
                .build()
        })
        .collect()
}

pub fn role_of(tag: Option<&str>) -> HostRole {
    match tag.map(str::to_ascii_lowercase).as_deref() {
        Some("bastion" | "jump") => HostRole::Bastion,
        Some("monitoring" | "prometheus") => HostRole::Monitoring,
        Some("lb" | "load-balancer" | "nginx") => HostRole::LoadBalancer,
        // `backend`, `web`, `app`, or no role tag: a service instance.
        _ => HostRole::Backend,
    }
}

pub fn state_of(name: &str) -> HostState {
    match name {
        "running" | "pending" => HostState::Running,
        "stopping" | "stopped" | "shutting-down" | "terminated" => HostState::Stopped,
        _ => HostState::Unknown,
    }
}

/// One SDK instance; `None` for a terminated one (it is gone, not down).
pub fn from_sdk(i: &Instance, cfg: &AwsInstances) -> Option<Ec2Instance> {
    let id = i.instance_id()?.to_string();
    let state_name = i
        .state()
        .and_then(|s| s.name())
        .map_or("unknown".to_string(), |n| n.as_str().to_string());
    if state_name == "terminated" {
        return None;
    }
    let tag = |key: &str| {
        i.tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .filter(|v| !v.is_empty())
    };
    Some(Ec2Instance {
        name: tag(&cfg.name_tag).map_or_else(|| id.clone(), str::to_string),
        az: i
            .placement()
            .and_then(|p| p.availability_zone())
            .unwrap_or("?")
            .to_string(),
        role: role_of(tag(&cfg.role_tag)),
        state: state_of(&state_name),
        state_name,
        instance_type: i.instance_type().map(|t| t.as_str().to_string()),
        private_ip: i.private_ip_address().map(str::to_string),
        id,
    })
}

/// Every page's instances, each once (pages may repeat an instance when the
/// fleet changes between them), named uniquely: two instances with the same
/// name tag get their ids appended, so neither hides the other.
pub fn dedupe(found: Vec<Ec2Instance>) -> Vec<Ec2Instance> {
    let mut by_id: BTreeMap<String, Ec2Instance> = BTreeMap::new();
    for i in found {
        by_id.insert(i.id.clone(), i);
    }
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for i in by_id.values() {
        *names.entry(i.name.clone()).or_default() += 1;
    }
    let mut out: Vec<Ec2Instance> = by_id
        .into_values()
        .map(|mut i| {
            if names.get(&i.name).copied().unwrap_or(0) > 1 {
                i.name = format!("{} ({})", i.name, i.id);
            }
            i
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The status checks as one short text: `2/2 ok`, `system impaired`,
/// `initializing`; `None` when EC2 gave none (a stopped instance).
pub fn checks_text(s: &InstanceStatus) -> Option<String> {
    let system = s
        .system_status()
        .and_then(|x| x.status())
        .map(|x| x.as_str().to_string());
    let instance = s
        .instance_status()
        .and_then(|x| x.status())
        .map(|x| x.as_str().to_string());
    let ok = |x: &Option<String>| x.as_deref() == Some("ok");
    match (&system, &instance) {
        (None, None) => None,
        _ if ok(&system) && ok(&instance) => Some("2/2 ok".into()),
        _ => {
            let mut bad = Vec::new();
            for (what, v) in [("system", &system), ("instance", &instance)] {
                match v.as_deref() {
                    Some("ok") | None => {}
                    Some("not-applicable") => {}
                    Some(other) => bad.push(format!("{what} {other}")),
                }
            }
            if bad.is_empty() {
                Some("—".into())
            } else {
                Some(bad.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{
        InstanceState, InstanceStateName, InstanceStatusSummary, Placement, SummaryStatus, Tag,
    };

    fn cfg() -> AwsInstances {
        AwsInstances {
            tags: BTreeMap::from([("Environment".to_string(), "prod".to_string())]),
            name_tag: "Name".into(),
            role_tag: "Role".into(),
        }
    }

    fn instance(id: &str, name: Option<&str>, state: InstanceStateName) -> Instance {
        let mut b = Instance::builder()
            .instance_id(id)
            .state(InstanceState::builder().name(state).build())
            .placement(
                Placement::builder()
                    .availability_zone("ap-northeast-2a")
                    .build(),
            )
            .private_ip_address("10.0.1.11")
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Small);
        if let Some(n) = name {
            b = b.tags(Tag::builder().key("Name").value(n).build());
        }
        b.tags(Tag::builder().key("Role").value("bastion").build())
            .build()
    }

    #[test]
    fn maps_name_role_state_and_drops_terminated() {
        let i = from_sdk(
            &instance("i-1", Some("web-a1"), InstanceStateName::Running),
            &cfg(),
        )
        .expect("kept");
        assert_eq!(
            (i.name.as_str(), i.role, i.state),
            ("web-a1", HostRole::Bastion, HostState::Running)
        );
        assert_eq!(i.instance_type.as_deref(), Some("t3.small"));
        let unnamed =
            from_sdk(&instance("i-2", None, InstanceStateName::Stopping), &cfg()).expect("kept");
        assert_eq!(
            (unnamed.name.as_str(), unnamed.state),
            ("i-2", HostState::Stopped)
        );
        assert!(
            from_sdk(
                &instance("i-3", None, InstanceStateName::Terminated),
                &cfg()
            )
            .is_none()
        );
    }

    #[test]
    fn an_instance_counts_once_and_names_stay_unique() {
        let a = from_sdk(
            &instance("i-1", Some("web"), InstanceStateName::Running),
            &cfg(),
        );
        let b = from_sdk(
            &instance("i-2", Some("web"), InstanceStateName::Running),
            &cfg(),
        );
        let list = dedupe(vec![
            a.clone().expect("a"),
            b.expect("b"),
            a.expect("a again"),
        ]);
        let names: Vec<&str> = list.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["web (i-1)", "web (i-2)"]);
    }

    #[test]
    fn status_checks_read_as_text() {
        let st = |sys: SummaryStatus, inst: SummaryStatus| {
            InstanceStatus::builder()
                .system_status(InstanceStatusSummary::builder().status(sys).build())
                .instance_status(InstanceStatusSummary::builder().status(inst).build())
                .build()
        };
        assert_eq!(
            checks_text(&st(SummaryStatus::Ok, SummaryStatus::Ok)).as_deref(),
            Some("2/2 ok")
        );
        assert_eq!(
            checks_text(&st(SummaryStatus::Ok, SummaryStatus::Impaired)).as_deref(),
            Some("instance impaired")
        );
        assert_eq!(
            checks_text(&st(
                SummaryStatus::Initializing,
                SummaryStatus::Initializing
            ))
            .as_deref(),
            Some("system initializing, instance initializing")
        );
        assert_eq!(checks_text(&InstanceStatus::builder().build()), None);
    }
}
