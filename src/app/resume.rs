//! Rebuilding the [`Domain`] (steps, the runbook run, the log tail) from a resumed incident log.
//!
//! Steps are replayed from their `step-*` entries. A step whose last entry is `step-executing`
//! (the console died while it ran) becomes [`StepStatus::OutcomeUnknown`]: shown as "verify
//! before continuing", never re-executed on its own.
//!
//! The same replay, entry by entry, keeps a console's steps in step with entries other consoles
//! append while it runs ([`Replay::Live`], used by [`super::mirror`]).

use crate::incident::entry::Entry;
use crate::runbook::Operation;
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
        let mut step = StepRun::new(sid, Operation::Manual { instruction: title.clone() }, why, e.ts);
        step.preview.title = title;
        step.runbook_key = Some(key.to_string());
        step.risk_override = rb.steps[def].risk;
        step.timeout_secs = rb.steps[def].timeout_secs;
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
    let start = entries.len().saturating_sub(LOG_TAIL_MAX);
    domain.log_tail = entries[start..].iter().map(Entry::to_log_line).collect();
    if let Some(e) = entries.iter().rev().find(|e| e.kind == "resolved") {
        let summary = e.details.get("summary").and_then(|v| v.as_str()).unwrap_or(&e.summary).to_string();
        domain.resolved = Some((e.ts, summary));
    }
}

/// Apply one entry's effect on steps and the runbook run.
pub fn apply_entry(domain: &mut Domain, e: &Entry, how: Replay) {
    match e.kind.as_str() {
        "runbook-started" => {
            if how == Replay::Live && domain.runbook.as_ref().is_some_and(RunbookRun::active) {
                let id = e.details.get("runbook").and_then(|v| v.as_str()).unwrap_or_default();
                domain.warnings.push(format!("another console started runbook {id} while one runs here"));
            }
            return restore_runbook(domain, e, how);
        }
        "runbook-finished" => {
            let outcome = e.details.get("outcome").and_then(|v| v.as_str()).unwrap_or("completed");
            if let Some(run) = domain.runbook.as_mut() {
                run.finished = Some((e.ts, outcome.to_string()));
            }
            return;
        }
        _ => {}
    }
    let Some(id) = e.details.get("step").and_then(|v| v.as_u64()) else { return };
    if e.kind == "step-previewed" {
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
            step.op = op;
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
        return;
    }
    let Some(step) = domain.step_mut(id) else { return };
    let reason = || e.details.get("reason").and_then(|v| v.as_str()).unwrap_or_default().to_string();
    if how == Replay::Live && e.kind.starts_with("step-") {
        // The other console acts on this step: it verifies and logs it from now on.
        step.remote = true;
    }
    match e.kind.as_str() {
        "step-executing" if how == Replay::Live => {
            step.status = StepStatus::Executing;
            step.started_at = Some(e.ts);
            step.finished_at = None;
            step.attempts += 1;
        }
        "step-executing" => {
            step.status = StepStatus::OutcomeUnknown;
            step.started_at = Some(e.ts);
            step.attempts += 1;
        }
        "step-result" => {
            step.status = StepStatus::Verifying;
            step.output.push(e.summary.clone());
        }
        "step-verified" => {
            step.status = StepStatus::Done;
            step.finished_at = Some(e.ts);
        }
        "step-failed" => {
            let stage = match e.details.get("stage").and_then(|v| v.as_str()) {
                Some("execute") => Stage::Execute,
                Some("verify") => Stage::Verify,
                _ => Stage::Precheck,
            };
            step.status = StepStatus::Failed { stage, reason: reason() };
            step.finished_at = Some(e.ts);
        }
        "step-skipped" => {
            step.status = StepStatus::Skipped(reason());
            step.finished_at = Some(e.ts);
        }
        "step-aborted" => {
            step.status = StepStatus::Aborted;
            step.finished_at = Some(e.ts);
        }
        "step-retry" | "step-cancelled" if how == Replay::Live && !step.status.is_terminal() => {
            step.status = StepStatus::Prechecked;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
