//! Typing into the open confirmation or prompt, and what submitting each prompt does.

use crate::incident::entry::EntryKind;
use serde_json::json;

use crate::app::action::TextEdit;
use crate::app::composer::Outcome;
use crate::app::effect::Effect;
use crate::app::guard::{self, KeyAction, Need};
use crate::app::pipeline::{self, flash, log};
use crate::app::state::{Modal, PromptPurpose, State};

/// Apply a text edit to the open dialog (typed confirmation or prompt); keys right after a
/// dialog failed to open are swallowed ([`guard`]).
pub(super) fn edit(state: &mut State, edit: TextEdit, fx: &mut Vec<Effect>) {
    match state.view.modal.take() {
        Some(Modal::Confirm { step, mut typed }) => match edit {
            TextEdit::Char(c) => {
                typed.push(c);
                state.view.modal = Some(Modal::Confirm { step, typed });
            }
            TextEdit::Backspace => {
                typed.pop();
                state.view.modal = Some(Modal::Confirm { step, typed });
            }
            TextEdit::Submit => pipeline::submit_typed(state, step, typed, fx),
            TextEdit::Cancel => pipeline::cancel_confirm(state, step, fx),
            TextEdit::Paste(p) => {
                typed.extend(p.chars().filter(|c| !c.is_control()));
                state.view.modal = Some(Modal::Confirm { step, typed });
            }
            _ => state.view.modal = Some(Modal::Confirm { step, typed }),
        },
        Some(Modal::Composer { label, mut buffer }) => match buffer.apply(&edit) {
            Outcome::Editing => state.view.modal = Some(Modal::Composer { label, buffer }),
            Outcome::Cancel => {}
            Outcome::Submit => {
                let text = buffer.text().trim().to_string();
                submit(state, Prompt { purpose: PromptPurpose::StatusUpdate, label, text }, fx)
            }
        },
        Some(Modal::Prompt { purpose, label, mut text }) => match edit {
            TextEdit::Char(c) => {
                text.push(c);
                state.view.modal = Some(Modal::Prompt { purpose, label, text });
            }
            TextEdit::Backspace => {
                text.pop();
                state.view.modal = Some(Modal::Prompt { purpose, label, text });
            }
            TextEdit::Cancel => {}
            TextEdit::Submit => submit(state, Prompt { purpose, label, text: text.trim().to_string() }, fx),
            TextEdit::Paste(p) => {
                // One line: a pasted line break becomes a space, other control characters go.
                let flat = p.replace("\r\n", " ").replace(['\n', '\r', '\t'], " ");
                text.extend(flat.chars().filter(|c| !c.is_control()));
                state.view.modal = Some(Modal::Prompt { purpose, label, text });
            }
            _ => state.view.modal = Some(Modal::Prompt { purpose, label, text }),
        },
        None if state.view.swallow.is_some() => guard::swallowed(state, edit),
        other => state.view.modal = other,
    }
}

/// A submitted prompt (its text trimmed).
struct Prompt {
    purpose: PromptPurpose,
    label: String,
    text: String,
}

impl Prompt {
    /// Keep the prompt open (e.g. the text is required).
    fn reopen(self, state: &mut State) {
        state.view.modal = Some(Modal::Prompt { purpose: self.purpose, label: self.label, text: self.text });
    }
}

/// Who may submit a prompt for `purpose`, and what it does (for the refusal).
fn need(purpose: &PromptPurpose) -> (Need, &'static str) {
    match purpose {
        PromptPurpose::Note | PromptPurpose::StatusUpdate => (Need::Anyone, ""),
        PromptPurpose::Hint => (Need::Facilitator, "give hints"),
        PromptPurpose::ChecklistNote(_) => (Need::Write, "tick checklist items"),
        PromptPurpose::ChecklistUntick(_) => (Need::Write, "untick checklist items"),
        PromptPurpose::SkipReason(_) => (Need::Commander, "skip steps"),
        PromptPurpose::RejectReason(_) => (Need::Anyone, ""),
        PromptPurpose::Resolve => (Need::Commander, "resolve"),
        PromptPurpose::ManualNote(_) => (Need::Commander, "run steps"),
        PromptPurpose::AcceptDataLoss(_) => (Need::Commander, "override the lag guard"),
        PromptPurpose::AuthorityOverride(_) => (Need::Commander, "override authority"),
    }
}

/// Submit a prompt. The role may have changed while it was open: it is checked again before
/// anything is logged.
fn submit(state: &mut State, p: Prompt, fx: &mut Vec<Effect>) {
    let (need, what) = need(&p.purpose);
    if let Some(why) = guard::refusal(state, need, what) {
        return flash(state, why);
    }
    match p.purpose.clone() {
        PromptPurpose::ManualNote(_) if p.text.is_empty() => {
            flash(state, "say what was done: the note goes into the incident log");
            p.reopen(state);
        }
        PromptPurpose::ManualNote(id) => manual_note(state, id, p.text, fx),
        PromptPurpose::SkipReason(_) if p.text.is_empty() => {
            flash(state, "a reason is required to skip a step");
            p.reopen(state);
        }
        PromptPurpose::SkipReason(id) => guard::ask(state, KeyAction::SkipStep { step: id, reason: p.text }),
        PromptPurpose::RejectReason(_) if p.text.trim().is_empty() => {
            flash(state, "a reason is required to reject a step");
            p.reopen(state);
        }
        PromptPurpose::RejectReason(id) => crate::app::approval::ask(state, id, false, Some(p.text)),
        PromptPurpose::Note => {
            if !p.text.is_empty() {
                log(state, fx, EntryKind::Note, p.text.clone(), json!({ "text": p.text }));
            }
        }
        PromptPurpose::Hint if p.text.trim().is_empty() => flash(state, "an empty hint is not given"),
        PromptPurpose::Hint => crate::app::facilitator::give_hint(state, p.text, None, "facilitator", fx),
        PromptPurpose::ChecklistNote(id) => checklist_note(state, &id, p.text, fx),
        PromptPurpose::ChecklistUntick(item) => {
            let note = (!p.text.trim().is_empty()).then_some(p.text);
            guard::ask(state, KeyAction::UntickChecklist { item, note })
        }
        PromptPurpose::StatusUpdate => status_update(state, p.label, p.text, fx),
        PromptPurpose::AcceptDataLoss(id) => match p.text.parse::<u64>() {
            Ok(bytes) => pipeline::override_lag(state, id, bytes, fx),
            Err(_) => {
                flash(state, format!("'{}' is not a number of bytes: nothing accepted", p.text));
                Prompt { text: String::new(), ..p }.reopen(state);
            }
        },
        PromptPurpose::AuthorityOverride(layer) => {
            crate::app::authority::submit(state, layer, p.label, p.text, fx)
        }
        PromptPurpose::Resolve if p.text.is_empty() => {
            flash(state, "a one-line summary is required to resolve");
            p.reopen(state);
        }
        PromptPurpose::Resolve => guard::ask(state, KeyAction::Resolve { summary: p.text }),
    }
}

/// What was done by hand for step `id`: noted on the step and logged, then the step is confirmed.
fn manual_note(state: &mut State, id: u64, text: String, fx: &mut Vec<Effect>) {
    if let Some(step) = state.domain.step_mut(id) {
        step.output.push(format!("note: {text}"));
    }
    log(
        state,
        fx,
        EntryKind::StepNote,
        format!("step #{id} note: {text}"),
        json!({ "step": id, "note": text }),
    );
    pipeline::confirm(state, id, None, fx);
}

/// Untick checklist item `id` (confirmed): logged as a `checklist` entry with `undone: true`.
pub(crate) fn untick_checklist(state: &mut State, id: &str, note: Option<String>, fx: &mut Vec<Effect>) {
    match state.domain.checklist.untick(id) {
        Ok(()) => {
            let what = state.domain.checklist.item(id).map_or(id.to_string(), |i| i.text.clone());
            let why = note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
            let details = json!({ "item": id, "undone": true, "note": note });
            log(state, fx, EntryKind::Checklist, format!("checklist: unticked {what}{why}"), details);
            flash(state, format!("unticked '{what}': it is open again"));
        }
        Err(e) => flash(state, e),
    }
}

/// Tick checklist item `id` with an optional note.
fn checklist_note(state: &mut State, id: &str, text: String, fx: &mut Vec<Effect>) {
    let note = (!text.is_empty()).then_some(text);
    match state.domain.checklist.tick(id, state.domain.now, note.clone()) {
        Ok(()) => {
            let what = state.domain.checklist.item(id).map_or(id.to_string(), |i| i.text.clone());
            log(
                state,
                fx,
                EntryKind::Checklist,
                format!("checklist: {what}"),
                json!({ "item": id, "note": note }),
            );
        }
        Err(e) => flash(state, e),
    }
}

/// Post a status update (logged and copied), or, for a console that may not post, copy the draft.
fn status_update(state: &mut State, label: String, text: String, fx: &mut Vec<Effect>) {
    if text.is_empty() {
        return flash(state, "empty status update: not posted");
    }
    if let Some(why) = guard::refusal(state, Need::Commander, "post status updates") {
        fx.push(Effect::Copy(text));
        let msg = format!("draft copied to the clipboard (OSC 52), NOT posted or logged: {why}");
        return flash(state, msg);
    }
    if crate::app::notify::has_targets(state) {
        return crate::app::notify::open_preview(state, label, text);
    }
    post_status_update(state, text, fx);
    flash(state, "status update posted to the log and copied to the clipboard (OSC 52)");
}

/// Post a status update: the checklist records it, a `status-update` entry, the clipboard.
pub(crate) fn post_status_update(state: &mut State, text: String, fx: &mut Vec<Effect>) {
    state.domain.checklist.record_status_update(state.domain.now);
    let first = text.lines().next().unwrap_or_default().to_string();
    log(
        state,
        fx,
        EntryKind::StatusUpdate,
        format!("status update posted: {first}"),
        json!({ "text": text }),
    );
    fx.push(Effect::Copy(text));
}
