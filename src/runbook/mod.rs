//! Runbooks: markdown files that name actions (`{{drain-backend}}`), shown
//! with the user's current keys so they stay true after a remap.

pub mod runbook_loader;

pub use runbook_loader::{SHIPPED, describe_keys, load, render};
