//! [`Operation`]: every mutating (or checking) thing a step can do, with its exact preview,
//! its prechecks against current snapshots and its postcondition.
//!
//! Prechecks and verification are pure functions of [`crate::backends::Observed`], so the app core evaluates
//! them on every snapshot change without awaiting anything.

use serde::{Deserialize, Serialize};

use crate::backends::model::SentinelView;
use crate::backends::{Freshness, Snapshot};

use super::assertion::Assertion;
use super::model::OpKind;
use super::traffic;

mod precheck;
mod preview;
mod promote;
mod repoint;
mod rollback;
mod verify;

pub use promote::{exec_request_line, pg_ctl_promote_argv};
pub(crate) use repoint::pod_label;
pub use rollback::{HASH_LABEL, REVISION_ANNOTATION, owned_by, previous_revision, rollback_patch};

/// How careful the confirmation must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Read-only or easily undone: confirmed with `y`.
    Low,
    /// Destructive or traffic-moving: confirmed by typing the target's name.
    High,
}

/// One operation with its explicit target (never an implicit "current context").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Operation {
    /// Read-only: which node is primary and whether it accepts writes.
    CheckPrimary,
    /// `SELECT pg_promote(wait => true, wait_seconds => N)` on a replica.
    PromotePostgres {
        /// Node to promote.
        node: String,
        /// Address of that node (host:port), for the preview.
        endpoint: String,
        /// Maximum replay lag accepted.
        max_lag_bytes: u64,
        /// Typed override: the operator accepted losing up to this many bytes.
        accept_data_loss: Option<u64>,
    },
    /// `pg_ctl promote -D <data_dir>` in the node's pod through the pod exec API (the failover
    /// plan's literal form). Same prechecks and postcondition as [`Operation::PromotePostgres`].
    ExecPromote {
        /// Kube context of the pod.
        context: String,
        /// Namespace of the pod.
        namespace: String,
        /// Pod running the node.
        pod: String,
        /// Container to exec in (`None`: the pod's only or default container).
        container: Option<String>,
        /// PostgreSQL data directory inside the pod.
        data_dir: String,
        /// Node to promote.
        node: String,
        /// Maximum replay lag accepted.
        #[serde(default)]
        max_lag_bytes: u64,
        /// Typed override: the operator accepted losing up to this many bytes.
        #[serde(default)]
        accept_data_loss: Option<u64>,
    },
    /// Make a reachable old primary refuse writes.
    FencePostgres {
        /// Node to fence.
        node: String,
        /// Address of that node.
        endpoint: String,
    },
    /// Merge-patch the database Service's selector to one pod.
    PatchServiceSelector {
        /// Kube context.
        context: String,
        /// Namespace.
        namespace: String,
        /// Service name.
        service: String,
        /// Pod the Service must point at.
        pod: String,
    },
    /// Merge-patch one label of the promoted node's pod (`role=primary`), for estates where
    /// nothing else (Patroni, an operator) relabels it: the Service's selector asks for it.
    LabelPod {
        /// Kube context.
        context: String,
        /// Namespace.
        namespace: String,
        /// Pod to label.
        pod: String,
        /// Label key.
        key: String,
        /// Label value.
        value: String,
    },
    /// `SENTINEL FAILOVER <master>`.
    SentinelFailover {
        /// Monitored master name.
        master: String,
        /// Sentinel address the command is sent to.
        sentinel: String,
        /// Master address before the failover (verify waits for a different one).
        from_master: Option<String>,
    },
    /// One atomic UPSERT change batch setting the weight of every region.
    SetRoute53Weights {
        /// Hosted zone.
        zone: String,
        /// Record name.
        record: String,
        /// Endpoint (AWS or emulator) the call goes to.
        endpoint: String,
        /// Weight per region (SetIdentifier).
        weights: Vec<(String, u8)>,
    },
    /// Move traffic to `target` in stages: per stage one atomic UPSERT batch (waited `INSYNC`),
    /// then a hold during which the target's health check and ready probe gate the next stage.
    ShiftTraffic {
        /// Hosted zone.
        zone: String,
        /// Record name.
        record: String,
        /// Endpoint (AWS or emulator) the calls go to.
        endpoint: String,
        /// Region the traffic moves to (its health gates every hold; typed to confirm).
        target: String,
        /// Weight of every region at each stage, in order; the last one is the end state.
        stages: Vec<Vec<(String, u8)>>,
        /// Seconds each stage is held, health-gated, before the next one.
        hold_secs: u64,
    },
    /// Set replicas through the scale subresource in a named context.
    ScaleDeployment {
        /// Kube context.
        context: String,
        /// Namespace.
        namespace: String,
        /// Deployment name.
        deployment: String,
        /// Target replicas.
        replicas: u32,
    },
    /// Roll a Deployment back to its previous revision's pod template (`kubectl rollout undo`):
    /// see [`rollback`]. Verified by the Deployment's pods all becoming Ready.
    RollbackDeployment {
        /// Kube context.
        context: String,
        /// Namespace.
        namespace: String,
        /// Deployment name.
        deployment: String,
    },
    /// Read-only: a condition on what the panes show (nothing is executed; the assertion is
    /// the postcondition).
    Assert {
        /// The condition.
        #[serde(flatten)]
        check: Assertion,
    },
    /// A write probe (`CREATE TEMP TABLE ... ON COMMIT DROP`) on the node the database Service
    /// points at: proves the application's write path after a failover.
    VerifyWrites {
        /// Node expected to take writes.
        node: String,
        /// Its address.
        endpoint: String,
        /// The Service whose endpoints must point at the node's pod, when configured.
        service: Option<String>,
        /// The node's pod, when configured.
        pod: Option<String>,
    },
    /// A step the console cannot perform: shown, ticked by the operator with a note.
    Manual {
        /// What to do.
        instruction: String,
    },
}

/// Exactly what an operation will do, shown before confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// One-line title, e.g. "Promote postgresql-1 to primary".
    pub title: String,
    /// Where it acts: kube context/namespace, endpoint, address.
    pub target: String,
    /// The exact call(s), patch or change batch.
    pub lines: Vec<String>,
    /// What else is affected.
    pub blast_radius: String,
}

/// One precheck result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// Why it passed or failed.
    pub detail: String,
    /// It found a problem that does not stop the step (never drawn as a pass).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
}

impl Check {
    /// A check result.
    pub fn new(name: &str, ok: bool, detail: impl Into<String>) -> Check {
        Check { name: name.to_string(), ok, detail: detail.into(), warning: false }
    }

    /// A check that found a problem which does not stop the step: shown as a warning.
    pub fn warn(name: &str, detail: impl Into<String>) -> Check {
        Check { warning: true, ..Check::new(name, true, detail) }
    }

    /// Symbol for the screen: `✓` only for a clean pass, `⚠` for a warning, `✗` for a failure.
    pub fn symbol(&self) -> &'static str {
        match (self.ok, self.warning) {
            (true, false) => "✓",
            (true, true) => "⚠",
            (false, _) => "✗",
        }
    }
}

/// Result of evaluating a postcondition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    /// The postcondition holds.
    Holds(String),
    /// Not (yet) true, with what is observed.
    NotYet(String),
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
            Operation::Manual { .. } => OpKind::Manual,
        }
    }

    /// Short kebab-case name (as in runbooks and the log).
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// Whether the operation changes anything (read-only consoles may run the others).
    pub fn is_mutating(&self) -> bool {
        !matches!(
            self,
            Operation::CheckPrimary
                | Operation::Manual { .. }
                | Operation::Assert { .. }
                | Operation::VerifyWrites { .. }
        )
    }

    /// How careful the confirmation must be.
    pub fn risk(&self) -> Risk {
        match self {
            Operation::CheckPrimary
            | Operation::Manual { .. }
            | Operation::Assert { .. }
            | Operation::VerifyWrites { .. }
            | Operation::ScaleDeployment { .. } => Risk::Low,
            _ => Risk::High,
        }
    }

    /// The shortest execution timeout this operation needs, when the configured
    /// `execute_timeout_ms` may be too short: a Route 53 change can stay `PENDING` for minutes,
    /// and a shift holds every stage. The pipeline uses the larger of the two.
    pub fn min_timeout_secs(&self) -> Option<u64> {
        match self {
            Operation::SetRoute53Weights { .. } => Some(traffic::INSYNC_ALLOWANCE_SECS),
            Operation::ShiftTraffic { stages, hold_secs, .. } => Some(
                (stages.len() as u64)
                    .max(1)
                    .saturating_mul(hold_secs.saturating_add(traffic::INSYNC_ALLOWANCE_SECS)),
            ),
            _ => None,
        }
    }

    /// The name a high-risk confirmation must type.
    pub fn confirm_word(&self) -> String {
        match self {
            Operation::PromotePostgres { node, .. }
            | Operation::ExecPromote { node, .. }
            | Operation::FencePostgres { node, .. } => node.clone(),
            Operation::PatchServiceSelector { pod, .. } | Operation::LabelPod { pod, .. } => pod.clone(),
            Operation::SentinelFailover { master, .. } => master.clone(),
            Operation::SetRoute53Weights { weights, .. } => {
                weights.iter().max_by_key(|(_, w)| *w).map(|(r, _)| r.clone()).unwrap_or_default()
            }
            Operation::ShiftTraffic { target, .. } => target.clone(),
            Operation::ScaleDeployment { deployment, .. }
            | Operation::RollbackDeployment { deployment, .. } => deployment.clone(),
            Operation::VerifyWrites { node, .. } => node.clone(),
            Operation::CheckPrimary | Operation::Manual { .. } | Operation::Assert { .. } => "yes".into(),
        }
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
