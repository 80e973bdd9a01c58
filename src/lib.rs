//! opsdeck: a terminal operations console for a web service in two availability
//! zones. The README's "Layout" section is the map of the source tree, and each
//! module's `//!` header says what lives there. Dependencies point one way:
//! `cli` (command line, session building, one module per subcommand) →
//! `runtime` (the TUI session's shell) → `ui` (rendering) and `providers` (IO)
//! → `core` (pure state, reducer, `assess` judgements, `ops` decisions);
//! `keymap`, `theme` and `config` sit beside `core`, which imports none of them.

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
