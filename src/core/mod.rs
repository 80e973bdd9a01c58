//! The pure core: fleet model, application state, messages, effects, the action
//! registry and the reducer; `assess` holds every judgement about the fleet,
//! `ops` the decision whether an operation may start (with `plan` and `guard`). Nothing here does IO, reads a clock or knows about the
//! terminal; time arrives as data in `Msg::Tick` and observation timestamps.

pub mod action;
pub mod assess;
pub mod capabilities;
pub mod command_palette;
pub mod dialog;
pub mod effect;
pub mod fleet;
pub mod guard;
pub mod key;
pub mod key_resolver;
pub mod key_result;
pub mod lock;
pub mod lock_status;
pub mod log_batch;
pub mod log_buffer;
pub mod msg;
pub mod operation;
pub mod ops;
pub mod plan;
pub mod quit;
pub mod runbook;
pub mod sanitize;
pub mod series;
pub mod service;
pub mod service_history;
pub mod state;
#[cfg(test)]
pub(crate) mod test_fixtures;
pub mod time;
pub mod unfinished;
pub mod update;
pub mod usage;
pub mod view;

pub use action::{ActionId, ActionSpec, REGISTRY, Scope};
pub use effect::Effect;
pub use key::{Key, KeyCode, KeyParseError, Modifiers};
pub use key_resolver::KeyResolver;
pub use key_result::KeyResult;
pub use msg::{Msg, Observation, PanelId};
pub use state::State;
pub use time::Timestamp;
pub use update::{press, update};
pub use view::ViewId;
