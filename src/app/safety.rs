//! The console's safety rules: one table of named, cross-layer rules applied to everything it
//! proposes (the actions menu, every runbook step when it comes up, the picker's preview).
//!
//! A rule looks at the current [`Domain`] and one [`Operation`] and says why the operation must
//! not be offered now. Rules never execute anything and never weaken a precheck: an operation
//! that breaks a rule is listed greyed with the rule's reason, a runbook step that breaks one is
//! skipped with it (and comes back when it no longer does).

use serde::Serialize;

use crate::backends::Observed;
use crate::backends::gate::region_gate_problem;
use crate::backends::model::{DatabaseView, PgNodeStatus, PgRole};
use crate::config::Config;
use crate::operation::Operation;

use super::state::{Domain, Proposal};

/// Names of the safety rules (serialized kebab-case, as the log and the screen name them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleId {
    /// Traffic never moves to a region whose health check or ready probe fails.
    TrafficToUnhealthyRegion,
    /// No Sentinel failover while the Sentinels agree on a master that answers as a master.
    FailoverOfHealthyRedisMaster,
    /// No promotion while a writable PostgreSQL primary exists.
    PromoteWithWritablePrimary,
    /// Never a third primary during a split brain.
    ThirdPrimaryInSplitBrain,
    /// Never fence the primary the database Service routes to (repoint first).
    FenceRoutedPrimary,
}

/// One rule: its id, name, the one-line statement shown to the operator, and its check.
pub struct Rule {
    /// Id.
    pub id: RuleId,
    /// Kebab-case name.
    pub name: &'static str,
    /// What the rule guarantees, in one line.
    pub doc: &'static str,
    /// `Some(why)` when `op` breaks the rule in `domain`.
    check: fn(&Domain, &Operation) -> Option<String>,
}

/// Every safety rule, in the order they are reported.
pub const RULES: &[Rule] = &[
    Rule {
        id: RuleId::TrafficToUnhealthyRegion,
        name: "traffic-to-unhealthy-region",
        doc: "never move traffic to a region whose Route 53 health check is unhealthy or whose ready probe fails",
        check: traffic_to_unhealthy_region,
    },
    Rule {
        id: RuleId::FailoverOfHealthyRedisMaster,
        name: "failover-of-healthy-redis-master",
        doc: "never fail Redis over while the reachable Sentinels agree on a master that answers as a master \
              (unless a planned switchover is named with a typed reason)",
        check: failover_of_healthy_redis_master,
    },
    Rule {
        id: RuleId::PromoteWithWritablePrimary,
        name: "promote-with-writable-primary",
        doc: "never promote a replica while a writable PostgreSQL primary exists (outside a named planned switchover)",
        check: promote_with_writable_primary,
    },
    Rule {
        id: RuleId::ThirdPrimaryInSplitBrain,
        name: "third-primary-in-split-brain",
        doc: "never promote a third primary during a split brain: fence one of the two",
        check: third_primary_in_split_brain,
    },
    Rule {
        id: RuleId::FenceRoutedPrimary,
        name: "fence-routed-primary",
        doc: "never fence the primary the database Service routes to: it stops all application writes (repoint, then fence)",
        check: fence_routed_primary,
    },
];

/// A rule broken by an operation, with what was observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule.
    pub rule: RuleId,
    /// Why, from the current state.
    pub detail: String,
}

impl Violation {
    /// `rule-name: detail`, as the screen and the log show it.
    pub fn text(&self) -> String {
        format!("safety rule {}: {}", rule(self.rule).name, self.detail)
    }
}

/// The rule with `id`.
pub fn rule(id: RuleId) -> &'static Rule {
    RULES.iter().find(|r| r.id == id).expect("every RuleId is in RULES")
}

/// The rules `proposal` breaks in `domain` (empty: it may be offered).
pub fn violations(domain: &Domain, proposal: &Proposal) -> Vec<RuleId> {
    check(domain, &proposal.op).into_iter().map(|v| v.rule).collect()
}

/// Every rule `op` breaks in `domain`, with the reasons.
pub fn check(domain: &Domain, op: &Operation) -> Vec<Violation> {
    RULES
        .iter()
        .filter_map(|r| (r.check)(domain, op).map(|detail| Violation { rule: r.id, detail }))
        .collect()
}

/// What the blast radius must add for `op` now: a fence of the node the Service routes to stops
/// every application write.
pub fn blast_radius_note(domain: &Domain, op: &Operation) -> Option<String> {
    let Operation::FencePostgres { node, .. } = op else { return None };
    routed(domain, node)
        .then(|| format!("the database Service routes to {node}: fencing it STOPS ALL APPLICATION WRITES"))
}

// ------------------------------------------------------------------ the rules

fn traffic_to_unhealthy_region(domain: &Domain, op: &Operation) -> Option<String> {
    let gaining: Vec<String> = match op {
        Operation::SetRoute53Weights { weights, .. } => weights
            .iter()
            .filter(|(region, w)| *w > current_weight(domain, region))
            .map(|(r, _)| r.clone())
            .collect(),
        Operation::ShiftTraffic { target, .. } => vec![target.clone()],
        _ => return None,
    };
    let traffic = domain.observed.traffic.value.as_ref();
    let problems: Vec<String> = gaining
        .iter()
        .filter_map(|region| match traffic.and_then(|t| t.region(region)) {
            None => Some(format!("{region}'s health is unknown (no traffic data)")),
            Some(row) => region_gate_problem(row),
        })
        .collect();
    (!problems.is_empty()).then(|| problems.join("; "))
}

fn current_weight(domain: &Domain, region: &str) -> u8 {
    domain.observed.traffic.value.as_ref().and_then(|t| t.region(region)).and_then(|r| r.weight).unwrap_or(0)
}

/// The runbook parameter that names a planned switchover (its value is the typed reason).
pub const SWITCHOVER_REASON: &str = "switchover_reason";

/// The typed reason of a planned switchover: the active runbook's `switchover_reason`
/// parameter, when given and not blank.
pub fn planned_switchover(domain: &Domain) -> Option<&str> {
    let run = domain.runbook.as_ref().filter(|r| r.active())?;
    let p = run.params.iter().find(|p| p.name == SWITCHOVER_REASON)?;
    Some(p.value.trim()).filter(|v| !v.is_empty())
}

fn failover_of_healthy_redis_master(domain: &Domain, op: &Operation) -> Option<String> {
    let Operation::SentinelFailover { .. } = op else { return None };
    if planned_switchover(domain).is_some() {
        return None;
    }
    let s = domain.observed.sentinel.value.as_ref()?;
    let master = s.agreed_master()?;
    let role = s.master_role.as_deref().filter(|r| *r == "master" || *r == "primary")?;
    let reachable = s.sentinels.iter().filter(|x| x.error.is_none()).count();
    Some(format!(
        "{reachable} of {} Sentinels reachable agree on {master}, which answers as {role}: \
         nothing to fail over (a planned switchover needs --param switchover_reason=...)",
        s.sentinels.len()
    ))
}

fn promoted_node(op: &Operation) -> Option<&str> {
    match op {
        Operation::PromotePostgres { node, .. } | Operation::ExecPromote { node, .. } => Some(node),
        _ => None,
    }
}

fn promote_with_writable_primary(domain: &Domain, op: &Operation) -> Option<String> {
    let node = promoted_node(op)?;
    if planned_switchover(domain).is_some() {
        return None;
    }
    let db = domain.observed.database.value.as_ref()?;
    match db.writable_primaries().as_slice() {
        [p] if p.name != node => {
            Some(format!("{} is a writable primary: promoting {node} would make two (split brain)", p.name))
        }
        _ => None,
    }
}

fn third_primary_in_split_brain(domain: &Domain, op: &Operation) -> Option<String> {
    let node = promoted_node(op)?;
    let db = domain.observed.database.value.as_ref()?;
    let primaries = db.writable_primaries();
    (primaries.len() >= 2 && !primaries.iter().any(|p| p.name == node)).then(|| {
        let names: Vec<&str> = primaries.iter().map(|p| p.name.as_str()).collect();
        format!("split brain ({}): promoting {node} would add another primary", names.join(", "))
    })
}

fn fence_routed_primary(domain: &Domain, op: &Operation) -> Option<String> {
    let Operation::FencePostgres { node, .. } = op else { return None };
    let db = domain.observed.database.value.as_ref()?;
    let n = db.node(node)?;
    if !n.is_writable_primary() || !routed(domain, node) {
        return None;
    }
    let other = db.writable_primaries().into_iter().find(|p| p.name != *node).map(|p| p.name.clone());
    Some(match other {
        Some(o) => format!(
            "the database Service routes to {node}: fencing it stops all application writes; \
             repoint the Service to {o}, then fence {node}"
        ),
        None => format!(
            "{node} is the only writable primary and the Service routes to it: fencing it stops all application writes"
        ),
    })
}

// ------------------------------------------------------------------ shared facts

/// The pod of PostgreSQL node `name` (status first, then the configuration).
pub fn node_pod(domain: &Domain, name: &str) -> Option<String> {
    node_pod_in(&domain.config, &domain.observed, name)
}

/// [`node_pod`] from the configuration and snapshots alone.
pub fn node_pod_in(cfg: &Config, obs: &Observed, name: &str) -> Option<String> {
    let from_status = obs.database.value.as_ref().and_then(|d| d.node(name)).and_then(|n| n.pod.clone());
    from_status.or_else(|| {
        cfg.postgres
            .as_ref()
            .and_then(|p| p.nodes.iter().find(|n| n.name == name))
            .and_then(|n| n.pod.as_ref())
            .map(|p| p.name.clone())
    })
}

/// Whether the database Service's endpoints include node `name`'s pod (`false` when unknown).
pub fn routed(domain: &Domain, name: &str) -> bool {
    routed_in(&domain.config, &domain.observed, name)
}

/// [`routed`] from the configuration and snapshots alone.
pub fn routed_in(cfg: &Config, obs: &Observed, name: &str) -> bool {
    let endpoints = obs.kube.value.as_ref().and_then(|k| k.db_service.as_ref()).map(|s| &s.endpoint_pods);
    match (endpoints, node_pod_in(cfg, obs, name)) {
        (Some(pods), Some(pod)) => pods.contains(&pod),
        _ => false,
    }
}

/// How to end a split brain: the primary to keep, the ones to fence, and whether the Service
/// must be repointed to the kept one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitBrainPlan {
    /// The writable primary that keeps taking writes.
    pub keep: String,
    /// The writable primaries to fence.
    pub fence: Vec<String>,
    /// The Service does not route (only) to `keep`: it must be repointed there.
    pub repoint_first: bool,
}

/// In a split brain: keep the primary the Service routes to and fence the others; when it
/// routes to none or to several, keep the newest timeline (then the highest LSN) and repoint the
/// Service to it. `None` without a split brain.
pub fn split_brain_plan(domain: &Domain, db: &DatabaseView) -> Option<SplitBrainPlan> {
    split_brain_plan_in(&domain.config, &domain.observed, db)
}

/// [`split_brain_plan`] from the configuration and snapshots alone (runbook parameters).
pub fn split_brain_plan_in(cfg: &Config, obs: &Observed, db: &DatabaseView) -> Option<SplitBrainPlan> {
    if !db.split_brain() {
        return None;
    }
    let primaries = db.writable_primaries();
    let routed_ones: Vec<&&PgNodeStatus> =
        primaries.iter().filter(|p| routed_in(cfg, obs, &p.name)).collect();
    let (keep, repoint_first) = match routed_ones.as_slice() {
        [one] => (one.name.clone(), false),
        _ => {
            let newest = primaries
                .iter()
                .max_by_key(|p| (p.timeline.unwrap_or(0), p.lsn.unwrap_or(0)))
                .map(|p| p.name.clone())?;
            (newest, true)
        }
    };
    let fence = primaries.iter().filter(|p| p.name != keep).map(|p| p.name.clone()).collect();
    Some(SplitBrainPlan { keep, fence, repoint_first })
}

/// PostgreSQL LSN notation (`16/B374D848`) of a byte position.
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Whether `db` has a node that is down (for reasons that read "primary is DOWN").
pub fn any_down(db: &DatabaseView) -> bool {
    db.nodes.iter().any(|n| n.role == PgRole::Down)
}

#[cfg(test)]
#[path = "safety_tests.rs"]
pub(crate) mod tests;
