//! How each [`Operation`] (the vocabulary in [`crate::operation`]) is judged against the
//! snapshots: its exact preview, its prechecks and its postcondition.
//!
//! Prechecks and verification are pure functions of [`crate::backends::Observed`], so the app
//! core evaluates them on every snapshot change without awaiting anything.

use crate::backends::model::SentinelView;
use crate::backends::{Freshness, Snapshot};

use super::model::OpKind;
use crate::operation::{Check, Operation};

mod precheck;
mod preview;
mod promote;
mod repoint;
mod rollback;
mod verify;

pub(crate) use repoint::pod_label;

impl Operation {
    /// The runbook operation (`op = "..."`) this is.
    pub fn kind(&self) -> OpKind {
        match self {
            Operation::CheckPrimary => OpKind::CheckPrimary,
            Operation::PromotePostgres { .. } => OpKind::Promote,
            Operation::ExecPromote { .. } => OpKind::ExecPromote,
            Operation::FencePostgres { .. } => OpKind::Fence,
            Operation::PatchServiceSelector { .. } => OpKind::RepointService,
            Operation::LabelPod { .. } => OpKind::LabelPod,
            Operation::SentinelFailover { .. } => OpKind::SentinelFailover,
            Operation::SetRoute53Weights { .. } => OpKind::SetWeights,
            Operation::ShiftTraffic { .. } => OpKind::ShiftTraffic,
            Operation::ScaleDeployment { .. } => OpKind::Scale,
            Operation::RollbackDeployment { .. } => OpKind::RollbackDeployment,
            Operation::Assert { .. } => OpKind::Assert,
            Operation::VerifyWrites { .. } => OpKind::VerifyWrites,
            Operation::Manual { .. } => OpKind::Manual,
        }
    }

    /// Short kebab-case name (as in runbooks and the log).
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }
}

pub(crate) fn fresh_check<T>(what: &str, snap: &Snapshot<T>) -> Check {
    match &snap.freshness {
        Freshness::Fresh => Check::new(&format!("{what} fresh"), true, "fresh"),
        f => Check::new(
            &format!("{what} fresh"),
            false,
            format!(
                "{what} is {}{}: refusing to act on it",
                f.as_str(),
                f.error().map(|e| format!(" ({e})")).unwrap_or_default()
            ),
        ),
    }
}

fn disagreement(s: &SentinelView) -> String {
    let parts: Vec<String> = s
        .sentinels
        .iter()
        .map(|x| format!("{} says {}", x.addr, x.master.as_deref().unwrap_or("?")))
        .collect();
    format!("Sentinels disagree: {}", parts.join(", "))
}

pub(crate) fn probe_text(p: &crate::backends::model::Probe) -> String {
    match p.status {
        Some(s) => format!("{s} in {} ms", p.latency_ms),
        None => p.error.clone().unwrap_or_else(|| "no answer".into()),
    }
}
