//! opsdeck: a terminal operations console for a web service in two availability
//! zones. See `DESIGN.md` in the repository for the map:
//! `core` (pure state and reducer) ← `keymap`, `theme` ← `ui` ← `runtime` → `providers`.

pub mod cli;
pub mod config;
pub mod core;
pub mod diagnostic;
pub mod keymap;
pub mod layered_file;
pub mod providers;
pub mod runbook;
pub mod runtime;
pub mod theme;
pub mod ui;
