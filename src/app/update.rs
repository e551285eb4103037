//! `update(&mut State, Action, now) -> Vec<Effect>`.

use chrono::{DateTime, Utc};

use super::{Action, Effect, State};

/// Apply one action to the state; return the effects it asks for.
pub fn update(state: &mut State, action: Action, now: DateTime<Utc>) -> Vec<Effect> {
    state.now = now;
    let _ = action;
    Vec::new()
}
