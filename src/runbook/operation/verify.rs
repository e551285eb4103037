//! [`Operation::verify`]: the postcondition, evaluated on every snapshot after execution
//! until it holds or the verify deadline passes, and what is still wrong although it holds.

use super::{disagreement, promote, repoint, rollback};
use crate::backends::Observed;
use crate::backends::model::PgRole;
use crate::operation::{Operation, Verify};
use crate::runbook::traffic;

impl Operation {
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
            // The execution itself asked the name servers: it fails unless every one agreed.
            Operation::VerifyDns { recheck_after_secs: 0, .. } => {
                Verify::Holds("every name server answered the change (see the result)".into())
            }
            Operation::VerifyDns { .. } => Verify::Holds("no name server drifted (see the result)".into()),
            Operation::Assert { check } => check.verify(obs),
            Operation::VerifyWrites { node, service, pod, .. } => {
                writes_verify(obs, node, service.as_deref(), pod.as_deref())
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
            Operation::SentinelFailover { from_master, .. } => sentinel_verify(obs, from_master.as_deref()),
            Operation::RollbackDeployment { context, namespace, deployment } => {
                rollback::verify(obs, context, namespace, deployment)
            }
            Operation::SetRoute53Weights { weights, .. } => traffic::weights_verify(obs, weights),
            Operation::ShiftTraffic { stages, .. } => match stages.last() {
                Some(last) => traffic::weights_verify(obs, last),
                None => Verify::NotYet("the shift has no stages".into()),
            },
            Operation::ScaleDeployment { context, namespace, deployment, replicas } => {
                scale_verify(obs, context, namespace, deployment, *replicas)
            }
        }
    }
}

/// The node is the writable primary (the probe committed) and, through a Service, the
/// Service's endpoints are exactly its pod.
fn writes_verify(obs: &Observed, node: &str, service: Option<&str>, pod: Option<&str>) -> Verify {
    let Some(db) = obs.database.fresh_value() else {
        return Verify::NotYet("no fresh database data".into());
    };
    if let (Some(_), Some(pod)) = (service, pod) {
        match obs.kube.fresh_value().and_then(|k| k.db_service.as_ref()) {
            Some(s) if s.endpoint_pods == [pod] && !s.draining() => {}
            Some(s) => {
                return Verify::NotYet(format!(
                    "Service {} endpoints: {}{}",
                    s.name,
                    if s.endpoint_pods.is_empty() { "none".into() } else { s.endpoint_pods.join(", ") },
                    if s.draining() { ", terminating (no endpoint is ready)" } else { "" }
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

fn sentinel_verify(obs: &Observed, from_master: Option<&str>) -> Verify {
    match obs.sentinel.fresh_value() {
        Some(s) => match s.agreed_master() {
            Some(m) if Some(m) != from_master => {
                Verify::Holds(format!("all Sentinels agree on the new master {m}"))
            }
            Some(m) => Verify::NotYet(format!("master is still {m}")),
            None => Verify::NotYet(disagreement(s)),
        },
        None => Verify::NotYet("no fresh Sentinel data".into()),
    }
}

fn scale_verify(obs: &Observed, context: &str, namespace: &str, deployment: &str, replicas: u32) -> Verify {
    let found = obs.kube.fresh_value().and_then(|k| {
        k.deployments
            .iter()
            .find(|d| d.context == context && d.namespace == namespace && d.name == deployment)
    });
    match found {
        Some(d) if d.desired == replicas && d.ready >= replicas => {
            Verify::Holds(format!("{deployment}: {}/{} ready", d.ready, d.desired))
        }
        Some(d) => Verify::NotYet(format!("{deployment}: {}/{} ready", d.ready, d.desired)),
        None => Verify::NotYet("no fresh deployment data".into()),
    }
}
