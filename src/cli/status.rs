//! `opsdeck status`: observes the fleet once and prints it, as text or JSON.

use std::process::ExitCode;

use serde_json::{Value, json};

use crate::core::assess::{
    Headline, LagLevel, ServiceView, Topology, cache_health, current_version, db_health,
    host_health, lag_level,
};
use crate::core::fleet::Health;
use crate::core::state::State;
use crate::runtime::{out, outln};

use super::session::{LaunchError, Session, prime};

/// Observes every source once and prints the fleet; fails (exit 1) when a
/// source did.
pub async fn run(session: &mut Session, json: bool) -> Result<ExitCode, LaunchError> {
    let failures = prime(session).await;
    let state = &session.app.state;
    if json {
        let text = serde_json::to_string_pretty(&status_json(state))
            .map_err(|e| LaunchError::Config(e.to_string()))?;
        outln!("{text}");
    } else {
        out!("{}", status_text(state));
    }
    let service_failures = service_failures(state);
    if failures.is_empty() && state.failing_panels().is_empty() && service_failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for (panel, e) in state.failing_panels() {
            eprintln!("opsdeck: {} source failed: {}", panel.name(), e.text());
        }
        for f in service_failures {
            eprintln!("opsdeck: {f}");
        }
        Ok(ExitCode::FAILURE)
    }
}

/// The fleet as JSON for `status --json`. Health, lag level, the current
/// version and the verdict are `core::assess`'s judgements, the same the
/// screen and the guards use.
pub fn status_json(state: &State) -> Value {
    let limits = &state.policy.limits;
    let service = ServiceView::of(state);
    let hosts = state.hosts.data.as_ref();
    let azs: Vec<Value> = hosts
        .map(|h| {
            h.azs
                .iter()
                .map(|az| {
                    let list: Vec<Value> = h
                        .hosts
                        .iter()
                        .filter(|x| &x.az == az)
                        .map(|x| {
                            let target = h.load_balancer.as_ref().and_then(|lb| lb.target(&x.name));
                            json!({
                                "name": x.name,
                                "role": x.role.label(),
                                "state": x.state.label(),
                                "health": service.host_health(x, host_health(x, target)).label(),
                                "version": x.version,
                                "latency_ms": x.latency_ms,
                                "cpu_pct": x.cpu_pct,
                                "target_state": target.map(|t| t.state.label()),
                                "target_reason": target.and_then(|t| t.reason.clone()),
                                "weight": target.map(|t| t.weight),
                                "address": x.address,
                                "instance_type": x.instance_type,
                                "checks": x.checks,
                                "id": x.id,
                            })
                        })
                        .collect();
                    json!({ "name": az, "hosts": list })
                })
                .collect()
        })
        .unwrap_or_default();
    let rep = state.replication.data.as_ref();
    let databases: Vec<Value> = rep
        .map(|r| {
            r.databases
                .iter()
                .map(|d| {
                    json!({
                        "name": d.name, "role": d.role.label(), "az": d.az,
                        "health": db_health(d, limits).0.label(),
                        "health_reason": db_health(d, limits).1,
                        "lag_seconds": d.lag_seconds,
                        "lag_high": lag_high(d.role, d.lag_seconds, limits),
                        "reachable": d.reachable, "read_only": d.read_only,
                        "io_thread": d.io_thread.label(), "sql_thread": d.sql_thread.label(),
                        "source": d.source, "gtid_executed": d.gtid_executed,
                        "last_error": d.last_error,
                        "status": d.status,
                        "lag_sampled_at": d.lag_sampled_at.map(|t| t.to_rfc3339()),
                        "lag_sample_age_ms": d.lag_sampled_at.map(|t| state.now.since(t)),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let caches: Vec<Value> = rep
        .map(|r| {
            r.caches
                .iter()
                .map(|c| {
                    json!({
                        "name": c.name, "role": c.role.label(), "az": c.az,
                        "health": cache_health(c, limits).0.label(),
                        "health_reason": cache_health(c, limits).1,
                        "lag_seconds": c.lag_seconds, "lag_bytes": c.lag_bytes,
                        "lag_high": lag_high(c.role, c.lag_seconds, limits),
                        "reachable": c.reachable, "link_up": c.link_up, "offset": c.offset,
                        "source": c.source,
                        "lag_sampled_at": c.lag_sampled_at.map(|t| t.to_rfc3339()),
                        "lag_sample_age_ms": c.lag_sampled_at.map(|t| state.now.since(t)),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let deploys = state.deploys.data.as_ref();
    let history: Vec<Value> = deploys
        .map(|d| {
            d.history
                .iter()
                .map(|x| {
                    json!({
                        "service": x.service, "version": x.version, "artifact": x.artifact,
                        "at": x.at.to_rfc3339(), "by": x.by, "outcome": x.outcome.label(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let running: Vec<Value> = deploys
        .map(|d| {
            d.running
                .iter()
                .map(|r| json!({ "backend": r.backend, "az": r.az, "version": r.version }))
                .collect()
        })
        .unwrap_or_default();
    let alerts: Vec<Value> = state
        .alerts
        .data
        .as_ref()
        .map(|a| {
            a.iter()
                .map(|x| {
                    json!({
                        "name": x.name, "severity": x.severity.label(), "target": x.target,
                        "since": x.since.to_rfc3339(), "summary": x.summary,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let load_balancer = hosts.and_then(|h| h.load_balancer.as_ref()).map(|lb| {
        json!({
            "name": lb.name, "kind": lb.kind,
            "requests_per_sec": lb.total_rps(), "error_rate": lb.error_rate(),
            "targets": lb.targets.iter().map(|t| json!({
                "backend": t.backend, "az": t.az, "weight": t.weight, "state": t.state.label(),
                "health": t.health.label(), "requests_per_sec": t.requests_per_sec,
                "error_rate": t.error_rate, "in_flight": t.in_flight,
                "reason": t.reason,
                "drain_ends_at": t.drain_ends_at.map(|at| at.to_rfc3339()),
                "drain_remaining_ms": t.drain_ends_at.map(|at| at.since(state.now).max(0)),
            })).collect::<Vec<_>>(),
            "az_traffic": lb.az_traffic.iter().map(|z| json!({
                "az": z.az, "requests_per_sec": z.requests_per_sec, "error_rate": z.error_rate,
                "sampled_at": z.sampled_at.map(|t| t.to_rfc3339()),
            })).collect::<Vec<_>>(),
        })
    });
    let errors: Vec<Value> = state
        .failing_panels()
        .iter()
        .map(|(p, e)| json!({ "panel": p.name(), "source": e.source, "error": e.message }))
        .collect();
    let headline = Headline::of(state, limits);
    let verdict = json!({
        "all_healthy": headline.all_healthy(),
        "problems": headline.problems.iter().map(|p| p.text.clone()).collect::<Vec<_>>(),
        "waiting_for": headline.waiting,
    });
    let topology = rep.map(|r| {
        let t = Topology::of(r);
        json!({
            "writable_databases": t.writable_databases,
            "writable_caches": t.writable_caches,
            "follows": t.follows.iter().map(|(r, s)| json!({ "replica": r, "source": s })).collect::<Vec<_>>(),
            "unreachable": t.unreachable,
        })
    });
    json!({
        "environment": state.env.name,
        "region": state.env.region,
        "source": state.env.source,
        "read_only": state.read_only,
        "observed_at": state.now.to_rfc3339(),
        "azs": azs,
        "load_balancer": load_balancer,
        "databases": databases,
        "caches": caches,
        "deploys": history,
        "running_versions": running,
        "current_version": deploys.and_then(current_version),
        "topology": topology,
        "lag_high_seconds": limits.lag_high_seconds,
        "verdict": verdict,
        "service": service_json(state),
        "alerts": alerts,
        "errors": errors,
        "usage": state.usage.as_ref().map(usage_json),
        "diagnostics": {
            "frames": state.console.frames,
            "messages": state.console.messages,
            "polls": state.console.polls,
            "terminal_bytes": state.console.terminal_bytes,
        },
    })
}

/// The cost meter: what this session asked of the paid API, per hour, and
/// the monthly cost at list price.
pub fn usage_json(u: &crate::core::usage::UsageReport) -> Value {
    let m = u.monthly();
    json!({
        "session_ms": u.at.since(u.started),
        "calls": u.calls.iter().map(|l| json!({
            "service": l.service, "operation": l.operation, "calls": l.calls,
        })).collect::<Vec<_>>(),
        "total_calls": u.calls.iter().map(|l| l.calls).sum::<u64>(),
        "metrics_requested": u.metrics_requested,
        "metrics_requested_per_hour": u.per_hour(u.metrics_requested),
        "log_events": u.log_events,
        "log_bytes": u.log_bytes,
        "live_tail_sessions": u.live_tail_sessions,
        "live_tail_ms": u.live_tail_ms,
        "monthly_usd": { "metrics": m.metrics, "requests": m.requests, "live_tail": m.live_tail, "total": m.total },
        "price_table_date": crate::core::usage::PRICE_TABLE_DATE,
    })
}

/// The `service` section of `status --json`: the service's status, every
/// probe with its figures, the load balancer's own health and the traffic.
pub fn service_json(state: &State) -> Value {
    let view = ServiceView::of(state);
    let probes: Vec<Value> = view
        .probes
        .iter()
        .map(|p| {
            let latest = state
                .service
                .data
                .as_ref()
                .and_then(|o| o.probes.iter().find(|q| q.url == p.url));
            json!({
                "url": p.url,
                "ok": p.ok,
                "status": p.status,
                "expect_status": latest.map(|q| q.expect_status),
                "latency_ms": latest.and_then(|q| q.latency_ms),
                "error": p.error,
                "p50_ms": p.p50_ms,
                "p95_ms": p.p95_ms,
                "success_rate": p.success_rate,
                "samples": p.samples,
                "last_error": p.last_error.as_ref().map(|(at, e)| json!({ "at": at.to_rfc3339(), "error": e })),
            })
        })
        .collect();
    let lb = view.lb.as_ref().map(|lb| {
        json!({
            "name": lb.name,
            "health": lb.health.label(),
            "detail": lb.detail,
            "active_connections": lb.active_connections,
            "requests": lb.requests,
        })
    });
    json!({
        "status": view.status.label(),
        "probes": probes,
        "load_balancer": lb,
        "requests_per_sec": view.rps,
        "traffic_change": view.traffic.map(|t| t.text()),
        "data_age_ms": state.service.age_ms(state.now),
        "stale": !view.freshness.is_fresh(),
    })
}

/// Why `status` must exit non-zero for the service: every failed probe and a
/// load balancer that does not answer (empty when the service is fine).
pub fn service_failures(state: &State) -> Vec<String> {
    let view = ServiceView::of(state);
    let mut out: Vec<String> = view
        .probes
        .iter()
        .filter(|p| p.ok == Some(false))
        .map(|p| {
            format!(
                "service probe failed: {}",
                p.error.as_deref().unwrap_or(&p.url)
            )
        })
        .collect();
    if let Some(lb) = view.lb.as_ref().filter(|lb| lb.health == Health::Down) {
        out.push(format!(
            "load balancer {} down: {}",
            lb.name,
            lb.detail.as_deref().unwrap_or("no answer")
        ));
    }
    out
}

/// The service part of `status` without `--json`.
fn service_text(state: &State) -> String {
    let view = ServiceView::of(state);
    let mut out = format!(
        "\nservice: {} {}\n",
        view.status.health().symbol(),
        view.status.label()
    );
    for p in &view.probes {
        out.push_str(&format!(
            "  {} {}{}\n",
            if p.ok == Some(true) { "●" } else { "✖" },
            p.url,
            p.error
                .as_ref()
                .map(|e| format!("  {e}"))
                .unwrap_or_default()
        ));
    }
    if let Some(lb) = &view.lb {
        out.push_str(&format!(
            "  {} load balancer {} {}\n",
            lb.health.symbol(),
            lb.name,
            lb.health.label()
        ));
    }
    out
}

/// A short human summary for `status` without `--json`.
pub fn status_text(state: &State) -> String {
    use std::fmt::Write;
    let limits = &state.policy.limits;
    let mut out = String::new();
    let region = state.env.region.as_deref().unwrap_or("-");
    let _ = writeln!(
        out,
        "environment {}  region {}  source {}{}",
        state.env.name,
        region,
        state.env.source,
        if state.read_only { "  READ-ONLY" } else { "" }
    );
    if let Some(h) = &state.hosts.data {
        for az in &h.azs {
            let _ = writeln!(out, "\n{az}");
            for x in h.hosts.iter().filter(|x| &x.az == az) {
                let target = h.load_balancer.as_ref().and_then(|lb| lb.target(&x.name));
                let health = host_health(x, target);
                let _ = writeln!(
                    out,
                    "  {} {:<14} {:<14} {:<9} {:<9} {}{}",
                    health.symbol(),
                    x.name,
                    x.role.label(),
                    x.state.label(),
                    health.label(),
                    x.version.as_deref().unwrap_or(""),
                    target
                        .map(|t| format!("  lb:{} w{}", t.state.label(), t.weight))
                        .unwrap_or_default()
                );
            }
        }
    }
    if let Some(r) = &state.replication.data {
        let _ = writeln!(out, "\nreplication");
        for d in &r.databases {
            let (health, why) = db_health(d, limits);
            let _ = writeln!(
                out,
                "  {} db    {:<14} {:<8} lag {:<8} {why}",
                health.symbol(),
                d.name,
                d.role.label(),
                fmt_lag(d.lag_seconds, d.role)
            );
        }
        for c in &r.caches {
            let (health, why) = cache_health(c, limits);
            let _ = writeln!(
                out,
                "  {} cache {:<14} {:<8} lag {:<8} {why}",
                health.symbol(),
                c.name,
                c.role.label(),
                fmt_lag(c.lag_seconds, c.role)
            );
        }
    }
    if let Some(a) = &state.alerts.data {
        let _ = writeln!(
            out,
            "\nalerts: {}",
            if a.is_empty() {
                "none firing".to_string()
            } else {
                a.len().to_string()
            }
        );
        for x in a {
            let _ = writeln!(
                out,
                "  {} {:<8} {} on {}: {}",
                x.severity.symbol(),
                x.severity.label(),
                x.name,
                x.target,
                x.summary
            );
        }
    }
    if let Some(d) = &state.deploys.data
        && let Some(last) = d.history.first()
    {
        let _ = writeln!(
            out,
            "\nlast deploy: {} {} by {} at {} ({})",
            d.service,
            last.version,
            last.by,
            last.at.format_datetime(),
            last.outcome.label()
        );
    }
    for (p, e) in state.failing_panels() {
        let _ = writeln!(out, "\nERROR {}: {}", p.name(), e.text());
    }
    out.push_str(&service_text(state));
    let headline = Headline::of(state, limits);
    let _ = writeln!(
        out,
        "\nverdict: {}",
        if headline.all_healthy() {
            "all healthy".to_string()
        } else if headline.problems.is_empty() {
            format!(
                "no problems seen; waiting for {}",
                headline.waiting.join(", ")
            )
        } else {
            headline
                .problems
                .iter()
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>()
                .join(" · ")
        }
    );
    out
}

/// Whether a replica's lag is too high (`None`: unknown, or a primary).
fn lag_high(
    role: crate::core::fleet::ReplicaRole,
    lag: Option<f64>,
    limits: &crate::core::assess::Limits,
) -> Option<bool> {
    match (role, lag_level(lag, limits)) {
        (crate::core::fleet::ReplicaRole::Primary, _) | (_, LagLevel::Unknown) => None,
        (_, level) => Some(level == LagLevel::High),
    }
}

fn fmt_lag(lag: Option<f64>, role: crate::core::fleet::ReplicaRole) -> String {
    match (role, lag) {
        (crate::core::fleet::ReplicaRole::Primary, _) => "-".into(),
        (_, Some(s)) => format!("{s:.1}s"),
        (_, None) => "unknown".into(),
    }
}
#[cfg(test)]
mod tests {
    //! The screen, the guards and headless output read one judgement: for any
    //! lag and threshold they agree on "lag too high", and unknown lag is
    //! never shown, judged or printed as 0.

    use proptest::prelude::*;

    use super::*;
    use crate::core::assess::Limits;
    use crate::core::fleet::{ReplicaRole, ReplicationObservation};
    use crate::core::guard;
    use crate::core::msg::{Msg, Observation};
    use crate::core::operation::{NodeKind, OpKind, PromoteMode};
    use crate::core::state::EnvInfo;
    use crate::core::test_fixtures::db as node;
    use crate::core::time::Timestamp;
    use crate::theme::{Role, Theme};
    use crate::ui::fleet_summary::{Problems, lag_style};

    fn state(lag: Option<f64>, limit: f64) -> State {
        let env = EnvInfo {
            name: "t".into(),
            region: None,
            source: "t".into(),
            production: false,
        };
        let mut s = State::new(env, false, Timestamp::from_secs(100));
        s.policy.limits = Limits {
            lag_high_seconds: limit,
            promote_lag_seconds: None,
        };
        crate::core::update(
            &mut s,
            Msg::Observed {
                at: Timestamp::from_secs(100),
                observation: Observation::Replication(ReplicationObservation {
                    faults: Vec::new(),
                    databases: vec![
                        node("db-primary", ReplicaRole::Primary, None),
                        node("db-replica", ReplicaRole::Replica, lag),
                    ],
                    caches: vec![],
                }),
            },
        );
        s
    }

    proptest! {
        #[test]
        fn screen_guard_and_headless_agree_on_lag(
            lag in proptest::option::of(0.0f64..60.0),
            limit in 0.5f64..30.0,
        ) {
            let s = state(lag, limit);
            let theme = Theme::builtin();
            let high = lag.is_some_and(|l| l > limit);
            // Headless: `lag_high` is true/false, or null when unknown.
            let json = status_json(&s);
            let printed = &json["databases"][1]["lag_high"];
            match lag {
                None => prop_assert!(printed.is_null(), "{printed}"),
                Some(_) => prop_assert_eq!(printed.as_bool(), Some(high)),
            }
            prop_assert_eq!(
                json["databases"][1]["health"].as_str(),
                Some(if lag.is_none() { "unknown" } else if high { "degraded" } else { "ok" })
            );
            // Screen: the lag's colour and the headline.
            let style = lag_style(&theme, lag, &s.policy.limits);
            let expected_role = match lag {
                None => Role::LagUnknown,
                Some(_) if high => Role::LagHigh,
                Some(_) => Role::LagOk,
            };
            prop_assert_eq!(style, theme.style(expected_role));
            let headline = Problems::of(&s);
            prop_assert_eq!(
                headline.items.iter().any(|(_, t)| t.starts_with("▲ db-replica lag")),
                high
            );
            // Guard: promotion refused exactly when the lag is high or unknown.
            let kind = OpKind::Promote {
                replica: "db-replica".into(),
                primary: "db-primary".into(),
                node: NodeKind::Database,
                mode: PromoteMode::Planned,
                last_lag_seconds: lag,
            };
            let refused = guard::check(&kind, &s, &s.policy).is_err();
            prop_assert_eq!(refused, high || lag.is_none());
            // And the text output never prints unknown as a number.
            let text = status_text(&s);
            if lag.is_none() {
                prop_assert!(text.contains("lag unknown"), "{text}");
            }
        }
    }

    proptest! {
        #[test]
        fn screen_rollback_and_headless_agree_on_the_current_version(
            versions in proptest::collection::vec(
                proptest::option::of(prop_oneof![
                    Just("v9"), Just("v10"), Just("v1.9.0"), Just("v1.10.0"), Just("1.10.0")
                ]),
                1..6,
            ),
        ) {
            use crate::core::fleet::{DeploysObservation, RunningVersion};
            let mut s = state(Some(0.0), 5.0);
            let obs = DeploysObservation {
                service: "web".into(),
                history: vec![],
                running: versions
                    .iter()
                    .enumerate()
                    .map(|(i, v)| RunningVersion {
                        backend: format!("web-{i}"),
                        az: "az-a".into(),
                        version: v.map(str::to_string),
                    })
                    .collect(),
            };
            crate::core::update(
                &mut s,
                Msg::Observed { at: Timestamp::from_secs(100), observation: Observation::Deploys(obs.clone()) },
            );
            let planned = crate::core::plan::current_version(&s);
            let shown = crate::ui::fleet_summary::Drift::of(&obs).expected;
            let printed = status_json(&s)["current_version"].as_str().map(str::to_string);
            prop_assert_eq!(&planned, &shown);
            prop_assert_eq!(&planned, &printed);
            // The most common known version, and on a tie never v9 over v10.
            if let Some(v) = &planned {
                let count = |x: &str| versions.iter().filter(|y| **y == Some(x)).count();
                prop_assert!(versions.iter().flatten().all(|x| count(x) <= count(v)));
                if count("v9") == count("v10") && (v == "v9" || v == "v10") {
                    prop_assert_eq!(v.as_str(), "v10");
                }
            }
        }
    }
}
