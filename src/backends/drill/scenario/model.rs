//! What a scenario file says: the estate, a timeline of faults, the objectives a trainee is
//! scored against, staged hints and the runbooks the plan expects. Plain serde types; the
//! parser (`scenario::parse`) adds file, line and column to every problem and checks what
//! serde cannot (a fault's required fields, one trigger per fault, known names).
//!
//! ```toml
//! id = "primary-db-down"
//! title = "Primary database down"
//! description = "postgresql-0 crashes into CrashLoopBackOff ..."
//! runbooks = ["db-failover"]
//!
//! [estate]
//! seed = 7
//!
//! [[fault]]
//! kind = "node-crash"
//! target = "postgresql-0"
//! at = "5s"
//! returns-after = "150s"
//!
//! [[fault]]
//! kind = "replica-lag"
//! target = "postgresql-2"
//! after-op = "promote"
//! delay = "10s"
//!
//! [objectives]
//! rto = "10m"
//! max-data-loss = 0
//! promote = "postgresql-1"
//! fence = true
//! checklist-on-time = ["alert-team", "start-log"]
//! forbidden = [{ op = "fence", target = "postgresql-1", why = "it is the node the Service routes to" }]
//!
//! [[hint]]
//! after = "90s"
//! text = "Which replica has the least lag? The Database pane's LAG column says."
//! ```

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::operation::kind::OpKind;

/// One scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScenarioDef {
    /// Name given to `--scenario` (kebab-case, unique; a user file with a built-in's id replaces it).
    pub id: String,
    /// Short title for lists and the scorecard.
    pub title: String,
    /// What happens, in a sentence or two (shown by `drill --list` and to the facilitator).
    pub description: String,
    /// The estate's size and seed.
    #[serde(default)]
    pub estate: EstateDef,
    /// Faults, each with its trigger. Empty for a calm estate.
    #[serde(default, rename = "fault")]
    pub faults: Vec<FaultDef>,
    /// What the trainee is scored against.
    #[serde(default)]
    pub objectives: Objectives,
    /// Staged hints, released in order.
    #[serde(default, rename = "hint")]
    pub hints: Vec<HintDef>,
    /// Runbook ids the plan expects (shown in the debrief; ghost mode compares against them).
    #[serde(default)]
    pub runbooks: Vec<String>,
}

/// The estate a scenario runs on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EstateDef {
    /// Seed of the simulation (`--seed` overrides it); default: a seed per drill.
    pub seed: Option<u64>,
    /// Total pods across the three regions, at least the base estate's 21; the extra ones are
    /// replicas of a `batch` deployment spread over the regions. Default: the base estate.
    pub pods: Option<u32>,
}

/// One fault on the timeline. Exactly one trigger: `at`, `after-op`, `after-fault` or
/// `traffic-to` (the last three with an optional `delay`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FaultDef {
    /// Optional name, so another fault can say `after-fault = "this"`.
    pub id: Option<String>,
    /// What goes wrong.
    pub kind: FaultKind,
    /// What it strikes: a pod or node name (`postgresql-0`, `redis-0`, `sentinel-b`), a region
    /// (`us-east-1`) or a deployment (`api`), depending on the kind ([`FaultKind::target`]).
    pub target: Option<String>,
    /// The region of a deployment target (default: the primary region, us-east-1).
    pub region: Option<String>,
    /// Trigger: at this much drill time from the start.
    #[serde(default, deserialize_with = "opt_duration")]
    pub at: Option<Duration>,
    /// Trigger: after the first executed step of this operation kind (`promote`, `fence`,
    /// `set-weights`...).
    pub after_op: Option<OpKind>,
    /// Trigger: after the fault with this `id` struck.
    pub after_fault: Option<String>,
    /// Trigger: when the Route 53 weights send most traffic to this region.
    pub traffic_to: Option<String>,
    /// With `after-op`, `after-fault` or `traffic-to`: how long after the condition.
    #[serde(default, deserialize_with = "opt_duration")]
    pub delay: Option<Duration>,
    /// When the fault's cause clears (the node or region comes back, the flapping or the stuck
    /// change stops). Default: never, within the drill.
    #[serde(default, deserialize_with = "opt_duration")]
    pub returns_after: Option<Duration>,
}

impl FaultDef {
    /// A fault that strikes when injected (a facilitator's, or one replayed on re-hosting):
    /// no id and no trigger, clearing after `returns_after` if given.
    pub fn now(
        kind: FaultKind,
        target: Option<String>,
        region: Option<String>,
        returns_after: Option<Duration>,
    ) -> FaultDef {
        FaultDef {
            id: None,
            kind,
            target,
            region,
            at: None,
            after_op: None,
            after_fault: None,
            traffic_to: None,
            delay: None,
            returns_after,
        }
    }
}

/// The kinds of fault a scenario (or a facilitator) can inject, one per way each layer fails.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
    strum::EnumIter,
    strum::Display,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum FaultKind {
    /// A database or Redis pod's process crashes and crash-loops (`target`: pod), until
    /// `returns-after`, when it comes back as it was (a returning PostgreSQL primary is writable).
    NodeCrash,
    /// A node stops answering without failing: connections hang (`target`: PostgreSQL node,
    /// Redis node or Sentinel).
    Hang,
    /// A replica's replay stalls behind a long query (`target`: PostgreSQL replica).
    ReplicaLag,
    /// A Sentinel is cut off from the others and the master (`target`: sentinel-a/b/c).
    SentinelPartition,
    /// A whole region is lost: API server, health check, probes, pods, databases (`target`: region).
    RegionLoss,
    /// A deployment rolls out a revision that crash-loops (`target`: deployment, `region`).
    CrashloopRollout,
    /// A deployment rolls out a revision that is OOMKilled after passing readiness (`target`:
    /// deployment, `region`).
    Oom,
    /// A region's Route 53 health check flaps between healthy and unhealthy (`target`: region).
    HealthCheckFlapping,
    /// Route 53 changes stay PENDING (never INSYNC) until `returns-after`.
    Route53Pending,
    /// Route 53 answers every change with Throttling until `returns-after`.
    Route53Throttled,
    /// A region's Kubernetes API server stops answering (`target`: region/context); the
    /// workloads keep running.
    KubeApiDown,
    /// A replica is promoted by mistake while the primary keeps accepting writes: split brain
    /// (`target`: the replica).
    RoguePromote,
}

/// What a target names, by fault kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// No target.
    None,
    /// A PostgreSQL or Redis pod.
    DataPod,
    /// A PostgreSQL node, Redis node or Sentinel.
    Node,
    /// A PostgreSQL replica.
    PgNode,
    /// A Sentinel.
    Sentinel,
    /// A region.
    Region,
    /// An application deployment (with `region`).
    Deployment,
}

impl FaultKind {
    /// Name as written in files.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// What `target` must name for this kind.
    pub fn target(self) -> TargetKind {
        match self {
            FaultKind::NodeCrash => TargetKind::DataPod,
            FaultKind::Hang => TargetKind::Node,
            FaultKind::ReplicaLag | FaultKind::RoguePromote => TargetKind::PgNode,
            FaultKind::SentinelPartition => TargetKind::Sentinel,
            FaultKind::RegionLoss | FaultKind::HealthCheckFlapping | FaultKind::KubeApiDown => {
                TargetKind::Region
            }
            FaultKind::CrashloopRollout | FaultKind::Oom => TargetKind::Deployment,
            FaultKind::Route53Pending | FaultKind::Route53Throttled => TargetKind::None,
        }
    }
}

/// What the trainee is scored against. Every objective is optional; the scorecard lists each
/// one it applies with its points, so nothing about the score is hidden.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Objectives {
    /// Recovery time objective: from the first fault to the estate judged healthy again.
    #[serde(default, deserialize_with = "opt_duration")]
    pub rto: Option<Duration>,
    /// Largest acceptable data loss in bytes of WAL (0: none).
    pub max_data_loss: Option<u64>,
    /// The node that should be promoted (the safe candidate).
    pub promote: Option<String>,
    /// Whether the old primary must be fenced before traffic returns to the database.
    #[serde(default)]
    pub fence: bool,
    /// Checklist item ids that must be ticked before they are due.
    #[serde(default)]
    pub checklist_on_time: Vec<String>,
    /// Actions that must not happen.
    #[serde(default)]
    pub forbidden: Vec<Forbidden>,
    /// Points per objective (defaults shown in [`Points::default`]).
    #[serde(default)]
    pub points: Points,
}

/// An action that must not happen: an operation kind, optionally on one target.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Forbidden {
    /// The operation kind.
    pub op: OpKind,
    /// Its node, region or deployment; any when absent.
    pub target: Option<String>,
    /// Why it must not happen (shown in the debrief).
    pub why: String,
}

/// Points per objective met, and per mistake taken off. The scorecard shows these with the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Points {
    /// Recovered within the RTO.
    pub rto: u32,
    /// Data loss within the limit.
    pub data_loss: u32,
    /// The right candidate promoted.
    pub promote: u32,
    /// Fenced when needed.
    pub fence: u32,
    /// Each checklist item on time.
    pub checklist_item: u32,
    /// Taken off per forbidden action done.
    pub forbidden: u32,
    /// Taken off per dangerous attempt (refused by a safety rule or precheck, or overridden).
    pub dangerous: u32,
    /// Taken off per hint used.
    pub hint: u32,
}

impl Default for Points {
    fn default() -> Points {
        Points {
            rto: 30,
            data_loss: 20,
            promote: 15,
            fence: 10,
            checklist_item: 5,
            forbidden: 20,
            dangerous: 5,
            hint: 3,
        }
    }
}

/// A staged hint: released after `after` of drill time without progress (no step executed,
/// no checklist item ticked), or earlier by the facilitator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HintDef {
    /// Time without progress before it is released on its own; only by the facilitator when absent.
    #[serde(default, deserialize_with = "opt_duration")]
    pub after: Option<Duration>,
    /// The hint.
    pub text: String,
}

/// `"90s"`, `"2m 30s"`, `"10m"` (humantime), or a bare number of seconds.
fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(s) => Ok(Some(Duration::from_secs(s))),
        Raw::Text(t) => humantime::parse_duration(&t).map(Some).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration {t:?} ({e}); write e.g. \"90s\" or \"2m 30s\""
            ))
        }),
    }
}
