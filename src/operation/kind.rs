//! [`OpKind`]: the name of each operation (`op = "..."` in runbook files, `name()` in the log)
//! and what follows from the kind alone: whether it changes anything and how careful its
//! confirmation must be.

use serde::Deserialize;
use strum::{EnumString, IntoStaticStr, VariantNames};

use super::{Operation, Risk};

/// The operations a runbook step can name (`op = "..."`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, EnumString, IntoStaticStr, VariantNames, strum::Display,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum OpKind {
    /// Which node is primary (read-only).
    CheckPrimary,
    /// A read-only condition on the panes (`args.check`).
    Assert,
    /// `pg_promote()` on `args.node`.
    Promote,
    /// `pg_ctl promote` through the pod exec API on `args.node`.
    ExecPromote,
    /// Fence `args.node` (refuse writes).
    Fence,
    /// Repoint the database Service at `args.node`'s pod.
    RepointService,
    /// Label `args.node`'s pod (`args.label`, default `role=primary`).
    LabelPod,
    /// A write probe on `args.node` through the Service.
    VerifyWrites,
    /// `SENTINEL FAILOVER`.
    SentinelFailover,
    /// Every Route 53 weight to `args.target` (100) and 0 elsewhere, one batch.
    SetWeights,
    /// Staged, health-gated shift to `args.target`.
    ShiftTraffic,
    /// Scale `args.region`'s deployments to `args.replicas` (one step per deployment).
    Scale,
    /// Roll `args.deployment` back to its previous revision (in `args.region`, default: the
    /// region where it is failing).
    RollbackDeployment,
    /// Ask every authoritative name server what it answers for the Route 53 record
    /// (read-only; `args.recheck_after_secs` makes it the drift re-check).
    VerifyDns,
    /// Something the console cannot do: `args.instruction`, ticked with a note.
    Manual,
}

impl OpKind {
    /// Name as written in files.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether the operation changes anything (read-only consoles may run the others).
    pub fn is_mutating(self) -> bool {
        !matches!(
            self,
            OpKind::CheckPrimary | OpKind::Manual | OpKind::Assert | OpKind::VerifyWrites | OpKind::VerifyDns
        )
    }

    /// How careful the confirmation must be (a runbook may raise it, never lower it).
    pub fn risk(self) -> Risk {
        match self {
            OpKind::CheckPrimary
            | OpKind::Manual
            | OpKind::Assert
            | OpKind::VerifyWrites
            | OpKind::VerifyDns
            | OpKind::Scale => Risk::Low,
            OpKind::Promote
            | OpKind::ExecPromote
            | OpKind::Fence
            | OpKind::RepointService
            | OpKind::LabelPod
            | OpKind::SentinelFailover
            | OpKind::SetWeights
            | OpKind::ShiftTraffic
            | OpKind::RollbackDeployment => Risk::High,
        }
    }
}

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
            Operation::VerifyDns { .. } => OpKind::VerifyDns,
            Operation::Manual { .. } => OpKind::Manual,
        }
    }

    /// Short kebab-case name (as in runbooks and the log).
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }
}
