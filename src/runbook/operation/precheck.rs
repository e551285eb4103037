//! [`Operation::precheck`]: what must hold in the current snapshots before a step is
//! confirmed and again before it executes (fresh data, the target exists and is in the state
//! the operation expects, and finally a single authority on the layer it acts on).

use super::{disagreement, fresh_check, promote, repoint, rollback};
use crate::backends::model::{PgRole, SentinelView};
use crate::backends::{Layer, Observed};
use crate::operation::access::{AccessAnswer, AccessRequest};
use crate::operation::{Check, Operation};
use crate::runbook::{authority, traffic};

impl Operation {
    /// Check the current snapshots before confirming and again before executing. The last
    /// check, when the operation acts on a layer that can have two authorities, is "single
    /// authority" ([`crate::runbook::authority::authority_problem`]).
    pub fn precheck(&self, obs: &Observed) -> Vec<Check> {
        let mut checks = self.layer_prechecks(obs);
        checks.extend(authority::authority_check(self, obs));
        checks
    }

    fn layer_prechecks(&self, obs: &Observed) -> Vec<Check> {
        match self {
            Operation::CheckPrimary | Operation::Manual { .. } => vec![],
            Operation::VerifyDns { .. } => vec![],
            Operation::Assert { check } => check.precheck(obs),
            Operation::VerifyWrites { .. } => vec![fresh_check("database data", &obs.database)],
            Operation::PromotePostgres { node, max_lag_bytes, accept_data_loss, .. }
            | Operation::ExecPromote { node, max_lag_bytes, accept_data_loss, .. } => {
                promote::checks(obs, node, *max_lag_bytes, *accept_data_loss)
            }
            Operation::FencePostgres { node, .. } => fence_checks(obs, node),
            Operation::PatchServiceSelector { context, namespace, service, pod } => {
                repoint::checks(obs, context, namespace, service, pod)
            }
            Operation::LabelPod { context, namespace, pod, .. } => {
                repoint::label_checks(obs, context, namespace, pod)
            }
            Operation::SentinelFailover { sentinel, .. } => sentinel_checks(obs, sentinel),
            Operation::RollbackDeployment { context, namespace, deployment }
            | Operation::ScaleDeployment { context, namespace, deployment, .. } => {
                rollback::checks(obs, context, namespace, deployment)
            }
            Operation::SetRoute53Weights { weights, .. } => traffic::set_weights_precheck(obs, weights),
            Operation::ShiftTraffic { target, stages, hold_secs, .. } => {
                traffic::shift_precheck(obs, target, stages, *hold_secs)
            }
        }
    }
}

/// The node to fence answers and still accepts writes.
fn fence_checks(obs: &Observed, node: &str) -> Vec<Check> {
    let mut checks = vec![fresh_check("database data", &obs.database)];
    if let Some(db) = obs.database.value.as_ref() {
        checks.push(match db.node(node) {
            None => Check::new("target", false, format!("no node named {node}")),
            Some(n) if n.role == PgRole::Down || n.error.is_some() => {
                Check::new("target reachable", false, format!("{node} is unreachable: nothing to fence"))
            }
            Some(n) if n.read_only => {
                Check::new("target writable", false, format!("{node} already refuses writes"))
            }
            Some(_) => Check::new("target reachable", true, format!("{node} answers and accepts writes")),
        });
    }
    checks
}

/// The Sentinel answers, no failover is in progress, quorum (a warning only), agreement, and a
/// replica that can take over.
fn sentinel_checks(obs: &Observed, sentinel: &str) -> Vec<Check> {
    let mut checks = vec![fresh_check("sentinel data", &obs.sentinel)];
    let Some(s) = obs.sentinel.value.as_ref() else { return checks };
    let answering = s.sentinels.iter().find(|x| x.addr == *sentinel);
    checks.push(match answering {
        Some(x) if x.error.is_none() => Check::new("sentinel answers", true, format!("{sentinel} answers")),
        Some(x) => Check::new(
            "sentinel answers",
            false,
            format!("{sentinel}: {}", x.error.as_deref().unwrap_or("no answer")),
        ),
        None => Check::new("sentinel answers", false, format!("{sentinel} is not in the Sentinel pane")),
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
    checks.push(quorum_check(s));
    checks.push(agreement_check(s, obs));
    checks.push(replica_check(s));
    checks
}

/// SENTINEL FAILOVER forces a failover from one Sentinel without asking the others: it needs
/// no quorum (a lost region takes its Sentinels with it), so NOQUORUM does not stop it, but a
/// check that found a problem is never a pass: it is a warning (no automatic failover will
/// follow without quorum).
fn quorum_check(s: &SentinelView) -> Check {
    match s.quorum_verdict() {
        Some(Ok(m)) => Check::new("quorum", true, m),
        Some(Err(m)) => Check::warn(
            "quorum",
            format!("{m}: the forced failover needs none, but no automatic failover will follow"),
        ),
        None => Check::warn("quorum", "quorum unknown: the forced failover needs none"),
    }
}

/// Sentinels naming different masters is the "single authority" check's business (it can be
/// overridden); here only "nobody knows a master" fails.
fn agreement_check(s: &SentinelView, obs: &Observed) -> Check {
    let conflict = authority::layer_conflict(Layer::Sentinel, obs);
    Check::new(
        "sentinels agree",
        s.agreed() || conflict.is_some(),
        match (s.agreed(), conflict) {
            (true, _) => "all Sentinels report the same master".into(),
            (false, Some(c)) => format!("{c}: see single authority"),
            (false, None) => disagreement(s),
        },
    )
}

/// With the master down every replica's link is down too: then a replica that the Sentinel
/// does not flag down or disconnected can still be promoted.
fn replica_check(s: &SentinelView) -> Check {
    let master_down = s.master_role.is_none();
    let healthy = s
        .replicas
        .iter()
        .filter(|r| {
            (r.link_up || master_down) && !r.flags.contains("down") && !r.flags.contains("disconnected")
        })
        .count();
    Check::new(
        "a replica can take over",
        healthy > 0,
        if master_down {
            format!("{healthy} replica(s) reachable (the master is down)")
        } else {
            format!("{healthy} replica(s) with link up")
        },
    )
}

/// Name of the permission precheck.
pub const ACCESS_CHECK: &str = "permission";

/// The permission prechecks of a Kubernetes operation: one per [`AccessRequest`], from the
/// API server's answers (`None`: not asked yet). Only "allowed" passes: a denial names the
/// user and what they may not do, and a question that could not be asked fails as unchecked
/// (retry the step once the API server answers).
pub fn access_checks(requests: &[AccessRequest], answers: Option<&[AccessAnswer]>) -> Vec<Check> {
    requests
        .iter()
        .enumerate()
        .map(|(i, req)| {
            let (action, target) = (req.action(), req.target());
            match answers.and_then(|a| a.get(i)) {
                None => Check::new(ACCESS_CHECK, false, format!("not checked yet whether you may {action}")),
                Some(AccessAnswer::Allowed { user }) => {
                    Check::new(ACCESS_CHECK, true, format!("you ({user}) may {action} ({target})"))
                }
                Some(AccessAnswer::Denied { user, reason }) => {
                    let why = if reason.is_empty() { String::new() } else { format!(": {reason}") };
                    Check::new(ACCESS_CHECK, false, format!("you ({user}) may not {action} ({target}){why}"))
                }
                Some(AccessAnswer::Unknown { error }) => Check::new(
                    ACCESS_CHECK,
                    false,
                    format!(
                        "could not check whether you may {action} ({target}): {error}; retry the step when the API server answers"
                    ),
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod access_tests {
    use super::*;

    fn scale() -> Operation {
        Operation::ScaleDeployment {
            context: "us-east-1".into(),
            namespace: "default".into(),
            deployment: "api".into(),
            replicas: 3,
        }
    }

    #[test]
    fn only_an_allowed_answer_passes() {
        let reqs = scale().access_requests();
        let allowed = [AccessAnswer::Allowed { user: "ops".into() }];
        let c = &access_checks(&reqs, Some(&allowed))[0];
        assert!(c.ok && !c.warning, "{c:?}");
        assert_eq!(c.detail, "you (ops) may patch deployments/scale in default (api in us-east-1)");
        let denied = [AccessAnswer::Denied { user: "viewer".into(), reason: String::new() }];
        let c = &access_checks(&reqs, Some(&denied))[0];
        assert!(!c.ok);
        assert!(c.detail.starts_with("you (viewer) may not patch deployments/scale in default"), "{c:?}");
        let unknown = [AccessAnswer::Unknown { error: "connection refused".into() }];
        let c = &access_checks(&reqs, Some(&unknown))[0];
        assert!(
            !c.ok && c.detail.contains("could not check") && c.detail.contains("connection refused"),
            "{c:?}"
        );
        for answers in [None, Some(&[][..])] {
            let c = &access_checks(&reqs, answers)[0];
            assert!(!c.ok && c.detail.starts_with("not checked yet"), "{c:?}");
        }
    }
}
