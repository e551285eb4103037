//! `update(&mut State, Action, now) -> Vec<Effect>`: the whole behaviour of the console.
//!
//! What happens to the incident and the estate (snapshots, log lines, entries other consoles
//! append, step results, the clock) changes the [`Domain`](super::state::Domain), in
//! `update/domain.rs`; keys change the [`View`](super::state::View) or drive the step pipeline,
//! in `update/commands.rs`, `update/navigate.rs` and `update/prompt.rs`.

mod commands;
mod domain;
mod navigate;
mod prompt;

pub(crate) use prompt::post_status_update;
pub(crate) use prompt::untick_checklist;

use crate::incident::entry::EntryKind;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::action::{Action, TextEdit};
use super::effect::Effect;
use super::guard;
use super::pipeline::{self, flash, log};
use super::runbook_flow;
use super::state::{Modal, State};
use crate::command::Command;

/// How long a flash message stays.
const FLASH_SECS: i64 = 6;

/// Apply one action to the state; return the effects it asks for.
pub fn update(state: &mut State, action: Action, now: DateTime<Utc>) -> Vec<Effect> {
    let prev_now = state.domain.now;
    // A paused drill stands still: every clock the console shows reads the pause's start.
    state.domain.facilitation.wall = now;
    state.domain.now = state.domain.facilitation.clock.frozen(now);
    let mut fx = Vec::new();
    match action {
        Action::Tick => {
            if state.view.flash.as_ref().is_some_and(|(_, at)| now - *at > Duration::seconds(FLASH_SECS)) {
                state.view.flash = None;
            }
            guard::expire(state);
            super::facilitator::tick(state, &mut fx);
            pipeline::verify_all(state, &mut fx);
            super::approval::settle(state, &mut fx);
            if let Some(overdue) = domain::newly_overdue(&state.domain, prev_now) {
                flash(state, format!("OVERDUE: {overdue}"));
                fx.push(Effect::Bell);
            }
        }
        Action::Command(c) => command(state, c, &mut fx),
        Action::Text(edit) => text(state, edit, &mut fx),
        Action::Resize(..) => {}
        Action::HelpLimit(limit) => {
            state.view.help_limit = Some(limit);
            state.view.help_scroll = state.view.help_scroll.min(limit);
        }
        Action::Kube(s) => observe(state, &mut fx, |o| o.kube = s),
        Action::Database(s) => observe(state, &mut fx, |o| o.database = s),
        Action::Sentinel(s) => observe(state, &mut fx, |o| o.sentinel = s),
        Action::Traffic(s) => observe(state, &mut fx, |o| o.traffic = s),
        Action::StepExecuted { step, result } => pipeline::executed(state, step, result, &mut fx),
        Action::AccessChecked { step, answers } => pipeline::access_checked(state, step, answers, &mut fx),
        Action::Logged(line) => {
            super::notify::auto_tick(state, &line, &mut fx);
            state.domain.push_log_line(line);
        }
        Action::Mirrored(entry) => {
            state.domain.facilitation.apply(&entry);
            state.domain.now = state.domain.facilitation.clock.frozen(now);
            domain::mirrored(&mut state.domain, &entry);
            super::approval::settle(state, &mut fx);
            if entry.kind == EntryKind::Resolved {
                super::facilitator::drill_over(state, &mut fx);
            }
        }
        Action::LogFailed(error) => {
            let msg = format!("INCIDENT LOG WRITE FAILED: {error}");
            flash(state, msg.clone());
            state.domain.warnings.push(msg);
        }
        Action::Shutdown => {
            state.view.quit = true;
            fx.push(Effect::Quit);
        }
        Action::Commander(view) => super::commander::observe(state, view, &mut fx),
        Action::SharedStore(status) => state.domain.shared_store = Some(status),
        Action::Notified { target, kind, outcome } => {
            super::notify::notified(state, target, kind, outcome, &mut fx)
        }
    }
    runbook_flow::sync(state, &mut fx);
    runbook_flow::revive_skipped(state, &mut fx);
    domain::track(&mut state.domain, &mut fx);
    fx
}

/// Replace one snapshot (logging what changed), then let the overrides and steps that depend on
/// the estate catch up.
fn observe(state: &mut State, fx: &mut Vec<Effect>, set: impl FnOnce(&mut crate::backends::Observed)) {
    domain::observe(&mut state.domain, fx, set);
    super::authority::expire_overrides(state, fx);
    pipeline::verify_all(state, fx);
}

/// Whether `modal` is a dialog that asks for a decision or text (its flashes end with it).
fn is_dialog(modal: Option<&Modal>) -> bool {
    matches!(
        modal,
        Some(
            Modal::Confirm { .. }
                | Modal::ConfirmKey { .. }
                | Modal::Prompt { .. }
                | Modal::Composer { .. }
                | Modal::NotifyPreview { .. }
                | Modal::TakeCommand { .. }
        )
    )
}

/// A dialog closed: a flash it left (e.g. "typed 'x' does not match") is stale now.
fn clear_stale_flash(
    state: &mut State,
    modal_before: Option<&Modal>,
    flash_before: &Option<(String, DateTime<Utc>)>,
) {
    if is_dialog(modal_before) && state.view.modal.is_none() && state.view.flash == *flash_before {
        state.view.flash = None;
    }
}

/// A command: refused by the console's role (one flash, nothing logged), else run; a command
/// that should have opened a dialog and did not starts dropping keys ([`guard`]).
fn command(state: &mut State, c: Command, fx: &mut Vec<Effect>) {
    let modal_before = state.view.modal.clone();
    let flash_before = state.view.flash.clone();
    let (need, what) = guard::need(c, modal_before.as_ref());
    if let Some(why) = guard::refusal(state, need, what) {
        if matches!(
            state.view.modal,
            Some(Modal::Actions { .. } | Modal::Runbooks { .. } | Modal::Inject { .. })
        ) {
            state.view.modal = None;
        }
        state.view.quit_armed = false;
        flash(state, why);
    } else {
        commands::run(state, c, fx);
    }
    guard::after_command(state, c, modal_before.as_ref(), fx);
    clear_stale_flash(state, modal_before.as_ref(), &flash_before);
}

/// A key typed into the open dialog or prompt.
fn text(state: &mut State, edit: TextEdit, fx: &mut Vec<Effect>) {
    let modal_before = state.view.modal.clone();
    let flash_before = state.view.flash.clone();
    prompt::edit(state, edit, fx);
    clear_stale_flash(state, modal_before.as_ref(), &flash_before);
}

/// Resolve the incident with `summary` (confirmed with y: see [`guard`]).
pub fn resolve(state: &mut State, summary: String, fx: &mut Vec<Effect>) {
    state.domain.resolved = Some((state.domain.now, summary.clone()));
    log(
        state,
        fx,
        EntryKind::Resolved,
        format!("incident resolved: {summary}"),
        json!({ "summary": summary }),
    );
}
