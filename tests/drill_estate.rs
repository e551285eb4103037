//! The drill estate behaves like the real thing: every scenario evolves as described, every
//! operation changes what the observers return, refusals say why, and each operation's
//! postcondition (`Operation::verify`) holds against the observed views afterwards.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use warroom::backends::drill::{DrillEstate, Sim, scenarios};
use warroom::backends::model::{HealthState, PgRole};
use warroom::backends::{Observe, Observed, Operate, Snapshot};
use warroom::operation::Operation;
use warroom::operation::Verify;

fn origin() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap()
}

fn sim(scenario: &str) -> Sim {
    Sim::new(scenario, 42, origin(), 1.0).unwrap()
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Advance to absolute sim time `t` seconds.
fn until(sim: &mut Sim, t: f64) {
    let now = sim.elapsed().as_secs_f64();
    if t > now {
        sim.advance(secs(t - now));
    }
}

fn observed(sim: &Sim) -> Observed {
    let at = sim.now();
    Observed {
        kube: Arc::new(Snapshot::fresh(sim.kube_view(), at)),
        database: Arc::new(Snapshot::fresh(sim.database_view(), at)),
        sentinel: Arc::new(Snapshot::fresh(sim.sentinel_view(), at)),
        traffic: Arc::new(Snapshot::fresh(sim.traffic_view(), at)),
    }
}

/// Execute like the operator does: check, take the plausible time, apply.
fn run(sim: &mut Sim, op: &Operation) -> Result<String, String> {
    let took = sim.begin(op)?;
    sim.advance(took);
    sim.apply(op, took)
}

/// Poll the postcondition every 0.5 s of sim time for up to `max_s`.
fn verify_within(sim: &mut Sim, op: &Operation, max_s: f64) -> Verify {
    let mut waited = 0.0;
    loop {
        let v = op.verify(&observed(sim));
        if matches!(v, Verify::Holds(_)) || waited >= max_s {
            return v;
        }
        sim.advance(secs(0.5));
        waited += 0.5;
    }
}

fn assert_holds(sim: &mut Sim, op: &Operation, max_s: f64) {
    match verify_within(sim, op, max_s) {
        Verify::Holds(_) => {}
        Verify::NotYet(why) => panic!("{} did not verify within {max_s} s: {why}", op.name()),
    }
}

fn promote(node: &str, endpoint: &str) -> Operation {
    Operation::PromotePostgres {
        node: node.into(),
        endpoint: endpoint.into(),
        max_lag_bytes: 1024 * 1024,
        accept_data_loss: None,
    }
}

fn fence(node: &str, endpoint: &str) -> Operation {
    Operation::FencePostgres { node: node.into(), endpoint: endpoint.into() }
}

fn repoint(context: &str, pod: &str) -> Operation {
    Operation::PatchServiceSelector {
        context: context.into(),
        namespace: "database".into(),
        service: "postgresql".into(),
        pod: pod.into(),
    }
}

fn scale(context: &str, deployment: &str, replicas: u32) -> Operation {
    Operation::ScaleDeployment {
        context: context.into(),
        namespace: "default".into(),
        deployment: deployment.into(),
        replicas,
    }
}

fn weights(w: [u8; 3]) -> Operation {
    Operation::SetRoute53Weights {
        zone: "ZDRILL0000001".into(),
        record: "api.example.com.".into(),
        endpoint: "drill://route53".into(),
        weights: vec![("us-east-1".into(), w[0]), ("us-west-2".into(), w[1]), ("eu-central-1".into(), w[2])],
    }
}

fn sentinel_failover(sentinel: &str, from: &str) -> Operation {
    Operation::SentinelFailover {
        master: "mymaster".into(),
        sentinel: sentinel.into(),
        from_master: Some(from.into()),
    }
}

fn restarts(sim: &Sim, context: &str, name: &str) -> u32 {
    sim.kube_view().pods.iter().find(|p| p.context == context && p.name == name).unwrap().restarts
}

// ------------------------------------------------------------------ scenarios

#[test]
fn scenario_list_and_constructor_errors() {
    let names: Vec<&str> = scenarios().iter().map(|s| s.name).collect();
    for want in ["calm", "primary-db-down", "redis-master-down", "region-outage", "crashloop"] {
        assert!(names.contains(&want), "{names:?}");
    }
    let err = DrillEstate::new("volcano", 1.0, 1).unwrap_err();
    assert!(err.contains("volcano") && err.contains("region-outage"), "{err}");
    let err = DrillEstate::new("calm", 0.0, 1).unwrap_err();
    assert!(err.contains("speed"), "{err}");
    assert!(DrillEstate::new("calm", f64::NAN, 1).is_err());
}

#[test]
fn same_seed_replays_identically_and_other_seeds_differ() {
    let (mut a, mut b) = (sim("redis-master-down"), sim("redis-master-down"));
    let mut c = Sim::new("redis-master-down", 43, origin(), 1.0).unwrap();
    for s in [&mut a, &mut b, &mut c] {
        s.advance(secs(30.0));
    }
    assert_eq!(a.kube_view(), b.kube_view());
    assert_eq!(a.database_view(), b.database_view());
    assert_eq!(a.sentinel_view(), b.sentinel_view());
    assert_ne!(a.kube_view().pods[0].name, c.kube_view().pods[0].name);
}

#[test]
fn calm_stays_healthy_and_keeps_moving() {
    let mut s = sim("calm");
    let lsn0 = s.database_view().nodes[0].lsn.unwrap();
    until(&mut s, 120.0);
    assert_eq!(s.fault_injected_at(), None);
    let db = s.database_view();
    assert_eq!(db.primary().unwrap().name, "postgresql-0");
    assert_eq!(db.nodes[0].timeline, Some(1));
    assert!(db.nodes[0].lsn.unwrap() > lsn0 + 10_000_000);
    let lags: Vec<u64> = db.nodes[1..].iter().map(|n| n.replay_lag_bytes.unwrap()).collect();
    s.advance(secs(1.0));
    let lags2: Vec<u64> = s.database_view().nodes[1..].iter().map(|n| n.replay_lag_bytes.unwrap()).collect();
    assert_ne!(lags, lags2, "replay lag moves");
    let k = s.kube_view();
    assert!(k.pods.iter().all(|p| !p.is_unhealthy()), "{:?}", k.pods.iter().find(|p| p.is_unhealthy()));
    assert_eq!(k.pods.iter().filter(|p| p.namespace == "default").count(), 15);
    let sv = s.sentinel_view();
    assert_eq!(sv.agreed_master(), Some("10.0.1.10:6379"));
    assert!(sv.events.is_empty() && !sv.failover_in_progress);
    let t = s.traffic_view();
    assert_eq!((t.share("us-east-1"), t.ttl), (Some(1.0), Some(60)));
    for r in &t.regions {
        assert_eq!(r.health_check, HealthState::Healthy);
        assert!(r.live.as_ref().unwrap().ok() && r.ready.as_ref().unwrap().ok(), "{r:?}");
    }
}

#[test]
fn primary_db_down_crashloops_with_backoff_then_returns_writable() {
    let mut s = sim("primary-db-down");
    until(&mut s, 4.0);
    assert_eq!(s.fault_injected_at(), None);
    until(&mut s, 6.0);
    let at = s.fault_injected_at().expect("fault injected");
    assert!(at > origin() && at <= s.now());
    assert!(s.fault_description().unwrap().contains("postgresql-0"));

    until(&mut s, 14.0);
    let pod = s.kube_view().pods.iter().find(|p| p.name == "postgresql-0").cloned().unwrap();
    assert_eq!((pod.reason.as_deref(), pod.ready, pod.restarts), (Some("CrashLoopBackOff"), 0, 0));
    let db = s.database_view();
    assert_eq!(db.nodes[0].role, PgRole::Down);
    assert!(db.primary().is_none());
    assert!(s.kube_view().db_service.unwrap().endpoint_pods.is_empty());
    let frozen = db.nodes[1].lsn;
    // Back-off 10 s, 20 s, 40 s between attempts; each attempt dies within 1.4 s of starting,
    // so restarts happen at ~15 s, ~36 s, ~77 s.
    let mut seen = vec![];
    for t in [14.0, 17.0, 34.0, 38.0, 74.0, 80.0] {
        until(&mut s, t);
        seen.push(restarts(&s, "us-east-1", "postgresql-0"));
    }
    assert_eq!(seen, vec![0, 1, 1, 2, 2, 3], "back-off must double");
    let db = s.database_view();
    assert_eq!(db.nodes[1].lsn, frozen, "replicas stop receiving");
    assert!(db.nodes[1].replay_lag_seconds.unwrap() > 60.0);

    // The cause clears 150 s after the crash: the next restart brings it back WRITABLE on
    // timeline 1, and the replicas stream from it again.
    until(&mut s, 200.0);
    let db = s.database_view();
    let p = db.primary().expect("old primary is back");
    assert_eq!((p.name.as_str(), p.timeline), ("postgresql-0", Some(1)));
    assert_eq!(db.nodes[1].replication_state.as_deref(), Some("streaming"));
    assert!(db.nodes[1].lsn > frozen);
    assert_eq!(s.kube_view().db_service.unwrap().endpoint_pods, vec!["postgresql-0".to_string()]);
}

#[test]
fn promoting_during_outage_then_old_primary_returns_is_split_brain_until_fenced() {
    let mut s = sim("primary-db-down");
    until(&mut s, 20.0);
    let op = promote("postgresql-0", "10.0.0.10:5432");
    let err = run(&mut s, &op).unwrap_err();
    assert!(err.contains("Connection refused"), "{err}");

    let op = promote("postgresql-1", "10.0.0.11:5432");
    let summary = run(&mut s, &op).unwrap();
    assert!(summary.contains("pg_promote() returned true") && summary.contains("timeline 2"), "{summary}");
    assert_holds(&mut s, &op, 1.0);
    let db = s.database_view();
    assert_eq!(db.node("postgresql-2").unwrap().timeline, Some(2), "other replica follows the new primary");

    let op = repoint("us-east-1", "postgresql-1");
    run(&mut s, &op).unwrap();
    assert_holds(&mut s, &op, 1.0);
    until(&mut s, 30.0);
    assert_eq!(
        s.database_view().node("postgresql-2").unwrap().replication_state.as_deref(),
        Some("streaming")
    );

    until(&mut s, 200.0);
    let db = s.database_view();
    assert!(db.split_brain(), "{:?}", db.nodes);
    assert_eq!(db.node("postgresql-0").unwrap().timeline, Some(1));
    assert_eq!(db.node("postgresql-1").unwrap().timeline, Some(2));
    let check = run(&mut s, &Operation::CheckPrimary).unwrap();
    assert!(check.starts_with("SPLIT BRAIN"), "{check}");
    assert!(check.contains(" both accept writes"), "two primaries read right: {check}");
    assert!(matches!(Operation::CheckPrimary.verify(&observed(&s)), Verify::NotYet(_)));

    let op = fence("postgresql-0", "10.0.0.10:5432");
    assert!(run(&mut s, &op).unwrap().contains("default_transaction_read_only = on"));
    assert_holds(&mut s, &op, 1.0);
    assert!(!s.database_view().split_brain());
    assert_holds(&mut s, &Operation::CheckPrimary, 0.0);
    // A fenced primary takes no writes: its LSN stops.
    let lsn = s.database_view().node("postgresql-0").unwrap().lsn;
    s.advance(secs(5.0));
    assert_eq!(s.database_view().node("postgresql-0").unwrap().lsn, lsn);
}

#[test]
fn redis_master_down_fails_over_like_sentinel() {
    let mut s = sim("redis-master-down");
    until(&mut s, 9.8);
    assert!(s.sentinel_view().events.is_empty(), "nothing before down-after (5 s)");
    until(&mut s, 10.5);
    let v = s.sentinel_view();
    let kinds: Vec<&str> = v.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"+sdown") && kinds.contains(&"+odown"), "{kinds:?}");
    until(&mut s, 14.0);
    let v = s.sentinel_view();
    let kinds: Vec<&str> = v.events.iter().map(|e| e.kind.as_str()).collect();
    let order = [
        "+sdown",
        "+odown",
        "+try-failover",
        "+elected-leader",
        "+selected-slave",
        "+promoted-slave",
        "+failover-end",
        "+switch-master",
    ];
    let pos: Vec<usize> = order.iter().map(|o| kinds.iter().position(|k| k == o).expect(o)).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "+switch-master").count(), 3, "every Sentinel switches");
    let new = v.agreed_master().expect("Sentinels agree").to_string();
    assert_ne!(new, "10.0.1.10:6379");
    assert!(!v.failover_in_progress);
    assert!(v.quorum.as_ref().unwrap().is_ok());
    let sw = v.events.iter().find(|e| e.kind == "+switch-master").unwrap();
    assert!(sw.detail.starts_with("mymaster 10.0.1.10 6379 "), "{}", sw.detail);
    assert!(sw.at > origin() && sw.at <= s.now());
    let old = v.replicas.iter().find(|r| r.addr == "10.0.1.10:6379").unwrap();
    assert!(!old.link_up && old.flags.contains("disconnected"));
    until(&mut s, 40.0);
    let pod = s.kube_view().pods.iter().find(|p| p.name == "redis-0").cloned().unwrap();
    assert!(pod.is_unhealthy() && pod.restarts >= 1, "{pod:?}");
    // Its cause clears 60 s after the crash: the next restart stays up and Sentinel makes the
    // old master a linked replica of the new one.
    until(&mut s, 120.0);
    let pod = s.kube_view().pods.iter().find(|p| p.name == "redis-0").cloned().unwrap();
    assert!(pod.ready == 1, "{pod:?}");
    let v = s.sentinel_view();
    assert_eq!(v.agreed_master(), Some(new.as_str()));
    let old = v.replicas.iter().find(|r| r.addr == "10.0.1.10:6379").unwrap();
    assert!(old.link_up, "{old:?}");
    assert!(v.events.iter().any(|e| e.kind == "+convert-to-slave"), "{:?}", v.events);
}

#[test]
fn region_outage_then_full_regional_failover() {
    let mut s = sim("region-outage");
    until(&mut s, 60.0);
    let t = s.traffic_view();
    let east = t.region("us-east-1").unwrap();
    assert_eq!(east.health_check, HealthState::Unhealthy);
    assert!(east.live.as_ref().unwrap().status.is_none() && east.live.as_ref().unwrap().error.is_some());
    assert_eq!(t.share("us-east-1"), Some(1.0), "weights unchanged until the operator acts");
    assert_eq!(t.region("us-west-2").unwrap().health_check, HealthState::Healthy);
    let k = s.kube_view();
    assert!(k.pods.iter().filter(|p| p.context == "us-east-1").all(|p| p.ready == 0));
    // The lost cluster's API server does not answer: its context reports it, and the database
    // Service in it cannot be read.
    let east_ctx = k.contexts.iter().find(|c| c.context == "us-east-1").unwrap();
    assert!(east_ctx.error.as_deref().is_some_and(|e| e.contains("i/o timeout")), "{east_ctx:?}");
    assert_eq!(east_ctx.last_ok, s.fault_injected_at());
    assert!(k.contexts.iter().filter(|c| c.context != "us-east-1").all(|c| c.error.is_none()));
    assert!(k.db_service.is_none());
    let db = s.database_view();
    assert_eq!(db.nodes[0].role, PgRole::Down);
    assert!(db.nodes[0].error.as_deref().unwrap().contains("timeout"));
    let sv = s.sentinel_view();
    assert!(sv.sentinels[0].error.is_some() && sv.sentinels[2].error.is_none());
    assert!(sv.quorum.as_ref().unwrap().is_err(), "one Sentinel left: no quorum, no automatic failover");
    assert!(!sv.events.iter().any(|e| e.kind == "+switch-master"));

    // The plan: promote the surviving replica, fail Redis over from the surviving Sentinel,
    // scale the secondary region, move the traffic.
    let (best, _) = db.best_replica().unwrap();
    assert_eq!(best.name, "postgresql-2");
    let ops = [
        promote("postgresql-2", "10.1.0.12:5432"),
        sentinel_failover("10.1.1.22:26379", "10.0.1.10:6379"),
        scale("us-west-2", "api", 10),
        weights([0, 100, 0]),
    ];
    for op in &ops {
        let summary = run(&mut s, op).unwrap_or_else(|e| panic!("{}: {e}", op.name()));
        assert!(!summary.is_empty());
        assert_holds(&mut s, op, 15.0);
    }
    let t = s.traffic_view();
    assert_eq!(t.share("us-west-2"), Some(1.0));
    let west = t.region("us-west-2").unwrap();
    assert!(west.ready.as_ref().unwrap().ok(), "{west:?}");
    assert_eq!(west.deploy_ready, Some((12, 12)));
    assert_eq!(s.sentinel_view().agreed_master(), Some("10.1.1.12:6379"));
    // us-east-1's deployments were never touched.
    let k = s.kube_view();
    let east_api = k.deployments.iter().find(|d| d.context == "us-east-1" && d.name == "api").unwrap();
    assert_eq!(east_api.desired, 3);
}

#[test]
fn crashloop_rollout_backs_off_and_workers_get_oomkilled() {
    let mut s = sim("crashloop");
    until(&mut s, 60.0);
    let k = s.kube_view();
    let bad: Vec<_> = k
        .pods
        .iter()
        .filter(|p| p.context == "us-east-1" && p.name.starts_with("api-") && p.restarts > 0)
        .collect();
    assert_eq!(bad.len(), 2, "two pods of the new ReplicaSet crash");
    let early: u32 = bad.iter().map(|p| p.restarts).sum();
    let api = k.deployments.iter().find(|d| d.context == "us-east-1" && d.name == "api").unwrap();
    assert_eq!((api.ready, api.desired), (2, 3));
    until(&mut s, 400.0);
    let k = s.kube_view();
    let bad: Vec<_> = k
        .pods
        .iter()
        .filter(|p| p.context == "us-east-1" && p.name.starts_with("api-") && p.restarts > 0)
        .collect();
    let late: u32 = bad.iter().map(|p| p.restarts).sum();
    assert!(late > early, "restarts grow: {early} -> {late}");
    assert!(late <= 2 * 8, "back-off slows restarts down: {late}");
    assert!(bad.iter().any(|p| p.reason.as_deref() == Some("CrashLoopBackOff")));
    let workers: Vec<_> =
        k.pods.iter().filter(|p| p.context == "us-east-1" && p.name.starts_with("worker-")).collect();
    assert!(workers.iter().all(|p| p.restarts >= 1 && p.is_unhealthy()), "{workers:?}");
    assert!(
        workers
            .iter()
            .any(|p| p.reason.as_deref() == Some("OOMKilled")
                || p.reason.as_deref() == Some("CrashLoopBackOff"))
    );
    let ever_oom = (0..100).any(|_| {
        s.advance(secs(1.0));
        s.kube_view()
            .pods
            .iter()
            .any(|p| p.name.starts_with("worker-") && p.reason.as_deref() == Some("OOMKilled"))
    });
    assert!(ever_oom);
    // Scaling goes to the newest (bad) ReplicaSet: never becomes ready.
    let op = scale("us-east-1", "api", 5);
    run(&mut s, &op).unwrap();
    assert!(matches!(verify_within(&mut s, &op, 20.0), Verify::NotYet(_)));
}

fn rollback(deployment: &str) -> Operation {
    Operation::RollbackDeployment {
        context: "us-east-1".into(),
        namespace: "default".into(),
        deployment: deployment.into(),
    }
}

#[test]
fn crashloop_rolls_back_to_the_previous_replicaset_and_every_pod_becomes_ready() {
    let mut s = sim("crashloop");
    until(&mut s, 60.0);
    let unhealthy = |s: &Sim, d: &str| {
        s.kube_view()
            .pods
            .iter()
            .filter(|p| p.context == "us-east-1" && p.name.starts_with(&format!("{d}-")) && p.is_unhealthy())
            .count()
    };
    assert!(unhealthy(&s, "api") > 0 && unhealthy(&s, "worker") > 0);
    // Before the fault's revision existed (calm) there is nothing to roll back to.
    let mut calm = sim("calm");
    until(&mut calm, 10.0);
    let err = run(&mut calm, &rollback("api")).unwrap_err();
    assert_eq!(err, "error: no rollout history found for deployment \"api\"");
    for d in ["api", "worker"] {
        let op = rollback(d);
        let out = run(&mut s, &op).unwrap();
        assert!(out.contains("rolled back from revision") && out.contains("$patch"), "{out}");
        assert_holds(&mut s, &op, 15.0);
        assert_eq!(unhealthy(&s, d), 0, "{d}");
    }
    // The good revision stays good: no pod of either deployment dies again.
    until(&mut s, 200.0);
    assert_eq!(unhealthy(&s, "api") + unhealthy(&s, "worker"), 0);
    let k = s.kube_view();
    for d in k.deployments.iter().filter(|d| d.context == "us-east-1") {
        assert_eq!((d.ready, d.desired), (d.desired, d.desired), "{d:?}");
    }
}

#[test]
fn split_brain_scenario_has_two_writable_primaries() {
    let mut s = sim("split-brain");
    until(&mut s, 10.0);
    let db = s.database_view();
    assert!(db.split_brain());
    let tls: Vec<Option<u32>> = db.writable_primaries().iter().map(|p| p.timeline).collect();
    assert_eq!(tls, vec![Some(1), Some(2)]);
    let op = promote("postgresql-1", "10.0.0.11:5432");
    let err = run(&mut s, &op).unwrap_err();
    assert!(err.contains("recovery is not in progress"), "{err}");
}

#[test]
fn replica_lag_guard_refuses_the_lagging_replica() {
    let mut s = sim("replica-lag");
    until(&mut s, 40.0);
    let lag = s.database_view().node("postgresql-1").unwrap().replay_lag_bytes.unwrap();
    assert!(lag > 1024 * 1024, "{lag}");
    until(&mut s, 70.0);
    let db = s.database_view();
    assert_eq!(db.nodes[0].role, PgRole::Down);
    assert_eq!(db.best_replica().unwrap().0.name, "postgresql-2");
    let err = run(&mut s, &promote("postgresql-1", "10.0.0.11:5432")).unwrap_err();
    assert!(err.contains("exceeds the limit"), "{err}");
    let op = Operation::PromotePostgres {
        node: "postgresql-1".into(),
        endpoint: "10.0.0.11:5432".into(),
        max_lag_bytes: 0,
        accept_data_loss: Some(u64::MAX),
    };
    assert!(s.begin(&op).is_ok(), "a typed override accepts the loss");
    let op = promote("postgresql-2", "10.1.0.12:5432");
    run(&mut s, &op).unwrap();
    assert_holds(&mut s, &op, 1.0);
}

// ------------------------------------------------------------------ operations

#[test]
fn refusals_name_what_is_wrong() {
    let mut s = sim("calm");
    until(&mut s, 3.0);
    let cases: Vec<(Operation, &str)> = vec![
        (promote("postgresql-0", "10.0.0.10:5432"), "recovery is not in progress"),
        (promote("postgresql-9", "10.0.0.19:5432"), "postgresql-9"),
        (promote("postgresql-1", "10.0.0.10:5432"), "not postgresql-1's address"),
        (fence("nope", "10.0.0.10:5432"), "nope"),
        (repoint("us-west-3", "postgresql-1"), "us-west-3"),
        (
            Operation::PatchServiceSelector {
                context: "us-east-1".into(),
                namespace: "databse".into(),
                service: "postgresql".into(),
                pod: "postgresql-1".into(),
            },
            "databse",
        ),
        (
            Operation::PatchServiceSelector {
                context: "us-west-2".into(),
                namespace: "database".into(),
                service: "postgresql".into(),
                pod: "postgresql-2".into(),
            },
            "services \"postgresql\" not found in context us-west-2",
        ),
        (repoint("us-east-1", "postgresql-7"), "postgresql-7"),
        (scale("eu-west-9", "api", 10), "eu-west-9"),
        (scale("us-west-2", "frontend", 10), "frontend"),
        (scale("us-west-2", "api", 100_000), "at most"),
        (sentinel_failover("10.9.9.9:26379", "10.0.1.10:6379"), "10.9.9.9:26379"),
        (
            Operation::SentinelFailover {
                master: "other".into(),
                sentinel: "10.0.1.20:26379".into(),
                from_master: None,
            },
            "No such master",
        ),
        (
            Operation::SetRoute53Weights {
                zone: "Z0000".into(),
                record: "api.example.com.".into(),
                endpoint: "drill://route53".into(),
                weights: vec![("us-west-2".into(), 100)],
            },
            "Z0000",
        ),
        (
            Operation::SetRoute53Weights {
                zone: "ZDRILL0000001".into(),
                record: "api.example.com.".into(),
                endpoint: "drill://route53".into(),
                weights: vec![("ap-south-1".into(), 100)],
            },
            "ap-south-1",
        ),
    ];
    let before = (s.kube_view(), s.database_view(), s.traffic_view());
    for (op, want) in cases {
        let err = run(&mut s, &op).expect_err(op.name());
        assert!(err.contains(want), "{}: {err:?} should mention {want:?}", op.name());
    }
    let after = (s.kube_view(), s.database_view(), s.traffic_view());
    assert_eq!(before.0.db_service, after.0.db_service);
    assert_eq!(before.0.deployments, after.0.deployments);
    assert_eq!(
        before.2.regions.iter().map(|r| r.weight).collect::<Vec<_>>(),
        vec![Some(100), Some(0), Some(0)]
    );
    assert_eq!(after.1.primary().unwrap().name, "postgresql-0");
}

#[test]
fn manual_sentinel_failover_inprog_and_stale_old_master() {
    let mut s = sim("calm");
    until(&mut s, 3.0);
    let op = sentinel_failover("10.0.1.20:26379", "10.0.1.10:6379");
    assert!(run(&mut s, &op).unwrap().contains("OK"));
    assert!(s.sentinel_view().failover_in_progress);
    let err = run(&mut s, &op).unwrap_err();
    assert_eq!(err, "INPROG: failover already in progress");
    assert_holds(&mut s, &op, 3.0);
    let v = s.sentinel_view();
    let new = v.agreed_master().unwrap().to_string();
    assert!(!v.failover_in_progress);
    // The old master still claims role:master for ~10 s: listed as a replica without a link.
    let old = v.replicas.iter().find(|r| r.addr == "10.0.1.10:6379").unwrap();
    assert!(!old.link_up, "{old:?}");
    s.advance(secs(12.0));
    let v = s.sentinel_view();
    assert!(v.events.iter().any(|e| e.kind == "+convert-to-slave"));
    let old = v.replicas.iter().find(|r| r.addr == "10.0.1.10:6379").unwrap();
    assert!(old.link_up && old.offset_lag.is_some(), "{old:?}");
    assert_eq!(v.agreed_master(), Some(new.as_str()));
}

#[test]
fn weights_scale_and_manual_change_the_observed_views() {
    let mut s = sim("calm");
    until(&mut s, 2.0);
    let op = weights([50, 50, 0]);
    assert!(run(&mut s, &op).unwrap().contains("INSYNC"));
    assert_holds(&mut s, &op, 0.0);
    assert_eq!(s.traffic_view().share("us-west-2"), Some(0.5));

    let op = scale("us-west-2", "api", 10);
    run(&mut s, &op).unwrap();
    let k = s.kube_view();
    let d = k.deployments.iter().find(|d| d.context == "us-west-2" && d.name == "api").unwrap();
    assert_eq!((d.desired, d.ready), (10, 3));
    s.advance(secs(0.2));
    let creating = s
        .kube_view()
        .pods
        .iter()
        .filter(|p| p.context == "us-west-2" && p.reason.as_deref() == Some("ContainerCreating"))
        .count();
    assert_eq!(creating, 7);
    assert!(matches!(op.verify(&observed(&s)), Verify::NotYet(_)));
    assert_holds(&mut s, &op, 10.0);
    let east =
        s.kube_view().pods.iter().filter(|p| p.context == "us-east-1" && p.name.starts_with("api-")).count();
    assert_eq!(east, 3, "an op for us-west-2 never touches us-east-1");

    let op = scale("us-west-2", "api", 1);
    run(&mut s, &op).unwrap();
    assert_holds(&mut s, &op, 1.0);
    s.advance(secs(0.5));
    let west =
        s.kube_view().pods.iter().filter(|p| p.context == "us-west-2" && p.name.starts_with("api-")).count();
    assert_eq!(west, 1, "scale down removes pods");

    let op = Operation::Manual { instruction: "Call the DBA".into() };
    assert!(run(&mut s, &op).unwrap().contains("Call the DBA"));
    assert_holds(&mut s, &op, 0.0);
}

// ------------------------------------------------------------------ the async estate

#[tokio::test(start_paused = true)]
async fn estate_observers_and_operator_share_one_speed_scaled_clock() {
    let estate = DrillEstate::new("primary-db-down", 10.0, 7).unwrap();
    assert_eq!(estate.config().route53.unwrap().hosted_zone_id, "ZDRILL0000001");
    assert_eq!(estate.fault_injected_at(), None);
    tokio::time::sleep(Duration::from_secs(1)).await; // 10 s of sim time
    let elapsed = estate.sim_elapsed().as_secs_f64();
    assert!((9.9..10.5).contains(&elapsed), "{elapsed}");
    assert!(estate.fault_injected_at().is_some());

    let db = estate.database().observe().await.unwrap();
    assert_eq!(db.nodes[0].role, PgRole::Down);
    let op = promote("postgresql-1", "10.0.0.11:5432");
    let summary = estate.operator().execute(&op).await.unwrap();
    assert!(summary.contains("after 0.") && summary.contains("timeline 2"), "{summary}");
    let repoint = repoint("us-east-1", "postgresql-1");
    estate.operator().execute(&repoint).await.unwrap();
    let err = estate.operator().execute(&scale("nowhere", "api", 3)).await.unwrap_err();
    assert!(err.contains("nowhere"));

    let at = Utc::now();
    let obs = Observed {
        kube: Arc::new(Snapshot::fresh(estate.kube().observe().await.unwrap(), at)),
        database: Arc::new(Snapshot::fresh(estate.database().observe().await.unwrap(), at)),
        sentinel: Arc::new(Snapshot::fresh(estate.sentinel().observe().await.unwrap(), at)),
        traffic: Arc::new(Snapshot::fresh(estate.traffic().observe().await.unwrap(), at)),
    };
    assert!(matches!(op.verify(&obs), Verify::Holds(_)));
    assert!(matches!(repoint.verify(&obs), Verify::Holds(_)));
    assert_eq!(estate.kube().name(), "kube");

    estate.fast_forward(Duration::from_secs(300));
    assert!(estate.database().observe().await.unwrap().split_brain());
}
