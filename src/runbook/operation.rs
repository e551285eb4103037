//! [`Operation`]: every mutating (or checking) thing a step can do, with its exact preview,
//! its prechecks against current snapshots and its postcondition.
//!
//! Prechecks and verification are pure functions of [`Observed`], so the app core evaluates
//! them on every snapshot change without awaiting anything.

use serde::{Deserialize, Serialize};

use crate::backends::model::{PgRole, SentinelView};
use crate::backends::{Freshness, Observed, Snapshot};

use super::assertion::Assertion;
use super::model::OpKind;
use super::traffic;

mod promote;
mod repoint;
mod rollback;

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

    /// Exactly what will be done, and where.
    pub fn preview(&self) -> Preview {
        match self {
            Operation::CheckPrimary => Preview {
                title: "Check which PostgreSQL node is primary".into(),
                target: "every configured PostgreSQL node".into(),
                lines: vec!["SELECT pg_is_in_recovery(); SHOW default_transaction_read_only;".into()],
                blast_radius: "none (read-only)".into(),
            },
            Operation::PromotePostgres { node, endpoint, max_lag_bytes, accept_data_loss } => {
                let lines = vec![
                    format!("SELECT pg_promote(wait => true, wait_seconds => 30);  -- on {node}"),
                    promote::lag_guard_line(*max_lag_bytes, *accept_data_loss),
                ];
                Preview {
                    title: format!("Promote {node} to primary"),
                    target: format!("{node} at {endpoint}"),
                    lines,
                    blast_radius: "new timeline; every client must reconnect to the new primary".into(),
                }
            }
            Operation::ExecPromote {
                context,
                namespace,
                pod,
                container,
                data_dir,
                node,
                max_lag_bytes,
                accept_data_loss,
            } => promote::exec_preview(&promote::ExecPromoteTarget {
                context,
                namespace,
                pod,
                container: container.as_deref(),
                data_dir,
                node,
                max_lag_bytes: *max_lag_bytes,
                accept_data_loss: *accept_data_loss,
            }),
            Operation::FencePostgres { node, endpoint } => Preview {
                title: format!("Fence {node} (refuse writes)"),
                target: format!("{node} at {endpoint}"),
                lines: vec![
                    "ALTER SYSTEM SET default_transaction_read_only = on;".into(),
                    "SELECT pg_reload_conf();".into(),
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid();".into(),
                ],
                blast_radius: format!("clients still connected to {node} are disconnected"),
            },
            Operation::PatchServiceSelector { context, namespace, service, pod } => Preview {
                title: format!("Repoint Service {service} to {pod}"),
                target: format!("context {context}, namespace {namespace}"),
                lines: vec![
                    format!("PATCH /api/v1/namespaces/{namespace}/services/{service}  (application/merge-patch+json)"),
                    format!(
                        "{{\"spec\":{{\"selector\":{{\"role\":\"primary\",\"statefulset.kubernetes.io/pod-name\":\"{pod}\"}}}}}}"
                    ),
                ],
                blast_radius: format!("all database traffic through Service {service} moves to {pod}"),
            },
            Operation::LabelPod { context, namespace, pod, key, value } => {
                repoint::label_preview(context, namespace, pod, key, value)
            }
            Operation::SentinelFailover { master, sentinel, from_master } => Preview {
                title: format!("Sentinel failover of {master}"),
                target: format!("Sentinel {sentinel}"),
                lines: vec![format!("SENTINEL FAILOVER {master}")],
                blast_radius: format!(
                    "Redis master {} is demoted; clients reconnect through Sentinel",
                    from_master.as_deref().unwrap_or("(unknown)")
                ),
            },
            Operation::SetRoute53Weights { zone, record, endpoint, weights } => {
                traffic::set_weights_preview(zone, record, endpoint, weights)
            }
            Operation::ShiftTraffic { zone, record, endpoint, target, stages, hold_secs } => {
                traffic::shift_preview(zone, record, endpoint, target, stages, *hold_secs)
            }
            Operation::ScaleDeployment { context, namespace, deployment, replicas } => Preview {
                title: format!("Scale {deployment} to {replicas} in {context}"),
                target: format!("context {context}, namespace {namespace}"),
                lines: vec![
                    format!(
                        "PATCH /apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale  {{\"spec\":{{\"replicas\":{replicas}}}}}"
                    ),
                ],
                blast_radius: format!("more capacity in {context}; no traffic moves by itself"),
            },
            Operation::RollbackDeployment { context, namespace, deployment } => {
                rollback::preview(context, namespace, deployment)
            }
            Operation::Assert { check } => Preview {
                title: check.title(),
                target: check.reads().into(),
                lines: vec![format!("assert {}: nothing is executed; holds when the panes show it", check.name())],
                blast_radius: "none (read-only)".into(),
            },
            Operation::VerifyWrites { node, endpoint, service, pod } => Preview {
                title: format!("Verify writes through {node}"),
                target: format!("{node} at {endpoint}"),
                lines: {
                    let mut lines = Vec::new();
                    if let (Some(svc), Some(pod)) = (service, pod) {
                        lines.push(format!("Service {svc} endpoints must be exactly [{pod}]"));
                    }
                    lines.push(format!("BEGIN; CREATE TEMP TABLE warroom_write_probe (x int) ON COMMIT DROP; COMMIT;  -- on {node}"));
                    lines
                },
                blast_radius: "none (a temporary table dropped at commit)".into(),
            },
            Operation::Manual { instruction } => Preview {
                title: "Manual step".into(),
                target: "the operator".into(),
                lines: vec![instruction.clone()],
                blast_radius: "whatever the operator does".into(),
            },
        }
    }

    /// Check the current snapshots before confirming and again before executing. The last
    /// check, when the operation acts on a layer that can have two authorities, is "single
    /// authority" ([`super::authority::authority_problem`]).
    pub fn precheck(&self, obs: &Observed) -> Vec<Check> {
        let mut checks = self.layer_prechecks(obs);
        checks.extend(super::authority::authority_check(self, obs));
        checks
    }

    fn layer_prechecks(&self, obs: &Observed) -> Vec<Check> {
        match self {
            Operation::CheckPrimary | Operation::Manual { .. } => vec![],
            Operation::Assert { check } => check.precheck(obs),
            Operation::VerifyWrites { .. } => vec![fresh_check("database data", &obs.database)],
            Operation::PromotePostgres { node, max_lag_bytes, accept_data_loss, .. }
            | Operation::ExecPromote { node, max_lag_bytes, accept_data_loss, .. } => {
                promote::checks(obs, node, *max_lag_bytes, *accept_data_loss)
            }
            Operation::FencePostgres { node, .. } => {
                let mut checks = vec![fresh_check("database data", &obs.database)];
                if let Some(db) = obs.database.value.as_ref() {
                    checks.push(match db.node(node) {
                        None => Check::new("target", false, format!("no node named {node}")),
                        Some(n) if n.role == PgRole::Down || n.error.is_some() => Check::new(
                            "target reachable",
                            false,
                            format!("{node} is unreachable: nothing to fence"),
                        ),
                        Some(n) if n.read_only => {
                            Check::new("target writable", false, format!("{node} already refuses writes"))
                        }
                        Some(_) => {
                            Check::new("target reachable", true, format!("{node} answers and accepts writes"))
                        }
                    });
                }
                checks
            }
            Operation::PatchServiceSelector { context, namespace, service, pod } => {
                repoint::checks(obs, context, namespace, service, pod)
            }
            Operation::LabelPod { context, namespace, pod, .. } => {
                repoint::label_checks(obs, context, namespace, pod)
            }
            Operation::SentinelFailover { sentinel, .. } => {
                let mut checks = vec![fresh_check("sentinel data", &obs.sentinel)];
                let Some(s) = obs.sentinel.value.as_ref() else { return checks };
                let answering = s.sentinels.iter().find(|x| x.addr == *sentinel);
                checks.push(match answering {
                    Some(x) if x.error.is_none() => {
                        Check::new("sentinel answers", true, format!("{sentinel} answers"))
                    }
                    Some(x) => Check::new(
                        "sentinel answers",
                        false,
                        format!("{sentinel}: {}", x.error.as_deref().unwrap_or("no answer")),
                    ),
                    None => Check::new(
                        "sentinel answers",
                        false,
                        format!("{sentinel} is not in the Sentinel pane"),
                    ),
                });
                checks.push(Check::new(
                    "no failover in progress",
                    !s.failover_in_progress,
                    if s.failover_in_progress {
                        "a failover is already in progress (INPROG): wait for +failover-end"
                    } else {
                        "idle"
                    },
                ));
                // SENTINEL FAILOVER forces a failover from one Sentinel without asking the others:
                // it needs no quorum (a lost region takes its Sentinels with it), so NOQUORUM does
                // not stop it, but a check that found a problem is never a pass: it is a warning
                // (no automatic failover will follow without quorum).
                checks.push(match s.quorum_verdict() {
                    Some(Ok(m)) => Check::new("quorum", true, m),
                    Some(Err(m)) => Check::warn(
                        "quorum",
                        format!("{m}: the forced failover needs none, but no automatic failover will follow"),
                    ),
                    None => Check::warn("quorum", "quorum unknown: the forced failover needs none"),
                });
                // Sentinels naming different masters is the "single authority" check's business
                // (it can be overridden); here only "nobody knows a master" fails.
                let conflict = super::authority::layer_conflict(crate::backends::Layer::Sentinel, obs);
                checks.push(Check::new(
                    "sentinels agree",
                    s.agreed() || conflict.is_some(),
                    match (s.agreed(), conflict) {
                        (true, _) => "all Sentinels report the same master".into(),
                        (false, Some(c)) => format!("{c}: see single authority"),
                        (false, None) => disagreement(s),
                    },
                ));
                // With the master down every replica's link is down too: then a replica that
                // the Sentinel does not flag down or disconnected can still be promoted.
                let master_down = s.master_role.is_none();
                let healthy = s
                    .replicas
                    .iter()
                    .filter(|r| {
                        (r.link_up || master_down)
                            && !r.flags.contains("down")
                            && !r.flags.contains("disconnected")
                    })
                    .count();
                checks.push(Check::new(
                    "a replica can take over",
                    healthy > 0,
                    if master_down {
                        format!("{healthy} replica(s) reachable (the master is down)")
                    } else {
                        format!("{healthy} replica(s) with link up")
                    },
                ));
                checks
            }
            Operation::RollbackDeployment { context, namespace, deployment } => {
                rollback::checks(obs, context, namespace, deployment)
            }
            Operation::SetRoute53Weights { weights, .. } => traffic::set_weights_precheck(obs, weights),
            Operation::ShiftTraffic { target, stages, hold_secs, .. } => {
                traffic::shift_precheck(obs, target, stages, *hold_secs)
            }
            Operation::ScaleDeployment { context, namespace, deployment, .. } => {
                let mut checks = vec![fresh_check("kubernetes data", &obs.kube)];
                if let Some(k) = obs.kube.value.as_ref() {
                    let found = k
                        .deployments
                        .iter()
                        .any(|d| d.context == *context && d.namespace == *namespace && d.name == *deployment);
                    checks.push(Check::new(
                        "deployment exists",
                        found,
                        if found {
                            format!("{deployment} in {context}/{namespace}")
                        } else {
                            format!("no deployment {deployment} in {context}/{namespace}")
                        },
                    ));
                }
                checks
            }
        }
    }

    /// What is wrong although the postcondition holds: the step is verified with a warning
    /// (Sentinels that do not answer, running without a reachable replica).
    pub fn verify_warning(&self, obs: &Observed) -> Option<String> {
        match self {
            Operation::Assert { check } => check.warning(obs),
            Operation::SentinelFailover { .. } => {
                let (r, t) = obs.sentinel.fresh_value()?.reachable();
                (r < t).then(|| format!("only {r} of {t} Sentinels reachable; those agree"))
            }
            _ => None,
        }
    }

    /// Evaluate the postcondition against the current snapshots.
    pub fn verify(&self, obs: &Observed) -> Verify {
        match self {
            Operation::CheckPrimary => match obs.database.value.as_ref().and_then(|d| d.primary()) {
                Some(p) => Verify::Holds(format!("{} is the writable primary", p.name)),
                None => Verify::NotYet("no single writable primary".into()),
            },
            Operation::Manual { .. } => Verify::Holds("ticked by the operator".into()),
            Operation::Assert { check } => check.verify(obs),
            Operation::VerifyWrites { node, service, pod, .. } => {
                let Some(db) = obs.database.fresh_value() else {
                    return Verify::NotYet("no fresh database data".into());
                };
                if let (Some(_), Some(pod)) = (service, pod) {
                    match obs.kube.fresh_value().and_then(|k| k.db_service.as_ref()) {
                        Some(s) if s.endpoint_pods == [pod.clone()] => {}
                        Some(s) => {
                            return Verify::NotYet(format!(
                                "Service {} endpoints: {}",
                                s.name,
                                if s.endpoint_pods.is_empty() {
                                    "none".into()
                                } else {
                                    s.endpoint_pods.join(", ")
                                }
                            ));
                        }
                        None => return Verify::NotYet("no fresh Service data".into()),
                    }
                }
                match db.node(node) {
                    Some(n) if n.is_writable_primary() => {
                        Verify::Holds(format!("write probe committed on {node}, the writable primary"))
                    }
                    Some(n) => Verify::NotYet(format!("{node} is {}", n.role.as_str())),
                    None => Verify::NotYet(format!("no node named {node}")),
                }
            }
            Operation::PromotePostgres { node, .. } | Operation::ExecPromote { node, .. } => {
                promote::verify(obs, node)
            }
            Operation::FencePostgres { node, .. } => {
                match obs.database.fresh_value().and_then(|d| d.node(node)) {
                    Some(n) if n.read_only || n.role == PgRole::Down => {
                        Verify::Holds(format!("{node} refuses writes"))
                    }
                    Some(_) => Verify::NotYet(format!("{node} still accepts writes")),
                    None => Verify::NotYet("no fresh database data".into()),
                }
            }
            Operation::PatchServiceSelector { context, namespace, pod, .. } => {
                repoint::verify(obs, context, namespace, pod)
            }
            Operation::LabelPod { context, namespace, pod, key, value } => {
                repoint::label_verify(obs, context, namespace, pod, key, value)
            }
            Operation::SentinelFailover { from_master, .. } => match obs.sentinel.fresh_value() {
                Some(s) => match s.agreed_master() {
                    Some(m) if Some(m) != from_master.as_deref() => {
                        Verify::Holds(format!("all Sentinels agree on the new master {m}"))
                    }
                    Some(m) => Verify::NotYet(format!("master is still {m}")),
                    None => Verify::NotYet(disagreement(s)),
                },
                None => Verify::NotYet("no fresh Sentinel data".into()),
            },
            Operation::RollbackDeployment { context, namespace, deployment } => {
                rollback::verify(obs, context, namespace, deployment)
            }
            Operation::SetRoute53Weights { weights, .. } => traffic::weights_verify(obs, weights),
            Operation::ShiftTraffic { stages, .. } => match stages.last() {
                Some(last) => traffic::weights_verify(obs, last),
                None => Verify::NotYet("the shift has no stages".into()),
            },
            Operation::ScaleDeployment { context, namespace, deployment, replicas } => {
                match obs.kube.fresh_value().and_then(|k| {
                    k.deployments
                        .iter()
                        .find(|d| d.context == *context && d.namespace == *namespace && d.name == *deployment)
                }) {
                    Some(d) if d.desired == *replicas && d.ready >= *replicas => {
                        Verify::Holds(format!("{deployment}: {}/{} ready", d.ready, d.desired))
                    }
                    Some(d) => Verify::NotYet(format!("{deployment}: {}/{} ready", d.ready, d.desired)),
                    None => Verify::NotYet("no fresh deployment data".into()),
                }
            }
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
