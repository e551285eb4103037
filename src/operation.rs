//! The operation vocabulary: every mutating (or checking) thing a step can do, as plain data
//! with its explicit target ([`Operation`]), how careful its confirmation must be ([`Risk`]),
//! what is shown and checked about it ([`Preview`], [`Check`], [`Verify`]), and the pure pieces
//! the executors share (argv and patch builders, traffic weight arithmetic).
//!
//! This module knows the configuration and the leaves only: the backends carry operations out,
//! the runbook builds them and says how they are previewed, prechecked and verified against
//! the snapshots.

use serde::{Deserialize, Serialize};

pub mod access;
pub mod assertion;
pub mod digest;
pub mod exec;
pub mod kind;
pub mod rollback;
pub mod traffic;

use assertion::Assertion;

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
    /// Read-only: ask each authoritative name server of the zone directly (non-recursive, see
    /// `backends::dns`) what it answers for the record, against the record sets Route 53 holds.
    /// Fails naming every server that does not agree in time, or, as the drift re-check, every
    /// server that no longer agrees.
    VerifyDns {
        /// Hosted zone.
        zone: String,
        /// Record name.
        record: String,
        /// Route 53 endpoint the record sets are read from.
        endpoint: String,
        /// Weight per region the answers must reflect (what a change just wrote); empty: the
        /// weights Route 53 holds now.
        #[serde(default)]
        weights: Vec<(String, u8)>,
        /// How long servers that do not agree yet are asked again.
        #[serde(default)]
        sync_timeout_secs: u64,
        /// 0: ask until every server agrees. Otherwise the drift re-check: wait this long, then
        /// ask every server once.
        #[serde(default)]
        recheck_after_secs: u64,
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
    /// Whether the operation changes anything (read-only consoles may run the others).
    pub fn is_mutating(&self) -> bool {
        self.kind().is_mutating()
    }

    /// How careful the confirmation must be.
    pub fn risk(&self) -> Risk {
        self.kind().risk()
    }

    /// The shortest execution timeout this operation needs, when the configured
    /// `execute_timeout_ms` may be too short: a Route 53 change can stay `PENDING` for minutes,
    /// and a shift holds every stage. The pipeline uses the larger of the two.
    pub fn min_timeout_secs(&self) -> Option<u64> {
        match self {
            Operation::SetRoute53Weights { .. } => Some(traffic::INSYNC_ALLOWANCE_SECS),
            Operation::VerifyDns { sync_timeout_secs, recheck_after_secs, .. } => Some(
                sync_timeout_secs
                    .saturating_add(*recheck_after_secs)
                    .saturating_add(traffic::INSYNC_ALLOWANCE_SECS),
            ),
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
            Operation::CheckPrimary
            | Operation::Manual { .. }
            | Operation::Assert { .. }
            | Operation::VerifyDns { .. } => "yes".into(),
        }
    }
}
