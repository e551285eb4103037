//! The step pipeline: Proposed -> Prechecked -> AwaitingConfirm -> Executing -> Verifying -> Done |
//! Failed | Skipped | Aborted (with AwaitingApproval between confirm and execute when the
//! two-person rule applies, see `app::approval`). Only [`confirm`] and `approval::settle`, through
//! [`execute`], emit [`Effect::Execute`].

use chrono::Duration;
use serde_json::json;

use crate::incident::entry::EntryKind;
use crate::operation::{Check, Operation, Risk, Verify};

use super::effect::Effect;
use super::state::{Domain, Modal, Mode, PaneId, State};
use super::step::{Stage, StepRun, StepStatus};
use crate::incident::entry::LogIntent;

/// The only entry kinds a read-only console writes.
pub const READ_ONLY_KINDS: &[EntryKind] = &[EntryKind::Note];

/// Append a log intent, marking drill entries. A read-only console writes notes and nothing
/// else: any other entry is dropped here (its keys are refused before; this is the backstop).
pub fn log(
    domain: &impl AsRef<Domain>,
    fx: &mut Vec<Effect>,
    kind: EntryKind,
    summary: String,
    mut details: serde_json::Value,
) {
    let domain = domain.as_ref();
    // Observers may approve or reject when the config allows it (`app::approval`).
    let decision = matches!(kind, EntryKind::StepApproved | EntryKind::StepRejected)
        && domain.config.approvals.observers_may_approve;
    if domain.read_only && !READ_ONLY_KINDS.contains(&kind) && !decision {
        return;
    }
    if domain.mode == Mode::Drill
        && let Some(obj) = details.as_object_mut()
    {
        obj.insert("drill".into(), json!(true));
    }
    let summary = if domain.mode == Mode::Drill { format!("DRILL {summary}") } else { summary };
    fx.push(Effect::Log(LogIntent::new(kind, summary, details)));
}

/// Show a transient message in the footer.
pub fn flash(state: &mut State, text: impl Into<String>) {
    state.view.flash = Some((text.into(), state.domain.wall()));
}

/// Create a step for `op`, log its preview, run prechecks and open the confirmation if they pass.
pub fn propose(state: &mut State, op: Operation, why: String, fx: &mut Vec<Effect>) -> u64 {
    let id = state.domain.alloc_step_id();
    let step = StepRun::new(id, op, why, state.domain.now);
    log(
        state,
        fx,
        EntryKind::StepPreviewed,
        format!("step #{id} proposed: {}", step.preview.title),
        json!({ "step": id, "op": step.op, "preview": step.preview, "why": step.why }),
    );
    state.domain.steps.push(step);
    state.view.focus = PaneId::Steps;
    state.view.selected[PaneId::Steps.index()] = state.domain.steps.len() - 1;
    open_confirm(state, id, fx);
    id
}

/// Run prechecks; on success move to AwaitingConfirm and open the dialog (unless read-only).
pub fn open_confirm(state: &mut State, id: u64, fx: &mut Vec<Effect>) {
    if ask_access(state, id, fx) {
        return;
    }
    if !precheck(state, id, fx) {
        return;
    }
    if state.domain.read_only {
        flash(state, "READ-ONLY console: steps cannot be confirmed here");
        return;
    }
    if let Some(why) = super::commander::refusal(state) {
        flash(state, why);
        return;
    }
    if let Some(step) = state.domain.step_mut(id) {
        step.status = StepStatus::AwaitingConfirm;
    }
    state.view.modal = Some(Modal::Confirm { step: id, typed: String::new() });
}

/// Before the first precheck of a Kubernetes step on a console that reviews access: ask the
/// API server (the step waits, proposed, until [`access_checked`]). Returns whether it waits.
fn ask_access(state: &mut State, id: u64, fx: &mut Vec<Effect>) -> bool {
    if !state.domain.access_reviews {
        return false;
    }
    let Some(step) = state.domain.step_mut(id) else { return false };
    let requests = step.op.as_ref().map(Operation::access_requests).unwrap_or_default();
    if step.access.is_some() || requests.is_empty() {
        return false;
    }
    step.status = StepStatus::Proposed;
    step.checks.clear();
    if step.asking_access {
        return true;
    }
    step.asking_access = true;
    let asked: Vec<String> = requests.iter().map(|r| r.action()).collect();
    flash(state, format!("step #{id}: asking the API server whether you may {}", asked.join(", ")));
    fx.push(Effect::CheckAccess { step: id, requests });
    true
}

/// The API server answered a step's access questions: precheck it now (and open its
/// confirmation unless another dialog is open or the step moved on meanwhile).
pub fn access_checked(
    state: &mut State,
    id: u64,
    answers: Vec<crate::operation::access::AccessAnswer>,
    fx: &mut Vec<Effect>,
) {
    let Some(step) = state.domain.step_mut(id) else { return };
    step.access = Some(answers);
    let waiting = std::mem::take(&mut step.asking_access) && step.status == StepStatus::Proposed;
    if !waiting || step.remote {
        return;
    }
    if state.view.modal.is_some() {
        precheck(state, id, fx);
    } else {
        open_confirm(state, id, fx);
        // The keys typed since the command that asked were dropped (`guard`: a dialog that did
        // not open at once); now that it is open, keys go to it again.
        if matches!(state.view.modal, Some(Modal::Confirm { step, .. }) if step == id) {
            state.view.swallow = None;
        }
    }
}

/// Evaluate prechecks now. Returns whether all passed; a failure marks the step failed with the reason.
pub(super) fn precheck(state: &mut State, id: u64, fx: &mut Vec<Effect>) -> bool {
    let observed = state.domain.observed.clone();
    let overrides = state.domain.authority_overrides.clone();
    let now = state.domain.now;
    let config = state.domain.config.clone();
    let access_reviews = state.domain.access_reviews;
    let Some(step) = state.domain.step_mut(id) else { return false };
    // A listed runbook step is built when it comes up; until then there is nothing to check.
    let op = step.op.clone();
    let Some(op) = op else {
        step.checks = vec![Check::new("step is built", false, "it is built when its runbook reaches it")];
        return false;
    };
    step.checks = op.precheck(&observed);
    if access_reviews {
        let requests = op.access_requests();
        let access = crate::runbook::operation::access_checks(&requests, step.access.as_deref());
        step.checks.splice(0..0, access);
    }
    if op.is_mutating() || matches!(op, Operation::VerifyWrites { .. }) {
        step.checks.insert(
            0,
            match crate::runbook::guard::coherence(&op, &config, &observed) {
                Ok(()) => Check::new("target is the one on screen", true, "context, address and zone match"),
                Err(why) => Check::new("target is the one on screen", false, why),
            },
        );
    }
    super::authority::apply_overrides(&overrides, &op, &mut step.checks);
    match step.failed_check().cloned() {
        None => {
            step.status = StepStatus::Prechecked;
            true
        }
        Some(c) => {
            let reason = format!("{}: {}", c.name, c.detail);
            step.status = StepStatus::Failed { stage: Stage::Precheck, reason: reason.clone() };
            step.finished_at = Some(now);
            let checks = step.checks.clone();
            log(
                state,
                fx,
                EntryKind::StepFailed,
                format!("step #{id} precheck failed: {reason}"),
                json!({ "step": id, "stage": "precheck", "reason": reason, "checks": checks }),
            );
            flash(state, format!("step #{id}'s prechecks failed ({reason})"));
            false
        }
    }
}

/// The operator confirmed (typed word already checked). Prechecks run again against the current
/// state, then the intent is logged and execution requested.
pub fn confirm(state: &mut State, id: u64, typed: Option<String>, fx: &mut Vec<Effect>) {
    state.view.modal = None;
    if state.domain.read_only {
        flash(state, "READ-ONLY console: steps cannot be confirmed here");
        return;
    }
    if let Some(why) = super::commander::refusal(state) {
        flash(state, why);
        return;
    }
    if !precheck(state, id, fx) {
        return;
    }
    let now = state.domain.now;
    let Some(step) = state.domain.step(id) else { return };
    // Prechecks passed just now, so the step is built.
    let Some(op) = step.op.clone() else { return };
    let wait = super::approval::requirement(&state.domain, step);
    let me = state.domain.operator.clone();
    let Some(step) = state.domain.step_mut(id) else { return };
    step.attempts += 1;
    step.started_at = Some(now);
    step.finished_at = None;
    step.confirmed_by = Some(me);
    let Some(step) = state.domain.step(id) else { return };
    let title = step.preview.title.clone();
    let attempt = step.attempts;
    // The name the operator typed belongs in the record (and the post-mortem), not only in details.
    let how = typed.as_deref().map(|w| format!(" (typed {w})")).unwrap_or_default();
    let mut details = json!({ "step": id, "typed": typed, "attempt": attempt });
    if let (Some(d), serde_json::Value::Object(extra)) =
        (details.as_object_mut(), super::approval::confirmed_details(&wait))
    {
        d.extend(extra);
    }
    log(state, fx, EntryKind::StepConfirmed, format!("step #{id} confirmed: {title}{how}"), details);
    if let Operation::Manual { .. } = op {
        let Some(step) = state.domain.step_mut(id) else { return };
        step.status = StepStatus::Done;
        step.finished_at = Some(now);
        log(
            state,
            fx,
            EntryKind::StepVerified,
            format!("step #{id} manual step done"),
            json!({ "step": id }),
        );
        return;
    }
    if let Some((needed, digest, deadline)) = wait {
        let short = crate::operation::digest::short(&digest).to_string();
        if let Some(step) = state.domain.step_mut(id) {
            step.status = StepStatus::AwaitingApproval { needed, approvals: 0, digest, deadline, attempt };
            step.remote = false;
        }
        let people = if needed == 1 { "1 approval" } else { "approvals" };
        flash(state, format!("step #{id} waits for {needed} {people} from another person (digest {short})"));
        return;
    }
    execute(state, id, fx);
}

/// Execute a confirmed (and, if it needs them, approved) step: log `step-executing`, then ask
/// the runner. Only [`confirm`] and `approval::settle` call it.
pub(super) fn execute(state: &mut State, id: u64, fx: &mut Vec<Effect>) {
    // The configured execute timeout (30 s by default) is too short for some operations (a
    // Route 53 change can stay PENDING for minutes; a shift holds every stage): use the larger.
    let configured = state.domain.config.polling.execute_timeout_ms.div_ceil(1000).max(1);
    let Some(step) = state.domain.step_mut(id) else { return };
    let Some(op) = step.op.clone() else { return };
    let timeout_secs = step.timeout_secs.unwrap_or(configured).max(op.min_timeout_secs().unwrap_or(0));
    let title = step.preview.title.clone();
    step.status = StepStatus::Executing;
    step.remote = false;
    log(
        state,
        fx,
        EntryKind::StepExecuting,
        format!("step #{id} executing: {title}"),
        json!({ "step": id, "op": op, "timeout_secs": timeout_secs }),
    );
    fx.push(Effect::Execute { step: id, op, timeout_secs });
}

/// Cancel the confirmation: the step stays ready.
pub fn cancel_confirm(state: &mut State, id: u64, fx: &mut Vec<Effect>) {
    state.view.modal = None;
    if let Some(step) = state.domain.step_mut(id)
        && step.status == StepStatus::AwaitingConfirm
    {
        step.status = StepStatus::Prechecked;
    }
    log(
        state,
        fx,
        EntryKind::StepCancelled,
        format!("step #{id} confirmation cancelled"),
        json!({ "step": id }),
    );
}

/// The high-risk confirmation: the typed word must equal the target's name.
pub fn submit_typed(state: &mut State, id: u64, typed: String, fx: &mut Vec<Effect>) {
    let Some(word) = state.domain.step(id).and_then(|s| s.op.as_ref()).map(Operation::confirm_word) else {
        return;
    };
    if typed == word {
        confirm(state, id, Some(typed), fx);
    } else {
        flash(state, format!("typed '{typed}' does not match '{word}': not confirmed"));
        state.view.modal = Some(Modal::Confirm { step: id, typed });
    }
}

/// Low-risk confirmation with `y`.
pub fn confirm_yes(state: &mut State, id: u64, fx: &mut Vec<Effect>) {
    match state.domain.step(id).map(StepRun::risk) {
        Some(Risk::Low) => confirm(state, id, None, fx),
        Some(Risk::High) => flash(state, "high-risk step: type the target's name and press Enter"),
        None => state.view.modal = None,
    }
}

/// Execution finished: verify next, or fail.
pub fn executed(state: &mut State, id: u64, result: Result<String, String>, fx: &mut Vec<Effect>) {
    let now = state.domain.now;
    let verify_ms = state.domain.config.polling.verify_timeout_ms as i64;
    let Some(step) = state.domain.step_mut(id) else { return };
    if step.status != StepStatus::Executing {
        return;
    }
    match result {
        Ok(summary) => {
            step.output.push(summary.clone());
            step.status = StepStatus::Verifying;
            step.verify_deadline = Some(now + Duration::milliseconds(verify_ms));
            log(
                state,
                fx,
                EntryKind::StepResult,
                format!("step #{id} executed: {summary}"),
                json!({ "step": id, "ok": true, "result": summary }),
            );
            verify_all(state, fx);
        }
        Err(error) => {
            step.output.push(format!("error: {error}"));
            step.status = StepStatus::Failed { stage: Stage::Execute, reason: error.clone() };
            step.finished_at = Some(now);
            log(
                state,
                fx,
                EntryKind::StepFailed,
                format!("step #{id} execution failed: {error}"),
                json!({ "step": id, "stage": "execute", "reason": error }),
            );
        }
    }
}

/// Evaluate the postcondition of every verifying step against the current snapshots.
pub fn verify_all(state: &mut State, fx: &mut Vec<Effect>) {
    let now = state.domain.now;
    let observed = state.domain.observed.clone();
    let mut logs = Vec::new();
    for step in state.domain.steps.iter_mut().filter(|s| s.status == StepStatus::Verifying && !s.remote) {
        let Some(op) = step.op.as_ref() else { continue };
        match op.verify(&observed) {
            Verify::Holds(what) => {
                step.status = StepStatus::Done;
                step.finished_at = Some(now);
                step.warning = op.verify_warning(&observed);
                let with = step.warning.as_ref().map(|w| format!(" (WARNING: {w})")).unwrap_or_default();
                step.output.push(format!("verified: {what}{with}"));
                logs.push((
                    EntryKind::StepVerified,
                    format!("step #{} verified: {what}{with}", step.id),
                    json!({ "step": step.id, "verified": what, "warning": step.warning, "elapsed_s": step.elapsed_secs(now) }),
                ));
            }
            Verify::NotYet(what) => {
                if step.verify_deadline.is_some_and(|d| now >= d) {
                    let reason = format!("postcondition not reached in time: {what}");
                    step.status = StepStatus::Failed { stage: Stage::Verify, reason: reason.clone() };
                    step.finished_at = Some(now);
                    step.output.push(format!("verify failed: {what}"));
                    logs.push((
                        EntryKind::StepFailed,
                        format!("step #{} verify failed: {what}", step.id),
                        json!({ "step": step.id, "stage": "verify", "reason": reason }),
                    ));
                } else if step.output.last().is_none_or(|l| *l != format!("waiting: {what}")) {
                    step.output.push(format!("waiting: {what}"));
                }
            }
        }
    }
    for (kind, summary, details) in logs {
        log(state, fx, kind, summary, details);
    }
}

/// Retry a failed (or outcome-unknown) step: prechecks run again, then confirmation.
pub fn retry(state: &mut State, id: u64, fx: &mut Vec<Effect>) {
    match state.domain.step(id).map(|s| s.status.clone()) {
        Some(StepStatus::Failed { .. } | StepStatus::OutcomeUnknown | StepStatus::Prechecked) => {
            log(
                state,
                fx,
                EntryKind::StepRetry,
                format!("step #{id} retry requested"),
                json!({ "step": id }),
            );
            // Permissions may have changed: ask again.
            if let Some(step) = state.domain.step_mut(id) {
                step.access = None;
            }
            open_confirm(state, id, fx);
        }
        Some(s) => flash(state, format!("step #{id} is {}: nothing to retry", s.label())),
        None => {}
    }
}

/// Skip a step with a reason.
pub fn skip(state: &mut State, id: u64, reason: String, fx: &mut Vec<Effect>) {
    let now = state.domain.now;
    let Some(step) = state.domain.step_mut(id) else { return };
    if step.status.is_terminal() || step.status == StepStatus::Executing {
        let label = step.status.label();
        flash(state, format!("step #{id} is {label}: cannot skip"));
        return;
    }
    step.status = StepStatus::Skipped(reason.clone());
    step.finished_at = Some(now);
    log(
        state,
        fx,
        EntryKind::StepSkipped,
        format!("step #{id} skipped: {reason}"),
        json!({ "step": id, "reason": reason }),
    );
}

/// Abort a step (not while its operation is executing: its outcome would be unknown).
pub fn abort(state: &mut State, id: u64, fx: &mut Vec<Effect>) {
    let now = state.domain.now;
    let Some(step) = state.domain.step_mut(id) else { return };
    if step.status.is_terminal() {
        return;
    }
    if step.status == StepStatus::Executing {
        flash(state, format!("step #{id} is executing: wait for its result, then abort"));
        return;
    }
    step.status = StepStatus::Aborted;
    step.finished_at = Some(now);
    if matches!(state.view.modal, Some(Modal::Confirm { step, .. }) if step == id) {
        state.view.modal = None;
    }
    log(
        state,
        fx,
        EntryKind::StepAborted,
        format!("step #{id} aborted by the operator"),
        json!({ "step": id }),
    );
}

/// Whether step `id` is a promotion stopped by its lag guard; returns the target's current lag.
pub fn lag_override_candidate(state: &State, id: u64) -> Result<u64, String> {
    let step = state.domain.step(id).ok_or("no such step")?;
    let Some(Operation::PromotePostgres { node, .. }) = &step.op else {
        return Err("only a promotion's lag guard can be overridden".into());
    };
    let lag_failed = matches!(&step.status, StepStatus::Failed { stage: Stage::Precheck, .. })
        && step.checks.iter().any(|c| c.name == "lag within limit" && !c.ok);
    if !lag_failed {
        return Err(format!("step #{id} did not fail its lag guard: nothing to override"));
    }
    let lag = state
        .domain
        .observed
        .database
        .value
        .as_ref()
        .and_then(|d| d.node(node))
        .and_then(|n| n.replay_lag_bytes);
    lag.ok_or_else(|| format!("the lag of {node} is unknown right now: cannot override"))
}

/// The operator typed the data loss they accept: log it, supersede the failed step with a new
/// promotion carrying the override, which goes through prechecks and confirmation as usual.
pub fn override_lag(state: &mut State, id: u64, bytes: u64, fx: &mut Vec<Effect>) {
    if state.domain.read_only {
        return flash(state, "READ-ONLY console: overrides are for the console that executes steps");
    }
    let lag = match lag_override_candidate(state, id) {
        Ok(lag) => lag,
        Err(why) => return flash(state, why),
    };
    if bytes < lag {
        flash(state, format!("{bytes} B is less than the current lag of {lag} B: not accepted"));
        return;
    }
    let Some(Operation::PromotePostgres { node, endpoint, max_lag_bytes, .. }) =
        state.domain.step(id).and_then(|s| s.op.clone())
    else {
        return;
    };
    log(
        state,
        fx,
        EntryKind::Override,
        format!(
            "accepted data loss of {bytes} bytes to promote {node} (lag {lag} B, limit {max_lag_bytes} B)"
        ),
        json!({ "step": id, "node": node, "accepted_bytes": bytes, "lag_bytes": lag, "limit_bytes": max_lag_bytes }),
    );
    let now = state.domain.now;
    let op = Operation::PromotePostgres { node, endpoint, max_lag_bytes, accept_data_loss: Some(bytes) };
    let next = propose(state, op, format!("operator override: accepted data loss of {bytes} bytes"), fx);
    if let Some(step) = state.domain.step_mut(id) {
        step.status = StepStatus::Skipped(format!("superseded by step #{next} (lag override)"));
        step.finished_at = Some(now);
    }
}
