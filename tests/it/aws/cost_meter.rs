//! The cost meter against what reached the server: the calls it counts per
//! operation and the metrics it says were requested match moto's recorder;
//! live tail runs only while the logs view is open.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::super::e2e_tmux::tmux_or_skip;
use super::{aws_or_skip, summary};

#[test]
fn aws_cost_meter_counts_match_the_recorder() {
    let Some(lab) = aws_or_skip("aws_cost_meter_counts_match_the_recorder") else {
        return;
    };
    let (code, status, err, _) = lab.status_with(&lab.config());
    assert_eq!(code, Some(0), "{err}");
    let usage = &status["usage"];
    let rec = lab.recording();
    assert!(!rec.is_empty());
    // Per operation: the meter's service names are the config's (elbv2,
    // cloudwatch), the recorder's the signing scope's; compare operations.
    let mut metered: BTreeMap<String, u64> = BTreeMap::new();
    for c in usage["calls"].as_array().expect("calls") {
        *metered
            .entry(c["operation"].as_str().expect("op").to_string())
            .or_default() += c["calls"].as_u64().expect("n");
    }
    let mut recorded: BTreeMap<String, u64> = BTreeMap::new();
    for r in &rec {
        *recorded.entry(r.action.clone()).or_default() += 1;
    }
    assert_eq!(metered, recorded, "meter vs recorder: {:?}", summary(&rec));
    assert_eq!(usage["total_calls"].as_u64(), Some(rec.len() as u64));
    // Metrics requested: the queries in the GetMetricData bodies.
    let queries: u64 = rec
        .iter()
        .filter(|r| r.action == "GetMetricData")
        .map(|r| r.body.matches(".Id=").count() as u64)
        .sum();
    assert!(queries > 0, "the seeded fleet has metrics");
    assert_eq!(usage["metrics_requested"].as_u64(), Some(queries));
    assert_eq!(usage["price_table_date"], "2026-12-02");
    assert!(usage["monthly_usd"]["total"].as_f64().expect("cost") > 0.0);
}

#[test]
fn aws_live_tail_runs_only_while_the_logs_view_is_open() {
    let Some(lab) = aws_or_skip("aws_live_tail_runs_only_while_the_logs_view_is_open") else {
        return;
    };
    let Some(t) = tmux_or_skip("aws-live-tail") else {
        return;
    };
    lab.console(&t, &lab.config(), "--read-only");
    std::thread::sleep(Duration::from_secs(3));
    let tails = |lab: &super::AwsLab| {
        lab.recording()
            .iter()
            .filter(|r| r.action == "StartLiveTail")
            .count()
    };
    assert_eq!(tails(&lab), 0, "no live tail while the logs view is closed");
    t.keys(&["5"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tails(&lab) == 0 {
        assert!(
            Instant::now() < deadline,
            "no live tail after opening the logs view"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // moto sends what it has and ends the session: polling takes over, and
    // no line shows twice.
    t.wait_for("31 lines", Duration::from_secs(15));
    t.keys(&["1"]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(tails(&lab), 1, "one session for one opening of the view");
    t.keys(&["q"]);
}
