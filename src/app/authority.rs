//! The operator's explicit override of the "single authority" precheck
//! ([`crate::runbook::authority`]): asked for with a typed reason, logged, kept per layer in
//! [`State::authority_overrides`] and dropped (and logged) as soon as the conflict clears.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::backends::Layer;
use crate::incident::entry::EntryKind;
use crate::operation::Check;
use crate::runbook::authority::{self, CHECK_NAME, layer_conflict, layer_name};

use super::effect::Effect;
use super::pipeline::{flash, log};
use super::state::{Modal, PaneId, PromptPurpose, State};
use super::step::{Stage, StepStatus};

/// One layer whose authority conflict the operator chose to act through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityOverride {
    /// The layer.
    pub layer: Layer,
    /// The reason the operator typed.
    pub reason: String,
    /// When it was given.
    pub at: DateTime<Utc>,
}

/// Why an observer console refuses an override: it executes nothing, so an override there would
/// only put a decision it cannot act on into the shared incident log.
const READ_ONLY: &str = "READ-ONLY console: overrides are for the console that executes steps";

/// The layer an `override-authority` command is about: the selected step's layer when that step
/// failed its "single authority" check, else the focused pane's layer, else the first layer
/// with a conflict. Only layers that have a conflict and no override yet qualify.
pub fn override_target(state: &State) -> Result<Layer, String> {
    let candidates = [Layer::Database, Layer::Sentinel];
    let open = |l: &Layer| {
        layer_conflict(*l, &state.domain.observed).is_some()
            && !state.domain.authority_overrides.iter().any(|o| o.layer == *l)
    };
    let from_step = state.selected_step().filter(|s| {
        matches!(s.status, StepStatus::Failed { stage: Stage::Precheck, .. })
            && s.checks.iter().any(|c| c.name == CHECK_NAME && !c.ok)
    });
    let from_focus = match state.view.focus {
        PaneId::Database => Some(Layer::Database),
        PaneId::Sentinel => Some(Layer::Sentinel),
        _ => None,
    };
    from_step
        .and_then(|s| s.op.as_ref().and_then(authority::authority_layer))
        .filter(|l| open(l))
        .or(from_focus.filter(|l| open(l)))
        .or_else(|| candidates.into_iter().find(|l| open(l)))
        .ok_or_else(|| {
            "no layer has conflicting authority (or it is already overridden): nothing to override".into()
        })
}

/// `override-authority`: open the prompt for the reason, or say why there is nothing to override.
pub fn open_prompt(state: &mut State) {
    if state.domain.read_only {
        return flash(state, READ_ONLY);
    }
    match override_target(state) {
        Ok(layer) => {
            let conflict = layer_conflict(layer, &state.domain.observed).unwrap_or_default();
            state.view.modal = Some(Modal::Prompt {
                purpose: PromptPurpose::AuthorityOverride(layer),
                label: format!(
                    "Override single authority on the {} layer ({conflict}): reason",
                    layer_name(layer)
                ),
                text: String::new(),
            });
        }
        Err(why) => flash(state, why),
    }
}

/// The reason was submitted: record and log the override (a reason is required).
pub fn submit(state: &mut State, layer: Layer, label: String, reason: String, fx: &mut Vec<Effect>) {
    if state.domain.read_only {
        return flash(state, READ_ONLY);
    }
    if reason.is_empty() {
        flash(state, "a reason is required to override the single-authority check");
        state.view.modal =
            Some(Modal::Prompt { purpose: PromptPurpose::AuthorityOverride(layer), label, text: reason });
        return;
    }
    let Some(conflict) = layer_conflict(layer, &state.domain.observed) else {
        flash(
            state,
            format!("the {} layer has a single authority again: nothing to override", layer_name(layer)),
        );
        return;
    };
    state.domain.authority_overrides.retain(|o| o.layer != layer);
    state.domain.authority_overrides.push(AuthorityOverride {
        layer,
        reason: reason.clone(),
        at: state.domain.now,
    });
    let name = layer_name(layer);
    log(
        state,
        fx,
        EntryKind::Override,
        format!("single-authority check overridden on the {name} layer ({conflict}): {reason}"),
        json!({ "check": CHECK_NAME, "layer": layer, "reason": reason, "conflict": conflict }),
    );
    flash(state, format!("{name} layer: single-authority check overridden until the conflict clears"));
}

/// Turn a failed "single authority" check into a pass when its layer is overridden.
pub fn apply_overrides(
    state_overrides: &[AuthorityOverride],
    op: &crate::operation::Operation,
    checks: &mut [Check],
) {
    let Some(layer) = authority::authority_layer(op) else { return };
    let Some(o) = state_overrides.iter().find(|o| o.layer == layer) else { return };
    for c in checks.iter_mut().filter(|c| c.name == CHECK_NAME && !c.ok) {
        c.ok = true;
        c.detail = format!("OVERRIDDEN by the operator ({}): {}", o.reason, c.detail);
    }
}

/// Drop (and log) every override whose layer no longer has conflicting authority.
pub fn expire_overrides(state: &mut State, fx: &mut Vec<Effect>) {
    let (cleared, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.domain.authority_overrides)
        .into_iter()
        .partition(|o| layer_conflict(o.layer, &state.domain.observed).is_none());
    state.domain.authority_overrides = kept;
    for o in cleared {
        let name = layer_name(o.layer);
        log(
            state,
            fx,
            EntryKind::OverrideCleared,
            format!("{name} layer has a single authority again: override dropped"),
            json!({ "check": CHECK_NAME, "layer": o.layer, "reason": o.reason }),
        );
    }
}

#[cfg(test)]
mod tests;
