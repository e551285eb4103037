//! What a key may do, so that no key acts by accident:
//!
//! - **Roles.** A read-only console writes notes and nothing else; a console that is not the
//!   commander cannot start runbooks, run, skip or abort steps, resolve or post status updates
//!   (it may draft one). Refusals are a one-line flash naming the role, with nothing logged.
//! - **Irreversible keys ask first.** Abort a runbook or a step, skip, resolve, release the
//!   lock: a y/n [`Modal::ConfirmKey`] states exactly what happens.
//! - **Keys typed at a dialog that did not open are dropped.** When a key that opens a
//!   confirmation or a prompt fails to (a precheck failed, a refusal), the console "swallows":
//!   printable keys and Enter are dropped with one flash until [`SWALLOW_MS`] pass without a
//!   key, or Esc. A pod name typed for a confirmation that never opened never runs as hotkeys.

use chrono::{DateTime, Duration, Utc};

use super::action::TextEdit;
use super::effect::Effect;
use super::pipeline::{self, flash};
use super::state::{Modal, State};
use super::step::StepStatus;
use crate::command::Command;
use crate::incident::commander::CommanderView;

/// How long keys are dropped after the last key typed at a dialog that did not open.
pub const SWALLOW_MS: i64 = 1500;

/// An irreversible action a y/n confirmation guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAction {
    /// Abort the running runbook.
    AbortRunbook,
    /// Abort a step.
    AbortStep(u64),
    /// Skip a step with the reason typed.
    SkipStep {
        /// Step id.
        step: u64,
        /// The reason.
        reason: String,
    },
    /// Resolve the incident with the summary typed.
    Resolve {
        /// One-line summary.
        summary: String,
    },
    /// Give the commander lock up.
    ReleaseCommand,
    /// End the drill (facilitator).
    EndDrill,
    /// Untick a ticked one-off checklist item (by hand or by an event), with an optional note.
    UntickChecklist {
        /// Item id.
        item: String,
        /// Why (optional).
        note: Option<String>,
    },
    /// Approve or reject another person's step awaiting approval, as previewed (`digest`).
    DecideStep {
        /// Step id.
        step: u64,
        /// Approve (`true`) or reject.
        approve: bool,
        /// Why (rejections).
        reason: Option<String>,
        /// The digest of the preview shown when asked: a different one is refused.
        digest: String,
    },
}

/// Keys are being dropped: a dialog was expected and did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swallow {
    /// Keys are dropped until then (each dropped key moves it on).
    pub until: DateTime<Utc>,
    /// Why the dialog did not open (the refusal's flash).
    pub reason: String,
    /// How many keys were dropped so far.
    pub dropped: usize,
}

/// What a command needs of the console's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone (navigation, notes, viewing menus, drafting).
    Anyone,
    /// Not a read-only console (checklist ticks, taking the lock).
    Write,
    /// The commander (steps, runbooks, resolve, status posts, overrides).
    Commander,
    /// The drill's facilitator (pause, inject, hints, end).
    Facilitator,
}

/// What `c` needs, and the words for a refusal ("cannot {what}"), with `modal` open.
pub fn need(c: Command, modal: Option<&Modal>) -> (Need, &'static str) {
    use Command as C;
    match c {
        C::Select => match modal {
            Some(Modal::Actions { .. }) => (Need::Commander, "propose steps"),
            Some(Modal::Runbooks { .. }) => (Need::Commander, "start runbooks"),
            Some(Modal::Inject { .. }) => (Need::Facilitator, "inject faults"),
            _ => (Need::Anyone, ""),
        },
        C::RunbookNext => (Need::Commander, "run runbook steps"),
        C::RunbookAbort => (Need::Commander, "abort the runbook"),
        C::StepRun => (Need::Commander, "run steps"),
        C::StepRetry => (Need::Commander, "retry steps"),
        C::StepSkip => (Need::Commander, "skip steps"),
        C::StepAbort => (Need::Commander, "abort steps"),
        C::StepOverride => (Need::Commander, "override the lag guard"),
        C::OverrideAuthority => (Need::Commander, "override authority"),
        C::Resolve => (Need::Commander, "resolve"),
        C::ChecklistTick => (Need::Write, "tick checklist items"),
        C::TakeCommand => (Need::Write, "take the commander lock"),
        C::FacilitatorPause => (Need::Facilitator, "pause the drill"),
        C::FacilitatorInject => (Need::Facilitator, "inject faults"),
        C::FacilitatorHint | C::FacilitatorHintText => (Need::Facilitator, "give hints"),
        C::FacilitatorEnd => (Need::Facilitator, "end the drill"),
        _ => (Need::Anyone, ""),
    }
}

/// Why this console may not do what needs `need` ("cannot {what}"), naming its role.
pub fn refusal(state: &State, need: Need, what: &str) -> Option<String> {
    let facilitator = state.domain.facilitation.facilitator;
    match need {
        Need::Anyone => None,
        Need::Facilitator if facilitator => None,
        Need::Facilitator => {
            Some(format!("not the facilitator: cannot {what} (only `warroom drill --facilitate` can)"))
        }
        _ if facilitator => Some(format!(
            "FACILITATOR console: cannot {what}; the trainees act, you pause, inject, hint and end"
        )),
        _ if state.domain.read_only => Some(format!("READ-ONLY console: cannot {what}")),
        Need::Write => None,
        Need::Commander => super::commander::refusal(state).map(|_| {
            let who = match &state.domain.commander {
                CommanderView::Theirs { holder } => format!("held by {}", holder.identity),
                CommanderView::Free { .. } => "nobody holds the lock".into(),
                CommanderView::Mine { .. } => "your lock expired".into(),
                CommanderView::Pending => "the lock is not known yet".into(),
                CommanderView::Lost { reason } => format!("lock lost: {reason}"),
                CommanderView::Unavailable { error } => format!("lock unavailable: {error}"),
                CommanderView::Unknown => String::new(),
            };
            format!("not the commander ({who}): cannot {what}; press T to take command")
        }),
    }
}

/// Whether `c` (with `modal` open before it) is expected to open a dialog: a confirmation, a
/// prompt or a menu the operator will type into.
pub fn opens_dialog(c: Command, modal: Option<&Modal>) -> bool {
    use Command as C;
    match c {
        C::Select => matches!(modal, Some(Modal::Actions { .. } | Modal::Runbooks { .. })),
        C::Actions
        | C::Runbooks
        | C::RunbookNext
        | C::RunbookAbort
        | C::StepRun
        | C::StepRetry
        | C::StepSkip
        | C::StepAbort
        | C::StepOverride
        | C::StepApprove
        | C::StepReject
        | C::OverrideAuthority
        | C::Resolve
        | C::ChecklistTick
        | C::StatusUpdate
        | C::Note
        | C::TakeCommand
        | C::ReleaseCommand => modal.is_none(),
        _ => false,
    }
}

/// After `c` ran: it was expected to open a dialog and did not (and did nothing else, like
/// taking a free lock): drop the keys typed next.
pub fn after_command(state: &mut State, c: Command, modal_before: Option<&Modal>, fx: &[Effect]) {
    let acted = fx.iter().any(|e| matches!(e, Effect::Commander(_) | Effect::Execute { .. }));
    if opens_dialog(c, modal_before) && state.view.modal.is_none() && !acted {
        let reason = match &state.view.flash {
            Some((text, at)) if *at == state.domain.wall() => text.clone(),
            _ => format!("{} did not open a dialog", c.name()),
        };
        state.view.swallow = Some(Swallow {
            until: state.domain.wall() + Duration::milliseconds(SWALLOW_MS),
            reason,
            dropped: 0,
        });
    }
}

/// A key typed while swallowing: dropped (one flash naming why); Esc ends the swallow.
pub fn swallowed(state: &mut State, edit: TextEdit) {
    let now = state.domain.wall();
    let Some(sw) = state.view.swallow.as_mut() else { return };
    if edit == TextEdit::Cancel {
        state.view.swallow = None;
        state.view.flash = None;
        return;
    }
    sw.dropped += 1;
    sw.until = now + Duration::milliseconds(SWALLOW_MS);
    let text = format!("keys ignored: {} (esc: keys act again)", sw.reason);
    if state.view.flash.as_ref().map(|(t, _)| t) != Some(&text) {
        flash(state, text);
    }
}

/// The tick: a swallow ends [`SWALLOW_MS`] after the last dropped key.
pub fn expire(state: &mut State) {
    if state.view.swallow.as_ref().is_some_and(|s| state.domain.wall() >= s.until) {
        state.view.swallow = None;
    }
}

/// Open the y/n confirmation of `action`, or flash why there is nothing to confirm.
pub fn ask(state: &mut State, action: KeyAction) {
    match describe(state, &action) {
        Ok(what) => state.view.modal = Some(Modal::ConfirmKey { what, action }),
        Err(why) => flash(state, why),
    }
}

/// `y` in a [`Modal::ConfirmKey`]: do it (the role is checked again: it may have changed).
pub fn confirm(state: &mut State, action: KeyAction, fx: &mut Vec<Effect>) {
    state.view.modal = None;
    let (need, what) = match &action {
        KeyAction::ReleaseCommand => (Need::Anyone, ""),
        KeyAction::Resolve { .. } => (Need::Commander, "resolve"),
        KeyAction::AbortRunbook => (Need::Commander, "abort the runbook"),
        KeyAction::AbortStep(_) => (Need::Commander, "abort steps"),
        KeyAction::SkipStep { .. } => (Need::Commander, "skip steps"),
        KeyAction::EndDrill => (Need::Facilitator, "end the drill"),
        KeyAction::UntickChecklist { .. } => (Need::Write, "untick checklist items"),
        // Who may decide is `approval::may_decide`'s (read-only consoles included, if allowed).
        KeyAction::DecideStep { .. } => (Need::Anyone, ""),
    };
    if let Some(why) = refusal(state, need, what) {
        return flash(state, why);
    }
    if let Err(why) = describe(state, &action) {
        return flash(state, why);
    }
    match action {
        KeyAction::AbortRunbook => super::runbook_flow::abort(state, fx),
        KeyAction::AbortStep(id) => pipeline::abort(state, id, fx),
        KeyAction::SkipStep { step, reason } => pipeline::skip(state, step, reason, fx),
        KeyAction::Resolve { summary } => super::update::resolve(state, summary, fx),
        KeyAction::ReleaseCommand => super::commander::release(state, fx),
        KeyAction::EndDrill => super::facilitator::end(state, fx),
        KeyAction::UntickChecklist { item, note } => super::update::untick_checklist(state, &item, note, fx),
        KeyAction::DecideStep { step, approve, reason, digest } => {
            super::approval::decide(state, step, approve, reason, &digest, fx)
        }
    }
}

/// `n` or Esc in a [`Modal::ConfirmKey`].
pub fn cancel(state: &mut State) {
    state.view.modal = None;
    flash(state, "cancelled: nothing was done");
}

/// Exactly what `action` does now, or why it cannot be done.
fn describe(state: &State, action: &KeyAction) -> Result<String, String> {
    match action {
        KeyAction::AbortRunbook => describe_abort_runbook(state),
        KeyAction::AbortStep(id) => {
            let (title, in_runbook) = step_open(state, *id, "abort")?;
            let stops = if in_runbook { " Its runbook is aborted with it." } else { "" };
            Ok(format!("Abort step #{id}{title}. It will not run.{stops} Logged."))
        }
        KeyAction::SkipStep { step, reason } => {
            let (title, in_runbook) = step_open(state, *step, "skip")?;
            let next = if in_runbook { " The runbook goes on with its next step." } else { "" };
            Ok(format!("Skip step #{step}{title}. It will not run.{next} Reason logged: \"{reason}\"."))
        }
        KeyAction::Resolve { summary } => match state.domain.resolved {
            Some(_) => Err("the incident is already resolved".into()),
            None => Ok(format!(
                "Resolve incident {} at {}: the log records it resolved with \"{summary}\"; checklist reminders stop.",
                state.domain.incident.id,
                state.domain.clock_text()
            )),
        },
        KeyAction::EndDrill => match state.domain.resolved {
            Some(_) => Err("the drill has already ended".into()),
            None => Ok(format!(
                "End the drill at {}: logged, the incident is resolved and every console shows its scorecard.",
                state.domain.clock_text()
            )),
        },
        KeyAction::UntickChecklist { item, note } => describe_untick(state, item, note.as_deref()),
        KeyAction::DecideStep { step, approve, reason, digest } => {
            super::approval::ask_text(state, *step, *approve, reason.as_deref(), digest)
        }
        KeyAction::ReleaseCommand => {
            if !matches!(state.domain.commander, CommanderView::Mine { .. }) {
                Err("you do not hold the commander lock".into())
            } else if state.domain.steps.iter().any(|s| s.status.is_active()) {
                Err("a step is in flight: release the commander lock after it finishes".into())
            } else {
                Ok("Release the commander lock: this console stops executing steps until it takes command again; any console may take it. Logged.".into())
            }
        }
    }
}

/// Step `id` can still be aborted or skipped: its " (runbook step key): title" and whether it
/// belongs to a runbook; else why not.
fn step_open(state: &State, id: u64, verb: &str) -> Result<(String, bool), String> {
    let step = state.domain.step(id).ok_or_else(|| format!("step #{id} no longer exists"))?;
    if step.status.is_terminal() || step.status == StepStatus::Executing {
        return Err(format!("step #{id} is {}: cannot {verb} it", step.status.label()));
    }
    let key = step.runbook_key.as_ref().map(|k| format!(" (runbook step {k})")).unwrap_or_default();
    Ok((format!("{key}: {}", step.preview.title), step.runbook_key.is_some()))
}

/// What unticking `id` does: the item is open (and due) again; or why it cannot be unticked.
fn describe_untick(state: &State, id: &str, note: Option<&str>) -> Result<String, String> {
    let item = state.domain.checklist.item(id).ok_or_else(|| format!("unknown checklist item \"{id}\""))?;
    let Some((at, by)) = item.done.as_ref().filter(|_| !item.is_recurring()) else {
        return Err(format!("'{}' is not ticked", item.text));
    };
    let by = by.as_deref().map(|b| format!(" ({b})")).unwrap_or_default();
    let why = note.map(|n| format!(" Reason logged: \"{n}\".")).unwrap_or_default();
    Ok(format!(
        "Untick '{}', ticked at {} UTC{by}: it is open again (and overdue if its time has passed). Logged.{why}",
        item.text,
        at.format("%H:%M:%S"),
    ))
}

fn describe_abort_runbook(state: &State) -> Result<String, String> {
    let run = state
        .domain
        .runbook
        .as_ref()
        .filter(|r| r.active())
        .ok_or_else(|| "no runbook is running".to_string())?;
    let status = |sid: &u64| state.domain.step(*sid).map(|s| s.status.clone());
    let open: Vec<u64> = run
        .steps
        .iter()
        .map(|(sid, _, _)| *sid)
        .filter(|sid| status(sid).is_some_and(|s| !s.is_terminal()))
        .collect();
    if open.iter().any(|sid| status(sid) == Some(StepStatus::Executing)) {
        return Err("a step is executing: wait for its result, then abort".into());
    }
    // The step that came up (not one still waiting its turn) is the one marked aborted.
    let current = open.iter().find(|sid| status(sid) != Some(StepStatus::Proposed));
    Ok(format!(
        "Abort runbook {} ({}): its {} remaining step{} will not run{}. Logged; nothing already done is undone.",
        run.runbook.id(),
        run.runbook.title,
        open.len(),
        if open.len() == 1 { "" } else { "s" },
        current.map(|id| format!(", step #{id} is marked aborted")).unwrap_or_default(),
    ))
}
