//! What the scorecard reads from the log: each step's operation, who confirmed it and what
//! became of it; the measured result; when the fault struck. Pure reading, no judgement.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::EntryRef;
use crate::incident::entry::{Entry, EntryKind};
use crate::incident::export::plain_text;
use crate::operation::Operation;
use crate::operation::kind::OpKind;

/// One step as the log tells it.
#[derive(Debug, Clone, Default)]
pub(super) struct StepFact {
    /// Step id (`details.step`).
    pub id: u64,
    /// The operation (from `step-previewed` or `step-executing`); `None` when unreadable.
    pub op: Option<Operation>,
    /// Preview title.
    pub title: String,
    /// Who proposed it (the `step-previewed` entry's operator).
    pub proposed_by: Option<String>,
    /// The last confirmation, with who confirmed.
    pub confirmed: Option<(EntryRef, String)>,
    /// The first `step-executing` entry.
    pub executing: Option<EntryRef>,
    /// A `step-result` with `ok: true`.
    pub executed_ok: Option<EntryRef>,
    /// The `step-verified` entry.
    pub verified: Option<EntryRef>,
    /// Precheck failures: the entry, its writer and the reason.
    pub precheck_failed: Vec<(EntryRef, String, String)>,
}

impl StepFact {
    /// The operation kind, if known.
    pub fn kind(&self) -> Option<OpKind> {
        self.op.as_ref().map(Operation::kind)
    }

    /// Who the step is attributed to: who confirmed it, else who proposed it.
    pub fn owner(&self) -> Option<&str> {
        self.confirmed.as_ref().map(|(_, who)| who.as_str()).or(self.proposed_by.as_deref())
    }

    /// The node a promotion promoted or a fence fenced.
    pub fn node(&self) -> Option<&str> {
        match self.op.as_ref()? {
            Operation::PromotePostgres { node, .. }
            | Operation::ExecPromote { node, .. }
            | Operation::FencePostgres { node, .. } => Some(node),
            _ => None,
        }
    }

    /// Executed with success (the backend answered ok).
    pub fn executed(&self) -> bool {
        self.executed_ok.is_some()
    }
}

/// `{"step": N}` as a number.
fn step_of(e: &Entry) -> Option<u64> {
    match e.details.get("step")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Every step in order of first appearance.
pub(super) fn steps(entries: &[Entry]) -> Vec<StepFact> {
    let mut out: Vec<StepFact> = Vec::new();
    for e in entries.iter().filter(|e| e.kind.is_step()) {
        let Some(id) = step_of(e) else { continue };
        let i = match out.iter().position(|s| s.id == id) {
            Some(i) => i,
            None => {
                out.push(StepFact { id, title: format!("step #{id}"), ..StepFact::default() });
                out.len() - 1
            }
        };
        let s = &mut out[i];
        let r = EntryRef::of(e);
        let op = || e.details.get("op").and_then(|v| serde_json::from_value::<Operation>(v.clone()).ok());
        match e.kind {
            EntryKind::StepPreviewed => {
                s.op = op().or(s.op.take());
                s.proposed_by.get_or_insert_with(|| e.operator.clone());
                if let Some(t) = e.details.pointer("/preview/title").and_then(Value::as_str) {
                    s.title = plain_text(t);
                }
            }
            EntryKind::StepConfirmed => s.confirmed = Some((r, e.operator.clone())),
            EntryKind::StepExecuting => {
                s.op = op().or(s.op.take());
                s.executing.get_or_insert(r);
            }
            EntryKind::StepResult if e.details.get("ok").and_then(Value::as_bool) == Some(true) => {
                s.executed_ok.get_or_insert(r);
            }
            EntryKind::StepVerified => {
                s.verified.get_or_insert(r);
            }
            EntryKind::StepFailed if e.details.get("stage").and_then(Value::as_str) == Some("precheck") => {
                let reason = e.details.get("reason").and_then(Value::as_str).unwrap_or("precheck failed");
                s.precheck_failed.push((r, e.operator.clone(), plain_text(reason)));
            }
            _ => {}
        }
    }
    out
}

/// The measured result that counts: the latest `drill-result` (or `recovery-result`) not
/// followed by a `mitigation-withdrawn` entry.
pub(super) fn result(entries: &[Entry]) -> Option<&Entry> {
    let r = entries.iter().rev().find(|e| e.kind.is_result())?;
    let withdrawn = entries.iter().any(|e| e.kind == EntryKind::MitigationWithdrawn && e.seq > r.seq);
    (!withdrawn).then_some(r)
}

/// An RFC 3339 time in `details[key]`.
pub(super) fn time(details: &Value, key: &str) -> Option<DateTime<Utc>> {
    let s = details.get(key)?.as_str()?;
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// When the first fault struck: the latest result's `fault_injected_at` (any result, withdrawn
/// or not: the fault time does not change), else the first `verdict` entry that is not healthy.
pub(super) fn fault_at(entries: &[Entry]) -> Option<DateTime<Utc>> {
    let from_result = entries
        .iter()
        .rev()
        .filter(|e| e.kind.is_result())
        .find_map(|e| time(&e.details, "fault_injected_at"));
    from_result.or_else(|| {
        entries
            .iter()
            .find(|e| {
                e.kind == EntryKind::Verdict
                    && matches!(e.details.get("level").and_then(Value::as_str), Some("degraded" | "failing"))
            })
            .map(|e| e.ts)
    })
}

/// Whether an entry is a hint the trainees saw: kind `hint`, or kind `facilitator` with
/// `details.hint` (the facilitator console's release of a hint).
pub(super) fn is_hint(e: &Entry) -> bool {
    match &e.kind {
        EntryKind::Other(k) if k == "hint" => true,
        EntryKind::Facilitator => e.details.get("hint").is_some_and(|h| !h.is_null()),
        _ => false,
    }
}

/// The hint's text, if the entry carries one.
pub(super) fn hint_text(e: &Entry) -> String {
    let d = &e.details;
    let text = match d.get("hint") {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => d.get("text").and_then(Value::as_str),
    };
    plain_text(text.unwrap_or(&e.summary))
}

/// Entries that show an operator at work (they count for "noticed" and decide who gets a
/// scorecard): steps previewed or confirmed, runbooks started, checklist ticks, notes, status
/// updates, overrides.
pub(super) fn is_action(kind: &EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::StepPreviewed
            | EntryKind::StepConfirmed
            | EntryKind::RunbookStarted
            | EntryKind::Checklist
            | EntryKind::Note
            | EntryKind::StepNote
            | EntryKind::StatusUpdate
            | EntryKind::Override
    )
}

/// Every name an operation acts on (node, pod, deployment, region, master), for matching a
/// forbidden action's target.
pub(super) fn targets(op: &Operation) -> Vec<&str> {
    match op {
        Operation::CheckPrimary => vec![],
        Operation::PromotePostgres { node, .. } | Operation::FencePostgres { node, .. } => vec![node],
        Operation::ExecPromote { node, pod, .. } => vec![node, pod],
        Operation::PatchServiceSelector { pod, service, .. } => vec![pod, service],
        Operation::LabelPod { pod, .. } => vec![pod],
        Operation::SentinelFailover { master, .. } => vec![master],
        Operation::SetRoute53Weights { weights, .. } => {
            // The region the change sends most traffic to.
            weights.iter().max_by_key(|(_, w)| *w).map(|(r, _)| r.as_str()).into_iter().collect()
        }
        Operation::ShiftTraffic { target, .. } => vec![target],
        Operation::ScaleDeployment { deployment, context, .. }
        | Operation::RollbackDeployment { deployment, context, .. } => vec![deployment, context],
        Operation::VerifyWrites { node, .. } => vec![node],
        Operation::Assert { .. } | Operation::VerifyDns { .. } | Operation::Manual { .. } => vec![],
    }
}
