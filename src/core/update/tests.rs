//! Reducer tests: messages in, state and effects out.

use super::*;
use crate::core::fleet::*;
use crate::core::state::{EnvInfo, SortColumn};

fn env() -> EnvInfo {
    EnvInfo {
        name: "test".into(),
        region: None,
        source: "test".into(),
        production: false,
    }
}

fn host(name: &str, az: &str, role: HostRole, health: Health, cpu: f64) -> Host {
    Host {
        name: name.into(),
        az: az.into(),
        role,
        state: HostState::Running,
        health,
        latency_ms: Some(3.0),
        cpu_pct: Some(cpu),
        version: Some("v1".into()),
        address: None,
    }
}

fn hosts_obs() -> HostsObservation {
    HostsObservation {
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

fn db(name: &str, role: ReplicaRole, lag: Option<f64>) -> DbNode {
    DbNode {
        name: name.into(),
        az: "az-a".into(),
        role,
        reachable: true,
        read_only: role == ReplicaRole::Replica,
        lag_seconds: lag,
        io_thread: ThreadState::Running,
        sql_thread: ThreadState::Running,
        source: None,
        gtid_executed: None,
        gtid_received: None,
        last_error: None,
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

fn act(s: &mut State, a: ActionId) -> Vec<Effect> {
    update(s, Msg::Action(a))
}

fn type_text(s: &mut State, text: &str) {
    for c in text.chars() {
        update(s, Msg::Input(Key::char(c)));
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
            observation: Observation::Logs(vec![
                line("web-a1", "INFO GET /a 200"),
                line("web-c1", "ERROR timeout"),
                line("web-a1", "WARN slow query 900ms"),
            ]),
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
            observation: Observation::Logs(lines),
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
            observation: Observation::Logs(vec![line("web-a1", "INFO new")]),
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
            observation: Observation::Logs(vec![]),
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
