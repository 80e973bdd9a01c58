//! The pure core: fleet model, application state, messages, effects, the action
//! registry and the reducer; `assess` holds every judgement about the fleet,
//! `ops` the decision whether an operation may start (with `plan` and `guard`). Nothing here does IO, reads a clock or knows about the
//! terminal; time arrives as data in `Msg::Tick` and observation timestamps.

pub mod action;
pub mod assess;
pub mod capabilities;
pub mod dialog;
pub mod effect;
pub mod fleet;
pub mod guard;
pub mod key;
pub mod lock;
pub mod lock_status;
pub mod log_buffer;
pub mod msg;
pub mod operation;
pub mod ops;
pub mod palette;
pub mod plan;
pub mod quit;
pub mod runbook;
pub mod sanitize;
pub mod series;
pub mod service;
pub mod service_history;
pub mod state;
pub mod time;
pub mod unfinished;
pub mod update;
pub mod view;

pub use action::{ActionId, ActionSpec, REGISTRY, Scope};
pub use effect::Effect;
pub use key::{Key, KeyCode, KeyParseError, Modifiers};
pub use msg::{Msg, Observation, PanelId};
pub use state::State;
pub use time::Timestamp;
pub use update::update;
pub use view::ViewId;
