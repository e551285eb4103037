//! Recommendations in each drill scenario's faulted state.

use std::sync::Arc;

use super::*;
use crate::app::State;
use crate::app::safety::tests::{domain_of, run, sim_at};
use crate::backends::Snapshot;
use crate::incident::entry::EntryKind;
use crate::operation::Operation;

fn ids(recs: &[Recommendation]) -> Vec<&str> {
    recs.iter().map(|r| r.runbook.as_str()).collect()
}

#[test]
fn a_calm_estate_needs_no_runbook() {
    assert_eq!(recommended(&domain_of(&sim_at("calm", 20))), []);
}

#[test]
fn primary_down_recommends_db_failover_with_the_candidate() {
    let recs = recommended(&domain_of(&sim_at("primary-db-down", 15)));
    assert_eq!(ids(&recs), ["db-failover"]);
    assert!(
        recs[0].reason.contains("postgresql-0 is DOWN") && recs[0].reason.contains("promote postgresql-1"),
        "{recs:?}"
    );
}

#[test]
fn a_lagging_replica_while_the_primary_is_down_names_the_safe_candidate() {
    let recs = recommended(&domain_of(&sim_at("replica-lag", 70)));
    assert_eq!(ids(&recs), ["db-failover"]);
    let r = &recs[0].reason;
    assert!(r.contains("promote postgresql-2, the safe candidate") && r.contains("postgresql-1 lags"), "{r}");
}

#[test]
fn split_brain_recommends_fencing_the_unrouted_primary_and_no_failover() {
    let s = domain_of(&sim_at("split-brain", 15));
    let recs = recommended(&s);
    assert_eq!(ids(&recs), ["fence-stray-primary"], "{recs:?}");
    let db = s.observed.database.value.as_ref().unwrap();
    let plan = safety::split_brain_plan(&s, db).unwrap();
    assert!(!safety::routed(&s, &plan.fence[0]));
    assert!(recs[0].reason.contains(&format!("fence {}", plan.fence[0])), "{}", recs[0].reason);
    // The runbook's parameter resolves to the same node.
    let rb = s.runbooks.get("fence-stray-primary").expect("built-in runbook");
    let params = crate::runbook::plan::resolve_params(rb, &s.config, &s.observed, &[]).expect("resolves");
    assert_eq!(params[0].value, plan.fence[0]);
}

#[test]
fn redis_recovered_by_sentinel_is_verified_not_failed_over_again() {
    let recs = recommended(&domain_of(&sim_at("redis-master-down", 60)));
    assert_eq!(ids(&recs), ["redis-verify"]);
    assert!(recs[0].reason.starts_with("Sentinel recovered on its own: verify"), "{}", recs[0].reason);
}

#[test]
fn a_redis_master_that_does_not_answer_before_sentinel_acts_recommends_the_failover() {
    let mut s = domain_of(&sim_at("redis-master-down", 60));
    let mut v = s.observed.sentinel.value.clone().unwrap();
    v.master_role = None;
    v.events.clear();
    v.failover_in_progress = false;
    s.observed.sentinel = Arc::new(Snapshot::fresh(v, s.now));
    let recs = recommended(&s);
    assert_eq!(ids(&recs), ["redis-failover"]);
    assert!(recs[0].reason.contains("does not answer"), "{}", recs[0].reason);
}

#[test]
fn a_lost_region_recommends_region_failover_then_restore_when_it_is_healthy_at_weight_zero() {
    let mut sim = sim_at("region-outage", 60);
    let recs = recommended(&domain_of(&sim));
    assert_eq!(ids(&recs)[0], "region-failover", "{recs:?}");
    assert!(!ids(&recs).contains(&"db-failover"), "the region failover promotes: {recs:?}");
    let weights = Operation::SetRoute53Weights {
        zone: crate::backends::drill::estate::ZONE.into(),
        record: crate::backends::drill::estate::RECORD.into(),
        endpoint: crate::backends::drill::estate::ROUTE53_ENDPOINT.into(),
        weights: vec![("us-east-1".into(), 0), ("us-west-2".into(), 100), ("eu-central-1".into(), 0)],
    };
    run(&mut sim, &weights, 5);
    let mut s = domain_of(&sim);
    assert!(
        !ids(&recommended(&s)).contains(&"region-failover"),
        "a lost region at weight 0 is expected down"
    );
    assert!(!ids(&recommended(&s)).contains(&"restore-primary"), "not while it is unhealthy");
    // The region comes back healthy at weight 0.
    let mut t = s.observed.traffic.value.clone().unwrap();
    let calm = domain_of(&sim_at("calm", 60));
    let healthy = calm.observed.traffic.value.as_ref().unwrap().region("us-east-1").unwrap().clone();
    let east = t.regions.iter_mut().find(|r| r.name == "us-east-1").unwrap();
    *east = crate::backends::model::RegionTraffic { weight: Some(0), ..healthy };
    s.observed.traffic = Arc::new(Snapshot::fresh(t, s.now));
    let recs = recommended(&s);
    assert!(
        recs.iter().any(|r| r.runbook == "restore-primary" && r.reason.contains("healthy again at weight 0")),
        "{recs:?}"
    );
}

#[test]
fn a_crash_looping_rollout_recommends_the_rollback() {
    let recs = recommended(&domain_of(&sim_at("crashloop", 90)));
    assert_eq!(ids(&recs), ["rollback"], "{recs:?}");
    assert!(
        recs[0].reason.contains("Deployment api in us-east-1 crash-loops after a rollout"),
        "{}",
        recs[0].reason
    );
}

#[test]
fn an_oom_killed_deployment_with_one_replicaset_in_sight_recommends_the_rollback_with_its_condition() {
    let mut s = domain_of(&sim_at("calm", 20));
    let mut k = s.observed.kube.value.clone().expect("kube");
    let pod = Arc::make_mut(&mut k.pods)
        .iter_mut()
        .find(|p| p.name.starts_with("worker-") && p.context == "us-east-1")
        .expect("a worker");
    pod.reason = Some("OOMKilled".into());
    let name = pod.name.clone();
    s.observed.kube = Arc::new(Snapshot::fresh(k.clone(), s.now));
    let recs = recommended(&s);
    assert_eq!(ids(&recs), ["rollback"], "{recs:?}");
    let r = &recs[0].reason;
    assert!(r.contains("Deployment worker in us-east-1") && r.contains("OOMKilled"), "{r}");
    assert!(r.contains("needs a previous revision"), "one ReplicaSet in sight is not called a rollout: {r}");
    // The same pod in a context that does not answer is not the Deployment's fault.
    for c in k.contexts.iter_mut().filter(|c| c.context == "us-east-1") {
        c.error = Some("i/o timeout".into());
    }
    s.observed.kube = Arc::new(Snapshot::fresh(k, s.now));
    assert!(!ids(&recommended(&s)).contains(&"rollback"), "{name} in an unreachable context");
}

#[test]
fn a_primary_the_service_cannot_select_recommends_moving_the_traffic_to_its_region() {
    let mut s = domain_of(&sim_at("calm", 20));
    let mut db = s.observed.database.value.clone().expect("database");
    for n in db.nodes.iter_mut() {
        n.role = match n.region.as_str() {
            "us-west-2" => PgRole::Primary,
            _ => PgRole::Down,
        };
    }
    s.observed.database = Arc::new(Snapshot::fresh(db, s.now));
    let recs = recommended(&s);
    let r = recs.iter().find(|r| r.runbook == "dns-failover").expect("dns-failover recommended");
    assert!(r.reason.contains("runs in us-west-2") && r.reason.contains("cannot select it"), "{}", r.reason);
    // Once us-west-2 takes all the traffic, nothing is left to move.
    let mut t = s.observed.traffic.value.clone().expect("traffic");
    for r in t.regions.iter_mut() {
        r.weight = Some(if r.name == "us-west-2" { 100 } else { 0 });
    }
    s.observed.traffic = Arc::new(Snapshot::fresh(t, s.now));
    assert!(!ids(&recommended(&s)).contains(&"dns-failover"));
}

#[test]
fn pod_names_split_into_owner_and_template_hash() {
    assert_eq!(owner("api-7f9c6d5b8-x2k4p"), Some("api"));
    assert_eq!(owner("my-api-7f9c6d5b8-x2k4p"), Some("my-api"));
    assert_eq!(template_hash("api-7f9c6d5b8-x2k4p"), Some("7f9c6d5b8"));
    assert_eq!(owner("postgresql-0"), None);
}

#[test]
fn the_picker_lists_the_recommended_runbook_first_and_enter_starts_it() {
    use crate::app::{Action, Modal, update};
    use crate::command::Command;
    let mut s = State::from(domain_of(&sim_at("split-brain", 15)));
    let entries = crate::app::runbook_flow::picker_entries(&s);
    assert_eq!(entries[0].id, "fence-stray-primary");
    assert!(entries[0].reason.as_deref().is_some_and(|r| r.contains("SPLIT BRAIN")));
    assert!(entries[1..].iter().all(|e| e.reason.is_none()), "{entries:?}");
    assert_eq!(entries.len(), s.domain.runbooks.entries.len(), "every runbook listed once");
    let now = s.domain.now;
    update(&mut s, Action::Command(Command::Runbooks), now);
    assert_eq!(s.view.modal, Some(Modal::Runbooks { selected: "fence-stray-primary".into() }));
    update(&mut s, Action::Command(Command::Select), now);
    assert_eq!(s.domain.runbook.as_ref().map(|r| r.runbook.id()), Some("fence-stray-primary"));
}

#[test]
fn a_check_that_holds_with_a_problem_is_verified_with_a_warning() {
    use crate::app::step::StepStatus;
    use crate::app::{Action, Effect, pipeline, update};
    use crate::command::Command;
    use crate::operation::assertion::Assertion;
    let mut s = State::from(domain_of(&sim_at("calm", 10)));
    let mut v = s.domain.observed.sentinel.value.clone().unwrap();
    for x in v.sentinels.iter_mut().skip(1) {
        x.master = None;
        x.error = Some("timeout".into());
    }
    let now = s.domain.now;
    update(&mut s, Action::Sentinel(Arc::new(Snapshot::fresh(v, now))), now);
    let mut fx = Vec::new();
    let id = pipeline::propose(
        &mut s,
        Operation::Assert { check: Assertion::SentinelAgreed },
        "t".into(),
        &mut fx,
    );
    let fx = update(&mut s, Action::Command(Command::ConfirmYes), now);
    assert!(fx.iter().any(|e| matches!(e, Effect::Execute { .. })), "{fx:?}");
    let fx = update(&mut s, Action::StepExecuted { step: id, result: Ok("read-only".into()) }, now);
    let step = s.domain.step(id).unwrap();
    assert_eq!(step.status, StepStatus::Done);
    assert!(step.verified_with_warning(), "{:?}", step.output);
    assert!(
        step.output.last().unwrap().contains("1 of 3 Sentinels reachable; those agree"),
        "{:?}",
        step.output
    );
    let logged = fx.iter().find_map(|e| match e {
        Effect::Log(l) if l.kind == EntryKind::StepVerified => Some(l.summary.clone()),
        _ => None,
    });
    assert!(logged.is_some_and(|l| l.contains("WARNING: only 1 of 3 Sentinels reachable")));
}

#[test]
fn enter_starts_the_highlighted_runbook_even_when_the_list_reorders_under_it() {
    use crate::app::{Action, Modal, update};
    use crate::command::Command;
    let mut s = State::from(domain_of(&sim_at("split-brain", 15)));
    let now = s.domain.now;
    update(&mut s, Action::Command(Command::Runbooks), now);
    update(&mut s, Action::Command(Command::ScrollDown), now);
    let before = crate::app::runbook_flow::picker_entries(&s);
    let highlighted = before[1].id.clone();
    assert_eq!(s.view.modal, Some(Modal::Runbooks { selected: highlighted.clone() }));
    // The split brain ends while the picker is open: the recommended runbook drops to its
    // catalogue place and every row below it moves up.
    s.domain.observed = domain_of(&sim_at("calm", 10)).observed;
    let after = crate::app::runbook_flow::picker_entries(&s);
    assert_ne!(after[1].id, highlighted, "the list did reorder: {after:?}");
    update(&mut s, Action::Command(Command::Select), now);
    assert_eq!(s.domain.runbook.as_ref().map(|r| r.runbook.id()), Some(highlighted.as_str()));
}
