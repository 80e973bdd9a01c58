//! Tests of the service judgements: probes, the load balancer's own health,
//! traffic drops, and the headline's verdict over every combination of probe,
//! source and staleness states.

use proptest::prelude::*;

use super::*;
use crate::core::fleet::HostsObservation;
use crate::core::msg::{Msg, Observation, PanelId};
use crate::core::series::Series;
use crate::core::service::{LbCheck, ProbeSample, ServiceObservation, StubStatus};
use crate::core::state::{EnvInfo, State};
use crate::core::time::Timestamp;

fn env() -> EnvInfo {
    EnvInfo {
        name: "t".into(),
        region: None,
        source: "t".into(),
        production: false,
    }
}

fn probe(url: &str, ok: bool, latency: f64) -> ProbeSample {
    ProbeSample {
        url: url.into(),
        ok,
        status: ok.then_some(200),
        expect_status: 200,
        latency_ms: ok.then_some(latency),
        error: (!ok).then(|| format!("GET {url}: no answer within 2 s")),
    }
}

fn lb(answered: bool, requests: u64, own: u64) -> LbCheck {
    LbCheck {
        name: "lb".into(),
        url: Some("http://lb/".into()),
        answered,
        error: (!answered).then(|| "GET http://lb/: no answer within 2 s".to_string()),
        stub: answered.then_some(StubStatus {
            active: 3,
            requests,
            own_requests: own,
            ..StubStatus::default()
        }),
        stub_error: None,
    }
}

fn observe(s: &mut State, at: Timestamp, observation: Observation) {
    crate::core::update(s, Msg::Observed { at, observation });
}

/// A state where every source answered at `at` and the service is as given.
fn healthy_state(at: Timestamp, service: ServiceObservation) -> State {
    let mut s = State::new(env(), false, at);
    observe(&mut s, at, Observation::Hosts(HostsObservation::default()));
    observe(
        &mut s,
        at,
        Observation::Replication(crate::core::fleet::ReplicationObservation::default()),
    );
    observe(&mut s, at, Observation::Alerts(vec![]));
    observe(&mut s, at, Observation::Service(service));
    s
}

#[test]
fn a_failed_probe_and_a_silent_lb_are_service_down_and_lb_down() {
    let at = Timestamp::from_secs(1000);
    let s = healthy_state(
        at,
        ServiceObservation {
            probes: vec![probe("http://lb/", true, 12.0)],
            lb: Some(lb(true, 100, 1)),
        },
    );
    let limits = Limits::default();
    assert!(Headline::of(&s, &limits).all_healthy());
    let mut s = s;
    observe(
        &mut s,
        at.plus_millis(5000),
        Observation::Service(ServiceObservation {
            probes: vec![probe("http://lb/", false, 0.0)],
            lb: Some(lb(false, 0, 0)),
        }),
    );
    s.now = at.plus_millis(5000);
    let h = Headline::of(&s, &limits);
    assert!(!h.all_healthy());
    let texts: Vec<&str> = h.problems.iter().map(|p| p.text.as_str()).collect();
    assert!(texts[0] == "✖ service down: http://lb/", "{texts:?}");
    assert!(texts[1] == "✖ lb down", "{texts:?}");
    let v = ServiceView::of(&s);
    assert_eq!(v.status, ServiceStatus::Down);
    assert_eq!(
        v.lb.as_ref().map(|l| l.health),
        Some(crate::core::fleet::Health::Down)
    );
    // The figures keep the minutes before: one of two passed.
    assert_eq!(v.probes[0].success_rate, Some(0.5));
    assert_eq!(v.probes[0].p50_ms, Some(12.0));
    assert!(v.probes[0].last_error.is_some());
}

#[test]
fn some_probes_failing_is_degraded_and_the_last_error_outlives_recovery() {
    let at = Timestamp::from_secs(1000);
    let mut s = healthy_state(
        at,
        ServiceObservation {
            probes: vec![
                probe("http://lb/", true, 10.0),
                probe("http://lb/api", false, 0.0),
            ],
            lb: None,
        },
    );
    let v = ServiceView::of(&s);
    assert_eq!(v.status, ServiceStatus::Degraded);
    let h = Headline::of(&s, &Limits::default());
    assert_eq!(h.problems.len(), 1, "{h:?}");
    assert!(h.problems[0].text.eq("▲ service degraded: http://lb/api"));
    let later = at.plus_millis(5000);
    observe(
        &mut s,
        later,
        Observation::Service(ServiceObservation {
            probes: vec![
                probe("http://lb/", true, 30.0),
                probe("http://lb/api", true, 50.0),
            ],
            lb: None,
        }),
    );
    s.now = later;
    let v = ServiceView::of(&s);
    assert_eq!(v.status, ServiceStatus::Up);
    assert_eq!(v.probes[1].error, None);
    assert_eq!(v.probes[1].last_error.as_ref().map(|(t, _)| *t), Some(at));
    assert_eq!(v.probes[0].p95_ms, Some(30.0));
    assert!(Headline::of(&s, &Limits::default()).all_healthy());
}

#[test]
fn stale_service_data_is_unknown_never_up() {
    let at = Timestamp::from_secs(1000);
    let mut s = healthy_state(
        at,
        ServiceObservation {
            probes: vec![probe("http://lb/", true, 10.0)],
            lb: Some(lb(true, 10, 1)),
        },
    );
    s.now = at.plus_millis(40_000);
    // Refresh the other sources so only the service is old.
    for o in [
        Observation::Hosts(HostsObservation::default()),
        Observation::Replication(Default::default()),
        Observation::Alerts(vec![]),
    ] {
        let now = s.now;
        observe(&mut s, now, o);
    }
    let v = ServiceView::of(&s);
    assert_eq!(v.status, ServiceStatus::Unknown);
    assert_eq!(v.probes[0].ok, None);
    let h = Headline::of(&s, &Limits::default());
    assert!(!h.all_healthy());
    assert!(
        h.problems
            .iter()
            .any(|p| p.kind == ProblemKind::Stale && p.text == "◷ service data 40s old"),
        "{h:?}"
    );
}

#[test]
fn a_failing_service_source_is_named_with_its_data_age() {
    let at = Timestamp::from_secs(1000);
    let mut s = healthy_state(at, ServiceObservation::default());
    let later = at.plus_millis(20_000);
    crate::core::update(
        &mut s,
        Msg::SourceFailed {
            at: later,
            panel: PanelId::Service,
            source: "probes".into(),
            error: "timed out".into(),
        },
    );
    s.now = later;
    let h = Headline::of(&s, &Limits::default());
    assert!(!h.all_healthy());
    assert!(
        h.problems
            .iter()
            .any(|p| p.text == "✖ service source failing (data 20s old)"),
        "{h:?}"
    );
}

fn series(points: &[(i64, Option<f64>)]) -> Series {
    let mut s = Series::new(15 * 60 * 1000);
    for (t, v) in points {
        s.push(Timestamp::from_secs(*t), *v);
    }
    s
}

#[test]
fn traffic_falling_to_zero_is_a_drop_and_coming_back_clears_it() {
    let mut pts: Vec<(i64, Option<f64>)> = (0..12).map(|i| (i * 5, Some(40.0))).collect();
    let steady = series(&pts);
    assert_eq!(traffic_change(&steady, Timestamp::from_secs(55)), None);
    pts.extend([(60, Some(0.0)), (65, Some(0.0)), (70, Some(0.0))]);
    let dropped = series(&pts);
    let change = traffic_change(&dropped, Timestamp::from_secs(70)).expect("a drop");
    assert_eq!(change.direction, TrafficDirection::Drop);
    assert_eq!(change.text(), "traffic fell 100 % in 15 s");
    pts.extend([(75, Some(38.0)), (80, Some(41.0)), (85, Some(40.0))]);
    assert_eq!(
        traffic_change(&series(&pts), Timestamp::from_secs(85)),
        None
    );
}

#[test]
fn a_spike_is_reported_and_small_or_unknown_figures_are_not() {
    let mut pts: Vec<(i64, Option<f64>)> = (0..12).map(|i| (i * 5, Some(20.0))).collect();
    pts.extend([(60, Some(200.0)), (65, Some(210.0))]);
    let c = traffic_change(&series(&pts), Timestamp::from_secs(65)).expect("a spike");
    assert_eq!(c.direction, TrafficDirection::Spike);
    // A tiny baseline: a drop to zero is noise.
    let tiny: Vec<(i64, Option<f64>)> = (0..12)
        .map(|i| (i * 5, Some(0.4)))
        .chain([(60, Some(0.0))])
        .collect();
    assert_eq!(
        traffic_change(&series(&tiny), Timestamp::from_secs(60)),
        None
    );
    // Recent samples unknown (the source failed): no verdict from nothing.
    let unknown: Vec<(i64, Option<f64>)> = (0..12)
        .map(|i| (i * 5, Some(40.0)))
        .chain([(60, None), (65, None)])
        .collect();
    assert_eq!(
        traffic_change(&series(&unknown), Timestamp::from_secs(65)),
        None
    );
    // Too short a baseline.
    assert_eq!(
        traffic_change(
            &series(&[(0, Some(40.0)), (5, Some(40.0)), (10, Some(0.0))]),
            Timestamp::from_secs(10)
        ),
        None
    );
}

#[test]
fn stub_status_rate_leaves_out_the_consoles_own_requests_and_restarts() {
    let mut s = healthy_state(Timestamp::from_secs(0), ServiceObservation::default());
    let mut at = 0;
    let mut requests = 1000;
    let mut own = 0;
    // 10 user requests per second plus the console's own 2 per round.
    for _ in 0..10 {
        at += 5;
        requests += 50 + 2;
        own += 2;
        observe(
            &mut s,
            Timestamp::from_secs(at),
            Observation::Service(ServiceObservation {
                probes: vec![],
                lb: Some(lb(true, requests, own)),
            }),
        );
    }
    assert_eq!(s.service_history.rps.last(), Some(Some(10.0)));
    // nginx restarted: the counter went back; no rate from that pair.
    at += 5;
    observe(
        &mut s,
        Timestamp::from_secs(at),
        Observation::Service(ServiceObservation {
            probes: vec![],
            lb: Some(lb(true, 3, own + 1)),
        }),
    );
    assert_eq!(s.service_history.rps.last(), Some(None));
    // Users stop: only the console's requests arrive; the headline says so.
    for _ in 0..4 {
        at += 5;
        own += 2;
        let req = 3 + (own - 20);
        observe(
            &mut s,
            Timestamp::from_secs(at),
            Observation::Service(ServiceObservation {
                probes: vec![],
                lb: Some(lb(true, req, own)),
            }),
        );
    }
    s.now = Timestamp::from_secs(at);
    assert_eq!(s.service_history.rps.last(), Some(Some(0.0)));
    let h = Headline::of(&s, &Limits::default());
    assert!(
        h.problems
            .iter()
            .any(|p| p.kind == ProblemKind::Traffic(TrafficDirection::Drop)
                && p.text == "▼ traffic fell 100 % in 15 s"),
        "{h:?}"
    );
}

#[test]
fn percentiles_are_nearest_rank() {
    let xs: Vec<f64> = (1..=20).map(f64::from).collect();
    assert_eq!(super::service_view::percentile(&xs, 0.5), Some(10.0));
    assert_eq!(super::service_view::percentile(&xs, 0.95), Some(19.0));
    assert_eq!(super::service_view::percentile(&[7.0], 0.95), Some(7.0));
    assert_eq!(super::service_view::percentile(&[], 0.5), None);
}

/// One source's state in the property test.
#[derive(Clone, Copy, Debug)]
enum SourceState {
    Fresh,
    Stale,
    Missing,
    /// Answered once, then its last poll failed.
    Failing,
}

fn source_state() -> impl Strategy<Value = SourceState> {
    prop_oneof![
        Just(SourceState::Fresh),
        Just(SourceState::Stale),
        Just(SourceState::Missing),
        Just(SourceState::Failing),
    ]
}

/// The LB check's state in the property test.
#[derive(Clone, Copy, Debug)]
enum LbState {
    None,
    Answers,
    Silent,
    StubFails,
}

proptest! {
    #[test]
    fn the_headline_says_all_healthy_only_when_every_probe_and_source_passed(
        probes in proptest::collection::vec(any::<bool>(), 0..4),
        lb_state in prop_oneof![Just(LbState::None), Just(LbState::Answers), Just(LbState::Silent), Just(LbState::StubFails)],
        service in source_state(),
        hosts in source_state(),
        replication in source_state(),
        alerts in source_state(),
    ) {
        let now = Timestamp::from_secs(10_000);
        let mut s = State::new(env(), false, now);
        let obs = ServiceObservation {
            probes: probes.iter().enumerate().map(|(i, ok)| probe(&format!("http://lb/{i}"), *ok, 5.0)).collect(),
            lb: match lb_state {
                LbState::None => None,
                LbState::Answers => Some(lb(true, 10, 1)),
                LbState::Silent => Some(lb(false, 0, 0)),
                LbState::StubFails => Some(LbCheck { stub: None, stub_error: Some("502".into()), ..lb(true, 10, 1) }),
            },
        };
        let sources: [(PanelId, SourceState, Observation); 4] = [
            (PanelId::Service, service, Observation::Service(obs)),
            (PanelId::Hosts, hosts, Observation::Hosts(HostsObservation::default())),
            (PanelId::Replication, replication, Observation::Replication(Default::default())),
            (PanelId::Alerts, alerts, Observation::Alerts(vec![])),
        ];
        for (panel, st, o) in sources {
            let at = match st {
                SourceState::Fresh | SourceState::Failing => now.plus_millis(-1000),
                SourceState::Stale => now.plus_millis(-120_000),
                SourceState::Missing => continue,
            };
            observe(&mut s, at, o);
            if let SourceState::Failing = st {
                crate::core::update(&mut s, Msg::SourceFailed { at: now, panel, source: "x".into(), error: "down".into() });
            }
        }
        s.now = now;
        let h = Headline::of(&s, &Limits::default());
        let probes_pass = probes.iter().all(|ok| *ok);
        let lb_ok = matches!(lb_state, LbState::None | LbState::Answers);
        let sources_ok = [service, hosts, replication, alerts].iter().all(|st| matches!(st, SourceState::Fresh));
        // Never "all healthy" with a failed probe, a silent LB, or a source
        // that is missing, failing or stale; and always when all is well.
        prop_assert_eq!(h.all_healthy(), probes_pass && lb_ok && sources_ok, "{:?}", h);
        if matches!(service, SourceState::Fresh) && !probes_pass {
            prop_assert!(h.problems.iter().any(|p| matches!(p.kind, ProblemKind::Service(_))));
        }
        if matches!(service, SourceState::Fresh) && matches!(lb_state, LbState::Silent) {
            prop_assert!(h.problems.iter().any(|p| p.text == "✖ lb down"));
        }
        if matches!(service, SourceState::Stale | SourceState::Missing) {
            // Old or missing probe results are never read as a verdict.
            prop_assert!(!h.problems.iter().any(|p| matches!(p.kind, ProblemKind::Service(_) | ProblemKind::LoadBalancer(_))));
            prop_assert_ne!(ServiceView::of(&s).status, ServiceStatus::Up);
        }
    }
}

#[test]
fn a_drop_is_an_event_told_once_when_it_starts_and_once_when_it_ends() {
    let mut s = healthy_state(Timestamp::from_secs(0), ServiceObservation::default());
    let mut at = 0;
    let mut requests = 0;
    let mut own = 0;
    let mut round = |s: &mut State, users: u64| {
        at += 5;
        own += 2;
        requests += users * 5 + 2;
        let now = Timestamp::from_secs(at);
        observe(
            s,
            now,
            Observation::Service(ServiceObservation {
                probes: vec![],
                lb: Some(lb(true, requests, own)),
            }),
        );
        s.now = now;
    };
    let events = |s: &State| -> Vec<String> {
        s.logs
            .buffer
            .iter()
            .filter(|l| l.host == "opsdeck")
            .map(|l| l.text.to_string())
            .collect()
    };
    for _ in 0..12 {
        round(&mut s, 30);
    }
    assert!(events(&s).is_empty(), "{:?}", events(&s));
    for _ in 0..8 {
        round(&mut s, 0);
    }
    assert_eq!(
        events(&s),
        vec!["▼ traffic fell 100 % in 15 s (30.0 → 0.0 requests/s)".to_string()]
    );
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.text.starts_with("▼ traffic fell 100 %")),
        "{:?}",
        s.message
    );
    for _ in 0..8 {
        round(&mut s, 30);
    }
    let ev = events(&s);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[1], "traffic back to its baseline");
}

/// The start-up round and the first poll a few milliseconds later give no
/// rate ("0 rps" from an empty interval would be a lie); the next reading,
/// seconds on, gives the rate from the first one.
#[test]
fn counter_readings_milliseconds_apart_give_no_rate() {
    let mut s = State::new(env(), false, Timestamp::from_secs(1000));
    let reading = |s: &mut State, at_ms: i64, requests: u64| {
        observe(
            s,
            Timestamp::from_millis(at_ms),
            Observation::Service(ServiceObservation {
                probes: vec![],
                lb: Some(lb(true, requests, 0)),
            }),
        );
    };
    reading(&mut s, 1_000_000, 5_000);
    reading(&mut s, 1_000_005, 5_000);
    assert_eq!(s.service_history.rps.last(), None, "no rate yet");
    reading(&mut s, 1_005_000, 5_500);
    assert_eq!(s.service_history.rps.last(), Some(Some(100.0)));
}
