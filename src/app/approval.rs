//! The two-person rule: a confirmed step waits for other people's approvals before it executes.
//!
//! How many people must agree on a step (the commander who confirms included) is the strictest
//! of `[approvals] high_risk` (high-risk steps), `[approvals.kinds]` (per operation kind) and
//! the runbook step's `approvals = N`; `1` means the commander alone. The commander confirms as
//! always (`step-confirmed`, which records `approvals_needed`, the preview's `digest` and the
//! `approval_deadline`); the step is then [`StepStatus::AwaitingApproval`] and executes only
//! once enough `step-approved` entries for that digest and attempt, by distinct people who are
//! not the commander, are in the log ([`settle`]). A valid `step-rejected` fails it ("rejected
//! by X: reason"), and so does its deadline ("approval timed out"). Everything is rebuilt from
//! the log ([`confirmed`], [`apply_decision`]), so a console that resumes or follows the
//! incident shows the same count, and a step never executes without its approvals.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::config::model::ApprovalsConfig;
use crate::incident::entry::{Entry, EntryKind};
use crate::operation::digest::{digest, short};
use crate::operation::{Operation, Risk};

use super::effect::Effect;
use super::pipeline::{flash, log};
use super::state::{Domain, State};
use super::step::{Stage, StepRun, StepStatus};

/// One approval or rejection of a step, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Who decided (the entry's operator).
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Approved (`true`) or rejected.
    pub approve: bool,
    /// The digest of the preview the person saw.
    pub digest: String,
    /// The confirmation (attempt) it is about.
    pub attempt: u32,
    /// Why (rejections).
    pub reason: Option<String>,
}

/// People who must agree on an operation of `risk` (the commander included): the strictest of
/// the configured rules and the runbook step's `rule`; at least 1.
pub fn people_needed(config: &ApprovalsConfig, op: &Operation, risk: Risk, rule: Option<u32>) -> u32 {
    let by_risk = if risk == Risk::High { config.high_risk.unwrap_or(1) } else { 1 };
    let by_kind = config.kinds.get(op.kind().as_str()).copied().unwrap_or(1);
    [1, by_risk, by_kind, rule.unwrap_or(1)].into_iter().max().unwrap_or(1)
}

/// Approvals `step` needs from people other than the commander (0: none). A manual step (done
/// by hand, nothing executed by warroom) and a step not built yet need none.
pub fn approvals_needed(config: &ApprovalsConfig, step: &StepRun) -> u32 {
    match &step.op {
        None | Some(Operation::Manual { .. }) => 0,
        Some(op) => people_needed(config, op, step.risk(), step.approvals_rule) - 1,
    }
}

/// The digest of what `step` will do now (`None` before it is built).
pub fn step_digest(step: &StepRun) -> Option<String> {
    step.op.as_ref().map(|op| digest(op, &step.preview))
}

/// Whether two operator identities are the same person: `user@host` compared without the
/// ` via <client ip>` suffix (one person over two SSH sessions is still one person).
pub fn same_person(a: &str, b: &str) -> bool {
    let base = |s: &str| s.split(" via ").next().unwrap_or(s).trim().to_string();
    base(a) == base(b)
}

/// What a confirmation must wait for: `(needed, digest, deadline)`, or `None` (executes at once).
pub fn requirement(domain: &Domain, step: &StepRun) -> Option<(u32, String, DateTime<Utc>)> {
    let needed = approvals_needed(&domain.config.approvals, step);
    if needed == 0 {
        return None;
    }
    let deadline = domain.now + Duration::seconds(domain.config.approvals.timeout_secs() as i64);
    Some((needed, step_digest(step)?, deadline))
}

/// The `step-confirmed` details that let any console rebuild the wait.
pub fn confirmed_details(req: &Option<(u32, String, DateTime<Utc>)>) -> serde_json::Value {
    match req {
        Some((needed, digest, deadline)) => {
            json!({ "approvals_needed": needed, "digest": digest, "approval_deadline": deadline })
        }
        None => json!({}),
    }
}

/// Replay of a `step-confirmed` entry: who confirmed, and the wait for approvals if it asks for one.
pub fn confirmed(step: &mut StepRun, e: &Entry) {
    step.confirmed_by = Some(e.operator.clone());
    let d = &e.details;
    let needed = d.get("approvals_needed").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    let digest = d.get("digest").and_then(|v| v.as_str()).map(str::to_string);
    let deadline = d.get("approval_deadline").and_then(|v| serde_json::from_value(v.clone()).ok());
    let attempt = d.get("attempt").and_then(|v| v.as_u64()).unwrap_or(u64::from(step.attempts) + 1) as u32;
    if let (true, Some(digest), Some(deadline)) = (needed > 0, digest, deadline) {
        step.status = StepStatus::AwaitingApproval { needed, approvals: 0, digest, deadline, attempt };
        recount(step);
    }
}

/// Replay of a `step-approved` / `step-rejected` entry: recorded on its step (which keeps its
/// driver: a decision never takes a step over), and the waiting count updated.
pub fn apply_decision(domain: &mut Domain, e: &Entry) {
    let Some(step) = e.details.get("step").and_then(|v| v.as_u64()).and_then(|id| domain.step_mut(id)) else {
        return;
    };
    record(step, decision_of(e));
}

/// The decision an entry records.
pub fn decision_of(e: &Entry) -> Decision {
    let d = &e.details;
    Decision {
        by: e.operator.clone(),
        at: e.ts,
        approve: e.kind == EntryKind::StepApproved,
        digest: d.get("digest").and_then(|v| v.as_str()).unwrap_or_default().to_string(),
        attempt: d.get("attempt").and_then(|v| v.as_u64()).unwrap_or(0) as u32,
        reason: d.get("reason").and_then(|v| v.as_str()).map(str::to_string),
    }
}

/// Keep `decision` on `step` and count again.
fn record(step: &mut StepRun, decision: Decision) {
    step.decisions.push(decision);
    recount(step);
}

/// The decisions that count for the current wait: this digest and attempt, not by the
/// commander, the first of each person only.
pub fn counted(step: &StepRun) -> Vec<&Decision> {
    let StepStatus::AwaitingApproval { digest, attempt, .. } = &step.status else { return Vec::new() };
    let mut seen: Vec<&Decision> = Vec::new();
    for d in &step.decisions {
        let commander = step.confirmed_by.as_deref().is_some_and(|c| same_person(c, &d.by));
        if d.digest == *digest
            && d.attempt == *attempt
            && !commander
            && !seen.iter().any(|s| same_person(&s.by, &d.by))
        {
            seen.push(d);
        }
    }
    seen
}

/// Update the approval count of a waiting step.
fn recount(step: &mut StepRun) {
    let n = counted(step).iter().filter(|d| d.approve).count() as u32;
    if let StepStatus::AwaitingApproval { approvals, .. } = &mut step.status {
        *approvals = n;
    }
}

/// Approvals of this attempt given for another preview: they no longer count (shown).
pub fn stale_approvals(step: &StepRun) -> usize {
    let StepStatus::AwaitingApproval { digest, attempt, .. } = &step.status else { return 0 };
    step.decisions.iter().filter(|d| d.approve && d.attempt == *attempt && d.digest != *digest).count()
}

/// "awaiting approval 0/1 (expires in 9:12)", plus approvals that no longer count.
pub fn describe(step: &StepRun, now: DateTime<Utc>) -> Option<String> {
    let StepStatus::AwaitingApproval { needed, approvals, digest, deadline, .. } = &step.status else {
        return None;
    };
    let left = (*deadline - now).num_seconds().max(0);
    let mut text = format!(
        "awaiting approval {approvals}/{needed} (expires in {}:{:02}; digest {})",
        left / 60,
        left % 60,
        short(digest)
    );
    match stale_approvals(step) {
        0 => {}
        1 => text.push_str("; 1 approval of an earlier preview no longer counts"),
        n => text.push_str(&format!("; {n} approvals of an earlier preview no longer count")),
    }
    Some(text)
}

/// Whether `who` may approve or reject `step` now, having seen `seen_digest`; the error is one
/// line: not awaiting approval, you are the commander, observers may not approve, digest
/// changed, already decided.
pub fn may_decide(
    step: &StepRun,
    who: &str,
    read_only: bool,
    config: &ApprovalsConfig,
    seen_digest: &str,
) -> Result<(), String> {
    let id = step.id;
    let StepStatus::AwaitingApproval { digest, attempt, .. } = &step.status else {
        return Err(format!("step #{id} is not awaiting approval (it is {})", step.status.label()));
    };
    if step.confirmed_by.as_deref().is_some_and(|c| same_person(c, who)) {
        return Err(format!(
            "step #{id}: you ({who}) confirmed it as commander: another person must approve"
        ));
    }
    if read_only && !config.observers_may_approve {
        return Err(format!(
            "step #{id}: read-only consoles may not approve ([approvals] observers_may_approve = false)"
        ));
    }
    if seen_digest != digest {
        return Err(format!(
            "step #{id}: digest changed: the preview is now {}, not {}: look at it again",
            short(digest),
            short(seen_digest)
        ));
    }
    if let Some(d) = step
        .decisions
        .iter()
        .find(|d| d.attempt == *attempt && d.digest == *digest && same_person(&d.by, who))
    {
        let what = if d.approve { "approved" } else { "rejected" };
        return Err(format!("step #{id}: already decided: {} {what} it", d.by));
    }
    Ok(())
}

/// The log intent of a decision on a waiting step (checked with [`may_decide`] first).
pub fn decision_intent(
    step: &StepRun,
    approve: bool,
    reason: Option<&str>,
) -> Option<(EntryKind, String, serde_json::Value)> {
    let StepStatus::AwaitingApproval { digest, attempt, .. } = &step.status else { return None };
    let id = step.id;
    let title = &step.preview.title;
    Some(if approve {
        (
            EntryKind::StepApproved,
            format!("step #{id} approved: {title} (digest {})", short(digest)),
            json!({ "step": id, "digest": digest, "attempt": attempt }),
        )
    } else {
        let reason = reason.unwrap_or_default();
        (
            EntryKind::StepRejected,
            format!("step #{id} rejected: {reason}"),
            json!({ "step": id, "digest": digest, "attempt": attempt, "reason": reason }),
        )
    })
}

/// The approve (`A`) or reject key on step `id`: the y/n dialog showing the exact preview and
/// digest, or a flash saying why this console may not decide.
pub fn ask(state: &mut State, id: u64, approve: bool, reason: Option<String>) {
    let Some(digest) = state.domain.step(id).and_then(step_digest) else {
        return flash(state, format!("step #{id} is not awaiting approval"));
    };
    super::guard::ask(state, super::guard::KeyAction::DecideStep { step: id, approve, reason, digest });
}

/// What approving or rejecting step `id` (as seen with `digest`) means, with the exact preview;
/// or why this console may not.
pub fn ask_text(
    state: &State,
    id: u64,
    approve: bool,
    reason: Option<&str>,
    digest: &str,
) -> Result<String, String> {
    let step = state.domain.step(id).ok_or_else(|| format!("step #{id} no longer exists"))?;
    may_decide(step, &state.domain.operator, state.domain.read_only, &state.domain.config.approvals, digest)?;
    let by = step.confirmed_by.as_deref().unwrap_or("the commander");
    let verb = if approve { "Approve" } else { "Reject" };
    let mut text = format!("{verb} step #{id}, confirmed by {by}: {}\n", step.preview.title);
    text.push_str(&format!("target: {}\n", step.preview.target));
    for line in &step.preview.lines {
        text.push_str(&format!("  {line}\n"));
    }
    text.push_str(&format!("digest: {digest}\n"));
    text.push_str(&match reason {
        Some(r) if !approve => format!("It fails, nothing is executed. Reason logged: \"{r}\"."),
        _ => "Your approval is logged; the step executes once it has enough.".to_string(),
    });
    Ok(text)
}

/// This console approves (or rejects, with `reason`) step `id`, whose preview it showed with
/// `seen` as digest: refused with a flash unless [`may_decide`]; else logged and recorded here
/// at once (this console's own entries come back as written, not as another console's).
pub fn decide(
    state: &mut State,
    id: u64,
    approve: bool,
    reason: Option<String>,
    seen: &str,
    fx: &mut Vec<Effect>,
) {
    let who = state.domain.operator.clone();
    let Some(step) = state.domain.step(id) else { return };
    if let Err(why) = may_decide(step, &who, state.domain.read_only, &state.domain.config.approvals, seen) {
        return flash(state, why);
    }
    let Some((kind, summary, details)) = decision_intent(step, approve, reason.as_deref()) else { return };
    let decision = Decision {
        by: who,
        at: state.domain.now,
        approve,
        digest: seen.to_string(),
        attempt: details.get("attempt").and_then(|v| v.as_u64()).unwrap_or(0) as u32,
        reason,
    };
    log(state, fx, kind, summary.clone(), details);
    if let Some(step) = state.domain.step_mut(id) {
        record(step, decision);
    }
    flash(state, summary);
}

/// Move this console's waiting steps on: a rejection fails the step, enough approvals execute
/// it (prechecks first, as the commander), the deadline fails it. Steps another console drives
/// are that console's to move.
pub fn settle(state: &mut State, fx: &mut Vec<Effect>) {
    let now = state.domain.now;
    let waiting: Vec<u64> = state
        .domain
        .steps
        .iter()
        .filter(|s| !s.remote && matches!(s.status, StepStatus::AwaitingApproval { .. }))
        .map(|s| s.id)
        .collect();
    for id in waiting {
        let Some(step) = state.domain.step(id) else { continue };
        let StepStatus::AwaitingApproval { needed, approvals, deadline, .. } = step.status.clone() else {
            continue;
        };
        if let Some(r) = counted(step).into_iter().find(|d| !d.approve) {
            let reason =
                format!("rejected by {}: {}", r.by, r.reason.as_deref().unwrap_or("no reason given"));
            fail(state, id, reason, fx);
        } else if approvals >= needed {
            if state.domain.read_only || super::commander::refusal(state).is_some() {
                continue;
            }
            if super::pipeline::precheck(state, id, fx) {
                super::pipeline::execute(state, id, fx);
            }
        } else if now >= deadline {
            fail(state, id, format!("approval timed out ({approvals}/{needed} approvals)"), fx);
        }
    }
}

/// A waiting step fails at the approval stage (nothing was executed).
fn fail(state: &mut State, id: u64, reason: String, fx: &mut Vec<Effect>) {
    let now = state.domain.now;
    let Some(step) = state.domain.step_mut(id) else { return };
    step.status = StepStatus::Failed { stage: Stage::Approval, reason: reason.clone() };
    step.finished_at = Some(now);
    log(
        state,
        fx,
        EntryKind::StepFailed,
        format!("step #{id} not executed: {reason}"),
        json!({ "step": id, "stage": "approval", "reason": reason }),
    );
    flash(state, format!("step #{id} not executed: {reason}"));
}

#[cfg(test)]
mod tests;
