//! Reducer tests: messages in, state and effects out.

use super::*;
use crate::core::fleet::*;
use crate::core::state::SortColumn;
use crate::core::test_fixtures::{act, backend, db, env, type_text};

fn host(name: &str, az: &str, role: HostRole, health: Health, cpu: f64) -> Host {
    Host {
        role,
        latency_ms: Some(3.0),
        cpu_pct: Some(cpu),
        ..backend(name, az, health)
    }
}

fn hosts_obs() -> HostsObservation {
    HostsObservation {
        faults: Vec::new(),
        azs: vec!["az-a".into(), "az-c".into()],
        hosts: vec![
            host("web-a1", "az-a", HostRole::Backend, Health::Ok, 30.0),
            host("web-a2", "az-a", HostRole::Backend, Health::Down, 80.0),
            host("web-c1", "az-c", HostRole::Backend, Health::Ok, 10.0),
            host("db-primary", "az-a", HostRole::DbPrimary, Health::Ok, 20.0),
        ],
        load_balancer: None,
    }
}

fn state() -> State {
    let mut s = State::new(env(), false, Timestamp::from_secs(1000));
    update(
        &mut s,
        Msg::Observed {
            at: Timestamp::from_secs(1000),
            observation: Observation::Hosts(hosts_obs()),
        },
    );
    s
}

fn line(host: &str, text: &str) -> LogLine {
    LogLine {
        at: Timestamp::from_secs(1000),
        host: host.into(),
        az: "az-a".into(),
        level: LogLevel::detect(text),
        text: text.into(),
    }
}

#[test]
fn quit_returns_the_quit_effect() {
    let mut s = state();
    assert_eq!(act(&mut s, ActionId::Quit), vec![Effect::Quit]);
    assert!(s.quit);
}

#[test]
fn views_switch_and_wrap() {
    let mut s = state();
    act(&mut s, ActionId::PrevView);
    assert_eq!(s.view, ViewId::Logs);
    act(&mut s, ActionId::NextView);
    assert_eq!(s.view, ViewId::Overview);
    act(&mut s, ActionId::ViewReplication);
    assert_eq!(s.view, ViewId::Replication);
}

#[test]
fn selection_moves_and_clamps() {
    let mut s = state();
    act(&mut s, ActionId::ViewInstances);
    act(&mut s, ActionId::MoveBottom);
    assert_eq!(s.instances.selected, 3);
    act(&mut s, ActionId::MoveDown);
    assert_eq!(s.instances.selected, 3);
    act(&mut s, ActionId::MoveTop);
    assert_eq!(s.instances.selected, 0);
    act(&mut s, ActionId::MoveUp);
    assert_eq!(s.instances.selected, 0);
}

#[test]
fn instances_sort_and_filter() {
    let mut s = state();
    act(&mut s, ActionId::ViewInstances);
    let names = |s: &State| {
        s.instance_rows()
            .iter()
            .map(|h| h.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&s), ["db-primary", "web-a1", "web-a2", "web-c1"]);
    for _ in 0..6 {
        act(&mut s, ActionId::SortNext);
    }
    assert_eq!(s.instances.sort, SortColumn::Cpu);
    assert_eq!(names(&s), ["web-c1", "db-primary", "web-a1", "web-a2"]);
    act(&mut s, ActionId::SortReverse);
    assert_eq!(names(&s)[0], "web-a2");

    act(&mut s, ActionId::StartFilter);
    type_text(&mut s, "web-a");
    assert_eq!(names(&s).len(), 2);
    update(&mut s, Msg::Input(Key::plain(KeyCode::Enter)));
    assert!(s.input.is_none());
    assert_eq!(s.instances.filter, "web-a");
    act(&mut s, ActionId::ClearFilter);
    assert_eq!(names(&s).len(), 4);
}

#[test]
fn esc_restores_the_filter_before_editing() {
    let mut s = state();
    act(&mut s, ActionId::ViewInstances);
    act(&mut s, ActionId::StartFilter);
    type_text(&mut s, "down");
    assert_eq!(s.instance_rows().len(), 1);
    update(&mut s, Msg::Input(Key::plain(KeyCode::Esc)));
    assert!(s.input.is_none());
    assert_eq!(s.instance_rows().len(), 4);
}

#[test]
fn logs_filter_is_a_regex_and_bad_regex_is_reported() {
    let mut s = state();
    update(
        &mut s,
        Msg::Observed {
            at: Timestamp::from_secs(1001),
            observation: Observation::Logs(
                vec![
                    line("web-a1", "INFO GET /a 200"),
                    line("web-c1", "ERROR timeout"),
                    line("web-a1", "WARN slow query 900ms"),
                ]
                .into(),
            ),
        },
    );
    act(&mut s, ActionId::ViewLogs);
    act(&mut s, ActionId::StartFilter);
    type_text(&mut s, "time(out");
    let err = s.input.as_ref().and_then(|i| i.error.clone());
    assert!(err.is_some(), "unclosed group is an error");
    update(&mut s, Msg::Input(Key::plain(KeyCode::Enter)));
    assert!(s.input.is_some(), "enter keeps an invalid filter open");
    update(&mut s, Msg::Input(Key::plain(KeyCode::Backspace)));
    update(&mut s, Msg::Input(Key::plain(KeyCode::Backspace)));
    update(&mut s, Msg::Input(Key::plain(KeyCode::Backspace)));
    update(&mut s, Msg::Input(Key::plain(KeyCode::Backspace)));
    type_text(&mut s, "out|SLOW");
    update(&mut s, Msg::Input(Key::plain(KeyCode::Enter)));
    let shown = s.logs.buffer.tail_matching(&s.logs.filter, None, 10);
    assert_eq!(shown.len(), 2);

    act(&mut s, ActionId::CycleLevel);
    act(&mut s, ActionId::CycleLevel);
    act(&mut s, ActionId::CycleLevel);
    assert_eq!(s.logs.filter.min_level, Some(LogLevel::Error));
    assert_eq!(
        s.logs.buffer.tail_matching(&s.logs.filter, None, 10).len(),
        1
    );
    act(&mut s, ActionId::ClearFilter);
    assert!(s.logs.filter.is_empty());
}

#[test]
fn logs_pause_scroll_and_follow() {
    let mut s = state();
    s.height = 16;
    let lines: Vec<_> = (0..100)
        .map(|i| line("web-a1", &format!("INFO n{i}")))
        .collect();
    update(
        &mut s,
        Msg::Observed {
            at: Timestamp::from_secs(1001),
            observation: Observation::Logs(lines.into()),
        },
    );
    act(&mut s, ActionId::ViewLogs);
    assert!(s.logs.follow);
    act(&mut s, ActionId::MoveUp);
    assert!(!s.logs.follow);
    assert_eq!(s.logs.anchor, Some(98));
    // New lines do not move a paused view.
    update(
        &mut s,
        Msg::Observed {
            at: Timestamp::from_secs(1002),
            observation: Observation::Logs(vec![line("web-a1", "INFO new")].into()),
        },
    );
    assert_eq!(s.logs.anchor, Some(98));
    act(&mut s, ActionId::MoveTop);
    assert_eq!(s.logs.anchor, Some(9), "top keeps a full page visible");
    act(&mut s, ActionId::MoveDown);
    assert_eq!(s.logs.anchor, Some(10));
    act(&mut s, ActionId::MoveBottom);
    assert!(s.logs.follow);
    act(&mut s, ActionId::ToggleFollow);
    assert_eq!(s.logs.anchor, Some(100));
    act(&mut s, ActionId::ToggleFollow);
    assert!(s.logs.follow && s.logs.anchor.is_none());
}

#[test]
fn show_logs_for_selection_filters_by_host() {
    let mut s = state();
    act(&mut s, ActionId::ViewInstances);
    act(&mut s, ActionId::MoveDown);
    act(&mut s, ActionId::ShowLogsForSelection);
    assert_eq!(s.view, ViewId::Logs);
    assert_eq!(s.logs.filter.host.as_deref(), Some("web-a1"));
}

#[test]
fn details_overlay_and_close() {
    let mut s = state();
    act(&mut s, ActionId::ShowDetails);
    assert_eq!(
        s.overlay,
        Some(Overlay::Details(ObjectRef::Host("web-a1".into())))
    );
    act(&mut s, ActionId::Close);
    assert_eq!(s.overlay, None);
    act(&mut s, ActionId::ShowHelp);
    assert_eq!(s.overlay, Some(Overlay::Help));
    act(&mut s, ActionId::ShowHelp);
    assert_eq!(s.overlay, None);
}

#[test]
fn unknown_lag_is_kept_as_unknown_in_history() {
    let mut s = state();
    for (t, lag) in [(1001, Some(0.0)), (1002, None), (1003, Some(7.0))] {
        update(
            &mut s,
            Msg::Observed {
                at: Timestamp::from_secs(t),
                observation: Observation::Replication(ReplicationObservation {
                    faults: Vec::new(),
                    databases: vec![
                        db("p", ReplicaRole::Primary, None),
                        db("r", ReplicaRole::Replica, lag),
                    ],
                    caches: vec![],
                }),
            },
        );
    }
    let series = s.history.db_lag.get("r").expect("replica series");
    let values: Vec<_> = series.points().map(|(_, v)| *v).collect();
    assert_eq!(values, vec![Some(0.0), None, Some(7.0)]);
    assert!(
        !s.history.db_lag.contains_key("p"),
        "primaries have no lag series"
    );
}

#[test]
fn failures_degrade_one_panel_and_ticks_mark_staleness() {
    let mut s = state();
    s.dirty = false;
    update(
        &mut s,
        Msg::SourceFailed {
            at: Timestamp::from_secs(1005),
            panel: PanelId::Replication,
            source: "db-replica".into(),
            error: "timed out after 2000 ms".into(),
        },
    );
    assert!(s.dirty);
    let failing = s.failing_panels();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].0, PanelId::Replication);
    assert!(s.hosts.data.is_some(), "other panels keep their data");
    assert!(!s.hosts.is_stale(Timestamp::from_secs(1005)));
    assert!(s.hosts.is_stale(Timestamp::from_secs(1100)));
}

#[test]
fn idle_ticks_do_not_redraw() {
    let mut s = state();
    for panel in [
        Observation::Replication(Default::default()),
        Observation::Alerts(vec![]),
        Observation::Service(Default::default()),
    ] {
        update(
            &mut s,
            Msg::Observed {
                at: Timestamp::from_secs(1000),
                observation: panel,
            },
        );
    }
    update(
        &mut s,
        Msg::Observed {
            at: Timestamp::from_secs(1000),
            observation: Observation::Logs(Default::default()),
        },
    );
    s.dirty = false;
    update(
        &mut s,
        Msg::Tick {
            now: Timestamp::from_secs(1001),
        },
    );
    assert!(!s.dirty, "fresh data and nothing failing: nothing to draw");
    update(
        &mut s,
        Msg::Tick {
            now: Timestamp::from_secs(1100),
        },
    );
    assert!(s.dirty, "data went stale: draw");
}

#[test]
fn unbound_keys_say_so_and_messages_expire() {
    let mut s = state();
    update(&mut s, Msg::Unbound(Key::char('z')));
    let m = s.message.clone().expect("message");
    assert!(
        m.text.contains("'z' does nothing in overview"),
        "{}",
        m.text
    );
    update(
        &mut s,
        Msg::Tick {
            now: Timestamp::from_secs(1010),
        },
    );
    assert!(s.message.is_none());
}

#[test]
fn refresh_asks_for_every_panel() {
    let mut s = state();
    assert_eq!(
        act(&mut s, ActionId::Refresh),
        vec![Effect::Refresh(PanelId::ALL.to_vec())]
    );
}

mod dialogs {
    use super::*;
    use crate::core::dialog::DialogButton;
    use crate::core::fleet::{LoadBalancer, Target, TargetState};

    fn pool_state() -> State {
        let mut s = state();
        let t = |b: &str, az: &str| Target {
            reason: None,
            drain_ends_at: None,
            backend: b.into(),
            az: az.into(),
            weight: 1,
            state: TargetState::Active,
            health: Health::Ok,
            requests_per_sec: Some(10.0),
            error_rate: Some(0.0),
            in_flight: Some(0),
        };
        let mut obs = hosts_obs();
        obs.hosts[1].health = Health::Ok;
        obs.load_balancer = Some(LoadBalancer {
            az_traffic: Vec::new(),
            name: "lb".into(),
            kind: "nginx".into(),
            targets: vec![
                t("web-a1", "az-a"),
                t("web-a2", "az-a"),
                t("web-c1", "az-c"),
            ],
        });
        update(
            &mut s,
            Msg::Observed {
                at: Timestamp::from_secs(1001),
                observation: Observation::Hosts(obs),
            },
        );
        s
    }

    #[test]
    fn focus_starts_on_cancel_and_enter_there_cancels() {
        let mut s = pool_state();
        act(&mut s, ActionId::DrainBackend);
        let d = s.dialog.as_ref().expect("dialog");
        assert_eq!(d.focus, DialogButton::Cancel);
        assert!(d.refusal.is_none());
        assert!(act(&mut s, ActionId::DialogActivate).is_empty());
        assert!(s.dialog.is_none());
        assert!(
            s.message
                .as_ref()
                .is_some_and(|m| m.text.contains("nothing was sent"))
        );
    }

    #[test]
    fn confirm_starts_the_operation_with_its_plan() {
        let mut s = pool_state();
        act(&mut s, ActionId::DrainBackend);
        let effects = act(&mut s, ActionId::DialogConfirm);
        assert!(
            matches!(&effects[..], [Effect::RunOperation { id: 1, steps, .. }] if steps.len() == 3),
            "{effects:?}"
        );
        assert_eq!(s.operations.len(), 1);
        assert!(s.operations_panel);
        // A second operation waits for the first.
        act(&mut s, ActionId::DrainBackend);
        assert!(s.dialog.is_none());
    }

    #[test]
    fn the_last_healthy_backend_of_an_az_needs_its_name_typed() {
        let mut s = pool_state();
        act(&mut s, ActionId::ViewInstances);
        // Rows sort by name: db-primary, web-a1, web-a2, web-c1.
        act(&mut s, ActionId::MoveBottom);
        act(&mut s, ActionId::DrainBackend);
        let d = s.dialog.clone().expect("dialog");
        assert_eq!(
            d.refusal.as_ref().map(|r| r.guard),
            Some("last-healthy-backend")
        );
        assert_eq!(d.require_typed.as_deref(), Some("web-c1"));
        assert!(s.text_input_active(), "keys go to the name field");
        for c in "web-c".chars() {
            update(&mut s, Msg::Input(Key::char(c)));
        }
        assert_eq!(
            s.dialog.as_ref().map(|d| d.focus),
            Some(DialogButton::Cancel)
        );
        update(&mut s, Msg::Input(Key::char('1')));
        assert_eq!(
            s.dialog.as_ref().map(|d| d.focus),
            Some(DialogButton::Confirm)
        );
        // Tab back to Cancel: Enter now cancels, even with the name typed.
        update(&mut s, Msg::Input(Key::plain(KeyCode::Tab)));
        update(&mut s, Msg::Input(Key::plain(KeyCode::Enter)));
        assert!(s.dialog.is_none() && s.operations.is_empty());
        // Again, and confirm: the override is recorded on the request.
        act(&mut s, ActionId::DrainBackend);
        for c in "web-c1".chars() {
            update(&mut s, Msg::Input(Key::char(c)));
        }
        let effects = update(&mut s, Msg::Input(Key::plain(KeyCode::Enter)));
        match &effects[..] {
            [Effect::RunOperation { request, .. }] => {
                assert_eq!(
                    request.overridden_guards,
                    vec!["last-healthy-backend".to_string()]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn read_only_refuses_with_a_reason_and_a_preview() {
        let mut s = pool_state();
        s.read_only = true;
        let effects = act(&mut s, ActionId::DrainBackend);
        assert!(effects.is_empty() && s.dialog.is_none());
        let m = s.message.clone().expect("message");
        assert!(
            m.text.starts_with("READ-ONLY: drain-backend not sent"),
            "{}",
            m.text
        );
        assert!(m.text.contains("take web-a1 out of pool lb"), "{}", m.text);
    }

    #[test]
    fn promote_is_refused_when_lag_is_unknown_and_emergency_needs_typing() {
        let mut s = state();
        let obs = ReplicationObservation {
            faults: Vec::new(),
            databases: vec![db("db-primary", ReplicaRole::Primary, None), {
                let mut r = db("db-replica", ReplicaRole::Replica, None);
                r.source = Some("db-primary".into());
                r
            }],
            caches: vec![],
        };
        update(
            &mut s,
            Msg::Observed {
                at: Timestamp::from_secs(1001),
                observation: Observation::Replication(obs.clone()),
            },
        );
        act(&mut s, ActionId::PromoteReplica);
        let d = s.dialog.clone().expect("dialog");
        assert_eq!(d.refusal.as_ref().map(|r| r.guard), Some("replica-lag"));
        assert!(
            d.refusal
                .as_ref()
                .is_some_and(|r| r.reason.contains("unknown"))
        );
        act(&mut s, ActionId::Close);
        update(&mut s, Msg::Input(Key::plain(KeyCode::Esc)));
        assert!(s.dialog.is_none());

        // Primary unreachable, lag known and small: no guard, but typed confirmation.
        let mut obs = obs;
        obs.databases[0].reachable = false;
        obs.databases[1].lag_seconds = Some(2.0);
        update(
            &mut s,
            Msg::Observed {
                at: Timestamp::from_secs(1002),
                observation: Observation::Replication(obs),
            },
        );
        act(&mut s, ActionId::PromoteReplica);
        let d = s.dialog.clone().expect("dialog");
        assert!(d.refusal.is_none());
        assert_eq!(d.require_typed.as_deref(), Some("db-replica"));
        assert!(
            d.lines
                .iter()
                .any(|l| l.contains("Possible data loss") && l.contains("2s")),
            "{:?}",
            d.lines
        );
    }

    #[test]
    fn rollback_refuses_a_failed_version_and_defaults_to_the_last_good_one() {
        let mut s = state();
        let dep = |v: &str, outcome| Deploy {
            service: "web".into(),
            version: v.into(),
            artifact: format!("web:{v}"),
            at: Timestamp::from_secs(900),
            by: "ci".into(),
            outcome,
        };
        let obs = DeploysObservation {
            service: "web".into(),
            history: vec![
                dep("v3", DeployOutcome::Succeeded),
                dep("v2", DeployOutcome::Failed),
                dep("v1", DeployOutcome::Succeeded),
            ],
            running: vec![RunningVersion {
                backend: "web-a1".into(),
                az: "az-a".into(),
                version: Some("v3".into()),
            }],
        };
        update(
            &mut s,
            Msg::Observed {
                at: Timestamp::from_secs(1001),
                observation: Observation::Deploys(obs),
            },
        );
        act(&mut s, ActionId::RollbackDeploy);
        let d = s.dialog.clone().expect("dialog");
        assert!(d.refusal.is_none());
        assert!(d.title.contains("web → v1"), "{}", d.title);
        act(&mut s, ActionId::DialogCancel);
        act(&mut s, ActionId::ViewDeploys);
        act(&mut s, ActionId::MoveDown);
        act(&mut s, ActionId::RollbackDeploy);
        let d = s.dialog.clone().expect("dialog");
        assert_eq!(d.refusal.as_ref().map(|r| r.guard), Some("failed-version"));
        assert_eq!(d.require_typed.as_deref(), Some("web"));
    }

    #[test]
    fn the_palette_runs_actions_on_named_targets() {
        let mut s = pool_state();
        act(&mut s, ActionId::OpenPalette);
        for c in "drain-backend web-c1".chars() {
            update(&mut s, Msg::Input(Key::char(c)));
        }
        update(&mut s, Msg::Input(Key::plain(KeyCode::Enter)));
        assert!(s.command_palette.is_none());
        let d = s.dialog.clone().expect("dialog");
        assert_eq!(d.request.target(), "web-c1");

        act(&mut s, ActionId::DialogCancel);
        act(&mut s, ActionId::OpenPalette);
        for c in "logs web-a1".chars() {
            update(&mut s, Msg::Input(Key::char(c)));
        }
        update(&mut s, Msg::Input(Key::plain(KeyCode::Enter)));
        assert_eq!(s.view, ViewId::Logs);
        assert_eq!(s.logs.filter.host.as_deref(), Some("web-a1"));

        // Fuzzy completion: `dr` ranks drain-backend first; Tab completes it.
        act(&mut s, ActionId::OpenPalette);
        update(&mut s, Msg::Input(Key::char('d')));
        update(&mut s, Msg::Input(Key::char('r')));
        let first = crate::core::command_palette::candidates(&s, "dr")
            .first()
            .map(|c| c.text.clone());
        assert_eq!(first.as_deref(), Some("drain-backend"));
        update(&mut s, Msg::Input(Key::plain(KeyCode::Tab)));
        assert_eq!(
            s.command_palette.as_ref().map(|p| p.text.as_str()),
            Some("drain-backend ")
        );
    }

    #[test]
    fn runbook_steps_tick_and_the_pane_closes() {
        let mut s = state();
        let lines: Vec<String> = ["# T", "", "1. one", "2. two", "- three"]
            .iter()
            .map(|l| l.to_string())
            .collect();
        s.runbooks.push(crate::core::runbook::RunbookDoc {
            name: "t".into(),
            title: "T".into(),
            steps: crate::core::runbook::step_lines(&lines),
            lines,
        });
        crate::core::update::command_palette::open_runbook(&mut s, "t");
        act(&mut s, ActionId::RunbookToggleStep);
        act(&mut s, ActionId::RunbookToggleStep);
        let pane = s.runbook.clone().expect("pane");
        assert_eq!(pane.done.into_iter().collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(pane.cursor, 2);
        act(&mut s, ActionId::RunbookPrevStep);
        act(&mut s, ActionId::RunbookToggleStep);
        assert_eq!(s.runbook.as_ref().map(|p| p.done.len()), Some(1), "untick");
        act(&mut s, ActionId::Close);
        assert!(s.runbook.is_none());
        crate::core::update::command_palette::open_runbook(&mut s, "nope");
        assert!(
            s.message
                .as_ref()
                .is_some_and(|m| m.text.contains("no runbook named 'nope' (available: t)"))
        );
    }
}

#[test]
fn an_unknown_host_key_is_asked_about_and_trusting_it_connects() {
    let mut s = state();
    update(
        &mut s,
        Msg::SshHostUnknown {
            host: "web-a1".into(),
            fingerprint: "SHA256:abc".into(),
        },
    );
    let d = s.dialog.clone().expect("dialog");
    assert_eq!(d.require_typed.as_deref(), Some("web-a1"));
    assert!(
        d.lines.iter().any(|l| l.contains("SHA256:abc")),
        "{:?}",
        d.lines
    );
    for c in "web-a1".chars() {
        update(&mut s, Msg::Input(Key::char(c)));
    }
    let effects = update(&mut s, Msg::Input(Key::plain(KeyCode::Enter)));
    assert_eq!(
        effects,
        vec![Effect::TrustHost {
            host: "web-a1".into()
        }]
    );
    let effects = update(
        &mut s,
        Msg::SshHostTrusted {
            host: "web-a1".into(),
            result: Ok(()),
        },
    );
    assert_eq!(
        effects,
        vec![Effect::OpenSsh {
            host: "web-a1".into()
        }]
    );
    assert!(
        s.operations.is_empty(),
        "trusting a key is not a fleet operation"
    );
}

#[test]
fn configured_sets_policy_and_runbooks_and_warns_once() {
    let mut s = state();
    let policy = crate::core::guard::OpsPolicy {
        drain_timeout_ms: 1_234,
        ..Default::default()
    };
    let runbook = crate::core::runbook::RunbookDoc {
        name: "failover".into(),
        title: "Failover".into(),
        lines: vec!["# Failover".into()],
        steps: vec![],
    };
    s.dirty = false;
    update(
        &mut s,
        Msg::Configured {
            policy: Some(policy),
            runbooks: vec![runbook],
            warning: Some("keymap.toml:3:1: unknown action".into()),
        },
    );
    assert_eq!(s.policy.drain_timeout_ms, 1_234);
    assert_eq!(s.runbooks.len(), 1);
    let m = s.message.clone().expect("the warning is shown");
    assert_eq!(m.level, MessageLevel::Warning);
    assert!(m.text.contains("unknown action"), "{}", m.text);
    assert!(s.dirty);
    // Without a policy (no environment), the defaults stay.
    update(
        &mut s,
        Msg::Configured {
            policy: None,
            runbooks: vec![],
            warning: None,
        },
    );
    assert_eq!(s.policy.drain_timeout_ms, 1_234, "None keeps what is set");
    assert!(s.runbooks.is_empty());
}

#[test]
fn drawn_clears_dirty_and_show_view_switches() {
    let mut s = state();
    update(&mut s, Msg::ShowView(ViewId::Logs));
    assert_eq!(s.view, ViewId::Logs);
    assert!(s.dirty);
    update(&mut s, Msg::Drawn);
    assert!(!s.dirty, "a drawn frame leaves nothing to draw");
    update(
        &mut s,
        Msg::SshEnded {
            host: "web-a1".into(),
            result: Ok(()),
        },
    );
    assert!(
        s.dirty,
        "back from a shell: the whole screen is drawn again"
    );
}

/// The budget message resizes the store; a batch's own drops are counted;
/// the logs title shows both.
#[test]
fn log_budget_and_source_drops_reach_the_store() {
    use crate::core::log_batch::LogBatch;
    let mut s = state();
    let mut batch: LogBatch = (0..20_000)
        .map(|i| line("web-a1", &format!("INFO request {i} {}", "x".repeat(80))))
        .collect();
    batch.dropped = 500;
    update(
        &mut s,
        Msg::Observed {
            at: Timestamp::from_secs(1001),
            observation: Observation::Logs(batch),
        },
    );
    assert_eq!(s.logs.buffer.len(), 20_000);
    assert_eq!(s.logs.buffer.dropped(), 500);
    act(&mut s, ActionId::ViewLogs);
    s.dirty = false;
    update(&mut s, Msg::LogBudget { bytes: 1024 * 1024 });
    assert!(s.dirty, "the logs view shows the new budget");
    assert_eq!(s.logs.buffer.budget(), 1024 * 1024);
    assert!(s.logs.buffer.used_bytes() <= 1024 * 1024);
    let kept = s.logs.buffer.len() as u64;
    assert!(kept < 20_000);
    assert_eq!(s.logs.buffer.dropped(), 500 + 20_000 - kept);
    // Only drops, no lines: still counted.
    let mut empty = LogBatch::new();
    empty.dropped = 7;
    update(
        &mut s,
        Msg::Observed {
            at: Timestamp::from_secs(1002),
            observation: Observation::Logs(empty),
        },
    );
    assert_eq!(s.logs.buffer.dropped(), 507 + 20_000 - kept);
}
