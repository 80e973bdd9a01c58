//! The integration test binary: one link step, one shared harness.

mod cli;
mod demo_snapshots;
mod e2e_tmux;
mod scenario;
mod support;
mod ui_snapshots;
