//! Unit and property tests of the judgements.

use std::cmp::Ordering;

use proptest::prelude::*;

use super::lag::promote_lag_refusal;
use super::*;
use crate::core::fleet::*;
use crate::core::msg::{Msg, Observation};
use crate::core::state::State;
use crate::core::test_fixtures::{self as fixtures, env};
use crate::core::time::Timestamp;

/// A database node that has executed `gtid`; a replica is caught up by lag.
fn db(name: &str, role: ReplicaRole, gtid: Option<&str>) -> DbNode {
    let lag = (role == ReplicaRole::Replica).then_some(0.0);
    DbNode {
        status: None,
        lag_sampled_at: None,
        gtid_executed: gtid.map(str::to_string),
        ..fixtures::db(name, role, lag)
    }
}

fn cache(name: &str, role: ReplicaRole, offset: Option<u64>) -> CacheNode {
    CacheNode {
        lag_sampled_at: None,
        name: name.into(),
        az: "az-c".into(),
        role,
        reachable: true,
        link_up: (role == ReplicaRole::Replica).then_some(true),
        offset,
        lag_bytes: None,
        lag_seconds: None,
        source: (role == ReplicaRole::Replica).then(|| "cache-primary".to_string()),
    }
}

fn rep(primary_gtid: &str, replica_gtid: &str) -> ReplicationObservation {
    ReplicationObservation {
        faults: Vec::new(),
        databases: vec![
            db("db-primary", ReplicaRole::Primary, Some(primary_gtid)),
            db("db-replica", ReplicaRole::Replica, Some(replica_gtid)),
        ],
        caches: vec![],
    }
}

#[test]
fn versions_order_naturally() {
    let lt = |a: &str, b: &str| {
        assert_eq!(compare_versions(a, b), Ordering::Less, "{a} < {b}");
        assert_eq!(compare_versions(b, a), Ordering::Greater, "{b} > {a}");
    };
    lt("v9", "v10");
    lt("v1.9.0", "v1.10.0");
    lt("1.9", "v1.10");
    lt("v1.2.3", "1.2.4");
    lt("v41", "v42");
    lt("release-9", "release-10");
    lt("v99999999999999999999999", "v100000000000000000000000");
    // Same numbers, different spelling: still a strict, total order.
    assert_ne!(compare_versions("v1.2", "1.2"), Ordering::Equal);
    assert_eq!(compare_versions("v1.2", "v1.2"), Ordering::Equal);
}

#[test]
fn the_current_version_is_the_most_common_and_v10_beats_v9_on_a_tie() {
    let running = |vs: &[Option<&str>]| {
        vs.iter()
            .enumerate()
            .map(|(i, v)| RunningVersion {
                backend: format!("web-{i}"),
                az: "az-a".into(),
                version: v.map(str::to_string),
            })
            .collect()
    };
    let obs = |vs: &[Option<&str>]| DeploysObservation {
        service: "web".into(),
        history: vec![],
        running: running(vs),
    };
    assert_eq!(
        current_version(&obs(&[Some("v9"), Some("v10")])).as_deref(),
        Some("v10")
    );
    assert_eq!(
        current_version(&obs(&[Some("v10"), Some("v9"), Some("v9")])).as_deref(),
        Some("v9")
    );
    assert_eq!(current_version(&obs(&[None, None])), None);
    // With a history, the most recent deploy wins a tie.
    let mut o = obs(&[Some("v10"), Some("v9")]);
    o.history = vec![Deploy {
        service: "web".into(),
        version: "v9".into(),
        artifact: "web:v9".into(),
        at: Timestamp::from_secs(1),
        by: "ci".into(),
        outcome: DeployOutcome::RolledBack,
    }];
    assert_eq!(current_version(&o).as_deref(), Some("v9"));
}

#[test]
fn gtid_positions_compare_per_domain() {
    assert_eq!(gtid_covers("0-1-100,1-2-50", "0-1-100,1-2-50"), Some(true));
    assert_eq!(gtid_covers("0-1-100,1-2-49", "0-1-100,1-2-50"), Some(false));
    assert_eq!(gtid_covers("0-1-100,1-2-50", "0-1-100,1-2-49"), Some(true));
    // A domain the primary has and the replica lacks: not caught up.
    assert_eq!(gtid_covers("0-1-100", "0-1-100,1-2-50"), Some(false));
    // A domain only the replica has does not matter.
    assert_eq!(gtid_covers("0-1-100,2-3-7", "0-1-100"), Some(true));
    // Sequence numbers compare as numbers, not text.
    assert_eq!(gtid_covers("0-1-100", "0-1-99"), Some(true));
    // MySQL sets, interval by interval.
    let u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    assert_eq!(
        gtid_covers(&format!("{u}:1-10"), &format!("{u}:1-5")),
        Some(true)
    );
    assert_eq!(
        gtid_covers(&format!("{u}:1-4"), &format!("{u}:1-5")),
        Some(false)
    );
    assert_eq!(
        gtid_covers(&format!("{u}:1-3:4-9"), &format!("{u}:2-8")),
        Some(true)
    );
    // Formats that do not compare: unknown, never "caught up".
    assert_eq!(gtid_covers("0-1-100", &format!("{u}:1-5")), None);
}

#[test]
fn caught_up_needs_every_domain_of_the_primary() {
    let j = caught_up(&rep("0-1-100,1-2-50", "0-1-100,1-2-49"), "db-replica");
    assert!(!j.done && j.found, "{j:?}");
    assert!(j.detail.contains("0-1-100,1-2-49"), "{}", j.detail);
    assert!(caught_up(&rep("0-1-100,1-2-50", "0-1-100,1-2-50"), "db-replica").done);
    assert!(!caught_up(&rep("0-1-100,1-2-50", "0-1-100"), "db-replica").done);
    let missing = caught_up(&rep("0-1-1", "0-1-1"), "nope");
    assert!(!missing.done && !missing.found);
    // Replica GTID unknown: not caught up, whatever the lag says.
    let mut r = rep("0-1-100", "0-1-100");
    r.databases[1].gtid_executed = None;
    assert!(!caught_up(&r, "db-replica").done);
    // No GTIDs at all: lag 0 with both threads running.
    r.databases[0].gtid_executed = None;
    assert!(caught_up(&r, "db-replica").done);
    r.databases[1].sql_thread = ThreadState::Stopped;
    assert!(!caught_up(&r, "db-replica").done);
    r.databases[1].sql_thread = ThreadState::Running;
    r.databases[1].lag_seconds = None;
    assert!(!caught_up(&r, "db-replica").done, "unknown lag is not 0");
}

#[test]
fn redis_caught_up_by_offsets_with_the_link_up() {
    let mut r = ReplicationObservation {
        faults: Vec::new(),
        databases: vec![],
        caches: vec![
            cache("cache-primary", ReplicaRole::Primary, Some(500)),
            cache("cache-replica", ReplicaRole::Replica, Some(500)),
        ],
    };
    assert!(caught_up(&r, "cache-replica").done);
    r.caches[1].offset = Some(499);
    let j = caught_up(&r, "cache-replica");
    assert!(!j.done && j.detail.contains("1 bytes behind"), "{j:?}");
    r.caches[1].offset = Some(500);
    r.caches[1].link_up = Some(false);
    assert!(!caught_up(&r, "cache-replica").done);
    r.caches[1].link_up = Some(true);
    r.caches[0].offset = None;
    r.caches[1].lag_bytes = Some(0);
    assert!(caught_up(&r, "cache-replica").done);
    r.caches[1].lag_bytes = None;
    assert!(!caught_up(&r, "cache-replica").done);
}

#[test]
fn writable_primary_and_topology_name_who_writes_and_who_follows() {
    let mut r = rep("0-1-1", "0-1-1");
    r.caches = vec![
        cache("cache-primary", ReplicaRole::Primary, Some(1)),
        cache("cache-replica", ReplicaRole::Replica, Some(1)),
    ];
    assert!(writable_primary(&r, "db-primary").done);
    assert!(!writable_primary(&r, "db-replica").done);
    r.databases[0].read_only = true;
    let j = writable_primary(&r, "db-primary");
    assert!(!j.done && j.detail.contains("read-only"), "{j:?}");
    assert!(!writable_primary(&r, "ghost").found);
    let t = Topology::of(&r);
    assert!(t.writable_databases.is_empty() && !t.split_brain());
    assert_eq!(
        t.describe(),
        "writable: cache-primary; db-replica follows db-primary; cache-replica follows cache-primary"
    );
    // Both databases writable: split brain, and the summary says so.
    r.databases[0].read_only = false;
    r.databases[1].role = ReplicaRole::Primary;
    r.databases[1].read_only = false;
    let t = Topology::of(&r);
    assert!(t.split_brain());
    assert!(t.describe().starts_with("writable: db-primary, db-replica"));
}

#[test]
fn one_lag_threshold_for_screen_health_and_promote_guard() {
    let limits = Limits::default();
    assert_eq!(lag_level(None, &limits), LagLevel::Unknown);
    assert_eq!(lag_level(Some(f64::NAN), &limits), LagLevel::Unknown);
    assert_eq!(lag_level(Some(0.0), &limits), LagLevel::Ok);
    assert_eq!(lag_level(Some(5.0), &limits), LagLevel::Ok);
    assert_eq!(lag_level(Some(7.0), &limits), LagLevel::High);
    let mut d = db("db-replica", ReplicaRole::Replica, None);
    d.lag_seconds = Some(7.0);
    assert_eq!(db_health(&d, &limits), (Health::Degraded, "lag high"));
    assert!(promote_lag_refusal("db-replica", Some(7.0), &limits).is_some());
    d.lag_seconds = None;
    assert_eq!(db_health(&d, &limits), (Health::Unknown, "lag unknown"));
    let unknown = promote_lag_refusal("db-replica", None, &limits).expect("refused");
    assert!(unknown.contains("unknown"), "{unknown}");
    // An explicit promote limit is the guard's alone.
    let own = Limits {
        lag_high_seconds: 5.0,
        promote_lag_seconds: Some(30.0),
    };
    assert!(promote_lag_refusal("r", Some(7.0), &own).is_none());
    assert_eq!(lag_level(Some(7.0), &own), LagLevel::High);
}

#[test]
fn host_health_is_the_worse_of_probe_and_load_balancer() {
    let host = fixtures::backend("web-a1", "az-a", Health::Ok);
    let target = |health| fixtures::target("web-a1", "az-a", health);
    assert_eq!(host_health(&host, None), Health::Ok);
    assert_eq!(
        host_health(&host, Some(&target(Health::Down))),
        Health::Down
    );
    assert_eq!(
        host_health(&host, Some(&target(Health::Unknown))),
        Health::Unknown
    );
}

#[test]
fn data_too_old_says_its_age_and_the_headline_is_not_all_healthy() {
    let mut s = State::new(env(), false, Timestamp::from_secs(1000));
    assert_eq!(freshness(&s.replication, s.now), Freshness::NoData);
    let at = Timestamp::from_secs(1000);
    for observation in [
        Observation::Hosts(HostsObservation::default()),
        Observation::Replication(rep("0-1-1", "0-1-1")),
        Observation::Alerts(vec![]),
        Observation::Service(Default::default()),
    ] {
        crate::core::update(&mut s, Msg::Observed { at, observation });
    }
    let limits = Limits::default();
    assert!(Headline::of(&s, &limits).all_healthy());
    s.now = Timestamp::from_secs(1047);
    let f = freshness(&s.replication, s.now);
    assert_eq!(
        f,
        Freshness::Stale {
            age_ms: 47_000,
            limit_ms: 15_000
        }
    );
    assert_eq!(
        f.problem("replication").as_deref(),
        Some("replication data is 47 s old (limit 15 s)")
    );
    let h = Headline::of(&s, &limits);
    assert!(!h.all_healthy());
    assert!(
        h.problems
            .iter()
            .any(|p| p.kind == ProblemKind::Stale && p.text.contains("replication data 47s old")),
        "{h:?}"
    );
}

fn version_string() -> impl Strategy<Value = String> {
    proptest::string::string_regex("(v|V|release-)?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(-rc[0-9])?")
        .expect("valid regex")
}

proptest! {
    #[test]
    fn version_order_is_numeric_order(a in 0u64..100_000, b in 0u64..100_000) {
        prop_assert_eq!(compare_versions(&format!("v{a}"), &format!("v{b}")), a.cmp(&b));
    }

    #[test]
    fn dotted_versions_order_like_tuples(
        a in (0u32..50, 0u32..50, 0u32..50),
        b in (0u32..50, 0u32..50, 0u32..50),
        pa in prop_oneof![Just(""), Just("v")],
        pb in prop_oneof![Just(""), Just("v")],
    ) {
        let va = format!("{pa}{}.{}.{}", a.0, a.1, a.2);
        let vb = format!("{pb}{}.{}.{}", b.0, b.1, b.2);
        let o = compare_versions(&va, &vb);
        if a != b {
            prop_assert_eq!(o, a.cmp(&b));
        }
    }

    #[test]
    fn version_order_is_a_total_order(
        a in version_string(), b in version_string(), c in version_string()
    ) {
        // Antisymmetric, and Equal only for equal strings.
        prop_assert_eq!(compare_versions(&a, &b), compare_versions(&b, &a).reverse());
        prop_assert_eq!(compare_versions(&a, &b) == Ordering::Equal, a == b);
        // Transitive.
        if compare_versions(&a, &b) != Ordering::Greater
            && compare_versions(&b, &c) != Ordering::Greater
        {
            prop_assert_ne!(compare_versions(&a, &c), Ordering::Greater);
        }
    }

    #[test]
    fn gtid_cover_is_per_domain_max(
        want in proptest::collection::btree_map(0u32..4, 0u64..1000, 0..4),
        have in proptest::collection::btree_map(0u32..4, 0u64..1000, 0..4),
    ) {
        let fmt = |m: &std::collections::BTreeMap<u32, u64>| {
            m.iter().map(|(d, s)| format!("{d}-1-{s}")).collect::<Vec<_>>().join(",")
        };
        let expected = want.iter().all(|(d, s)| have.get(d).is_some_and(|h| h >= s));
        prop_assert_eq!(gtid_covers(&fmt(&have), &fmt(&want)), Some(expected));
        // A position always covers itself.
        prop_assert_eq!(gtid_covers(&fmt(&want), &fmt(&want)), Some(true));
    }

    #[test]
    fn unknown_lag_is_never_ok_and_never_zero(limit in 0.0f64..600.0, explicit in proptest::option::of(0.0f64..600.0)) {
        let limits = Limits { lag_high_seconds: limit, promote_lag_seconds: explicit };
        prop_assert_eq!(lag_level(None, &limits), LagLevel::Unknown);
        prop_assert!(promote_lag_refusal("r", None, &limits).is_some());
        let mut d = db("r", ReplicaRole::Replica, None);
        d.lag_seconds = None;
        prop_assert_eq!(db_health(&d, &limits).0, Health::Unknown);
        let mut c = cache("c", ReplicaRole::Replica, None);
        c.lag_seconds = None;
        prop_assert_eq!(cache_health(&c, &limits).0, Health::Unknown);
    }

    #[test]
    fn guard_and_health_read_the_same_lag_judgement(lag in 0.0f64..60.0, limit in 0.5f64..30.0) {
        let limits = Limits { lag_high_seconds: limit, promote_lag_seconds: None };
        let high = lag_level(Some(lag), &limits) == LagLevel::High;
        let mut d = db("r", ReplicaRole::Replica, None);
        d.lag_seconds = Some(lag);
        prop_assert_eq!(db_health(&d, &limits).0 == Health::Degraded, high);
        prop_assert_eq!(promote_lag_refusal("r", Some(lag), &limits).is_some(), high);
    }
}
