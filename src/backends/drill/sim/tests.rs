//! Each fault kind shows in the views and, with `returns-after`, clears; each trigger fires
//! when its condition holds and not before.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Sim;
use crate::backends::drill::estate::{RECORD, ROUTE53_ENDPOINT, ZONE};
use crate::backends::drill::scenario::parse::{Known, parse};
use crate::backends::model::{HealthState, PgRole};
use crate::operation::Operation;

fn origin() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T03:00:00Z").unwrap().with_timezone(&Utc)
}

/// A scenario with `body` (its `[[fault]]` tables and `[estate]`).
fn sim(body: &str) -> Sim {
    let text = format!("id = \"t\"\ntitle = \"T\"\ndescription = \"d\"\n{body}");
    let def = parse(&text, Path::new("t.toml"), &Known::default()).unwrap_or_else(|e| panic!("{e:#?}"));
    Sim::from_def(def, 42, origin(), 1.0).unwrap()
}

/// Advance to sim time `t` (seconds).
fn to(s: &mut Sim, t: f64) {
    let dt = t - s.elapsed().as_secs_f64();
    assert!(dt >= 0.0, "time runs forward");
    s.advance(Duration::from_secs_f64(dt));
}

fn weights(west: u8) -> Operation {
    Operation::SetRoute53Weights {
        zone: ZONE.into(),
        record: RECORD.into(),
        endpoint: ROUTE53_ENDPOINT.into(),
        weights: vec![
            ("us-east-1".into(), 100 - west),
            ("us-west-2".into(), west),
            ("eu-central-1".into(), 0),
        ],
    }
}

fn run(s: &mut Sim, op: &Operation) -> Result<String, String> {
    let took = s.begin(op)?;
    s.advance(took);
    s.apply(op, took)
}

/// The first fault struck on the first 0.1 s tick at or after sim time `t`.
fn assert_struck_at(s: &Sim, t: f64) {
    let at = s.fault_injected_at().expect("struck");
    assert!(at >= s.wall(t - 0.001) && at <= s.wall(t + 0.11), "{at} vs {}", s.wall(t));
}

fn pod_ready(s: &Sim, context: &str, name: &str) -> u16 {
    s.kube_view().pods.iter().find(|p| p.context == context && p.name == name).unwrap().ready
}

fn context_error(s: &Sim, context: &str) -> Option<String> {
    s.kube_view().contexts.into_iter().find(|c| c.context == context).unwrap().error
}

fn pg_error(s: &Sim, node: &str) -> Option<String> {
    s.database_view().node(node).unwrap().error.clone()
}

#[test]
fn node_crash_crash_loops_and_returns() {
    let mut s = sim("[[fault]]\nkind = \"node-crash\"\ntarget = \"redis-1\"\nat = 1\nreturns-after = 30\n");
    to(&mut s, 3.0);
    assert_eq!(pod_ready(&s, "us-east-1", "redis-1"), 0);
    assert_struck_at(&s, 1.0);
    to(&mut s, 25.0);
    let row = s.kube_view().pods.iter().find(|p| p.name == "redis-1").cloned().unwrap();
    assert_eq!(row.reason.as_deref(), Some("CrashLoopBackOff"), "{row:?}");
    // Restarts at ~11 (dies: doomed until 31), then ~32: starts fine.
    to(&mut s, 40.0);
    assert_eq!(pod_ready(&s, "us-east-1", "redis-1"), 1);
}

#[test]
fn hang_times_out_connections_and_operations_then_clears() {
    let mut s = sim("[[fault]]\nkind = \"hang\"\ntarget = \"postgresql-1\"\nat = 1\nreturns-after = 20\n\
         [[fault]]\nkind = \"hang\"\ntarget = \"sentinel-b\"\nat = 1\n");
    to(&mut s, 3.0);
    let err = pg_error(&s, "postgresql-1").expect("unreachable");
    assert!(err.contains("timeout expired"), "{err}");
    assert_eq!(s.database_view().node("postgresql-1").unwrap().role, PgRole::Down);
    assert_eq!(pod_ready(&s, "us-east-1", "postgresql-1"), 1, "the process runs: it only hangs");
    let promote = Operation::PromotePostgres {
        node: "postgresql-1".into(),
        endpoint: "10.0.0.11:5432".into(),
        max_lag_bytes: 1 << 30,
        accept_data_loss: Some(1 << 30),
    };
    let refused = run(&mut s, &promote).unwrap_err();
    assert!(refused.contains("timeout"), "{refused}");
    let b = s.sentinel_view().sentinels[1].clone();
    assert!(b.master.is_none() && b.error.as_deref().unwrap().contains("timed out"), "{b:?}");
    to(&mut s, 22.0);
    assert_eq!(pg_error(&s, "postgresql-1"), None);
    assert_eq!(s.database_view().node("postgresql-1").unwrap().role, PgRole::Replica);
    assert!(s.sentinel_view().sentinels[1].error.is_some(), "no returns-after: still hung");
}

#[test]
fn replica_lag_grows_then_catches_up() {
    let mut s =
        sim("[[fault]]\nkind = \"replica-lag\"\ntarget = \"postgresql-2\"\nat = 1\nreturns-after = 40\n");
    to(&mut s, 30.0);
    let lag = |s: &Sim| s.database_view().node("postgresql-2").unwrap().replay_lag_bytes.unwrap();
    assert!(lag(&s) > 1_000_000, "{}", lag(&s));
    assert!(s.database_view().node("postgresql-1").unwrap().replay_lag_bytes.unwrap() < 100_000);
    to(&mut s, 45.0);
    assert!(lag(&s) < 100_000, "{}", lag(&s));
}

#[test]
fn sentinel_partition_goes_alone_without_a_failover_and_heals() {
    let mut s = sim(
        "[[fault]]\nkind = \"sentinel-partition\"\ntarget = \"sentinel-c\"\nat = 1\nreturns-after = 30\n",
    );
    to(&mut s, 10.0);
    let v = s.sentinel_view();
    let c = "10.1.1.22:26379";
    let from_c: Vec<&str> = v.events.iter().filter(|e| e.sentinel == c).map(|e| e.kind.as_str()).collect();
    assert!(
        v.events.iter().any(|e| e.sentinel == c && e.kind == "+sdown" && e.detail.starts_with("master ")),
        "{:#?}",
        v.events
    );
    assert!(!from_c.contains(&"+odown"), "alone, it cannot reach quorum: {from_c:?}");
    assert!(
        v.events.iter().any(|e| e.sentinel != c && e.kind == "+sdown" && e.detail.contains("10.1.1.22")),
        "the others lose it: {:#?}",
        v.events
    );
    assert_eq!(v.agreed_master(), Some("10.0.1.10:6379"), "no failover");
    assert!(!v.failover_in_progress);
    to(&mut s, 33.0);
    let v = s.sentinel_view();
    assert!(v.events.iter().any(|e| e.sentinel == c && e.kind == "-sdown"), "{:#?}", v.events);
}

#[test]
fn region_loss_times_out_the_region_and_returns() {
    let mut s =
        sim("[[fault]]\nkind = \"region-loss\"\ntarget = \"us-west-2\"\nat = 1\nreturns-after = 30\n");
    to(&mut s, 5.0);
    assert!(context_error(&s, "us-west-2").unwrap().contains("i/o timeout"));
    assert!(pg_error(&s, "postgresql-2").unwrap().contains("timeout expired"));
    assert_eq!(context_error(&s, "us-east-1"), None);
    to(&mut s, 35.0);
    assert_eq!(context_error(&s, "us-west-2"), None);
    assert_eq!(pg_error(&s, "postgresql-2"), None);
}

#[test]
fn bad_rollouts_strike_one_deployment_in_one_region() {
    let mut s =
        sim("[[fault]]\nkind = \"crashloop-rollout\"\ntarget = \"api\"\nregion = \"us-west-2\"\nat = 1\n\
         [[fault]]\nkind = \"oom\"\ntarget = \"worker\"\nregion = \"eu-central-1\"\nat = 1\n");
    to(&mut s, 90.0);
    let v = s.kube_view();
    let crashing = |ctx: &str, app: &str, reason: &str| {
        v.pods.iter().any(|p| {
            p.context == ctx
                && p.name.starts_with(app)
                && p.restarts > 0
                && p.reason.as_deref().is_some_and(|r| r == reason || r == "CrashLoopBackOff")
        })
    };
    assert!(crashing("us-west-2", "api-", "Error"));
    assert!(
        v.pods.iter().any(|p| p.context == "eu-central-1" && p.name.starts_with("worker-") && p.restarts > 0),
        "OOMKilled workers restart"
    );
    assert!(!crashing("us-east-1", "api-", "Error") && !crashing("us-west-2", "worker-", "OOMKilled"));
    assert!(v.pods.iter().filter(|p| p.context == "us-east-1").all(|p| p.restarts == 0));
}

#[test]
fn health_check_flaps_then_stops() {
    let mut s = sim(
        "[[fault]]\nkind = \"health-check-flapping\"\ntarget = \"us-west-2\"\nat = 1\nreturns-after = 150\n",
    );
    let health =
        |s: &Sim| s.traffic_view().regions.iter().find(|r| r.name == "us-west-2").unwrap().health_check;
    let mut seen = vec![];
    for t in 2..150 {
        to(&mut s, f64::from(t));
        if seen.last() != Some(&health(&s)) {
            seen.push(health(&s));
        }
    }
    assert_eq!(seen[0], HealthState::Unhealthy);
    assert!(seen.len() >= 4, "alternates every 20-40 s: {seen:?}");
    for t in 190..220 {
        to(&mut s, f64::from(t));
        assert_eq!(health(&s), HealthState::Healthy, "cleared at 151: healthy again");
    }
}

#[test]
fn route53_pending_changes_never_sync_until_it_clears() {
    let mut s = sim("[[fault]]\nkind = \"route53-pending\"\nat = 1\nreturns-after = 60\n");
    to(&mut s, 5.0);
    let err = run(&mut s, &weights(100)).unwrap_err();
    assert!(err.contains("PENDING"), "{err}");
    let west = s.traffic_view().regions.iter().find(|r| r.name == "us-west-2").unwrap().weight;
    assert_eq!(west, Some(100), "Route 53 accepted the change");
    to(&mut s, 65.0);
    let ok = run(&mut s, &weights(0)).unwrap();
    assert!(ok.contains("INSYNC"), "{ok}");
}

#[test]
fn route53_throttled_refuses_changes_until_it_clears() {
    let mut s = sim("[[fault]]\nkind = \"route53-throttled\"\nat = 1\nreturns-after = 30\n");
    to(&mut s, 5.0);
    let err = run(&mut s, &weights(100)).unwrap_err();
    assert!(err.starts_with("Throttling: Rate exceeded"), "{err}");
    to(&mut s, 35.0);
    assert!(run(&mut s, &weights(100)).is_ok());
}

#[test]
fn kube_api_down_keeps_pods_running_but_answers_nothing() {
    let mut s =
        sim("[[fault]]\nkind = \"kube-api-down\"\ntarget = \"us-west-2\"\nat = 1\nreturns-after = 30\n");
    to(&mut s, 5.0);
    assert!(context_error(&s, "us-west-2").unwrap().contains("i/o timeout"));
    let v = s.kube_view();
    assert!(
        v.pods.iter().filter(|p| p.context == "us-west-2").all(|p| p.ready == 1),
        "workloads keep running"
    );
    assert_eq!(pg_error(&s, "postgresql-2"), None, "the database answers");
    let scale = Operation::ScaleDeployment {
        context: "us-west-2".into(),
        namespace: "default".into(),
        deployment: "api".into(),
        replicas: 5,
    };
    let err = run(&mut s, &scale).unwrap_err();
    assert!(err.contains("API server of us-west-2 did not answer"), "{err}");
    to(&mut s, 35.0);
    assert_eq!(context_error(&s, "us-west-2"), None);
    assert!(run(&mut s, &scale).is_ok());
}

#[test]
fn rogue_promote_makes_two_writable_primaries() {
    let mut s = sim("[[fault]]\nkind = \"rogue-promote\"\ntarget = \"postgresql-2\"\nat = 1\n");
    to(&mut s, 0.5);
    assert_eq!(s.database_view().writable_primaries().len(), 1);
    to(&mut s, 3.0);
    assert_eq!(s.database_view().writable_primaries().len(), 2);
}

#[test]
fn after_op_fires_delay_after_the_first_executed_operation() {
    let mut s = sim(
        "[[fault]]\nkind = \"region-loss\"\ntarget = \"eu-central-1\"\nafter-op = \"set-weights\"\ndelay = \"10s\"\n",
    );
    to(&mut s, 30.0);
    assert_eq!(s.fault_injected_at(), None);
    assert_eq!(s.fault_scheduled(), None, "no time trigger");
    run(&mut s, &weights(0)).unwrap();
    let done = s.elapsed().as_secs_f64();
    to(&mut s, done + 9.5);
    assert_eq!(context_error(&s, "eu-central-1"), None, "not before the delay");
    to(&mut s, done + 10.5);
    assert!(context_error(&s, "eu-central-1").is_some());
    let struck = s.fault_injected_at().unwrap();
    assert!(struck >= s.wall(done + 10.0) && struck <= s.wall(done + 10.2), "{struck}");
}

#[test]
fn a_refused_operation_does_not_trigger_after_op() {
    let mut s = sim("[[fault]]\nkind = \"route53-throttled\"\nat = 1\n\
         [[fault]]\nkind = \"region-loss\"\ntarget = \"eu-central-1\"\nafter-op = \"set-weights\"\n");
    to(&mut s, 5.0);
    assert!(run(&mut s, &weights(100)).is_err());
    to(&mut s, 20.0);
    assert_eq!(context_error(&s, "eu-central-1"), None);
}

#[test]
fn after_fault_chains_with_its_delay() {
    let mut s = sim("[[fault]]\nid = \"first\"\nkind = \"hang\"\ntarget = \"redis-2\"\nat = 5\n\
         [[fault]]\nkind = \"kube-api-down\"\ntarget = \"eu-central-1\"\nafter-fault = \"first\"\ndelay = 3\n");
    to(&mut s, 7.5);
    assert_eq!(context_error(&s, "eu-central-1"), None);
    to(&mut s, 8.5);
    assert!(context_error(&s, "eu-central-1").is_some());
    assert_struck_at(&s, 5.0); // the first fault to strike
}

#[test]
fn traffic_to_fires_when_most_traffic_moves_there() {
    let mut s = sim("[[fault]]\nkind = \"route53-throttled\"\ntraffic-to = \"us-west-2\"\n");
    to(&mut s, 10.0);
    run(&mut s, &weights(50)).unwrap();
    to(&mut s, 20.0);
    run(&mut s, &weights(60)).expect("half is not most");
    to(&mut s, 21.0);
    let err = run(&mut s, &weights(100)).unwrap_err();
    assert!(err.contains("Throttling"), "{err}");
}

#[test]
fn inject_strikes_now_whatever_the_trigger() {
    let mut s = sim("");
    to(&mut s, 3.0);
    let fault = parse(
        "id = \"x\"\ntitle = \"x\"\ndescription = \"x\"\n[[fault]]\nkind = \"region-loss\"\ntarget = \"us-west-2\"\nat = \"1h\"\n",
        Path::new("x.toml"),
        &Known::default(),
    )
    .unwrap()
    .faults
    .remove(0);
    s.inject(&fault);
    assert!(context_error(&s, "us-west-2").is_some());
    assert_struck_at(&s, 3.0);
}

#[test]
fn estate_pods_adds_a_batch_deployment_over_the_regions() {
    let mut s = sim("[estate]\npods = 5000\n");
    let v = s.kube_view();
    assert_eq!(v.pods.len(), 5000);
    let batch: Vec<u32> = ["us-east-1", "us-west-2", "eu-central-1"]
        .iter()
        .map(|r| v.deployments.iter().find(|d| d.context == *r && d.name == "batch").unwrap().desired)
        .collect();
    assert_eq!(batch, [1660, 1660, 1659]);
    to(&mut s, 5.0);
    assert_eq!(s.kube_view().pods.len(), 5000, "stable");
    assert!(s.kube_view().pods.iter().all(|p| p.ready == 1));
}

#[test]
fn built_ins_keep_their_timings() {
    let s = Sim::new("primary-db-down", 1, origin(), 1.0).unwrap();
    assert_eq!(s.fault_scheduled(), Some(5.0));
    let f = &s.scenario_def().faults[0];
    assert_eq!(f.returns_after, Some(Duration::from_secs(150)));
    let s = Sim::new("replica-lag", 1, origin(), 1.0).unwrap();
    assert_eq!(s.scenario_def().faults[1].at, Some(Duration::from_secs(60)));
    let s = Sim::new("redis-master-down", 1, origin(), 1.0).unwrap();
    assert_eq!(s.scenario_def().faults[0].returns_after, Some(Duration::from_secs(60)));
    assert_eq!(Sim::new("calm", 1, origin(), 1.0).unwrap().fault_scheduled(), None);
}
