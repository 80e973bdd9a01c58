//! GetMetricData calls per refresh do not grow with the fleet.

use std::collections::BTreeMap;

use super::{AwsLab, aws_or_skip, hosts};

/// One `status --json` after a recorder reset: (GetMetricData calls, status).
fn one_refresh(lab: &AwsLab) -> (usize, serde_json::Value) {
    // moto answers a GetMetricData of 407 queries in ~5 s (Python scanning
    // every stored point per query): more than the default 2 s attempt.
    let config = lab.config_with_aws_line("slow-moto.toml", "timeout_ms = 30000");
    lab.reset_recorder();
    let (code, s, err, _) = lab.status_with(&config);
    assert_eq!(code, Some(0), "{err}");
    let calls = lab
        .recording()
        .iter()
        .filter(|r| r.service == "monitoring" && r.action == "GetMetricData")
        .count();
    (calls, s)
}

#[test]
fn aws_get_metric_data_calls_do_not_grow_with_the_fleet() {
    let Some(mut lab) = aws_or_skip("aws_get_metric_data_calls_do_not_grow_with_the_fleet") else {
        return;
    };
    let (n4, s4) = one_refresh(&lab);
    assert_eq!(hosts(&s4).len(), 5);
    assert!(
        s4["azs"][0]["hosts"][1]["cpu_pct"].is_number(),
        "the metrics arrived: {s4}"
    );

    lab.seed(&["--backends", "400"]);
    let (n400, s400) = one_refresh(&lab);
    let backends: Vec<&str> = hosts(&s400)
        .into_iter()
        .filter(|h| h["role"] == "backend")
        .filter_map(|h| h["name"].as_str())
        .collect();
    let mut seen = BTreeMap::new();
    for b in &backends {
        *seen.entry(*b).or_insert(0) += 1;
    }
    assert_eq!(
        seen.len(),
        400,
        "400 backends over 5 DescribeInstances pages"
    );
    assert!(
        seen.values().all(|&n| n == 1),
        "each once: {:?}",
        seen.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    assert_eq!(
        s400["load_balancer"]["targets"].as_array().map(Vec::len),
        Some(400)
    );
    assert!(
        hosts(&s400)
            .iter()
            .filter(|h| h["role"] == "backend")
            .all(|h| h["cpu_pct"].is_number()),
        "every backend's CPU came back"
    );
    eprintln!("GetMetricData per status: {n4} with 4 backends, {n400} with 400");
    assert!(n4 >= 1);
    assert_eq!(
        n4, n400,
        "GetMetricData calls per refresh grew with the fleet"
    );
    // 400 CPU series + 4 ALB + 2 lag queries fit in one call of 500. One
    // `status` polls the hosts and replication panels at once; the first
    // metrics refresh waits for both discoveries, so one call serves it.
    assert_eq!(n4, 1, "{n4} GetMetricData calls for one refresh");
}
