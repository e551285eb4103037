//! Operations the console proposes from the configuration and the current snapshots.
//!
//! Each proposal says why it is proposed; nothing here executes anything.

use crate::backends::gate::region_gate_problem;
use crate::backends::model::{DatabaseView, PgNodeStatus, TrafficView};
use crate::config::Config;
use crate::config::model::{DEFAULT_FAILOVER_REPLICAS, PgNodeConfig, RegionConfig, Route53Config};
use crate::operation::Operation;
use crate::operation::traffic::{DEFAULT_SHIFT_PERCENTS, MIN_HOLD_SECS, shift_stages};

use super::safety::{self, RuleId};
use super::state::{Domain, Proposal};

/// Every operation that makes sense now, most urgent first: the ones offered, then the ones
/// listed greyed with why not (a safety rule of [`safety::RULES`] or a precheck fails now).
/// Promoting a third primary during a split brain is not even listed.
pub fn proposals(domain: &Domain) -> Vec<Proposal> {
    let mut offered = Vec::new();
    let mut greyed = Vec::new();
    for mut p in candidates(domain) {
        let broken = safety::check(domain, &p.op);
        if broken
            .iter()
            .any(|v| matches!(v.rule, RuleId::ThirdPrimaryInSplitBrain | RuleId::PromoteWithWritablePrimary))
        {
            continue;
        }
        if let Some(v) = broken.first() {
            p.blocked = Some(v.text());
            greyed.push(p);
        } else if let Some(failed) = failing_precheck(domain, &p.op) {
            p.blocked = Some(failed);
            greyed.push(p);
        } else {
            offered.push(p);
        }
    }
    offered.extend(greyed);
    offered
}

/// The first precheck (target coherence, layer prechecks, single authority with the
/// operator's overrides) that fails now, as `precheck NAME: DETAIL`.
pub fn failing_precheck(domain: &Domain, op: &Operation) -> Option<String> {
    let mut checks = op.precheck(&domain.observed);
    if op.is_mutating()
        && let Err(why) = crate::runbook::guard::coherence(op, &domain.config, &domain.observed)
    {
        checks.insert(0, crate::operation::Check::new("target is the one on screen", false, why));
    }
    super::authority::apply_overrides(&domain.authority_overrides, op, &mut checks);
    checks.iter().find(|c| !c.ok).map(|c| format!("precheck {}: {}", c.name, c.detail))
}

fn proposal(op: Operation, why: String) -> Proposal {
    Proposal { op, why, blocked: None }
}

/// Every operation worth considering now, before the safety rules and prechecks sort them.
fn candidates(domain: &Domain) -> Vec<Proposal> {
    let cfg = &domain.config;
    let mut out = Vec::new();
    if let Some(pg) = &cfg.postgres {
        out.extend(database_proposals(domain, pg));
    }
    if let Some(sc) = &cfg.sentinel {
        out.push(sentinel_proposal(domain, sc));
    }
    if let Some(r53) = &cfg.route53
        && let (Some(primary), Some(secondary)) = (cfg.primary_region(), cfg.secondary_region())
    {
        let traffic = domain.observed.traffic.value.as_ref();
        out.push(weights_proposal(cfg, r53, primary, secondary, traffic));
        out.extend(shift_back_proposal(cfg, r53, primary, traffic));
    }
    out.extend(scale_proposals(cfg, domain));
    if let Some(r53) = &cfg.route53 {
        out.extend(verify_dns_proposal(domain, r53));
    }
    out
}

/// After a Route 53 change done in this incident: ask the name servers whether they answer it
/// (the runbooks add this step themselves; a change from this menu gets it offered here).
fn verify_dns_proposal(domain: &Domain, r53: &crate::config::model::Route53Config) -> Option<Proposal> {
    let (id, weights) = domain.steps.iter().rev().find_map(|s| match (&s.status, &s.op) {
        (crate::app::StepStatus::Done, Some(Operation::SetRoute53Weights { weights, .. })) => {
            Some((s.id, weights.clone()))
        }
        (crate::app::StepStatus::Done, Some(Operation::ShiftTraffic { stages, .. })) => {
            Some((s.id, stages.last().cloned().unwrap_or_default()))
        }
        _ => None,
    })?;
    let op = crate::runbook::operation::dns::verify_dns_op(r53, weights, false);
    Some(proposal(op, format!("do the name servers answer the Route 53 change of step #{id}?")))
}

/// PostgreSQL: look first; in a split brain, the fence; promote the healthiest replica (SQL, and
/// `pg_ctl promote` through the pod exec API); repoint the Service to the primary.
fn database_proposals(domain: &Domain, pg: &crate::config::model::PostgresConfig) -> Vec<Proposal> {
    let mut out = vec![proposal(
        Operation::CheckPrimary,
        "read-only: which node is primary and whether it accepts writes".into(),
    )];
    let Some(db) = domain.observed.database.value.as_ref() else { return out };
    if let Some(plan) = safety::split_brain_plan(domain, db) {
        out.extend(split_brain_proposals(domain, pg, db, &plan));
    }
    if let Some((node, why)) = db.best_replica() {
        let situation = match db.primary() {
            None if safety::any_down(db) => "primary is DOWN",
            None => "no single writable primary",
            Some(_) => "planned switchover",
        };
        let config = pg.nodes.iter().find(|n| n.name == node.name);
        out.push(proposal(
            Operation::PromotePostgres {
                node: node.name.clone(),
                endpoint: endpoint_of(config),
                max_lag_bytes: pg.max_lag_bytes,
                accept_data_loss: None,
            },
            format!("{situation}; {} is the {why}", node.name),
        ));
        if let Some(op) = config.and_then(|c| exec_promote(c, pg.max_lag_bytes)) {
            out.push(proposal(
                op,
                format!(
                    "{situation}; {} is the {why}; `pg_ctl promote` through the pod exec API is \
                     the failover plan's literal form (alternative to the SQL promote)",
                    node.name
                ),
            ));
        }
    }
    if let Some(primary) = db.primary() {
        out.extend(repoint_proposal(domain, pg, primary, "primary"));
    }
    out
}

/// Redis: a Sentinel failover away from the master the Sentinels agree on.
fn sentinel_proposal(domain: &Domain, sc: &crate::config::model::SentinelConfig) -> Proposal {
    let view = domain.observed.sentinel.value.as_ref();
    let from = view.and_then(|v| v.agreed_master()).map(str::to_string);
    proposal(
        Operation::SentinelFailover {
            master: sc.master.clone(),
            sentinel: sc.addrs.first().cloned().unwrap_or_default(),
            from_master: from.clone(),
        },
        match from {
            Some(m) => format!("move the Redis master away from {m}"),
            None => "Sentinels do not agree on a master".into(),
        },
    )
}

/// Route 53: all traffic to the secondary region, or back to the primary once it has none.
fn weights_proposal(
    cfg: &crate::config::Config,
    r53: &crate::config::model::Route53Config,
    primary: &crate::config::model::RegionConfig,
    secondary: &crate::config::model::RegionConfig,
    traffic: Option<&crate::backends::model::TrafficView>,
) -> Proposal {
    let primary_weight = traffic.and_then(|t| t.region(&primary.name)).and_then(|r| r.weight);
    let target = if primary_weight.unwrap_or(0) > 0 { secondary } else { primary };
    let weights: Vec<(String, u8)> =
        cfg.regions.iter().map(|r| (r.name.clone(), if r.name == target.name { 100 } else { 0 })).collect();
    proposal(
        Operation::SetRoute53Weights {
            zone: r53.hosted_zone_id.clone(),
            record: r53.record.clone(),
            endpoint: crate::backends::route53::endpoint_label(r53),
            weights,
        },
        if target.name == secondary.name {
            format!("send all traffic to the {} region {}", secondary.role, secondary.name)
        } else {
            format!("send traffic back to the primary region {}", primary.name)
        },
    )
}

/// Repoint the database Service to `primary`'s pod unless its endpoints are exactly that pod.
fn repoint_proposal(
    domain: &Domain,
    pg: &crate::config::model::PostgresConfig,
    primary: &PgNodeStatus,
    what: &str,
) -> Option<Proposal> {
    let svc = pg.service.as_ref()?;
    let pod = safety::node_pod(domain, &primary.name)?;
    let endpoints = domain.observed.kube.value.as_ref().and_then(|k| k.db_service.as_ref());
    if endpoints.is_some_and(|s| s.endpoint_pods == [pod.clone()]) {
        return None;
    }
    Some(proposal(
        Operation::PatchServiceSelector {
            context: svc.context.clone(),
            namespace: svc.namespace.clone(),
            service: svc.name.clone(),
            pod: pod.clone(),
        },
        format!("Service {} does not point (only) at the {what} {} (pod {pod})", svc.name, primary.name),
    ))
}

/// In a split brain: fence every writable primary but the one kept (the one the Service routes
/// to, see [`safety::split_brain_plan`]); when the Service routes to neither, also the repoint
/// to the kept one (its single-authority precheck holds it until the fence is done).
fn split_brain_proposals(
    domain: &Domain,
    pg: &crate::config::model::PostgresConfig,
    db: &DatabaseView,
    plan: &safety::SplitBrainPlan,
) -> Vec<Proposal> {
    let mut out = Vec::new();
    let keep = db.node(&plan.keep);
    let facts = |n: Option<&PgNodeStatus>| {
        n.map_or_else(String::new, |n| {
            format!(
                " (timeline {}, LSN {}, {})",
                n.timeline.map_or("?".into(), |t| t.to_string()),
                n.lsn.map_or("?".into(), safety::lsn_text),
                if safety::routed(domain, &n.name) { "the Service routes to it" } else { "not routed" }
            )
        })
    };
    if plan.repoint_first
        && let Some(k) = keep
        && let Some(mut p) = repoint_proposal(domain, pg, k, "primary kept in the split brain")
    {
        p.why = format!(
            "SPLIT-BRAIN: the Service routes to neither primary: once the other is fenced, repoint it to {}{}",
            plan.keep,
            facts(keep)
        );
        out.push(p);
    }
    for name in &plan.fence {
        let node = db.node(name);
        let op = Operation::FencePostgres {
            node: name.clone(),
            endpoint: endpoint_of(pg.nodes.iter().find(|n| n.name == *name)),
        };
        let why = format!(
            "SPLIT-BRAIN: fence {name}{}; keep {}{}; writes {name} took since the fork are not on {}",
            facts(node),
            plan.keep,
            facts(keep),
            plan.keep
        );
        out.push(proposal(op, why));
    }
    out
}

/// "Shift traffic back to <primary> gradually" when the primary region has weight 0, passes
/// the health gate and another region holds the traffic. Each stage is held at least
/// [`MIN_HOLD_SECS`] and one record TTL, so resolvers pick it up before the gate judges it.
fn shift_back_proposal(
    cfg: &Config,
    r53: &Route53Config,
    primary: &RegionConfig,
    traffic: Option<&TrafficView>,
) -> Option<Proposal> {
    let t = traffic?;
    let row = t.region(&primary.name)?;
    if row.weight != Some(0) || region_gate_problem(row).is_some() {
        return None;
    }
    let current: Vec<(String, u8)> = cfg
        .regions
        .iter()
        .map(|r| (r.name.clone(), t.region(&r.name).and_then(|x| x.weight).unwrap_or(0)))
        .collect();
    if current.iter().all(|(_, w)| *w == 0) {
        return None;
    }
    let hold_secs = MIN_HOLD_SECS.max(t.ttl.map_or(0, u64::from));
    let stages = shift_stages(&current, &primary.name, &DEFAULT_SHIFT_PERCENTS);
    Some(proposal(
        Operation::ShiftTraffic {
            zone: r53.hosted_zone_id.clone(),
            record: r53.record.clone(),
            endpoint: crate::backends::route53::endpoint_label(r53),
            target: primary.name.clone(),
            stages,
            hold_secs,
        },
        format!(
            "Shift traffic back to {} gradually: it has weight 0 and is healthy; each stage is held \
             {hold_secs} s behind its health check and ready probe",
            primary.name
        ),
    ))
}

fn scale_proposals(cfg: &Config, domain: &Domain) -> Vec<Proposal> {
    let Some(region) = cfg.secondary_region() else { return Vec::new() };
    let Some(context) = region.kube_context.clone() else { return Vec::new() };
    let namespace = region.namespace.clone().unwrap_or_else(|| "default".into());
    let target = region.failover_replicas.unwrap_or(DEFAULT_FAILOVER_REPLICAS);
    let kube = domain.observed.kube.value.as_ref();
    region
        .deployments
        .iter()
        .filter_map(|d| {
            let current = kube.and_then(|k| {
                k.deployments
                    .iter()
                    .find(|x| x.context == context && x.namespace == namespace && x.name == *d)
            });
            if current.is_some_and(|c| c.desired >= target) {
                return None;
            }
            Some(proposal(
                Operation::ScaleDeployment {
                    context: context.clone(),
                    namespace: namespace.clone(),
                    deployment: d.clone(),
                    replicas: target,
                },
                format!(
                    "activate the {} region {}: {} has {} replicas",
                    region.role,
                    region.name,
                    d,
                    current.map_or("?".into(), |c| c.desired.to_string())
                ),
            ))
        })
        .collect()
}

/// `pg_ctl promote` in the node's pod, when the node has both a pod and a data directory.
fn exec_promote(node: &PgNodeConfig, max_lag_bytes: u64) -> Option<Operation> {
    let (pod, data_dir) = (node.pod.as_ref()?, node.data_dir.as_ref()?);
    Some(Operation::ExecPromote {
        context: pod.context.clone(),
        namespace: pod.namespace.clone(),
        pod: pod.name.clone(),
        container: None,
        data_dir: data_dir.clone(),
        node: node.name.clone(),
        max_lag_bytes,
        accept_data_loss: None,
    })
}

/// `host:port` of a node from its DSN: the one parser the connection uses (see
/// [`crate::backends::postgres::endpoint`]).
pub fn endpoint_of(node: Option<&PgNodeConfig>) -> String {
    crate::backends::postgres::endpoint::endpoint_of(node)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::app::state::{IncidentInfo, Mode};
    use crate::backends::Snapshot;
    use crate::backends::drill::estate;
    use crate::backends::model::PgRole;

    fn node(name: &str, role: PgRole, lag: u64) -> PgNodeStatus {
        PgNodeStatus {
            name: name.into(),
            region: "us-east-1".into(),
            role,
            version: Some("15".into()),
            timeline: Some(1),
            lsn: Some(100),
            fork_lsn: None,
            replay_lag_bytes: (role == PgRole::Replica).then_some(lag),
            replay_lag_seconds: None,
            replication_state: None,
            read_only: false,
            pod: Some(name.into()),
            error: (role == PgRole::Down).then(|| "connection refused".to_string()),
            last_ok: None,
        }
    }

    /// The drill's configuration with the primary down and `postgresql-1` the best replica.
    fn primary_down(cfg: Config) -> Domain {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap();
        let incident = IncidentInfo {
            id: "INC-T".into(),
            title: "t".into(),
            severity: "SEV1".into(),
            declared_at: now,
            drill: true,
        };
        let mut s = Domain::new(Mode::Drill, incident, "op".into(), Arc::new(cfg), now);
        let nodes = vec![
            node("postgresql-0", PgRole::Down, 0),
            node("postgresql-1", PgRole::Replica, 10),
            node("postgresql-2", PgRole::Replica, 9000),
        ];
        s.observed.database = Arc::new(Snapshot::fresh(DatabaseView { nodes }, now));
        s
    }

    #[test]
    fn exec_promote_is_offered_next_to_the_sql_promote_as_the_plans_literal_form() {
        let items = proposals(&primary_down(estate::config()));
        let sql = items
            .iter()
            .position(|p| matches!(&p.op, Operation::PromotePostgres { node, .. } if node == "postgresql-1"))
            .expect("SQL promote proposed");
        let exec = &items[sql + 1];
        assert_eq!(
            exec.op,
            Operation::ExecPromote {
                context: "us-east-1".into(),
                namespace: estate::DB_NAMESPACE.into(),
                pod: "postgresql-1".into(),
                container: None,
                data_dir: estate::PG_DATA_DIR.into(),
                node: "postgresql-1".into(),
                max_lag_bytes: estate::MAX_LAG_BYTES,
                accept_data_loss: None,
            }
        );
        assert!(exec.why.contains("primary is DOWN") && exec.why.contains("literal form"), "{}", exec.why);
    }

    #[test]
    fn a_uri_dsn_is_previewed_and_guarded_at_the_host_the_step_connects_to() {
        let mut cfg = estate::config();
        let pg = cfg.postgres.as_mut().expect("postgres");
        pg.nodes[1].dsn = "postgres://postgres@db-1.internal:6432/app".into();
        let s = primary_down(cfg);
        let promote = proposals(&s)
            .into_iter()
            .find(|p| matches!(&p.op, Operation::PromotePostgres { node, .. } if node == "postgresql-1"))
            .expect("promote proposed");
        let Operation::PromotePostgres { endpoint, .. } = &promote.op else { unreachable!() };
        assert_eq!(endpoint, "db-1.internal:6432", "was previewed as localhost:5432");
        // The context guard compares the same endpoint: the step is coherent with the config.
        assert_eq!(crate::runbook::guard::coherence(&promote.op, &s.config, &s.observed), Ok(()));
        // And a step built for another address is refused with both addresses named.
        let Operation::PromotePostgres { node, max_lag_bytes, accept_data_loss, .. } = promote.op else {
            unreachable!()
        };
        let moved = Operation::PromotePostgres {
            node,
            endpoint: "localhost:5432".into(),
            max_lag_bytes,
            accept_data_loss,
        };
        let err = crate::runbook::guard::coherence(&moved, &s.config, &s.observed).unwrap_err();
        assert!(err.contains("db-1.internal:6432") && err.contains("localhost:5432"), "{err}");
    }

    #[test]
    fn no_exec_promote_without_a_pod_or_a_data_dir() {
        for strip in [0, 1] {
            let mut cfg = estate::config();
            for n in cfg.postgres.as_mut().expect("postgres").nodes.iter_mut() {
                if strip == 0 {
                    n.pod = None;
                } else {
                    n.data_dir = None;
                }
            }
            let items = proposals(&primary_down(cfg));
            assert!(items.iter().any(|p| matches!(p.op, Operation::PromotePostgres { .. })));
            assert!(!items.iter().any(|p| matches!(p.op, Operation::ExecPromote { .. })));
        }
    }
}
