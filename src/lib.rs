//! opsdeck: a terminal operations console for a web service in two availability
//! zones. The README's "Layout" section is the map of the source tree (the
//! design notes are kept outside the repository), and each module's `//!`
//! header says what lives there. Dependencies point one way:
//! `core` (pure state, reducer, `assess` judgements, `ops` decisions) ←
//! `keymap`, `theme`, `config` ← `ui` ← `runtime` → `providers`.

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
