//! The reducer: `update(&mut State, Msg) -> Vec<Effect>`.

use super::effect::Effect;
use super::msg::Msg;
use super::state::State;

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let _ = (state, msg);
    Vec::new()
}
