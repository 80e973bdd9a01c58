//! Snapshots of every view on the demo fleet itself: fixed seed, fixed clock,
//! a few minutes of replayed history, rendered at 100×30.

use opsdeck::cli::snapshot::render_text;
use opsdeck::core::ViewId;
use opsdeck::providers::demo::Scenario;
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
