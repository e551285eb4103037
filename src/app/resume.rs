//! Rebuilding the console's state from a resumed incident log.
//!
//! Steps are replayed from their `step-*` entries. A step whose last entry is `step-executing`
//! (the console died while it ran) becomes [`StepStatus::OutcomeUnknown`]: shown as "verify
//! before continuing", never re-executed on its own.

use crate::incident::entry::Entry;
use crate::runbook::Operation;

use super::state::{LOG_TAIL_MAX, State};
use super::step::{Stage, StepRun, StepStatus};

/// Restore steps and the log tail from `entries`.
pub fn restore(state: &mut State, entries: &[Entry]) {
    for e in entries {
        let Some(id) = e.details.get("step").and_then(|v| v.as_u64()) else { continue };
        if e.kind == "step-previewed" {
            let Some(op) =
                e.details.get("op").and_then(|v| serde_json::from_value::<Operation>(v.clone()).ok())
            else {
                continue;
            };
            let why = e.details.get("why").and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let mut step = StepRun::new(id, op, why, e.ts);
            step.status = StepStatus::Prechecked;
            state.steps.push(step);
            state.next_step_id = state.next_step_id.max(id + 1);
            continue;
        }
        let Some(step) = state.step_mut(id) else { continue };
        let reason = || e.details.get("reason").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        match e.kind.as_str() {
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
            "step-skipped" => step.status = StepStatus::Skipped(reason()),
            "step-aborted" => step.status = StepStatus::Aborted,
            _ => {}
        }
    }
    // A step that was verifying when the console stopped is verified again from live data.
    let now = state.now;
    let verify_ms = state.config.polling.verify_timeout_ms as i64;
    for s in state.steps.iter_mut().filter(|s| s.status == StepStatus::Verifying) {
        s.verify_deadline = Some(now + chrono::Duration::milliseconds(verify_ms));
    }
    for s in state.steps.iter_mut().filter(|s| s.status == StepStatus::OutcomeUnknown) {
        s.output.push(
            "outcome unknown: the console stopped while this step was executing; verify before continuing"
                .into(),
        );
    }
    let start = entries.len().saturating_sub(LOG_TAIL_MAX);
    state.log_tail = entries[start..].iter().map(Entry::to_log_line).collect();
    if let Some(e) = entries.iter().rev().find(|e| e.kind == "resolved") {
        let summary = e.details.get("summary").and_then(|v| v.as_str()).unwrap_or(&e.summary).to_string();
        state.resolved = Some((e.ts, summary));
    }
}
