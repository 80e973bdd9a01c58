//! From an action and the selection to a resolved request, the steps that carry
//! it out, and the preview a confirmation dialog shows. Pure functions.

use super::action::ActionId;
use super::assess;
use super::capabilities::{Capabilities, OldPrimary};
use super::fleet::{DeployOutcome, HostRole, ReplicaRole, TargetState};
use super::guard::{OpsPolicy, replica_lag};
use super::operation::{NodeKind, OpKind, OpRequest, PromoteMode, StepSpec};
use super::state::{ObjectRef, State};

/// Resolves a mutating action to a request. `target` names the object when the
/// action came from the palette (`:drain-backend web-c2`); otherwise the
/// selection decides. Errors are one line for the status bar.
pub fn resolve(state: &State, action: ActionId, target: Option<&str>) -> Result<OpRequest, String> {
    let selected = match target {
        Some(t) => Some(t.to_string()),
        None => match state.selection() {
            Some(ObjectRef::Host(h) | ObjectRef::Database(h) | ObjectRef::Cache(h)) => Some(h),
            Some(ObjectRef::Deploy(i)) => state
                .deploys
                .data
                .as_ref()
                .and_then(|d| d.history.get(i))
                .map(|d| d.version.clone()),
            None => None,
        },
    };
    let kind = match action {
        ActionId::DrainBackend | ActionId::UndrainBackend => {
            let backend = selected
                .filter(|b| is_backend(state, b))
                .ok_or_else(|| format!("{}: select a backend first", action.name()))?;
            if action == ActionId::DrainBackend {
                OpKind::Drain { backend }
            } else {
                OpKind::Undrain { backend }
            }
        }
        ActionId::PromoteReplica => {
            promote_kind(state, selected.as_deref(), target.is_some(), false)?
        }
        ActionId::FailoverReplica => {
            promote_kind(state, selected.as_deref(), target.is_some(), true)?
        }
        ActionId::RollbackDeploy => rollback_kind(state, selected.as_deref(), target.is_some())?,
        ActionId::SshOpen => {
            let host = selected
                .filter(|h| {
                    state
                        .hosts
                        .data
                        .as_ref()
                        .is_some_and(|o| o.host(h).is_some())
                })
                .ok_or_else(|| "ssh-open: select a host first".to_string())?;
            OpKind::SshOpen { host }
        }
        other => return Err(format!("{} is not an operation", other.name())),
    };
    Ok(OpRequest::new(action, kind))
}

fn is_backend(state: &State, name: &str) -> bool {
    state.hosts.data.as_ref().is_some_and(|h| {
        h.hosts
            .iter()
            .any(|x| x.name == name && x.role == HostRole::Backend)
    })
}

/// The selected replica if one is selected, else the database replica.
/// `forced`: an emergency failover even if the primary looks available (an
/// API can still call a primary in a lost AZ "available").
fn promote_kind(
    state: &State,
    selected: Option<&str>,
    explicit: bool,
    forced: bool,
) -> Result<OpKind, String> {
    let action = if forced {
        "failover-replica"
    } else {
        "promote-replica"
    };
    let rep = state
        .replication
        .data
        .as_ref()
        .ok_or(format!("{action}: replication is unknown (no data yet)"))?;
    let db = |name: &str| rep.databases.iter().find(|d| d.name == name);
    let cache = |name: &str| rep.caches.iter().find(|c| c.name == name);
    let (replica, node) = match selected {
        Some(n) if db(n).is_some_and(|d| d.role == ReplicaRole::Replica) => {
            (n.to_string(), NodeKind::Database)
        }
        Some(n) if cache(n).is_some_and(|c| c.role == ReplicaRole::Replica) => {
            (n.to_string(), NodeKind::Cache)
        }
        Some(n) if db(n).is_some() || cache(n).is_some() => {
            return Err(format!("{action}: {n} is already a primary"));
        }
        Some(n) if explicit => return Err(format!("{action}: no replica named {n}")),
        _ => {
            let r = rep
                .databases
                .iter()
                .find(|d| d.role == ReplicaRole::Replica)
                .ok_or(format!("{action}: there is no database replica"))?;
            (r.name.clone(), NodeKind::Database)
        }
    };
    let (primary, primary_up, source) = match node {
        NodeKind::Database => {
            let r = db(&replica);
            let source = r.and_then(|r| r.source.clone());
            let p = rep
                .databases
                .iter()
                .find(|d| d.role == ReplicaRole::Primary && Some(&d.name) == source.as_ref())
                .or_else(|| {
                    rep.databases
                        .iter()
                        .find(|d| d.role == ReplicaRole::Primary)
                });
            (
                p.map(|p| p.name.clone()),
                p.is_some_and(|p| p.reachable),
                source,
            )
        }
        NodeKind::Cache => {
            let r = cache(&replica);
            let source = r.and_then(|r| r.source.clone());
            let p = rep
                .caches
                .iter()
                .find(|c| c.role == ReplicaRole::Primary && Some(&c.name) == source.as_ref())
                .or_else(|| rep.caches.iter().find(|c| c.role == ReplicaRole::Primary));
            (
                p.map(|p| p.name.clone()),
                p.is_some_and(|p| p.reachable),
                source,
            )
        }
    };
    let primary = primary.or(source).unwrap_or_else(|| "?".into());
    Ok(OpKind::Promote {
        last_lag_seconds: replica_lag(state, &replica, node),
        replica,
        primary,
        node,
        mode: if primary_up && !forced {
            PromoteMode::Planned
        } else {
            PromoteMode::Emergency
        },
    })
}

/// The version the service runs now (see [`assess::current_version()`]).
pub fn current_version(state: &State) -> Option<String> {
    assess::current_version(state.deploys.data.as_ref()?)
}

/// Default rollback target: the last successful version deployed before the
/// current one.
pub fn default_rollback_version(state: &State) -> Option<String> {
    let d = state.deploys.data.as_ref()?;
    let current = current_version(state)?;
    let pos = d.history.iter().position(|x| x.version == current)?;
    d.history[pos + 1..]
        .iter()
        .find(|x| x.outcome == DeployOutcome::Succeeded && x.version != current)
        .map(|x| x.version.clone())
}

fn rollback_kind(state: &State, selected: Option<&str>, explicit: bool) -> Result<OpKind, String> {
    // A provider that cannot deploy says why before the history is asked
    // for (there may be none to read).
    if let Some(why) = &state.capabilities.deploy_unavailable {
        return Err(format!("rollback-deploy: {why}; nothing was sent"));
    }
    let d = state
        .deploys
        .data
        .as_ref()
        .ok_or("rollback-deploy: the deploy history is unknown (no data yet)")?;
    let current = current_version(state);
    let in_history = |v: &str| d.history.iter().any(|x| x.version == v);
    // In the deploys view (or from the palette) the chosen version wins, unless
    // it is the one running now.
    let chosen = selected
        .filter(|v| in_history(v) && (explicit || state.view == super::view::ViewId::Deploys))
        .filter(|v| Some(*v) != current.as_deref())
        .map(str::to_string);
    if explicit
        && chosen.is_none()
        && let Some(v) = selected
    {
        if !in_history(v) {
            return Err(format!(
                "rollback-deploy: {v} is not in the deploy history of {}",
                d.service
            ));
        }
        return Err(format!("rollback-deploy: {v} is what runs now"));
    }
    let version = chosen
        .or_else(|| default_rollback_version(state))
        .ok_or("rollback-deploy: no earlier successful version in the history")?;
    Ok(OpKind::DeployVersion {
        service: d.service.clone(),
        version,
        from_version: current,
        backends: wave_order(state),
        rollback: true,
        maintenance_drained: maintenance_drained(state),
    })
}

/// Backends whose load-balancer target is already out of the pool (someone
/// drained them, e.g. for maintenance): a rollback leaves them drained.
pub fn maintenance_drained(state: &State) -> Vec<String> {
    let Some(lb) = state.load_balancer() else {
        return Vec::new();
    };
    lb.targets
        .iter()
        .filter(|t| matches!(t.state, TargetState::Drained | TargetState::Draining))
        .map(|t| t.backend.clone())
        .collect()
}

/// Backends in wave order: AZ by AZ (display order), by name within an AZ.
pub fn wave_order(state: &State) -> Vec<String> {
    let Some(h) = &state.hosts.data else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for az in &h.azs {
        let mut names: Vec<String> = h
            .hosts
            .iter()
            .filter(|x| &x.az == az && x.role == HostRole::Backend)
            .map(|x| x.name.clone())
            .collect();
        names.sort();
        out.extend(names);
    }
    out
}

/// How long a drain may wait: the provider's own drain time (an ALB's
/// deregistration delay) when it has one, else the guards' drain timeout.
pub fn drain_wait_ms(policy: &OpsPolicy, caps: &Capabilities) -> i64 {
    caps.drain_takes_ms.unwrap_or(policy.drain_timeout_ms)
}

/// The steps that carry out `request`, only those the provider can do
/// (`caps`): no read-only step where the primary cannot be made read-only, no
/// rejoin where the old primary cannot follow, and no traffic check where the
/// load balancer reports no per-target traffic (the drain's wait, which ends
/// when the load balancer reports the target drained, is the check there).
pub fn steps(request: &OpRequest, policy: &OpsPolicy, caps: &Capabilities) -> Vec<StepSpec> {
    match &request.kind {
        OpKind::Drain { backend } => {
            let mut s = vec![
                StepSpec::Drain {
                    backend: backend.clone(),
                },
                StepSpec::WaitDrained {
                    backend: backend.clone(),
                    timeout_ms: drain_wait_ms(policy, caps),
                },
            ];
            if caps.per_target_traffic {
                s.push(StepSpec::VerifyNoTraffic {
                    backend: backend.clone(),
                });
            }
            s
        }
        OpKind::Undrain { backend } => vec![
            StepSpec::Undrain {
                backend: backend.clone(),
            },
            StepSpec::VerifyServing {
                backend: backend.clone(),
            },
        ],
        OpKind::Promote {
            replica,
            primary,
            mode,
            node,
            ..
        } => {
            let caps = caps.promote(*node);
            let mut s = Vec::new();
            // Where the primary cannot be made read-only, the application
            // keeps writing and a lag of 0 never comes: no catch-up wait
            // (the replica-lag guard is the check).
            if *mode == PromoteMode::Planned && caps.set_read_only {
                s.push(StepSpec::SetReadOnly {
                    node: primary.clone(),
                    read_only: true,
                });
                s.push(StepSpec::WaitCaughtUp {
                    replica: replica.clone(),
                    timeout_ms: policy.catch_up_timeout_ms,
                });
            }
            s.push(StepSpec::Promote {
                replica: replica.clone(),
                mode: *mode,
            });
            if *mode == PromoteMode::Planned
                && policy.rejoin_old_primary
                && caps.old_primary == OldPrimary::Rejoin
            {
                s.push(StepSpec::Rejoin {
                    old_primary: primary.clone(),
                    new_primary: replica.clone(),
                });
            }
            if let Some(hook) = &policy.post_promote_hook {
                s.push(StepSpec::RunHook {
                    command: hook.clone(),
                });
            }
            s.push(StepSpec::VerifyPrimary {
                node: replica.clone(),
            });
            s
        }
        OpKind::DeployVersion {
            version,
            backends,
            maintenance_drained,
            ..
        } => {
            let mut s = Vec::new();
            for b in backends {
                // A backend someone drained for maintenance gets the version
                // but stays out of the pool: no drain, no undrain.
                let in_maintenance = maintenance_drained.contains(b);
                if !in_maintenance {
                    s.push(StepSpec::Drain { backend: b.clone() });
                    s.push(StepSpec::WaitDrained {
                        backend: b.clone(),
                        timeout_ms: drain_wait_ms(policy, caps),
                    });
                }
                s.push(StepSpec::Deploy {
                    backend: b.clone(),
                    version: version.clone(),
                });
                s.push(StepSpec::WaitHealthy {
                    backend: b.clone(),
                    version: version.clone(),
                    timeout_ms: policy.health_timeout_ms,
                });
                if !in_maintenance {
                    s.push(StepSpec::Undrain { backend: b.clone() });
                    // Serving again before the next backend's drain, whose
                    // guard needs another healthy backend in the AZ.
                    s.push(StepSpec::VerifyServing { backend: b.clone() });
                }
            }
            s.push(StepSpec::VerifyVersions {
                version: version.clone(),
                backends: backends.clone(),
                kept_drained: backends
                    .iter()
                    .filter(|b| maintenance_drained.contains(b))
                    .cloned()
                    .collect(),
            });
            s
        }
        OpKind::SshOpen { .. } | OpKind::TrustHostKey { .. } => Vec::new(),
    }
}

/// What the dialog shows before confirming: the change, before and after.
pub fn preview(request: &OpRequest, state: &State) -> Vec<String> {
    match &request.kind {
        OpKind::Drain { backend } | OpKind::Undrain { backend } => {
            pool_preview(state, backend, matches!(request.kind, OpKind::Drain { .. }))
        }
        OpKind::Promote {
            replica,
            primary,
            mode,
            last_lag_seconds,
            node,
        } => promote_preview(state, replica, primary, *mode, *node, *last_lag_seconds),
        OpKind::DeployVersion {
            service,
            version,
            from_version,
            backends,
            ..
        } => {
            let from = from_version.clone().unwrap_or_else(|| "?".into());
            let mut lines = vec![format!(
                "{service}: {from} → {version} on {} backend(s), one AZ at a time:",
                backends.len()
            )];
            if let Some(h) = &state.hosts.data {
                for az in &h.azs {
                    let names: Vec<&str> = backends
                        .iter()
                        .filter(|b| h.host(b).is_some_and(|x| &x.az == az))
                        .map(String::as_str)
                        .collect();
                    if !names.is_empty() {
                        lines.push(format!("  {az}: {}", names.join(" → ")));
                    }
                }
            }
            lines.push(
                "Each backend: drain, deploy, wait until healthy, undrain, verify it serves."
                    .into(),
            );
            if let OpKind::DeployVersion {
                maintenance_drained,
                ..
            } = &request.kind
            {
                for b in maintenance_drained.iter().filter(|b| backends.contains(b)) {
                    lines.push(format!(
                        "{b} was drained for maintenance: it gets {version} and stays drained."
                    ));
                }
            }
            lines.push("Stops at the first failure; the rest keep their version.".into());
            lines
        }
        OpKind::SshOpen { host } => vec![format!("Open an interactive shell on {host}.")],
        OpKind::TrustHostKey { host, fingerprint } => vec![
            format!("The authenticity of {host} can't be established: no known_hosts"),
            "file has its SSH host key. It presented the key with fingerprint".into(),
            format!("  {fingerprint}"),
            "Compare it with `ssh-keygen -lf` of the host's public key (run on".into(),
            "the host, or from your inventory). Only if they match, type the".into(),
            "host's name to record the key in known_hosts and connect.".into(),
        ],
    }
}

/// The promote dialog's lines: what happens to each node, the writes that
/// may be lost, and what the service sees meanwhile.
fn promote_preview(
    state: &State,
    replica: &str,
    primary: &str,
    mode: PromoteMode,
    node: NodeKind,
    last_lag: Option<f64>,
) -> Vec<String> {
    let caps = state.capabilities.promote(node);
    let lag = lag_phrase(state, replica, node, last_lag);
    let mut lines = match mode {
        PromoteMode::Planned => vec![
            format!("Planned switchover: {primary} is reachable."),
            match (caps.set_read_only, caps.old_primary) {
                (true, _) => {
                    format!("{primary} becomes read-only; {replica} catches up (lag now {lag}),")
                }
                (false, OldPrimary::StaysWritable) => format!(
                    "{primary} cannot be made read-only here: it takes writes until the application moves (lag now {lag}),"
                ),
                (false, _) => {
                    format!("{primary} takes writes until the service switches (lag now {lag}),")
                }
            },
            match caps.old_primary {
                OldPrimary::Rejoin if state.policy.rejoin_old_primary => {
                    format!("then {replica} becomes the primary and {primary} its replica.")
                }
                OldPrimary::Rejoin => format!(
                    "then {replica} becomes the primary; {primary} is not made its replica (rebuild it)."
                ),
                OldPrimary::Follows => format!(
                    "then {replica} becomes the primary and the service makes {primary} its replica."
                ),
                OldPrimary::StaysWritable => format!(
                    "then {replica} becomes a standalone primary. {primary} STAYS WRITABLE: point the application at {replica}, then retire {primary}."
                ),
            },
            match (caps.set_read_only, caps.old_primary) {
                (true, _) => "Writes fail while the primary is read-only (seconds).".into(),
                (false, OldPrimary::StaysWritable) => format!(
                    "Possible data loss: writes of the last {lag}, and any the application makes on {primary} after the promotion."
                ),
                (false, _) => {
                    format!("Possible data loss: writes of the last {lag} not yet replicated.")
                }
            },
        ],
        PromoteMode::Emergency => {
            let looks_up = state.replication.data.as_ref().is_some_and(|r| {
                r.databases.iter().any(|d| d.name == primary && d.reachable)
                    || r.caches.iter().any(|c| c.name == primary && c.reachable)
            });
            vec![
                if looks_up {
                    format!(
                        "EMERGENCY failover (forced): {primary} still looks available, and is treated as lost."
                    )
                } else {
                    format!("EMERGENCY failover: {primary} is unreachable.")
                },
                format!("Possible data loss: writes of the last {lag} (last known lag)."),
                if caps.old_primary == OldPrimary::StaysWritable {
                    format!(
                        "{replica} becomes a standalone primary now; {primary}, if it comes back, is still writable: keep the application away from it."
                    )
                } else {
                    format!(
                        "{replica} becomes the primary now; {primary} must not come back as a primary."
                    )
                },
            ]
        }
    };
    if let Some(d) = &caps.downtime {
        lines.push(format!("Expected downtime: {d}"));
    }
    if let Some(ms) = caps.takes_ms {
        lines.push(format!(
            "It may take up to {} min to show; progress is shown as it goes.",
            ms / 60_000
        ));
    }
    lines
}

/// "3s" or, for a sampled metric, "3s as sampled 40 s ago"; "unknown".
fn lag_phrase(state: &State, replica: &str, node: NodeKind, last_lag: Option<f64>) -> String {
    let sampled = state.replication.data.as_ref().and_then(|r| match node {
        NodeKind::Database => r
            .databases
            .iter()
            .find(|d| d.name == replica)
            .and_then(|d| d.lag_sampled_at),
        NodeKind::Cache => r
            .caches
            .iter()
            .find(|c| c.name == replica)
            .and_then(|c| c.lag_sampled_at),
    });
    let age = sampled.map(|at| format!(" as sampled {} s ago", state.now.since(at).max(0) / 1000));
    match last_lag {
        Some(l) => format!("{l:.0}s{}", age.unwrap_or_default()),
        None => format!("unknown{}", age.unwrap_or_default()),
    }
}

/// What the provider cannot do that an operator may expect, for the dialog:
/// the steps left out of the plan and what takes their place.
pub fn capability_notes(request: &OpRequest, state: &State) -> Vec<String> {
    let caps = &state.capabilities;
    let mut notes = Vec::new();
    match &request.kind {
        OpKind::Drain { .. } | OpKind::DeployVersion { .. } => {
            if let Some(ms) = caps.drain_takes_ms {
                notes.push(format!(
                    "A drain takes up to {} s here (the load balancer's own delay).",
                    ms / 1000
                ));
            }
            if !caps.per_target_traffic && matches!(request.kind, OpKind::Drain { .. }) {
                notes.push(
                    "No per-target traffic here: not verified by traffic; the load balancer reporting the target drained is the check."
                        .into(),
                );
            }
        }
        OpKind::Promote {
            mode: PromoteMode::Planned,
            node,
            ..
        } => {
            let caps = caps.promote(*node);
            if !caps.set_read_only {
                notes.push(
                    "Cannot make the primary read-only here: no read-only or catch-up step is planned; the replica-lag guard is the check."
                        .into(),
                );
            }
            if caps.old_primary != OldPrimary::Rejoin {
                notes.push("Cannot rejoin the old primary here: that step is not planned.".into());
            }
        }
        _ => {}
    }
    notes
}

/// Pool before and after: each backend's weight and share of requests.
fn pool_preview(state: &State, backend: &str, drain: bool) -> Vec<String> {
    let Some(lb) = state.load_balancer() else {
        return vec!["The pool is unknown (no data yet).".into()];
    };
    let serving = |name: &str, after: bool| {
        lb.target(name).is_some_and(|t| {
            let active = if after && name == backend {
                !drain
            } else {
                t.state == TargetState::Active
            };
            // nginx keeps sending to a degraded backend; only down ones get none.
            active && t.health != super::fleet::Health::Down
        })
    };
    let total = |after: bool| -> u32 {
        lb.targets
            .iter()
            .filter(|t| serving(&t.backend, after))
            .map(|t| t.weight)
            .sum()
    };
    let (before_total, after_total) = (total(false), total(true));
    let share = |t: &super::fleet::Target, after: bool, sum: u32| -> f64 {
        if sum == 0 || !serving(&t.backend, after) {
            0.0
        } else {
            f64::from(t.weight) / f64::from(sum) * 100.0
        }
    };
    let mut lines = vec![format!(
        "Pool {} ({}), share of requests before → after:",
        lb.name, lb.kind
    )];
    for t in &lb.targets {
        let (b, a) = (share(t, false, before_total), share(t, true, after_total));
        let mark = if t.backend == backend {
            if drain {
                "  ← drained"
            } else {
                "  ← back in"
            }
        } else if a > b + 0.05 {
            "  takes more"
        } else {
            ""
        };
        lines.push(format!(
            "  {:<10} w{:<2} {:>3.0}% → {:>3.0}%{mark}",
            t.backend, t.weight, b, a
        ));
    }
    lines
}

/// What an operation would do, in one clause: for read-only refusals and the
/// audit log. "take web-a1 out of pool lb (its 30% moves to web-a2, web-c1)".
pub fn effect_sentence(request: &OpRequest, state: &State) -> String {
    match &request.kind {
        OpKind::Drain { backend } => {
            let lb = state.load_balancer();
            match lb {
                Some(lb) => {
                    let others: Vec<&str> = lb
                        .targets
                        .iter()
                        .filter(|t| {
                            t.backend != *backend
                                && t.state == TargetState::Active
                                && !t.health.is_problem()
                        })
                        .map(|t| t.backend.as_str())
                        .collect();
                    format!(
                        "take {backend} out of pool {} (its traffic moves to {})",
                        lb.name,
                        others.join(", ")
                    )
                }
                None => format!("take {backend} out of the load-balancer pool"),
            }
        }
        OpKind::Undrain { backend } => format!("put {backend} back into the load-balancer pool"),
        OpKind::Promote {
            replica,
            primary,
            mode,
            node,
            ..
        } => {
            let what = match node {
                NodeKind::Database => "database",
                NodeKind::Cache => "cache",
            };
            let how = match mode {
                PromoteMode::Planned => "planned switchover",
                PromoteMode::Emergency => "emergency failover",
            };
            format!("make {replica} the {what} primary in place of {primary} ({how})")
        }
        OpKind::DeployVersion {
            service,
            version,
            from_version,
            backends,
            ..
        } => format!(
            "roll {service} from {} to {version} on {} backend(s)",
            from_version.as_deref().unwrap_or("?"),
            backends.len()
        ),
        OpKind::SshOpen { host } => format!("open an interactive shell on {host}"),
        OpKind::TrustHostKey { host, .. } => format!("trust {host}'s SSH host key and connect"),
    }
}
