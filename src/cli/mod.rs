//! The command line: clap's types, the dispatch to one module per
//! subcommand, and the session each builds from config.

pub mod args;
pub mod ask;
pub mod audit;
pub mod check;
pub mod dispatch;
pub mod do_operation;
pub mod keys;
pub mod runbook;
pub mod session;
pub mod snapshot;
pub mod ssh_trust;
pub mod status;
pub mod view_arg;

pub use args::{Cli, Command, KeysFormat};
pub use dispatch::main;
