//! Snapshots of every view on the demo fleet itself: fixed seed, fixed clock,
//! a few minutes of replayed history, rendered at 100×30.

use std::sync::Arc;

use opsdeck::core::{Timestamp, ViewId};
use opsdeck::keymap::Keymap;
use opsdeck::providers::demo::{DemoConfig, DemoProvider, Scenario};
use opsdeck::providers::{ObserveProvider, OperateProvider};
use opsdeck::runtime::headless::render_text;
use opsdeck::runtime::poller::PollPlan;
use opsdeck::runtime::{App, AppParts, Clock};
use opsdeck::theme::Theme;

const START: Timestamp = Timestamp::from_millis(1_795_000_000_000);
/// Long enough into the default scenario for an incident to be under way.
const WATCH_MS: i64 = 6 * 60 * 1000;

pub fn demo_app(scenario: Scenario, seed: u64, read_only: bool) -> App {
    let demo = DemoProvider::new(DemoConfig {
        seed,
        scenario,
        log_rate: 20.0,
        start: START,
    });
    let observe: Arc<dyn ObserveProvider> = Arc::new(demo.clone());
    let operate: Option<Arc<dyn OperateProvider>> = if read_only {
        None
    } else {
        Some(Arc::new(demo))
    };
    App::new(AppParts {
        observe,
        operate,
        keymap: Keymap::builtin(),
        theme: Theme::builtin(),
        clock: Clock::starting_at(START),
        plan: PollPlan::default(),
        source_label: "demo (built-in, no config)".into(),
        production: false,
    })
}

async fn watched(scenario: Scenario) -> App {
    let mut app = demo_app(scenario, 42, false);
    app.warm_up(START.plus_millis(WATCH_MS), WATCH_MS).await;
    app
}

#[tokio::test]
async fn every_view_of_the_demo_fleet() {
    let mut app = watched(Scenario::Default).await;
    for view in ViewId::ALL {
        let text = render_text(&mut app, view, 100, 30).expect("render");
        insta::assert_snapshot!(format!("demo_{}", view.name()), text);
    }
}

#[tokio::test]
async fn the_calm_demo_fleet_is_all_healthy() {
    let mut app = watched(Scenario::Calm).await;
    let text = render_text(&mut app, ViewId::Overview, 80, 24).expect("render");
    assert!(text.contains("all healthy"), "{text}");
    insta::assert_snapshot!("demo_calm_overview_80x24", text);
}
