//! How a trainee's choice compares with a reference operation (what the original operator did,
//! or what the runbook's plan expected): the same operation kind on the same target, or not.

use serde::{Deserialize, Serialize};

use crate::operation::Operation;

/// The result of comparing a choice with a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Match {
    /// Same operation kind, same target.
    Same,
    /// Another operation kind.
    DifferentOp,
    /// The same kind on another target.
    DifferentTarget,
    /// The trainee passed: no step was confirmed.
    Skipped,
}

impl Match {
    /// How the difference reads on screen and on the card.
    pub fn label(self) -> &'static str {
        match self {
            Match::Same => "same",
            Match::DifferentOp => "different op",
            Match::DifferentTarget => "different target",
            Match::Skipped => "skipped",
        }
    }
}

/// What an operation acts on, as one comparable line (`postgresql-1`, `api=3`,
/// `us-west-2`): the identity of the target, not every parameter of the operation.
pub fn target(op: &Operation) -> String {
    match op {
        Operation::PromotePostgres { node, .. }
        | Operation::ExecPromote { node, .. }
        | Operation::FencePostgres { node, .. }
        | Operation::VerifyWrites { node, .. } => node.clone(),
        Operation::PatchServiceSelector { namespace, service, pod, .. } => {
            format!("{namespace}/{service} -> {pod}")
        }
        Operation::LabelPod { namespace, pod, key, value, .. } => format!("{namespace}/{pod} {key}={value}"),
        Operation::SentinelFailover { master, .. } => master.clone(),
        Operation::SetRoute53Weights { record, weights, .. }
        | Operation::VerifyDns { record, weights, .. } => {
            let w: Vec<String> = weights.iter().map(|(r, w)| format!("{r}={w}")).collect();
            format!("{record} {}", w.join(","))
        }
        Operation::ShiftTraffic { record, target, .. } => format!("{record} -> {target}"),
        Operation::ScaleDeployment { namespace, deployment, replicas, .. } => {
            format!("{namespace}/{deployment}={replicas}")
        }
        Operation::RollbackDeployment { namespace, deployment, .. } => format!("{namespace}/{deployment}"),
        Operation::CheckPrimary => String::new(),
        // `primary-down`, `region-down us-east-1`: the check and its argument.
        Operation::Assert { check } => {
            let mut parts = vec![check.name().to_string()];
            if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(check) {
                parts.extend(fields.iter().filter(|(k, _)| k.as_str() != "check").map(|(_, v)| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                }));
            }
            parts.join(" ")
        }
        Operation::Manual { instruction } => instruction.clone(),
    }
}

/// Compare `chosen` (`None`: the trainee passed) with `reference`.
pub fn compare(chosen: Option<&Operation>, reference: &Operation) -> Match {
    match chosen {
        None => Match::Skipped,
        Some(op) if op.kind() != reference.kind() => Match::DifferentOp,
        Some(op) if target(op) != target(reference) => Match::DifferentTarget,
        Some(_) => Match::Same,
    }
}

/// `promote postgresql-1`: an operation's kind and target, for the screen and the card.
pub fn describe(op: &Operation) -> String {
    let t = target(op);
    if t.is_empty() { op.name().to_string() } else { format!("{} {}", op.name(), crate::text::sanitize(&t)) }
}
