//! Every safety rule with the state that triggers it (drill estates brought to that state, or
//! snapshots edited to it), and the proposals the actions menu makes there.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::app::propose::proposals;
use crate::app::state::{IncidentInfo, Mode};
use crate::backends::Snapshot;
use crate::backends::drill::{Sim, estate};
use crate::backends::model::HealthState;

pub(crate) fn origin() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap()
}

/// `scenario` advanced `secs` of sim time.
pub(crate) fn sim_at(scenario: &str, secs: u64) -> Sim {
    let mut sim = Sim::new(scenario, 42, origin(), 1.0).expect("scenario");
    sim.advance(Duration::from_secs(secs));
    sim
}

/// Carry `op` out on the sim as the drill operator does, then let `settle` seconds pass.
pub(crate) fn run(sim: &mut Sim, op: &Operation, settle: u64) {
    let took = sim.begin(op).unwrap_or_else(|e| panic!("{op:?} refused: {e}"));
    sim.advance(took);
    sim.apply(op, took).unwrap_or_else(|e| panic!("{op:?} failed: {e}"));
    sim.advance(Duration::from_secs(settle));
}

/// A drill console's domain with every layer observed from the sim now (no View: the safety
/// rules and proposals judge the domain only).
pub(crate) fn domain_of(sim: &Sim) -> Domain {
    let now = sim.now();
    let incident = IncidentInfo {
        id: "INC-T".into(),
        title: "t".into(),
        severity: "SEV1".into(),
        declared_at: origin(),
        drill: true,
    };
    let mut s = Domain::new(Mode::Drill, incident, "op".into(), Arc::new(estate::config()), now);
    s.observed.kube = Arc::new(Snapshot::fresh(sim.kube_view(), now));
    s.observed.database = Arc::new(Snapshot::fresh(sim.database_view(), now));
    s.observed.sentinel = Arc::new(Snapshot::fresh(sim.sentinel_view(), now));
    s.observed.traffic = Arc::new(Snapshot::fresh(sim.traffic_view(), now));
    s
}

fn offered(domain: &Domain) -> Vec<Proposal> {
    proposals(domain).into_iter().filter(|p| p.blocked.is_none()).collect()
}

fn find(items: &[Proposal], f: impl Fn(&Operation) -> bool) -> Option<&Proposal> {
    items.iter().find(|p| f(&p.op))
}

fn weights_to(region: &str) -> Operation {
    Operation::SetRoute53Weights {
        zone: estate::ZONE.into(),
        record: estate::RECORD.into(),
        endpoint: estate::ROUTE53_ENDPOINT.into(),
        weights: estate::REGIONS
            .iter()
            .map(|(r, _)| (r.to_string(), if *r == region { 100 } else { 0 }))
            .collect(),
    }
}

fn fence(domain: &Domain, node: &str) -> Operation {
    let cfg = domain.config.postgres.as_ref().expect("pg");
    Operation::FencePostgres {
        node: node.into(),
        endpoint: crate::app::propose::endpoint_of(cfg.nodes.iter().find(|n| n.name == node)),
    }
}

fn promote(domain: &Domain, node: &str) -> Operation {
    let cfg = domain.config.postgres.as_ref().expect("pg");
    Operation::PromotePostgres {
        node: node.into(),
        endpoint: crate::app::propose::endpoint_of(cfg.nodes.iter().find(|n| n.name == node)),
        max_lag_bytes: cfg.max_lag_bytes,
        accept_data_loss: None,
    }
}

fn rules_of(domain: &Domain, op: Operation) -> Vec<RuleId> {
    violations(domain, &Proposal { op, why: String::new(), blocked: None })
}

#[test]
fn every_rule_has_a_name_and_a_doc_line() {
    for r in RULES {
        assert!(!r.name.is_empty() && r.doc.len() > 20, "{}", r.name);
        assert_eq!(rule(r.id).name, r.name);
    }
}

#[test]
fn traffic_never_goes_back_to_a_lost_region() {
    // After a region failover, us-east-1 is unhealthy with weight 0 (the reported case).
    let mut sim = sim_at("region-outage", 60);
    run(&mut sim, &weights_to("us-west-2"), 5);
    let s = domain_of(&sim);
    let east = s.observed.traffic.value.as_ref().unwrap().region("us-east-1").unwrap().clone();
    assert_eq!((east.weight, east.health_check), (Some(0), HealthState::Unhealthy));
    assert_eq!(rules_of(&s, weights_to("us-east-1")), [RuleId::TrafficToUnhealthyRegion]);
    let items = proposals(&s);
    let back = find(&items, |op| *op == weights_to("us-east-1")).expect("listed greyed");
    let why_not = back.blocked.as_deref().expect("not offered");
    assert!(why_not.contains("traffic-to-unhealthy-region") && why_not.contains("unhealthy"), "{why_not}");
    // Moving traffic to the healthy region breaks no rule.
    assert!(rules_of(&s, weights_to("us-west-2")).is_empty());
}

#[test]
fn a_failing_ready_probe_blocks_traffic_even_with_a_healthy_health_check() {
    let sim = sim_at("calm", 10);
    let mut s = domain_of(&sim);
    let mut t = s.observed.traffic.value.clone().unwrap();
    let west = t.regions.iter_mut().find(|r| r.name == "us-west-2").unwrap();
    west.ready = Some(crate::backends::model::Probe { status: Some(503), latency_ms: 5, error: None });
    s.observed.traffic = Arc::new(Snapshot::fresh(t, s.now));
    assert_eq!(rules_of(&s, weights_to("us-west-2")), [RuleId::TrafficToUnhealthyRegion]);
    assert!(offered(&s).iter().all(|p| !matches!(p.op, Operation::SetRoute53Weights { .. })));
}

#[test]
fn no_sentinel_failover_once_sentinel_recovered_on_its_own() {
    let sim = sim_at("redis-master-down", 60);
    let s = domain_of(&sim);
    let v = s.observed.sentinel.value.as_ref().unwrap();
    assert_eq!(v.master_role.as_deref(), Some("master"), "{v:?}");
    let items = proposals(&s);
    let f = find(&items, |op| matches!(op, Operation::SentinelFailover { .. })).expect("listed greyed");
    assert!(f.blocked.as_deref().is_some_and(|b| b.contains("failover-of-healthy-redis-master")), "{f:?}");
    assert_eq!(rules_of(&s, f.op.clone()), [RuleId::FailoverOfHealthyRedisMaster]);
}

#[test]
fn sentinel_failover_is_allowed_while_the_master_does_not_answer() {
    let sim = sim_at("redis-master-down", 60);
    let mut s = domain_of(&sim);
    let mut v = s.observed.sentinel.value.clone().unwrap();
    v.master_role = None;
    s.observed.sentinel = Arc::new(Snapshot::fresh(v, s.now));
    let items = proposals(&s);
    let f = find(&items, |op| matches!(op, Operation::SentinelFailover { .. })).expect("listed");
    assert!(rules_of(&s, f.op.clone()).is_empty());
}

#[test]
fn no_promotion_while_a_writable_primary_exists() {
    let s = domain_of(&sim_at("calm", 10));
    assert_eq!(rules_of(&s, promote(&s, "postgresql-1")), [RuleId::PromoteWithWritablePrimary]);
    assert!(
        !proposals(&s)
            .iter()
            .any(|p| matches!(p.op, Operation::PromotePostgres { .. } | Operation::ExecPromote { .. })),
        "no planned switchover is proposed"
    );
    // With the primary down, promoting the best replica breaks no rule and is offered.
    let s = domain_of(&sim_at("primary-db-down", 15));
    assert!(rules_of(&s, promote(&s, "postgresql-1")).is_empty());
    assert!(find(&offered(&s), |op| matches!(op, Operation::PromotePostgres { .. })).is_some());
}

#[test]
fn split_brain_offers_no_third_primary_and_fences_the_unrouted_primary() {
    let s = domain_of(&sim_at("split-brain", 15));
    let db = s.observed.database.value.clone().unwrap();
    assert!(db.split_brain());
    assert_eq!(rules_of(&s, promote(&s, "postgresql-2")), [RuleId::ThirdPrimaryInSplitBrain]);
    let items = proposals(&s);
    assert!(
        !items
            .iter()
            .any(|p| matches!(p.op, Operation::PromotePostgres { .. } | Operation::ExecPromote { .. }))
    );
    let routed_one =
        db.writable_primaries().into_iter().find(|p| routed(&s, &p.name)).expect("one routed").name.clone();
    let other = db.writable_primaries().into_iter().find(|p| p.name != routed_one).unwrap().name.clone();
    let offered = offered(&s);
    let f = find(&offered, |op| matches!(op, Operation::FencePostgres { .. })).expect("fence offered");
    assert_eq!(f.op, fence(&s, &other), "fences the primary the Service does not route to");
    assert!(f.why.contains("timeline") && f.why.contains("LSN") && f.why.contains("not routed"), "{}", f.why);
    assert!(!offered.iter().any(|p| p.op == fence(&s, &routed_one)));
    assert_eq!(rules_of(&s, fence(&s, &routed_one)), [RuleId::FenceRoutedPrimary]);
    assert!(
        blast_radius_note(&s, &fence(&s, &routed_one))
            .is_some_and(|n| n.contains("STOPS ALL APPLICATION WRITES"))
    );
    assert_eq!(blast_radius_note(&s, &fence(&s, &other)), None);
}

#[test]
fn split_brain_with_the_service_routing_to_neither_fences_one_and_lists_the_repoint() {
    let mut s = domain_of(&sim_at("split-brain", 15));
    let mut k = s.observed.kube.value.clone().unwrap();
    k.db_service.as_mut().expect("service").endpoint_pods.clear();
    s.observed.kube = Arc::new(Snapshot::fresh(k, s.now));
    let db = s.observed.database.value.clone().unwrap();
    let plan = split_brain_plan(&s, &db).expect("split brain");
    assert!(plan.repoint_first);
    assert_eq!(plan.keep, "postgresql-1", "the newest timeline is kept");
    let items = proposals(&s);
    let f = find(&items, |op| *op == fence(&s, "postgresql-0")).expect("fence listed");
    assert_eq!(f.blocked, None, "fencing a primary the Service does not route to stops no application write");
    let r =
        find(&items, |op| matches!(op, Operation::PatchServiceSelector { pod, .. } if pod == "postgresql-1"))
            .expect("repoint listed");
    assert!(r.why.contains("routes to neither"), "{}", r.why);
}

#[test]
fn the_only_routed_primary_is_never_fenced() {
    let s = domain_of(&sim_at("calm", 10));
    assert_eq!(rules_of(&s, fence(&s, "postgresql-0")), [RuleId::FenceRoutedPrimary]);
}

#[test]
fn a_proposal_whose_precheck_fails_is_listed_greyed_with_the_check() {
    // A Service repoint to a pod that is not Ready fails its precheck: not offered.
    let mut sim = sim_at("primary-db-down", 15);
    let s0 = domain_of(&sim);
    let p = find(&offered(&s0), |op| matches!(op, Operation::PromotePostgres { .. }))
        .expect("promote")
        .op
        .clone();
    run(&mut sim, &p, 3);
    let mut s = domain_of(&sim);
    // Stale traffic data: the Route 53 change cannot pass its freshness precheck.
    let t = s.observed.traffic.value.clone();
    s.observed.traffic = Arc::new(Snapshot {
        value: t,
        fetched_at: Some(s.now),
        freshness: crate::backends::Freshness::Stale { since: s.now, error: "timeout".into() },
    });
    let items = proposals(&s);
    let w = find(&items, |op| matches!(op, Operation::SetRoute53Weights { .. })).expect("listed");
    assert!(w.blocked.as_deref().is_some_and(|b| b.starts_with("precheck ") && b.contains("stale")), "{w:?}");
    let first_greyed = items.iter().position(|p| p.blocked.is_some()).unwrap();
    assert!(items[first_greyed..].iter().all(|p| p.blocked.is_some()), "greyed entries come last");
}

#[test]
fn a_named_planned_switchover_lets_a_healthy_redis_master_move() {
    // Starting a runbook is a console's action (it selects its steps on the screen).
    let mut console = crate::app::State::from(domain_of(&sim_at("calm", 10)));
    let op = find(&proposals(&console.domain), |op| matches!(op, Operation::SentinelFailover { .. }))
        .unwrap()
        .op
        .clone();
    assert_eq!(rules_of(&console.domain, op.clone()), [RuleId::FailoverOfHealthyRedisMaster]);
    let mut fx = Vec::new();
    let blank = [(SWITCHOVER_REASON.to_string(), "  ".to_string())];
    crate::app::runbook_flow::start(&mut console, "redis-failover", &blank, None, &mut fx).expect("starts");
    assert_eq!(planned_switchover(&console.domain), None, "a blank reason names nothing");
    assert_eq!(rules_of(&console.domain, op.clone()), [RuleId::FailoverOfHealthyRedisMaster]);
    let mut console = crate::app::State::from(domain_of(&sim_at("calm", 10)));
    let named = [(SWITCHOVER_REASON.to_string(), "patching redis-0".to_string())];
    crate::app::runbook_flow::start(&mut console, "redis-failover", &named, None, &mut fx).expect("starts");
    assert_eq!(planned_switchover(&console.domain), Some("patching redis-0"));
    assert!(rules_of(&console.domain, op).is_empty());
    // Never a third primary, switchover or not.
    let sb = domain_of(&sim_at("split-brain", 15));
    assert_eq!(rules_of(&sb, promote(&sb, "postgresql-2")), [RuleId::ThirdPrimaryInSplitBrain]);
}
