//! The built-in demo fleet: a seeded, deterministic simulation of a two-AZ web
//! service, driven by the time the runtime passes in.
