//! Builds an `App` on the demo fleet at a fixed clock, as the binary does,
//! with the audit log in a temporary directory.

use std::path::PathBuf;
use std::sync::Arc;

use opsdeck::core::Timestamp;
use opsdeck::keymap::Keymap;
use opsdeck::providers::demo::{DemoConfig, DemoProvider, Scenario};
use opsdeck::providers::{ObserveProvider, OperateProvider, ShellProvider};
use opsdeck::runtime::poller::PollSchedule;
use opsdeck::runtime::{App, AppParts, Clock};
use opsdeck::theme::Theme;

pub const START: Timestamp = Timestamp::from_millis(1_795_000_000_000);

pub struct DemoApp {
    pub app: App,
    pub demo: DemoProvider,
    pub audit_path: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn demo_app(scenario: Scenario, seed: u64, read_only: bool, schedule: PollSchedule) -> DemoApp {
    let demo = DemoProvider::new(DemoConfig {
        seed,
        scenario,
        log_rate: 20.0,
        start: START,
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let audit_path = dir.path().join("audit.jsonl");
    let observe: Arc<dyn ObserveProvider> = Arc::new(demo.clone());
    let operate: Option<Arc<dyn OperateProvider>> = if read_only {
        None
    } else {
        Some(Arc::new(demo.clone()))
    };
    let shell: Option<Arc<dyn ShellProvider>> = if read_only {
        None
    } else {
        Some(Arc::new(demo.clone()))
    };
    let app = App::new(AppParts {
        observe,
        operate,
        keymap: Keymap::builtin(),
        theme: Theme::builtin(),
        clock: Clock::starting_at(START),
        schedule,
        source_label: "demo (built-in, no config)".into(),
        production: false,
        shell,
        audit_path: audit_path.clone(),
        webhook: None,
    });
    DemoApp {
        app,
        demo,
        audit_path,
        _dir: dir,
    }
}
