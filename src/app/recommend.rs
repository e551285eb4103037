//! Which runbooks address the current faults, most urgent first, each with its reason. Pure
//! and cheap (one pass over the snapshots): the picker lists these first and `status --json`
//! reports them.

use serde::Serialize;

use crate::backends::gate::region_gate_problem;
use crate::backends::model::{DatabaseView, HealthState, PgRole, PodRow};

use super::safety;
use super::state::Domain;
use super::step::StepStatus;

/// A runbook that addresses a current fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recommendation {
    /// Runbook id.
    pub runbook: String,
    /// Why it addresses what is observed now.
    pub reason: String,
}

fn rec(runbook: &str, reason: String) -> Recommendation {
    Recommendation { runbook: runbook.into(), reason }
}

/// The runbooks that address the current faults, most urgent first (one entry per runbook).
pub fn recommended(domain: &Domain) -> Vec<Recommendation> {
    let mut out: Vec<Recommendation> = Vec::new();
    let db = domain.observed.database.value.as_ref();
    if let Some(db) = db
        && let Some(plan) = safety::split_brain_plan(domain, db)
    {
        out.push(rec(
            "fence-stray-primary",
            format!(
                "SPLIT BRAIN: {} and {} accept writes; fence {} (the Service does not route to it), keep {}; \
                 never promote another node",
                plan.keep,
                plan.fence.join(", "),
                plan.fence.join(", "),
                plan.keep
            ),
        ));
    }
    let lost = lost_region(domain);
    if let Some((region, problem)) = &lost {
        out.push(rec(
            "region-failover",
            format!("region {region} is lost and still takes traffic ({problem}): fail over to the secondary region"),
        ));
    }
    if let Some(db) = db
        && let Some(reason) = primary_down(domain, db)
    {
        let down_in_lost_region = lost
            .as_ref()
            .is_some_and(|(r, _)| db.nodes.iter().any(|n| n.role == PgRole::Down && n.region == *r));
        if !down_in_lost_region {
            out.push(rec("db-failover", reason));
        }
    }
    if let Some(r) = traffic_to_primary(domain) {
        out.push(r);
    }
    if let Some(r) = redis(domain) {
        out.push(r);
    }
    if let Some(r) = crashloop(domain) {
        out.push(r);
    }
    if lost.is_none()
        && let Some(r) = shift_back(domain)
    {
        out.push(r);
    }
    out
}

/// No writable primary and a node down: db-failover, naming the safe candidate (or saying
/// there is none within the lag limit).
fn primary_down(domain: &Domain, db: &DatabaseView) -> Option<String> {
    if !db.writable_primaries().is_empty() {
        return None;
    }
    let down: Vec<&str> =
        db.nodes.iter().filter(|n| n.role == PgRole::Down).map(|n| n.name.as_str()).collect();
    if down.is_empty() {
        return None;
    }
    let limit = domain.config.postgres.as_ref().map_or(u64::MAX, |p| p.max_lag_bytes);
    let lagging: Vec<String> = db
        .nodes
        .iter()
        .filter(|n| n.role == PgRole::Replica && n.replay_lag_bytes.is_some_and(|l| l > limit))
        .map(|n| format!("{} lags {} B", n.name, n.replay_lag_bytes.unwrap_or(0)))
        .collect();
    let head = format!("PostgreSQL primary {} is DOWN", down.join(", "));
    Some(match db.best_replica() {
        Some((n, _)) if n.replay_lag_bytes.is_some_and(|l| l <= limit) => {
            let lag = n.replay_lag_bytes.unwrap_or(0);
            if lagging.is_empty() {
                format!("{head}: promote {} (lag {lag} B, within the {limit} B limit)", n.name)
            } else {
                format!(
                    "{head}: promote {}, the safe candidate (lag {lag} B, within the {limit} B limit); {} (over the limit)",
                    n.name,
                    lagging.join(", ")
                )
            }
        }
        Some((n, _)) => format!(
            "{head}: no replica within the {limit} B lag limit ({}): promoting {} loses data (typed override)",
            lagging.join(", "),
            n.name
        ),
        None => format!("{head}: no reachable replica to promote yet"),
    })
}

/// The single writable primary runs in a region whose cluster the database Service cannot
/// select it from (a cross-region promotion, e.g. the only safe replica was in the secondary
/// region): that region's applications reach it directly, so the traffic moves there
/// (dns-failover), unless that region already takes all of it.
fn traffic_to_primary(domain: &Domain) -> Option<Recommendation> {
    let db = domain.observed.database.value.as_ref()?;
    let svc = domain.observed.kube.value.as_ref()?.db_service.as_ref()?;
    let traffic = domain.observed.traffic.value.as_ref()?;
    let p = db.primary()?;
    let ctx =
        domain.config.regions.iter().find(|r| r.name == p.region).and_then(|r| r.kube_context.as_deref());
    if ctx.unwrap_or(&p.region) == svc.context || traffic.share(&p.region) == Some(1.0) {
        return None;
    }
    Some(rec(
        "dns-failover",
        format!(
            "the primary {} runs in {}, where Service {} (in {}) cannot select it: move the traffic to {} \
             (its applications reach the primary directly)",
            p.name, p.region, svc.name, svc.context, p.region
        ),
    ))
}

/// A region that still holds weight but is lost: its Route 53 health check is unhealthy or its
/// live probe fails (a failing ready probe alone is a dependency, e.g. the database, not the
/// region).
fn lost_region(domain: &Domain) -> Option<(String, String)> {
    let t = domain.observed.traffic.value.as_ref()?;
    t.regions.iter().filter(|r| r.weight.unwrap_or(0) > 0).find_map(|r| {
        let lost = r.health_check == HealthState::Unhealthy || r.live.as_ref().is_some_and(|p| !p.ok());
        lost.then(|| (r.name.clone(), region_gate_problem(r).unwrap_or_else(|| "live probe failing".into())))
    })
}

/// Redis: the master does not answer and Sentinel has not moved it (fail over), or Sentinel
/// recovered on its own (verify, never fail over again).
fn redis(domain: &Domain) -> Option<Recommendation> {
    let s = domain.observed.sentinel.value.as_ref()?;
    let master = s.agreed_master()?;
    match s.master_role.as_deref() {
        None if s.failover_in_progress => None,
        None => Some(rec(
            "redis-failover",
            format!("the Redis master {master} does not answer and Sentinel has not failed it over"),
        )),
        Some("master" | "primary") => {
            let switched = s.events.iter().rev().find(|e| e.kind == "+switch-master")?;
            let verified = domain.runbook.as_ref().is_some_and(|r| {
                matches!(r.runbook.id(), "redis-verify" | "redis-failover" | "region-failover")
                    && r.finished.as_ref().is_some_and(|(at, how)| *at >= switched.at && how == "completed")
            });
            (!verified).then(|| {
                rec(
                    "redis-verify",
                    format!(
                        "Sentinel recovered on its own: verify, do not fail over again (the new master \
                         {master} answers as master)"
                    ),
                )
            })
        }
        Some(_) => None,
    }
}

/// Pod reasons of a revision that keeps failing however often the kubelet restarts it.
const CRASHING: [&str; 3] = ["CrashLoopBackOff", "OOMKilled", "Error"];

fn crashing(p: &PodRow) -> bool {
    p.reason.as_deref().is_some_and(|r| CRASHING.contains(&r))
}

/// A Deployment whose pods crash-loop (or are OOMKilled) in a context that answers: roll back.
/// With two ReplicaSets' pods in sight it is a rollout in progress; with one, the reason says
/// the runbook needs a previous revision (the operation refuses without one).
fn crashloop(domain: &Domain) -> Option<Recommendation> {
    let k = domain.observed.kube.value.as_ref()?;
    // Cheap first: most of the time no pod crash-loops (5,000 pods are not grouped for nothing).
    if !k.pods.iter().any(crashing) {
        return None;
    }
    for d in &k.deployments {
        let pods: Vec<&PodRow> = k
            .pods
            .iter()
            .filter(|p| {
                p.context == d.context && p.namespace == d.namespace && owner(&p.name) == Some(&d.name)
            })
            .collect();
        let crashing: Vec<&&PodRow> = pods.iter().filter(|p| crashing(p)).collect();
        let mut hashes: Vec<&str> = pods.iter().filter_map(|p| template_hash(&p.name)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        let context_fails = k.contexts.iter().any(|c| c.context == d.context && c.error.is_some());
        if crashing.is_empty() || context_fails {
            continue;
        }
        let bad = template_hash(&crashing[0].name).unwrap_or("?");
        let reason = crashing[0].reason.as_deref().unwrap_or("crashing");
        let rollout = if hashes.len() >= 2 {
            "after a rollout"
        } else {
            "(if a rollout caused it: the rollback needs a previous revision)"
        };
        return Some(rec(
            "rollback",
            format!(
                "Deployment {} in {} crash-loops {rollout}: {} pod(s) of ReplicaSet {}-{bad} in {reason}, \
                 {}/{} ready; roll it back to the previous ReplicaSet",
                d.name,
                d.context,
                crashing.len(),
                d.name,
                d.ready,
                d.desired
            ),
        ));
    }
    None
}

/// `api-7f9c6d5b8-x2k4p` -> `api` (Deployment pods: name, template hash, suffix).
fn owner(pod: &str) -> Option<&str> {
    let mut parts = pod.rsplitn(3, '-');
    let (_suffix, _hash, name) = (parts.next()?, parts.next()?, parts.next()?);
    Some(name)
}

fn template_hash(pod: &str) -> Option<&str> {
    let mut parts = pod.rsplitn(3, '-');
    let (_suffix, hash, _name) = (parts.next()?, parts.next()?, parts.next()?);
    Some(hash)
}

/// The primary region is healthy again at weight 0 while another region holds the traffic.
fn shift_back(domain: &Domain) -> Option<Recommendation> {
    let primary = domain.config.primary_region()?;
    let t = domain.observed.traffic.value.as_ref()?;
    let row = t.region(&primary.name)?;
    let others = t.regions.iter().any(|r| r.name != primary.name && r.weight.unwrap_or(0) > 0);
    let running = domain.runbook.as_ref().is_some_and(|r| r.active() && r.runbook.id() == "restore-primary")
        || domain.steps.iter().any(|s| {
            matches!(s.op, Some(crate::operation::Operation::ShiftTraffic { .. }))
                && matches!(s.status, StepStatus::Executing | StepStatus::Verifying)
        });
    (row.weight == Some(0) && others && region_gate_problem(row).is_none() && !running).then(|| {
        rec(
            "restore-primary",
            format!("{} is healthy again at weight 0: shift traffic back gradually", primary.name),
        )
    })
}

#[cfg(test)]
#[path = "recommend_tests.rs"]
mod tests;
