//! Running a key command the console's role allows: one function per group of commands.

use crate::app::effect::Effect;
use crate::app::guard::{self, KeyAction, Need};
use crate::app::pipeline::{self, flash};
use crate::app::propose::proposals;
use crate::app::runbook_flow;
use crate::app::state::{Modal, PaneId, PromptPurpose, Proposal, State};
use crate::app::status_update;
use crate::app::step::StepStatus;
use crate::command::Command;

use super::navigate;

/// Run `c` (the role check has passed).
pub(super) fn run(state: &mut State, c: Command, fx: &mut Vec<Effect>) {
    if c != Command::Quit {
        state.view.quit_armed = false;
    }
    match c {
        Command::Quit => quit(state, fx),
        Command::Help
        | Command::Close
        | Command::Verdict
        | Command::FocusNext
        | Command::FocusPrev
        | Command::FocusPods
        | Command::FocusDatabase
        | Command::FocusSentinel
        | Command::FocusTraffic
        | Command::FocusSteps
        | Command::FocusChecklist
        | Command::FocusLog
        | Command::Zoom
        | Command::ScrollUp
        | Command::ScrollDown
        | Command::PageUp
        | Command::PageDown
        | Command::ScrollTop
        | Command::ScrollBottom => navigate::run(state, c, fx),
        Command::Actions => open_actions(state),
        Command::Select => select(state, fx),
        Command::Runbooks => runbook_flow::open_picker(state),
        Command::RunbookNext => runbook_flow::next(state, fx),
        Command::RunbookAbort => guard::ask(state, KeyAction::AbortRunbook),
        Command::StepRun => with_selected_step(state, fx, run_step),
        Command::StepRetry => with_selected_step(state, fx, pipeline::retry),
        Command::StepSkip => with_selected_step(state, fx, |state, id, _| {
            open_prompt(state, PromptPurpose::SkipReason(id), format!("Reason for skipping step #{id}"), "")
        }),
        Command::StepAbort => {
            with_selected_step(state, fx, |state, id, _| guard::ask(state, KeyAction::AbortStep(id)))
        }
        Command::StepOverride => override_lag(state, fx),
        Command::StepApprove => {
            with_selected_step(state, fx, |state, id, _| crate::app::approval::ask(state, id, true, None))
        }
        Command::StepReject => with_selected_step(state, fx, |state, id, _| {
            open_prompt(state, PromptPurpose::RejectReason(id), format!("Why reject step #{id}?"), "")
        }),
        Command::ConfirmYes => confirm_yes(state, fx),
        Command::ConfirmNo => match state.view.modal {
            Some(Modal::Confirm { step, .. }) => pipeline::cancel_confirm(state, step, fx),
            Some(Modal::TakeCommand { .. }) => state.view.modal = None,
            Some(Modal::ConfirmKey { .. }) => guard::cancel(state),
            Some(Modal::NotifyPreview { .. }) => back_to_composer(state),
            _ => {}
        },
        Command::TakeCommand => crate::app::commander::take(state, fx),
        Command::ReleaseCommand => guard::ask(state, KeyAction::ReleaseCommand),
        Command::ChecklistTick => tick_checklist(state),
        Command::StatusUpdate => draft_status_update(state),
        Command::Resolve => {
            if state.domain.resolved.is_some() {
                flash(state, "the incident is already resolved");
            } else {
                open_prompt(
                    state,
                    PromptPurpose::Resolve,
                    "Resolve the incident: one-line summary".into(),
                    "",
                );
            }
        }
        Command::OverrideAuthority => crate::app::authority::open_prompt(state),
        Command::Note => open_prompt(state, PromptPurpose::Note, "Note for the incident log".into(), ""),
        Command::FacilitatorPause => crate::app::facilitator::toggle_pause(state, fx),
        Command::FacilitatorInject => crate::app::facilitator::open_inject(state),
        Command::FacilitatorHint => crate::app::facilitator::release_staged(state, "facilitator", fx),
        Command::FacilitatorHintText => open_prompt(
            state,
            PromptPurpose::Hint,
            "Hint for the trainees (logged, shown in their hint box)".into(),
            "",
        ),
        Command::FacilitatorEnd => guard::ask(state, KeyAction::EndDrill),
    }
}

/// Open a one-line text prompt.
fn open_prompt(state: &mut State, purpose: PromptPurpose, label: String, text: &str) {
    state.view.modal = Some(Modal::Prompt { purpose, label, text: text.to_string() });
}

/// Quit, unless a step is in flight: then the first press arms and a second one quits.
fn quit(state: &mut State, fx: &mut Vec<Effect>) {
    let busy = state.domain.steps.iter().any(|s| s.status.is_active());
    if busy && !state.view.quit_armed {
        state.view.quit_armed = true;
        flash(state, "a step is in flight: press quit again to leave anyway (its outcome will be unknown)");
    } else {
        state.view.quit = true;
        fx.push(Effect::Quit);
    }
}

/// The list of operations proposed from the current state.
fn open_actions(state: &mut State) {
    let items = proposals(&state.domain);
    if items.is_empty() {
        flash(state, "nothing to propose: no layer is configured");
    } else {
        state.view.modal = Some(Modal::Actions { items, selected: 0 });
    }
}

/// Enter in a list: propose the highlighted operation, or start the highlighted runbook.
fn select(state: &mut State, fx: &mut Vec<Effect>) {
    match state.view.modal.take() {
        Some(Modal::Inject { stage, selected }) => {
            crate::app::facilitator::inject_select(state, stage, selected, fx)
        }
        Some(Modal::Actions { items, selected }) => match items.get(selected).cloned() {
            Some(Proposal { blocked: Some(why), .. }) => {
                flash(state, format!("not offered now: {why}"));
                state.view.modal = Some(Modal::Actions { items, selected });
            }
            Some(p) => {
                pipeline::propose(state, p.op, p.why, fx);
            }
            None => {}
        },
        Some(Modal::Runbooks { selected }) => {
            if let Err(why) = runbook_flow::start(state, &selected, &[], None, fx) {
                flash(state, why);
            }
        }
        other => state.view.modal = other,
    }
}

/// Run `f` on the step selected in the Steps pane, or say there is none.
fn with_selected_step(
    state: &mut State,
    fx: &mut Vec<Effect>,
    f: impl FnOnce(&mut State, u64, &mut Vec<Effect>),
) {
    match state.selected_step().map(|s| s.id) {
        Some(id) => f(state, id, fx),
        None => flash(state, "no step selected: open the actions list to propose one"),
    }
}

/// The step-run key on step `id`: a runbook's steps run in order, others open their confirmation.
fn run_step(state: &mut State, id: u64, fx: &mut Vec<Effect>) {
    use StepStatus as S;
    let runbook_step = state.domain.step(id).is_some_and(|s| s.runbook_key.is_some());
    match state.domain.step(id).map(|s| s.status.clone()) {
        Some(S::Proposed | S::Prechecked) if runbook_step => {
            if runbook_flow::is_next(state, id) {
                runbook_flow::next(state, fx)
            } else {
                flash(state, "runbook steps run in order: press the runbook-next key for the next one")
            }
        }
        Some(S::Proposed | S::Prechecked | S::AwaitingConfirm) => pipeline::open_confirm(state, id, fx),
        Some(S::Failed { .. } | S::OutcomeUnknown) => {
            flash(state, "step failed: retry (prechecks run again), skip with a reason, or abort")
        }
        Some(s) => flash(state, format!("step #{id} is {}", s.label())),
        None => {}
    }
}

/// Promote despite the lag guard: ask for the bytes of data loss accepted.
fn override_lag(state: &mut State, fx: &mut Vec<Effect>) {
    if state.domain.read_only {
        return flash(state, "READ-ONLY console: overrides are for the console that executes steps");
    }
    with_selected_step(state, fx, |state, id, _| match pipeline::lag_override_candidate(state, id) {
        Ok(lag) => open_prompt(
            state,
            PromptPurpose::AcceptDataLoss(id),
            format!("Promote anyway: type the bytes of data loss you accept (replay lag now {lag} B)"),
            "",
        ),
        Err(why) => flash(state, why),
    })
}

/// `y` in a dialog: confirm the step (a manual one asks what was done first), take command, or
/// do the confirmed key's action.
fn confirm_yes(state: &mut State, fx: &mut Vec<Effect>) {
    match state.view.modal {
        Some(Modal::Confirm { step, .. }) => {
            let manual = state
                .domain
                .step(step)
                .is_some_and(|s| matches!(s.op, Some(crate::operation::Operation::Manual { .. })));
            if manual && !state.domain.read_only {
                let label = format!("Step #{step} done by hand: what was done? (logged; Enter ticks it)");
                open_prompt(state, PromptPurpose::ManualNote(step), label, "");
            } else {
                pipeline::confirm_yes(state, step, fx);
            }
        }
        Some(Modal::TakeCommand { .. }) => crate::app::commander::confirm_takeover(state, fx),
        Some(Modal::NotifyPreview { .. }) => {
            if let Some(Modal::NotifyPreview { text, .. }) = state.view.modal.take() {
                crate::app::notify::confirm(state, text, fx);
            }
        }
        Some(Modal::ConfirmKey { .. }) => {
            if let Some(Modal::ConfirmKey { action, .. }) = state.view.modal.take() {
                guard::confirm(state, action, fx);
            }
        }
        _ => {}
    }
}

/// `n`/Esc on the notify preview: nothing is posted; the composer opens again with the text.
pub(super) fn back_to_composer(state: &mut State) {
    if let Some(Modal::NotifyPreview { label, text, .. }) = state.view.modal.take() {
        let buffer = crate::app::composer::Composer::new(&text);
        state.view.modal = Some(Modal::Composer { label, buffer });
    }
}

/// Tick the checklist item selected in the Checklist pane (with an optional note); on a ticked
/// one-off item (by hand or by an event), untick it: a reason, then a y/n confirmation.
fn tick_checklist(state: &mut State) {
    let i = state.view.selected[PaneId::Checklist.index()];
    if let Some(item) = state.domain.checklist.items.get(i) {
        let (purpose, label) = if item.done.is_some() && !item.is_recurring() {
            let label =
                format!("Untick '{}': why? (optional, logged; Enter asks y/n, Esc keeps it)", item.text);
            (PromptPurpose::ChecklistUntick(item.id.clone()), label)
        } else {
            (PromptPurpose::ChecklistNote(item.id.clone()), format!("Tick '{}' (optional note)", item.text))
        };
        open_prompt(state, purpose, label, "");
    }
}

/// Draft a status update from the estate and the steps; a console that may not post it gets a
/// draft to copy.
fn draft_status_update(state: &mut State) {
    let d = &state.domain;
    let next = status_update::next_update(d);
    let draft = status_update::compose(&d.incident, &d.observed, &d.steps, d.now, next);
    let label = match guard::refusal(state, Need::Commander, "post status updates") {
        None => "Status update: edit, Ctrl-S posts it (logged, copied to the clipboard)".into(),
        Some(why) => format!("Status update DRAFT ({why}): Ctrl-S copies it, nothing is posted"),
    };
    let buffer = crate::app::composer::Composer::new(&draft);
    state.view.modal = Some(Modal::Composer { label, buffer });
}
