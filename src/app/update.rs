//! `update(&mut State, Action, now) -> Vec<Effect>`: the whole behaviour of the console.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::action::{Action, TextEdit};
use super::effect::Effect;
use super::guard::{self, KeyAction, Need};
use super::pipeline::{self, flash, log};
use super::propose::proposals;
use super::runbook_flow;
use super::state::{LOG_TAIL_MAX, Modal, PaneId, PromptPurpose, Proposal, State};
use super::status_update;
use crate::backends::Observed;
use crate::command::Command;
use crate::incident::entry::EntryKind;
use crate::incident::observations;

/// How long a flash message stays.
const FLASH_SECS: i64 = 6;

/// Apply one action to the state; return the effects it asks for.
pub fn update(state: &mut State, action: Action, now: DateTime<Utc>) -> Vec<Effect> {
    let prev_now = state.now;
    state.now = now;
    let mut fx = Vec::new();
    match action {
        Action::Tick => {
            if state.flash.as_ref().is_some_and(|(_, at)| now - *at > Duration::seconds(FLASH_SECS)) {
                state.flash = None;
            }
            guard::expire(state);
            pipeline::verify_all(state, &mut fx);
            checklist_due(state, prev_now, &mut fx);
        }
        Action::Command(c) => command(state, c, &mut fx),
        Action::Text(edit) => text(state, edit, &mut fx),
        Action::Resize(..) => {}
        Action::Kube(s) => observe(state, &mut fx, |o| o.kube = s),
        Action::Database(s) => observe(state, &mut fx, |o| o.database = s),
        Action::Sentinel(s) => observe(state, &mut fx, |o| o.sentinel = s),
        Action::Traffic(s) => observe(state, &mut fx, |o| o.traffic = s),
        Action::StepExecuted { step, result } => pipeline::executed(state, step, result, &mut fx),
        Action::Logged(line) => push_log_line(state, line),
        Action::Mirrored(entry) => {
            push_log_line(state, entry.to_log_line());
            super::mirror::apply(state, &entry);
        }
        Action::LogFailed(error) => {
            let msg = format!("INCIDENT LOG WRITE FAILED: {error}");
            flash(state, msg.clone());
            state.warnings.push(msg);
        }
        Action::Shutdown => {
            state.quit = true;
            fx.push(Effect::Quit);
        }
        Action::Commander(view) => super::commander::observe(state, view, &mut fx),
    }
    runbook_flow::sync(state, &mut fx);
    runbook_flow::revive_skipped(state, &mut fx);
    // Every console tracks recovery (it is shown); only one that records observations logs it.
    let mut measured = Vec::new();
    super::measure::track(state, &mut measured);
    if state.records_observations {
        fx.extend(measured);
    }
    fx
}

/// Entries arrive from this console's writer and from the follower (which also sees other
/// consoles' entries): keep the tail ordered by seq, without duplicates.
fn push_log_line(state: &mut State, line: crate::incident::entry::LogLine) {
    match state.log_tail.back() {
        None => state.log_tail.push_back(line),
        Some(last) if line.seq > last.seq => state.log_tail.push_back(line),
        Some(_) => {
            if let Err(i) = state.log_tail.binary_search_by_key(&line.seq, |l| l.seq) {
                state.log_tail.insert(i, line);
            }
        }
    }
    while state.log_tail.len() > LOG_TAIL_MAX {
        state.log_tail.pop_front();
    }
}

/// Replace one snapshot, log what changed (deduplicated observations), re-verify steps.
fn observe(state: &mut State, fx: &mut Vec<Effect>, set: impl FnOnce(&mut Observed)) {
    let prev = state.observed.clone();
    set(&mut state.observed);
    let max_lag = state.config.postgres.as_ref().map_or(0, |p| p.max_lag_bytes);
    // A console that joined a drill shows the host's estate; the host records it.
    if state.records_observations {
        for o in observations::diff(&prev, &state.observed, max_lag) {
            log(state, fx, o.kind, o.summary, o.details);
        }
    }
    super::authority::expire_overrides(state, fx);
    pipeline::verify_all(state, fx);
}

/// Items that became overdue since the last tick ring the bell once.
fn checklist_due(state: &mut State, prev_now: DateTime<Utc>, fx: &mut Vec<Effect>) {
    if prev_now >= state.now || state.resolved.is_some() {
        return;
    }
    let due = state.checklist.newly_overdue(state.incident.declared_at, prev_now, state.now);
    if due.is_empty() {
        return;
    }
    let names: Vec<String> =
        due.iter().filter_map(|id| state.checklist.item(id)).map(|i| i.text.clone()).collect();
    flash(state, format!("OVERDUE: {}", names.join("; ")));
    fx.push(Effect::Bell);
}

/// Whether `modal` is a dialog that asks for a decision or text (its flashes end with it).
fn is_dialog(modal: Option<&Modal>) -> bool {
    matches!(
        modal,
        Some(
            Modal::Confirm { .. }
                | Modal::ConfirmKey { .. }
                | Modal::Prompt { .. }
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
    if is_dialog(modal_before) && state.modal.is_none() && state.flash == *flash_before {
        state.flash = None;
    }
}

/// A command: refused by the console's role (one flash, nothing logged), else run; a command
/// that should have opened a dialog and did not starts dropping keys ([`guard`]).
fn command(state: &mut State, c: Command, fx: &mut Vec<Effect>) {
    let modal_before = state.modal.clone();
    let flash_before = state.flash.clone();
    let (need, what) = guard::need(c, modal_before.as_ref());
    if let Some(why) = guard::refusal(state, need, what) {
        if matches!(state.modal, Some(Modal::Actions { .. } | Modal::Runbooks { .. })) {
            state.modal = None;
        }
        state.quit_armed = false;
        flash(state, why);
    } else {
        run_command(state, c, fx);
    }
    guard::after_command(state, c, modal_before.as_ref(), fx);
    clear_stale_flash(state, modal_before.as_ref(), &flash_before);
}

fn run_command(state: &mut State, c: Command, fx: &mut Vec<Effect>) {
    if c != Command::Quit {
        state.quit_armed = false;
    }
    match c {
        Command::Quit => {
            let busy = state.steps.iter().any(|s| s.status.is_active());
            if busy && !state.quit_armed {
                state.quit_armed = true;
                flash(
                    state,
                    "a step is in flight: press quit again to leave anyway (its outcome will be unknown)",
                );
            } else {
                state.quit = true;
                fx.push(Effect::Quit);
            }
        }
        Command::Help => {
            state.modal = if state.modal == Some(Modal::Help) { None } else { Some(Modal::Help) };
            state.help_scroll = 0;
        }
        Command::Close => close(state, fx),
        Command::Verdict => {
            state.modal = if state.modal == Some(Modal::Verdict) { None } else { Some(Modal::Verdict) };
        }
        Command::FocusNext | Command::FocusPrev => {
            let n = PaneId::ALL.len();
            let i = state.focus.index();
            let j = if c == Command::FocusNext { (i + 1) % n } else { (i + n - 1) % n };
            state.focus = PaneId::ALL[j];
        }
        Command::FocusPods => state.focus = PaneId::Pods,
        Command::FocusDatabase => state.focus = PaneId::Database,
        Command::FocusSentinel => state.focus = PaneId::Sentinel,
        Command::FocusTraffic => state.focus = PaneId::Traffic,
        Command::FocusSteps => state.focus = PaneId::Steps,
        Command::FocusChecklist => state.focus = PaneId::Checklist,
        Command::FocusLog => state.focus = PaneId::Log,
        Command::Zoom => state.zoomed = !state.zoomed,
        Command::ScrollUp => scroll(state, -1),
        Command::ScrollDown => scroll(state, 1),
        Command::PageUp => scroll(state, -10),
        Command::PageDown => scroll(state, 10),
        Command::ScrollTop => scroll(state, i64::MIN / 2),
        Command::ScrollBottom => scroll(state, i64::MAX / 2),
        Command::Actions => {
            let items = proposals(state);
            if items.is_empty() {
                flash(state, "nothing to propose: no layer is configured");
            } else {
                state.modal = Some(Modal::Actions { items, selected: 0 });
            }
        }
        Command::Select => match state.modal.take() {
            Some(Modal::Actions { items, selected }) => match items.get(selected).cloned() {
                Some(Proposal { blocked: Some(why), .. }) => {
                    flash(state, format!("not offered now: {why}"));
                    state.modal = Some(Modal::Actions { items, selected });
                }
                Some(p) => {
                    pipeline::propose(state, p.op, p.why, fx);
                }
                None => {}
            },
            Some(Modal::Runbooks { selected }) => {
                let id = runbook_flow::picker_entries(state).get(selected).map(|e| e.id.clone());
                if let Some(id) = id
                    && let Err(why) = runbook_flow::start(state, &id, &[], None, fx)
                {
                    flash(state, why);
                }
            }
            other => state.modal = other,
        },
        Command::Runbooks => runbook_flow::open_picker(state),
        Command::RunbookNext => runbook_flow::next(state, fx),
        Command::RunbookAbort => guard::ask(state, KeyAction::AbortRunbook),
        Command::StepRun => with_selected_step(state, fx, |state, id, fx| {
            use super::step::StepStatus as S;
            let runbook_step = state.step(id).is_some_and(|s| s.runbook_key.is_some());
            match state.step(id).map(|s| s.status.clone()) {
                Some(S::Proposed | S::Prechecked) if runbook_step => {
                    if runbook_flow::is_next(state, id) {
                        runbook_flow::next(state, fx)
                    } else {
                        flash(
                            state,
                            "runbook steps run in order: press the runbook-next key for the next one",
                        )
                    }
                }
                Some(S::Proposed | S::Prechecked | S::AwaitingConfirm) => {
                    pipeline::open_confirm(state, id, fx)
                }
                Some(S::Failed { .. } | S::OutcomeUnknown) => {
                    flash(state, "step failed: retry (prechecks run again), skip with a reason, or abort")
                }
                Some(s) => flash(state, format!("step #{id} is {}", s.label())),
                None => {}
            }
        }),
        Command::StepRetry => with_selected_step(state, fx, pipeline::retry),
        Command::StepSkip => with_selected_step(state, fx, |state, id, _| {
            state.modal = Some(Modal::Prompt {
                purpose: PromptPurpose::SkipReason(id),
                label: format!("Reason for skipping step #{id}"),
                text: String::new(),
            });
        }),
        Command::StepAbort => {
            with_selected_step(state, fx, |state, id, _| guard::ask(state, KeyAction::AbortStep(id)))
        }
        Command::StepOverride if state.read_only => {
            flash(state, "READ-ONLY console: overrides are for the console that executes steps")
        }
        Command::StepOverride => {
            with_selected_step(state, fx, |state, id, _| match pipeline::lag_override_candidate(state, id) {
                Ok(lag) => {
                    state.modal = Some(Modal::Prompt {
                        purpose: PromptPurpose::AcceptDataLoss(id),
                        label: format!(
                            "Promote anyway: type the bytes of data loss you accept (replay lag now {lag} B)"
                        ),
                        text: String::new(),
                    })
                }
                Err(why) => flash(state, why),
            })
        }
        Command::ConfirmYes => match state.modal {
            Some(Modal::Confirm { step, .. }) => {
                let manual = state
                    .step(step)
                    .is_some_and(|s| matches!(s.op, crate::operation::Operation::Manual { .. }));
                if manual && !state.read_only {
                    state.modal = Some(Modal::Prompt {
                        purpose: PromptPurpose::ManualNote(step),
                        label: format!("Step #{step} done by hand: what was done? (logged; Enter ticks it)"),
                        text: String::new(),
                    });
                } else {
                    pipeline::confirm_yes(state, step, fx);
                }
            }
            Some(Modal::TakeCommand { .. }) => super::commander::confirm_takeover(state, fx),
            Some(Modal::ConfirmKey { .. }) => {
                if let Some(Modal::ConfirmKey { action, .. }) = state.modal.take() {
                    guard::confirm(state, action, fx);
                }
            }
            _ => {}
        },
        Command::ConfirmNo => match state.modal {
            Some(Modal::Confirm { step, .. }) => pipeline::cancel_confirm(state, step, fx),
            Some(Modal::TakeCommand { .. }) => state.modal = None,
            Some(Modal::ConfirmKey { .. }) => guard::cancel(state),
            _ => {}
        },
        Command::TakeCommand => super::commander::take(state, fx),
        Command::ReleaseCommand => guard::ask(state, KeyAction::ReleaseCommand),
        Command::ChecklistTick => {
            let i = state.selected[PaneId::Checklist.index()];
            if let Some(item) = state.checklist.items.get(i) {
                state.modal = Some(Modal::Prompt {
                    purpose: PromptPurpose::ChecklistNote(item.id.clone()),
                    label: format!("Tick '{}' (optional note)", item.text),
                    text: String::new(),
                });
            }
        }
        Command::StatusUpdate => {
            let t0 = state.incident.declared_at;
            let next = state
                .checklist
                .items
                .iter()
                .filter(|i| i.is_recurring())
                .filter_map(|i| crate::incident::checklist::Checklist::due_at(i, t0))
                .min();
            let draft =
                status_update::compose(&state.incident, &state.observed, &state.steps, state.now, next);
            let label = match guard::refusal(state, Need::Commander, "post status updates") {
                None => "Status update: edit, Enter posts it (logged, copied to the clipboard)".into(),
                Some(why) => format!("Status update DRAFT ({why}): Enter copies it, nothing is posted"),
            };
            state.modal = Some(Modal::Prompt { purpose: PromptPurpose::StatusUpdate, label, text: draft });
        }
        Command::Resolve => {
            if state.resolved.is_some() {
                flash(state, "the incident is already resolved");
            } else {
                state.modal = Some(Modal::Prompt {
                    purpose: PromptPurpose::Resolve,
                    label: "Resolve the incident: one-line summary".into(),
                    text: String::new(),
                });
            }
        }
        Command::OverrideAuthority => super::authority::open_prompt(state),
        Command::Note => {
            state.modal = Some(Modal::Prompt {
                purpose: PromptPurpose::Note,
                label: "Note for the incident log".into(),
                text: String::new(),
            });
        }
    }
}

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

fn close(state: &mut State, fx: &mut Vec<Effect>) {
    match state.modal.take() {
        Some(Modal::Confirm { step, .. }) => pipeline::cancel_confirm(state, step, fx),
        Some(Modal::ConfirmKey { .. }) => guard::cancel(state),
        Some(_) => {}
        None => {
            // Esc with nothing open leaves zoom and dismisses the message.
            state.zoomed = false;
            state.flash = None;
        }
    }
}

fn text(state: &mut State, edit: TextEdit, fx: &mut Vec<Effect>) {
    let modal_before = state.modal.clone();
    let flash_before = state.flash.clone();
    text_edit(state, edit, fx);
    clear_stale_flash(state, modal_before.as_ref(), &flash_before);
}

fn text_edit(state: &mut State, edit: TextEdit, fx: &mut Vec<Effect>) {
    match state.modal.take() {
        Some(Modal::Confirm { step, mut typed }) => match edit {
            TextEdit::Char(c) => {
                typed.push(c);
                state.modal = Some(Modal::Confirm { step, typed });
            }
            TextEdit::Backspace => {
                typed.pop();
                state.modal = Some(Modal::Confirm { step, typed });
            }
            TextEdit::Submit => pipeline::submit_typed(state, step, typed, fx),
            TextEdit::Cancel => pipeline::cancel_confirm(state, step, fx),
        },
        Some(Modal::Prompt { purpose, label, mut text }) => match edit {
            TextEdit::Char(c) => {
                text.push(c);
                state.modal = Some(Modal::Prompt { purpose, label, text });
            }
            TextEdit::Backspace => {
                text.pop();
                state.modal = Some(Modal::Prompt { purpose, label, text });
            }
            TextEdit::Cancel => {}
            TextEdit::Submit => submit_prompt(state, purpose, label, text, fx),
        },
        None if state.swallow.is_some() => guard::swallowed(state, edit),
        other => state.modal = other,
    }
}

fn submit_prompt(
    state: &mut State,
    purpose: PromptPurpose,
    label: String,
    text: String,
    fx: &mut Vec<Effect>,
) {
    let text = text.trim().to_string();
    // The role may have changed while the prompt was open: check again before anything is logged.
    let need = match purpose {
        PromptPurpose::Note | PromptPurpose::StatusUpdate => (Need::Anyone, ""),
        PromptPurpose::ChecklistNote(_) => (Need::Write, "tick checklist items"),
        PromptPurpose::SkipReason(_) => (Need::Commander, "skip steps"),
        PromptPurpose::Resolve => (Need::Commander, "resolve"),
        PromptPurpose::ManualNote(_) => (Need::Commander, "run steps"),
        PromptPurpose::AcceptDataLoss(_) => (Need::Commander, "override the lag guard"),
        PromptPurpose::AuthorityOverride(_) => (Need::Commander, "override authority"),
    };
    if let Some(why) = guard::refusal(state, need.0, need.1) {
        return flash(state, why);
    }
    match purpose {
        PromptPurpose::ManualNote(id) => {
            if text.is_empty() {
                flash(state, "say what was done: the note goes into the incident log");
                state.modal = Some(Modal::Prompt { purpose, label, text });
            } else {
                if let Some(step) = state.step_mut(id) {
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
        }
        PromptPurpose::SkipReason(id) => {
            if text.is_empty() {
                flash(state, "a reason is required to skip a step");
                state.modal = Some(Modal::Prompt { purpose, label, text });
            } else {
                guard::ask(state, KeyAction::SkipStep { step: id, reason: text });
            }
        }
        PromptPurpose::Note => {
            if !text.is_empty() {
                log(state, fx, EntryKind::Note, text.clone(), json!({ "text": text }));
            }
        }
        PromptPurpose::ChecklistNote(id) => {
            let note = (!text.is_empty()).then_some(text);
            match state.checklist.tick(&id, state.now, note.clone()) {
                Ok(()) => {
                    let what = state.checklist.item(&id).map_or(id.clone(), |i| i.text.clone());
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
        PromptPurpose::StatusUpdate => {
            if text.is_empty() {
                flash(state, "empty status update: not posted");
                return;
            }
            if let Some(why) = guard::refusal(state, Need::Commander, "post status updates") {
                fx.push(Effect::Copy(text));
                let msg = format!("draft copied to the clipboard (OSC 52), NOT posted or logged: {why}");
                return flash(state, msg);
            }
            state.checklist.record_status_update(state.now);
            let first = text.lines().next().unwrap_or_default().to_string();
            log(
                state,
                fx,
                EntryKind::StatusUpdate,
                format!("status update posted: {first}"),
                json!({ "text": text }),
            );
            fx.push(Effect::Copy(text));
            flash(state, "status update posted to the log and copied to the clipboard (OSC 52)");
        }
        PromptPurpose::AcceptDataLoss(id) => match text.parse::<u64>() {
            Ok(bytes) => pipeline::override_lag(state, id, bytes, fx),
            Err(_) => {
                flash(state, format!("'{text}' is not a number of bytes: nothing accepted"));
                state.modal = Some(Modal::Prompt { purpose, label, text: String::new() });
            }
        },
        PromptPurpose::AuthorityOverride(layer) => super::authority::submit(state, layer, label, text, fx),
        PromptPurpose::Resolve => {
            if text.is_empty() {
                flash(state, "a one-line summary is required to resolve");
                state.modal = Some(Modal::Prompt { purpose, label, text });
                return;
            }
            guard::ask(state, KeyAction::Resolve { summary: text });
        }
    }
}

/// Resolve the incident with `summary` (confirmed with y: see [`guard`]).
pub fn resolve(state: &mut State, summary: String, fx: &mut Vec<Effect>) {
    state.resolved = Some((state.now, summary.clone()));
    log(
        state,
        fx,
        EntryKind::Resolved,
        format!("incident resolved: {summary}"),
        json!({ "summary": summary }),
    );
}

fn row_count(state: &State, pane: PaneId) -> usize {
    let o = &state.observed;
    match pane {
        PaneId::Pods => o.kube.value.as_ref().map_or(0, |k| k.pods.len()),
        PaneId::Database => o.database.value.as_ref().map_or(0, |d| d.nodes.len()),
        PaneId::Sentinel => {
            o.sentinel.value.as_ref().map_or(0, |s| s.sentinels.len() + s.replicas.len() + s.events.len())
        }
        PaneId::Traffic => o.traffic.value.as_ref().map_or(0, |t| t.regions.len()),
        PaneId::Steps => state.steps.len(),
        PaneId::Checklist => state.checklist.items.len(),
        PaneId::Log => state.log_tail.len(),
    }
}

fn scroll(state: &mut State, delta: i64) {
    match &mut state.modal {
        Some(Modal::Actions { items, selected }) => {
            *selected = clamp_add(*selected, delta, items.len());
        }
        Some(Modal::Runbooks { selected }) => {
            *selected = clamp_add(*selected, delta, state.runbooks.entries.len());
        }
        Some(Modal::Help) => state.help_scroll = clamp_add(state.help_scroll, delta, 500),
        Some(_) => {}
        None => {
            let n = row_count(state, state.focus);
            let i = state.focus.index();
            state.selected[i] = clamp_add(state.selected[i], delta, n);
        }
    }
}

fn clamp_add(v: usize, delta: i64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (v as i64).saturating_add(delta).clamp(0, len as i64 - 1) as usize
}
