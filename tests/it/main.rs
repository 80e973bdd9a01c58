//! The integration test binary: one link step, one shared harness.

#[cfg(feature = "aws")]
mod aws;
mod cli;
mod demo_app;
mod demo_snapshots;
mod e2e_tmux;
mod first_frame;
mod keymap_remap;
mod lab;
mod layout;
mod operation_faults;
mod operations;
mod quit_paths;
mod scenario;
mod secret_scan;
mod support;
mod theme_tests;
mod ui_ops_snapshots;
mod ui_snapshots;
