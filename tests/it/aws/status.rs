//! `status --json` against the seeded fleet.

use super::{aws_or_skip, find_node, host, hosts, node};

#[test]
fn aws_status_lists_the_seeded_fleet() {
    let Some(lab) = aws_or_skip("aws_status_lists_the_seeded_fleet") else {
        return;
    };
    let (code, s, err, _) = lab.status_with(&lab.config());
    assert_eq!(code, Some(0), "{err}\n{s}");
    assert_eq!(s["errors"], serde_json::json!([]), "{s}");
    assert_eq!(s["environment"], "prod");
    let source = s["source"].as_str().expect("source");
    assert!(
        source.contains("aws") && source.contains("123456789012"),
        "the source names the account: {source}"
    );

    let azs: Vec<&str> = s["azs"]
        .as_array()
        .expect("azs")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(azs, ["ap-northeast-2a", "ap-northeast-2c"], "{s}");
    let az_of = |name: &str| {
        s["azs"]
            .as_array()
            .expect("checked")
            .iter()
            .find(|a| {
                a["hosts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|h| h["name"] == name)
            })
            .map(|a| a["name"].as_str().expect("checked").to_string())
    };

    for (b, az, ip_var, id_var) in [
        (
            "web-a1",
            "ap-northeast-2a",
            "PRIVATE_IP_WEB_A1",
            "INSTANCE_ID_WEB_A1",
        ),
        (
            "web-a2",
            "ap-northeast-2a",
            "PRIVATE_IP_WEB_A2",
            "INSTANCE_ID_WEB_A2",
        ),
        (
            "web-c1",
            "ap-northeast-2c",
            "PRIVATE_IP_WEB_C1",
            "INSTANCE_ID_WEB_C1",
        ),
        (
            "web-c2",
            "ap-northeast-2c",
            "PRIVATE_IP_WEB_C2",
            "INSTANCE_ID_WEB_C2",
        ),
    ] {
        let h = host(&s, b);
        assert_eq!(az_of(b).as_deref(), Some(az), "{b}");
        assert_eq!(h["target_state"], "active", "{h}");
        assert_eq!(h["health"], "ok", "{h}");
        assert_eq!(h["role"], "backend", "{h}");
        assert_eq!(h["address"], lab.var(ip_var), "{h}");
        assert_eq!(h["id"], lab.var(id_var), "{h}");
        assert_eq!(h["instance_type"], "t3.micro", "{h}");
        assert_eq!(h["checks"], "2/2 ok", "{h}");
        assert!(h["cpu_pct"].is_number(), "CPU from CloudWatch: {h}");
    }
    let bastion = host(&s, "bastion");
    assert_eq!(bastion["role"], "bastion");
    assert_eq!(bastion["address"], lab.var("PRIVATE_IP_BASTION"));
    assert!(bastion["target_state"].is_null(), "not a target: {bastion}");
    let all = hosts(&s);
    assert_eq!(all.len(), 5, "bastion + 4 backends, each once: {s}");
    for decoy in ["INSTANCE_ID_DECOY", "INSTANCE_ID_STAGING"] {
        let id = lab.var(decoy);
        assert!(
            all.iter().all(|h| h["id"] != id),
            "{decoy} ({id}) is filtered out by the tags"
        );
    }
    assert!(all.iter().all(|h| h["name"] != "staging-web"));

    let lb = &s["load_balancer"];
    assert_eq!(lb["kind"], "alb", "{lb}");
    let targets = lb["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 4, "{lb}");
    for t in targets {
        assert_eq!(t["state"], "active", "{t}");
        assert_eq!(t["health"], "ok", "{t}");
        assert!(
            t["requests_per_sec"].is_null() && t["error_rate"].is_null(),
            "ALB has no per-target traffic: {t}"
        );
    }
    let mut backends: Vec<&str> = targets
        .iter()
        .filter_map(|t| t["backend"].as_str())
        .collect();
    backends.sort();
    assert_eq!(backends, ["web-a1", "web-a2", "web-c1", "web-c2"]);
    let traffic = lb["az_traffic"].as_array().expect("az_traffic");
    let traffic_azs: Vec<&str> = traffic.iter().filter_map(|t| t["az"].as_str()).collect();
    assert_eq!(traffic_azs, ["ap-northeast-2a", "ap-northeast-2c"], "{lb}");
    for t in traffic {
        assert!(
            t["requests_per_sec"].as_f64().is_some_and(|r| r > 0.0),
            "{t}"
        );
        assert!(t["error_rate"].is_number(), "{t}");
    }
    // The seed gives 2c the higher 5XX count.
    assert!(
        traffic[1]["error_rate"].as_f64() > traffic[0]["error_rate"].as_f64(),
        "{lb}"
    );

    let primary = node(&s, "databases", "prod-db");
    assert_eq!(primary["role"], "primary", "{primary}");
    assert!(primary["lag_seconds"].is_null(), "{primary}");
    let replica = node(&s, "databases", "prod-db-replica");
    assert_eq!(replica["role"], "replica", "{replica}");
    assert_eq!(replica["source"], "prod-db", "{replica}");
    assert_eq!(replica["az"], "ap-northeast-2c", "{replica}");
    let lag = replica["lag_seconds"].as_f64().expect("ReplicaLag");
    assert!((0.0..=2.0).contains(&lag), "seeded 0.0-2.0: {lag}");
    assert!(
        replica["lag_sample_age_ms"]
            .as_i64()
            .is_some_and(|a| a >= 0),
        "{replica}"
    );

    let cache_primary = node(&s, "caches", "prod-redis-001");
    assert_eq!(cache_primary["role"], "primary", "{cache_primary}");
    assert_eq!(cache_primary["az"], "ap-northeast-2a");
    let cache_replica = node(&s, "caches", "prod-redis-002");
    assert_eq!(cache_replica["role"], "replica", "{cache_replica}");
    assert_eq!(cache_replica["az"], "ap-northeast-2c");
    assert!(cache_replica["lag_seconds"].is_number(), "{cache_replica}");

    let alerts: Vec<&str> = s["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(
        alerts,
        ["prod-5xx-high"],
        "not prod-cpu (OK), not staging-x (outside the prefix)"
    );
    assert!(find_node(&s, "alerts", "prod-5xx-high").expect("checked")["since"].is_string());
    // No deploy source is configured: absent, not an error.
    assert_eq!(s["deploys"], serde_json::json!([]));
}
