//! Snapshots of every view on the demo fleet itself: fixed seed, fixed clock,
//! a few minutes of replayed history, rendered at 100×30.

use opsdeck::cli::snapshot::render_text;
use opsdeck::core::ViewId;
use opsdeck::providers::demo::{LB_OUTAGE_FIRST_MS, LB_OUTAGE_MS, Scenario};
use opsdeck::runtime::poller::PollSchedule;

use crate::demo_app::{DemoApp, START, demo_app};

/// Long enough into the default scenario for an incident to be under way.
const WATCH_MS: i64 = 6 * 60 * 1000;

async fn watched(scenario: Scenario) -> DemoApp {
    let mut d = demo_app(scenario, 42, false, PollSchedule::default());
    d.app.warm_up(START.plus_millis(WATCH_MS), WATCH_MS).await;
    d
}

#[tokio::test]
async fn every_view_of_the_demo_fleet() {
    let mut d = watched(Scenario::Default).await;
    let app = &mut d.app;
    for view in ViewId::ALL {
        let text = render_text(app, view, 100, 30).expect("render");
        insta::assert_snapshot!(format!("demo_{}", view.name()), text);
    }
}

#[tokio::test]
async fn the_calm_demo_fleet_is_all_healthy() {
    let mut d = watched(Scenario::Calm).await;
    let app = &mut d.app;
    let text = render_text(app, ViewId::Overview, 80, 24).expect("render");
    assert!(text.contains("all healthy"), "{text}");
    insta::assert_snapshot!("demo_calm_overview_80x24", text);
}

/// The line of the rendered overview that starts with `prefix` (trimmed).
fn line_starting<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with(prefix))
        .unwrap_or("")
}

#[tokio::test]
async fn the_lb_outage_incident_breaks_the_service_probe_and_the_headline_says_so() {
    let mut d = demo_app(Scenario::LbOutage, 42, false, PollSchedule::default());
    // 20 s into the outage, after 90 s of normal traffic.
    let frozen = LB_OUTAGE_FIRST_MS + 20_000;
    d.app.warm_up(START.plus_millis(frozen), frozen).await;
    let text = render_text(&mut d.app, ViewId::Overview, 100, 30).expect("render");
    let service = line_starting(&text, "SERVICE");
    assert!(service.starts_with("SERVICE ✖ down"), "{text}");
    let headline = text.lines().nth(2).unwrap_or("").trim();
    assert!(
        headline.starts_with("✖ service down: http://10.0.1.10:80/healthz · ✖ lb down"),
        "{text}"
    );
    assert!(headline.contains("▼ traffic fell 100 % in 15 s"), "{text}");
    assert!(service.contains("timed out after 2000 ms"), "{text}");
    assert!(!text.contains("all healthy"), "{text}");
    // Every backend stays healthy: only the probe tells.
    let status = opsdeck::cli::status::status_json(&d.app.state);
    assert_eq!(status["service"]["status"], "down", "{status}");
    assert_eq!(
        status["service"]["load_balancer"]["health"], "down",
        "{status}"
    );
    assert_eq!(
        status["service"]["traffic_change"], "traffic fell 100 % in 15 s",
        "{status}"
    );
    insta::assert_snapshot!("demo_lb_outage_overview", text);
    // The instances table shows the LB's host down (its machine still runs).
    let table = render_text(&mut d.app, ViewId::Instances, 100, 30).expect("render");
    let lb_row = line_starting(&table, "│lb ");
    assert!(lb_row.contains("running  ✖ down"), "{table}");

    // The LB comes back by itself: the probe passes, the warnings clear.
    let back = LB_OUTAGE_FIRST_MS + LB_OUTAGE_MS + 20_000;
    d.app.warm_up(START.plus_millis(back), back - frozen).await;
    let text = render_text(&mut d.app, ViewId::Overview, 100, 30).expect("render");
    assert!(
        line_starting(&text, "SERVICE").starts_with("SERVICE ● up"),
        "{text}"
    );
    assert!(text.contains("all healthy"), "{text}");
    // The last error is still shown, with its age.
    assert!(
        line_starting(&text, "SERVICE").contains("last error"),
        "{text}"
    );
}
