//! Rebuilding the [`Domain`] (steps, the runbook run, the log tail) from a resumed incident log.
//!
//! Steps are replayed from their `step-*` entries. A step whose last entry is `step-executing`
//! (the console died while it ran) becomes [`StepStatus::OutcomeUnknown`]: shown as "verify
//! before continuing", never re-executed on its own.
//!
//! The same replay, entry by entry, keeps a console's steps in step with entries other consoles
//! append while it runs ([`Replay::Live`], used by [`super::mirror`]).

use crate::incident::entry::{Entry, EntryKind};
use crate::operation::Operation;
use crate::runbook::plan::ResolvedParam;

use super::runbook_flow::RunbookRun;

use super::state::{Domain, LOG_TAIL_MAX};
use super::step::{Stage, StepRun, StepStatus};

/// Why entries are replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Resuming an incident: this console drives every step from now on.
    Resume,
    /// Following another console live: the steps it introduces are driven by it (`remote`), and
    /// a step it executes is executing (not of unknown outcome).
    Live,
}

/// Rebuild a runbook run from its `runbook-started` entry: every listed step as a waiting step
/// (later entries move them on). A runbook that is no longer in the catalog is not resumed as a
/// run; its steps that came up are still restored from their own entries.
fn restore_runbook(domain: &mut Domain, e: &Entry, how: Replay) {
    let id = e.details.get("runbook").and_then(|v| v.as_str()).unwrap_or_default();
    let Some(rb) = domain.runbooks.get(id).cloned() else {
        domain.warnings.push(format!("runbook {id} is no longer available: its progress is not resumed"));
        return;
    };
    let params: Vec<ResolvedParam> =
        e.details.get("params").and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
    let listed = e.details.get("steps").and_then(|v| v.as_array()).cloned().unwrap_or_default();
    let mut ids = Vec::new();
    for item in listed {
        let (Some(sid), Some(key)) =
            (item.get("step").and_then(|v| v.as_u64()), item.get("key").and_then(|v| v.as_str()))
        else {
            continue;
        };
        let (def_id, part) = match key.split_once('/') {
            Some((d, p)) => (d, Some(p.to_string())),
            None => (key, None),
        };
        let Some(def) = rb.steps.iter().position(|s| s.id.get_ref() == def_id) else { continue };
        let title = item.get("title").and_then(|v| v.as_str()).unwrap_or(key).to_string();
        let why = rb.steps[def].why.clone();
        // Listed by its title; its `step-previewed` entry (if any) brings the operation.
        let mut step = StepRun::listed(sid, title, why, e.ts);
        step.runbook_key = Some(key.to_string());
        step.risk_override = rb.steps[def].risk;
        step.timeout_secs = rb.steps[def].timeout_secs;
        step.approvals_rule = rb.steps[def].approvals.as_ref().map(|n| *n.get_ref());
        step.remote = how == Replay::Live;
        if domain.step(sid).is_none() {
            domain.steps.push(step);
        }
        domain.next_step_id = domain.next_step_id.max(sid + 1);
        ids.push((sid, def, part));
    }
    domain.runbook = Some(RunbookRun { runbook: rb, params, steps: ids, started_at: e.ts, finished: None });
}

/// Restore steps and the log tail from `entries`.
pub fn restore(domain: &mut Domain, entries: &[Entry]) {
    for e in entries {
        domain.facilitation.apply(e);
    }
    for e in entries {
        apply_entry(domain, e, Replay::Resume);
    }
    // A step that was verifying when the console stopped is verified again from live data.
    let now = domain.now;
    let verify_ms = domain.config.polling.verify_timeout_ms as i64;
    for s in domain.steps.iter_mut().filter(|s| s.status == StepStatus::Verifying) {
        s.verify_deadline = Some(now + chrono::Duration::milliseconds(verify_ms));
    }
    for s in domain.steps.iter_mut().filter(|s| s.status == StepStatus::OutcomeUnknown) {
        s.output.push(
            "outcome unknown: the console stopped while this step was executing; verify before continuing"
                .into(),
        );
    }
    let facilitator = domain.facilitation.facilitator;
    let shown: Vec<&Entry> = entries
        .iter()
        .filter(|e| !e.kind.is_bookkeeping())
        .filter(|e| super::facilitator::shown_to(facilitator, &e.kind, &e.summary))
        .collect();
    let start = shown.len().saturating_sub(LOG_TAIL_MAX);
    domain.log_tail = shown[start..].iter().map(|e| e.to_log_line()).collect();
    if let Some(e) = entries.iter().rev().find(|e| e.kind == EntryKind::Resolved) {
        let summary = e.details.get("summary").and_then(|v| v.as_str()).unwrap_or(&e.summary).to_string();
        domain.resolved = Some((e.ts, summary));
    }
}

/// Apply one entry's effect on steps and the runbook run: one arm per kind that moves them.
pub fn apply_entry(domain: &mut Domain, e: &Entry, how: Replay) {
    match &e.kind {
        EntryKind::RunbookStarted => runbook_started(domain, e, how),
        EntryKind::RunbookFinished => runbook_finished(domain, e),
        EntryKind::StepPreviewed => step_previewed(domain, e, how),
        // A decision on a step: recorded, never a takeover of the step (see `approval`).
        EntryKind::StepApproved | EntryKind::StepRejected => super::approval::apply_decision(domain, e),
        kind if kind.is_step() => step_moved(domain, e, how),
        _ => {}
    }
}

/// `runbook-started`: the run and its listed steps (another console's start while one runs
/// here is worth a warning).
fn runbook_started(domain: &mut Domain, e: &Entry, how: Replay) {
    if how == Replay::Live && domain.runbook.as_ref().is_some_and(RunbookRun::active) {
        let id = e.details.get("runbook").and_then(|v| v.as_str()).unwrap_or_default();
        domain.warnings.push(format!("another console started runbook {id} while one runs here"));
    }
    restore_runbook(domain, e, how);
}

/// `runbook-finished`: the run ends with the logged outcome.
fn runbook_finished(domain: &mut Domain, e: &Entry) {
    let outcome = e.details.get("outcome").and_then(|v| v.as_str()).unwrap_or("completed");
    if let Some(run) = domain.runbook.as_mut() {
        run.finished = Some((e.ts, outcome.to_string()));
    }
}

/// The step an entry is about (`details.step`).
fn step_of(e: &Entry) -> Option<u64> {
    e.details.get("step").and_then(|v| v.as_u64())
}

/// `step-previewed`: a new step, or a listed runbook step coming up, awaiting confirmation.
fn step_previewed(domain: &mut Domain, e: &Entry, how: Replay) {
    let Some(id) = step_of(e) else { return };
    let Some(op) = e.details.get("op").and_then(|v| serde_json::from_value::<Operation>(v.clone()).ok())
    else {
        return;
    };
    let why = e.details.get("why").and_then(|v| v.as_str()).unwrap_or_default().to_string();
    if let Some(step) = domain.step_mut(id) {
        // A runbook step listed when its runbook started comes up now.
        let title = step.preview.title.clone();
        step.preview = op.preview();
        step.preview.title = title;
        step.op = Some(op);
        step.why = why;
        step.status = StepStatus::Prechecked;
        step.remote = how == Replay::Live;
    } else {
        let mut step = StepRun::new(id, op, why, e.ts);
        step.status = StepStatus::Prechecked;
        step.remote = how == Replay::Live;
        domain.steps.push(step);
    }
    domain.next_step_id = domain.next_step_id.max(id + 1);
}

/// Every other `step-*` entry: moves a known step along the pipeline.
fn step_moved(domain: &mut Domain, e: &Entry, how: Replay) {
    let Some(step) = step_of(e).and_then(|id| domain.step_mut(id)) else { return };
    if how == Replay::Live {
        // The other console acts on this step: it verifies and logs it from now on.
        step.remote = true;
    }
    let reason = || e.details.get("reason").and_then(|v| v.as_str()).unwrap_or_default().to_string();
    match e.kind {
        EntryKind::StepConfirmed => super::approval::confirmed(step, e),
        EntryKind::StepExecuting if how == Replay::Live => {
            step.status = StepStatus::Executing;
            step.started_at = Some(e.ts);
            step.finished_at = None;
            step.attempts += 1;
        }
        // Resuming: the console died while it ran; never re-executed on its own.
        EntryKind::StepExecuting => {
            step.status = StepStatus::OutcomeUnknown;
            step.started_at = Some(e.ts);
            step.attempts += 1;
        }
        EntryKind::StepResult => {
            step.status = StepStatus::Verifying;
            step.output.push(e.summary.clone());
        }
        EntryKind::StepVerified => finish(step, e, StepStatus::Done),
        EntryKind::StepFailed => {
            finish(step, e, StepStatus::Failed { stage: failed_stage(e), reason: reason() })
        }
        EntryKind::StepSkipped => finish(step, e, StepStatus::Skipped(reason())),
        EntryKind::StepAborted => finish(step, e, StepStatus::Aborted),
        EntryKind::StepRetry | EntryKind::StepCancelled
            if how == Replay::Live && !step.status.is_terminal() =>
        {
            step.status = StepStatus::Prechecked;
        }
        _ => {}
    }
}

/// A step reached a final status at the entry's time.
fn finish(step: &mut StepRun, e: &Entry, status: StepStatus) {
    step.status = status;
    step.finished_at = Some(e.ts);
}

/// The pipeline stage a `step-failed` entry names (`details.stage`; precheck when absent).
fn failed_stage(e: &Entry) -> Stage {
    match e.details.get("stage").and_then(|v| v.as_str()) {
        Some("execute") => Stage::Execute,
        Some("verify") => Stage::Verify,
        Some("approval") => Stage::Approval,
        _ => Stage::Precheck,
    }
}

#[cfg(test)]
mod tests;
