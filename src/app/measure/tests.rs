//! The recovery tracker with an injected clock.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::app::state::IncidentInfo;
use crate::app::verdict::verdict_of;
use crate::app::{Action, State, update};
use crate::backends::Snapshot;
use crate::backends::model::PgRole;
use crate::backends::model::{
    DatabaseView, HealthState, KubeView, PgNodeStatus, RedisReplica, RegionTraffic, SentinelObs,
    SentinelView, ServiceView, TrafficView,
};
use crate::config::Config;
use crate::operation::Operation;

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap() + Duration::seconds(s)
}

fn node(name: &str, role: PgRole, lsn: u64) -> PgNodeStatus {
    PgNodeStatus {
        name: name.into(),
        region: "us-east-1".into(),
        role,
        version: None,
        timeline: Some(1),
        lsn: (role != PgRole::Down).then_some(lsn),
        fork_lsn: None,
        replay_lag_bytes: None,
        replay_lag_seconds: None,
        replication_state: None,
        read_only: false,
        pod: Some(name.into()),
        error: None,
        last_ok: None,
    }
}

/// An estate: PostgreSQL nodes `(name, role, lsn)`, the Service routing to `svc`, a calm
/// Sentinel and traffic layer.
fn estate(nodes: &[(&str, PgRole, u64)], svc: &str, at: DateTime<Utc>) -> Observed {
    let db = DatabaseView { nodes: nodes.iter().map(|(n, r, l)| node(n, *r, *l)).collect() };
    let kube = KubeView {
        db_service: Some(ServiceView {
            context: "us-east-1".into(),
            namespace: "database".into(),
            name: "postgresql".into(),
            selector: BTreeMap::new(),
            endpoint_pods: vec![svc.to_string()],
            endpoints: vec![],
        }),
        ..KubeView::default()
    };
    Observed {
        kube: Arc::new(Snapshot::fresh(kube, at)),
        database: Arc::new(Snapshot::fresh(db, at)),
        sentinel: Arc::new(Snapshot::fresh(redis("10.0.1.10:6379", Some("master"), &[]), at)),
        traffic: Arc::new(Snapshot::fresh(traffic(&[("us-east-1", 100, HealthState::Healthy)]), at)),
    }
}

/// Sentinels agreeing on `master`; replicas with their lags (one in sync when none given).
fn redis(master: &str, role: Option<&str>, lags: &[(&str, u64)]) -> SentinelView {
    let lags = if lags.is_empty() { &[("10.0.1.12:6379", 0)][..] } else { lags };
    SentinelView {
        master_name: "mymaster".into(),
        sentinels: (0..3)
            .map(|i| SentinelObs { addr: format!("s{i}:26379"), master: Some(master.into()), error: None })
            .collect(),
        replicas: lags
            .iter()
            .map(|(a, l)| RedisReplica {
                addr: (*a).into(),
                flags: "slave".into(),
                link_up: true,
                offset_lag: Some(*l),
            })
            .collect(),
        master_role: role.map(str::to_string),
        ..SentinelView::default()
    }
}

fn traffic(regions: &[(&str, u8, HealthState)]) -> TrafficView {
    TrafficView {
        record: "api.example.com.".into(),
        regions: regions
            .iter()
            .enumerate()
            .map(|(i, (n, w, h))| RegionTraffic {
                name: (*n).into(),
                role: if i == 0 { "primary" } else { "secondary" }.into(),
                weight: Some(*w),
                failover_role: None,
                health_check: *h,
                checkers: None,
                live: None,
                ready: None,
                deploy_ready: None,
            })
            .collect(),
        ..TrafficView::default()
    }
}

use PgRole::{Down, Primary, Replica};

fn healthy(at: DateTime<Utc>, lsn: u64) -> Observed {
    estate(&[("pg-0", Primary, lsn), ("pg-1", Replica, lsn.saturating_sub(5))], "pg-0", at)
}

fn step(id: u64, status: StepStatus, started: i64, finished: Option<i64>) -> StepRun {
    let mut s =
        StepRun::new(id, Operation::Manual { instruction: format!("step {id}") }, "test".into(), t(0));
    s.status = status;
    s.started_at = Some(t(started));
    s.finished_at = finished.map(t);
    s
}

/// No settle period: mitigation at the first snapshot where the verdict holds.
fn ctx(mode: Mode, target: Option<u64>) -> MeasureContext {
    MeasureContext { mode, declared_at: t(0), rto_target_secs: target, settle_secs: 0, runbook_active: false }
}

/// Feed `o` at `s` seconds with no checklist.
fn outcome(r: &mut Recovery, o: &Observed, steps: &[StepRun], c: &MeasureContext, s: i64) -> Option<Outcome> {
    let v = verdict_of(o, &Config::default());
    r.observe(o, &v, steps, &Checklist::default(), c, t(s))
}

/// Feed `o` at `s` seconds; the result if mitigation was reached.
fn feed(
    r: &mut Recovery,
    o: &Observed,
    steps: &[StepRun],
    c: &MeasureContext,
    s: i64,
) -> Option<RecoveryResult> {
    match outcome(r, o, steps, c, s) {
        Some(Outcome::Mitigated(res)) => Some(*res),
        Some(Outcome::Withdrawn(why)) => panic!("withdrawn: {why:?}"),
        None => None,
    }
}

#[test]
fn drill_measures_fault_detection_action_mitigation_and_lsn_loss() {
    let c = ctx(Mode::Drill, Some(30));
    let mut r = Recovery::drill("primary-db-down", Some(t(10)));
    assert_eq!(feed(&mut r, &healthy(t(5), 10_000), &[], &c, 5), None);
    assert_eq!(r.start(t(5)), None, "the fault is scheduled, not injected yet");
    // Last sight of the primary: LSN 12,000; the replica has received 11,200.
    let before = estate(&[("pg-0", Primary, 12_000), ("pg-1", Replica, 11_200)], "pg-0", t(9));
    assert_eq!(feed(&mut r, &before, &[], &c, 9), None);
    assert!(r.detected.is_none());
    // The primary is gone.
    let down = estate(&[("pg-0", Down, 0), ("pg-1", Replica, 11_200)], "pg-0", t(12));
    assert_eq!(feed(&mut r, &down, &[], &c, 12), None);
    let (at, why) = r.detected.clone().expect("detected");
    assert_eq!(at, t(12));
    assert_eq!(why, ["database: no writable primary", "database: pg-0 is down: no answer"]);
    // Promotion confirmed at 20 and verified at 24; the Service still routes to pg-0.
    let promoting = [step(1, StepStatus::Executing, 20, None)];
    assert_eq!(feed(&mut r, &down, &promoting, &c, 20), None);
    assert_eq!(r.first_action_at, Some(t(20)));
    let promoted = estate(&[("pg-0", Down, 0), ("pg-1", Primary, 11_300)], "pg-0", t(24));
    let done = [step(1, StepStatus::Done, 20, Some(24))];
    assert_eq!(feed(&mut r, &promoted, &done, &c, 24), None, "Service not repointed: not mitigated");
    let sw = r.pg_switch.clone().expect("switch seen");
    assert_eq!((sw.old_primary.as_str(), sw.new_primary.as_str()), ("pg-0", "pg-1"));
    assert_eq!((sw.old_lsn, sw.new_lsn, sw.loss_bytes()), (Some(12_000), Some(11_200), Some(800)));
    // Repointed at 31: mitigated.
    let repointed = estate(&[("pg-0", Down, 0), ("pg-1", Primary, 15_000)], "pg-1", t(31));
    let both = [step(1, StepStatus::Done, 20, Some(24)), step(2, StepStatus::Done, 28, Some(31))];
    let res = feed(&mut r, &repointed, &both, &c, 31).expect("mitigated");
    assert_eq!(r.mitigated_at, Some(t(31)));
    assert_eq!(res.rto_secs, 21.0);
    assert_eq!(res.rto_from, "fault_injected");
    assert_eq!(res.data_loss_bytes, Some(800));
    assert_eq!((res.rto_target_secs, res.target_met), (Some(30), Some(true)));
    assert_eq!(res.fault_injected_at.as_deref(), Some("2026-11-26T03:00:10.000Z"));
    assert_eq!(res.detected_at, "2026-11-26T03:00:12.000Z");
    assert_eq!(res.first_action_at.as_deref(), Some("2026-11-26T03:00:20.000Z"));
    assert_eq!(res.mitigated_at, "2026-11-26T03:00:31.000Z");
    assert_eq!(res.steps.iter().map(|s| (s.id, s.secs)).collect::<Vec<_>>(), [(1, 4), (2, 3)]);
    assert_eq!(summary(&res), "recovered: RTO 21.0 s (target 30 s: met), data loss 800 B (held 0 s)");
    let sw = res.postgres.clone().unwrap();
    assert_eq!(sw.fork_source.as_deref(), Some(postgres::FORK_AS_REPLICA));
    // Logged once: later snapshots give nothing.
    assert_eq!(feed(&mut r, &repointed, &both, &c, 40), None);
}

#[test]
fn no_result_while_a_step_is_failed_or_in_flight() {
    let c = ctx(Mode::Drill, None);
    let mut r = Recovery::drill("primary-db-down", Some(t(1)));
    feed(&mut r, &healthy(t(0), 9_000), &[], &c, 0);
    let down = estate(&[("pg-0", Down, 0), ("pg-1", Replica, 9_050)], "pg-0", t(2));
    feed(&mut r, &down, &[], &c, 2);
    let fixed = estate(&[("pg-0", Down, 0), ("pg-1", Primary, 9_100)], "pg-1", t(10));
    let failed = StepStatus::Failed { stage: crate::app::step::Stage::Verify, reason: "x".into() };
    let with_failed = [step(1, StepStatus::Done, 3, Some(5)), step(2, failed, 6, Some(8))];
    assert_eq!(feed(&mut r, &fixed, &with_failed, &c, 10), None, "a failed step blocks mitigation");
    let verifying = [step(1, StepStatus::Done, 3, Some(5)), step(2, StepStatus::Verifying, 6, None)];
    assert_eq!(feed(&mut r, &fixed, &verifying, &c, 11), None, "a verifying step blocks mitigation");
    assert_eq!(feed(&mut r, &fixed, &[], &c, 12), None, "no verified step: not mitigated");
    let skipped =
        [step(1, StepStatus::Done, 3, Some(5)), step(2, StepStatus::Skipped("n/a".into()), 6, Some(13))];
    let res = feed(&mut r, &fixed, &skipped, &c, 13).expect("skipping the failed step unblocks");
    assert_eq!(res.rto_secs, 12.0);
    assert_eq!(
        (res.target_met, res.data_loss_bytes),
        (None, Some(0)),
        "the replica got past the last LSN seen: floored at 0"
    );
}

#[test]
fn live_counts_from_detection_and_needs_a_detection() {
    let c = ctx(Mode::Live, Some(5));
    let mut r = Recovery::default();
    let done = [step(1, StepStatus::Done, 1, Some(2))];
    assert_eq!(
        feed(&mut r, &healthy(t(3), 1_000), &done, &c, 3),
        None,
        "nothing detected: nothing to measure"
    );
    let mut o = healthy(t(4), 1_000);
    o.sentinel = Arc::new(Snapshot::fresh(redis("10.0.1.10:6379", None, &[]), t(4)));
    feed(&mut r, &o, &done, &c, 4);
    assert_eq!(
        r.detected.as_ref().map(|d| d.1.clone()),
        Some(vec!["redis: the master does not answer".into()])
    );
    let steps = [step(1, StepStatus::Done, 1, Some(2)), step(2, StepStatus::Done, 6, Some(11))];
    let res = feed(&mut r, &healthy(t(11), 1_000), &steps, &c, 11).expect("mitigated");
    assert_eq!((res.rto_secs, res.rto_from), (7.0, "detected"));
    assert_eq!(res.first_action_at.as_deref(), Some("2026-11-26T03:00:06.000Z"), "step 1 predates detection");
    assert_eq!((res.target_met, res.fault.as_deref()), (Some(false), None));
    assert!(summary(&res).contains("(target 5 s: missed by 2.0 s), no PostgreSQL primary switch"));
}

#[test]
fn redis_offset_loss_is_the_new_masters_lag_at_last_sight() {
    let c = ctx(Mode::Drill, None);
    let mut r = Recovery::drill("redis-master-down", Some(t(1)));
    let with = |s: SentinelView, at: i64| {
        let mut o = healthy(t(at), 5_000);
        o.sentinel = Arc::new(Snapshot::fresh(s, t(at)));
        o
    };
    let lags = [("10.0.1.11:6379", 700), ("10.0.1.12:6379", 40)];
    feed(&mut r, &with(redis("10.0.1.10:6379", Some("master"), &lags), 0), &[], &c, 0);
    let lags = [("10.0.1.11:6379", 300), ("10.0.1.12:6379", 1_200)];
    feed(&mut r, &with(redis("10.0.1.10:6379", Some("master"), &lags), 1), &[], &c, 1);
    // The master dies: replicas lose their link (no lag), Sentinels still name it.
    let mut dead = redis("10.0.1.10:6379", None, &[]);
    dead.failover_in_progress = true;
    feed(&mut r, &with(dead, 3), &[], &c, 3);
    assert!(r.detected.is_some());
    let done = [step(1, StepStatus::Done, 4, Some(6))];
    let res = feed(&mut r, &with(redis("10.0.1.11:6379", Some("master"), &[]), 6), &done, &c, 6)
        .expect("mitigated");
    let sw = res.redis.clone().expect("switch");
    assert_eq!((sw.old_master.as_str(), sw.new_master.as_str()), ("10.0.1.10:6379", "10.0.1.11:6379"));
    assert_eq!(res.redis_offset_loss, Some(300));
    assert_eq!(res.data_loss_bytes, None);
    assert!(summary(&res).ends_with(", Redis offset loss 300 (held 0 s)"), "{}", summary(&res));
}

#[test]
fn checklist_lateness_at_mitigation() {
    let mut list = Checklist::communication();
    let first = list.items.iter().find(|i| matches!(i.due, Due::By(_))).expect("a one-off item").clone();
    let Due::By(d) = first.due else { unreachable!() };
    let done_at = t(0) + d + Duration::seconds(90);
    list.tick(&first.id, done_at, None).unwrap();
    let now = t(0) + Duration::hours(2);
    let rows = lateness(&list, t(0), now);
    let row = rows.iter().find(|r| r.item == first.id).expect("ticked item listed");
    assert_eq!((row.done, row.late_secs), (Some(done_at), 90));
    // Every scheduled item is overdue two hours in; those not done are late until now.
    let missing = rows.iter().filter(|r| r.done.is_none()).collect::<Vec<_>>();
    assert!(!missing.is_empty());
    assert!(missing.iter().all(|r| r.late_secs == (now - r.due).num_seconds() && r.late_secs >= 0));
    assert!(lateness(&list, t(0), t(0)).iter().all(|r| r.done.is_some() || r.late_secs >= 0));
}

#[test]
fn update_logs_one_drill_result_through_the_core() {
    let cfg = Config {
        drill: crate::config::model::DrillConfig { rto_target_secs: Some(60), settle_secs: Some(2) },
        ..Config::default()
    };
    let incident = IncidentInfo {
        id: "INC-20261126-030000-DRILL".into(),
        title: "Drill".into(),
        severity: "SEV2".into(),
        declared_at: t(0),
        drill: true,
    };
    let mut state = State::new(Mode::Drill, incident, "op@host".into(), Arc::new(cfg), t(0));
    state.domain.recovery = Recovery::drill("primary-db-down", Some(t(2)));
    let mut results = Vec::new();
    let apply = |state: &mut State, a: Action, s: i64| -> Vec<crate::incident::entry::LogIntent> {
        update(state, a, t(s))
            .into_iter()
            .filter_map(|e| match e {
                Effect::Log(l) if l.kind == EntryKind::DrillResult => Some(l),
                _ => None,
            })
            .collect()
    };
    let o = healthy(t(1), 100);
    results.extend(apply(&mut state, Action::Database(o.database.clone()), 1));
    results.extend(apply(&mut state, Action::Kube(o.kube.clone()), 1));
    results.extend(apply(&mut state, Action::Sentinel(o.sentinel.clone()), 1));
    results.extend(apply(&mut state, Action::Traffic(o.traffic.clone()), 1));
    let down = estate(&[("pg-0", Down, 0), ("pg-1", Replica, 90)], "pg-0", t(3));
    results.extend(apply(&mut state, Action::Database(down.database.clone()), 3));
    assert_eq!(state.domain.recovery.detected.as_ref().map(|d| d.0), Some(t(3)));
    state.domain.steps.push(step(1, StepStatus::Done, 4, Some(5)));
    let up = estate(&[("pg-0", Down, 0), ("pg-1", Primary, 95)], "pg-1", t(6));
    results.extend(apply(&mut state, Action::Database(up.database.clone()), 6));
    assert!(results.is_empty(), "the Service still routes to pg-0");
    results.extend(apply(&mut state, Action::Kube(up.kube.clone()), 7));
    results.extend(apply(&mut state, Action::Tick, 8));
    assert!(results.is_empty(), "held 1 s of the 2 s settle period");
    assert_eq!(state.domain.recovery.holding_since, Some(t(7)));
    results.extend(apply(&mut state, Action::Tick, 9));
    assert_eq!(results.len(), 1, "{results:?}");
    let d = &results[0].details;
    assert_eq!(d["rto_secs"], 5.0, "counted to when the verdict began to hold");
    assert_eq!(
        (d["mitigated_at"].as_str(), d["settle_secs"].as_u64()),
        (Some("2026-11-26T03:00:07.000Z"), Some(2))
    );
    assert_eq!(d["data_loss_bytes"], 10);
    assert_eq!(d["target_met"], true);
    assert_eq!(d["drill"], true);
    assert_eq!(d["fault"], "primary-db-down");
    assert!(results[0].summary.starts_with("DRILL recovered: RTO 5.0 s"), "{}", results[0].summary);
    assert_eq!(state.domain.recovery.mitigated_at, Some(t(7)));
}

/// `estate` with each node's timeline and reported fork LSN.
fn forked(nodes: &[(&str, PgRole, u64, u32, Option<u64>)], svc: &str, at: DateTime<Utc>) -> Observed {
    let plain: Vec<(&str, PgRole, u64)> = nodes.iter().map(|(n, r, l, _, _)| (*n, *r, *l)).collect();
    let mut o = estate(&plain, svc, at);
    let mut db = o.database.value.clone().unwrap();
    for (n, (_, _, _, tl, fork)) in db.nodes.iter_mut().zip(nodes) {
        n.timeline = Some(*tl);
        n.fork_lsn = *fork;
    }
    o.database = Arc::new(Snapshot::fresh(db, at));
    o
}

fn fence(o: &Observed, node: &str, at: DateTime<Utc>) -> Observed {
    let mut o = o.clone();
    let mut db = o.database.value.clone().unwrap();
    db.nodes.iter_mut().filter(|n| n.name == node).for_each(|n| n.read_only = true);
    o.database = Arc::new(Snapshot::fresh(db, at));
    o
}

/// Split brain: pg-1 promoted by mistake at LSN 50,000 (its timeline 2 forks there) while
/// pg-0 keeps taking the clients' writes. The writes of the primary that is fenced after the
/// fork are what is lost.
fn split_brain(r: &mut Recovery, c: &MeasureContext) -> Observed {
    let before =
        forked(&[("pg-0", Primary, 49_000, 1, None), ("pg-1", Replica, 48_900, 1, None)], "pg-0", t(1));
    assert_eq!(feed(r, &before, &[], c, 1), None);
    let split = forked(
        &[("pg-0", Primary, 120_000, 1, None), ("pg-1", Primary, 50_300, 2, Some(50_000))],
        "pg-0",
        t(3),
    );
    assert_eq!(feed(r, &split, &[], c, 3), None);
    let later = forked(
        &[("pg-0", Primary, 840_000, 1, None), ("pg-1", Primary, 50_900, 2, Some(50_000))],
        "pg-0",
        t(8),
    );
    assert_eq!(feed(r, &later, &[], c, 8), None);
    assert_eq!(r.detected.as_ref().map(|d| d.1[0].as_str()), Some("database: split brain (pg-0, pg-1)"));
    later
}

#[test]
fn split_brain_loss_is_the_fenced_primarys_writes_since_the_fork() {
    let c = ctx(Mode::Drill, None);
    // Fencing pg-0 (the one the Service routes to): its 790,000 B since the fork are lost.
    let mut r = Recovery::drill("split-brain", Some(t(2)));
    let later = split_brain(&mut r, &c);
    let fenced = fence(&later, "pg-0", t(9));
    let mut fenced_db = fenced.database.value.clone().unwrap();
    fenced_db.nodes[1].lsn = Some(51_000);
    let mut o = fenced.clone();
    o.kube = estate(&[], "pg-1", t(10)).kube;
    o.database = Arc::new(Snapshot::fresh(fenced_db, t(10)));
    let done = [step(1, StepStatus::Done, 9, Some(10))];
    let res = feed(&mut r, &o, &done, &c, 10).expect("mitigated: one writable primary behind the Service");
    let sw = res.postgres.clone().unwrap();
    assert_eq!((sw.old_primary.as_str(), sw.new_primary.as_str()), ("pg-0", "pg-1"));
    assert_eq!((sw.old_lsn, sw.new_lsn), (Some(840_000), Some(50_000)));
    assert_eq!(sw.fork_source.as_deref(), Some(postgres::FORK_REPORTED));
    assert_eq!(
        res.data_loss_bytes,
        Some(790_000),
        "not the 300 B between pg-1 as a replica and its promotion"
    );

    // Fencing pg-1 instead: only what pg-1 wrote on its own timeline is lost.
    let mut r = Recovery::drill("split-brain", Some(t(2)));
    let later = split_brain(&mut r, &c);
    let o = fence(&later, "pg-1", t(10));
    let res = feed(&mut r, &o, &done, &c, 10).expect("mitigated");
    let sw = res.postgres.clone().unwrap();
    assert_eq!((sw.old_primary.as_str(), sw.new_primary.as_str()), ("pg-1", "pg-0"));
    assert_eq!((sw.old_lsn, sw.new_lsn, res.data_loss_bytes), (Some(50_900), Some(50_000), Some(900)));
}

#[test]
fn mitigation_waits_for_the_settle_period_and_a_break_restarts_it() {
    let c = MeasureContext { settle_secs: 10, ..ctx(Mode::Drill, None) };
    let mut r = Recovery::drill("primary-db-down", Some(t(1)));
    feed(&mut r, &healthy(t(0), 1_000), &[], &c, 0);
    feed(&mut r, &estate(&[("pg-0", Down, 0), ("pg-1", Replica, 990)], "pg-0", t(2)), &[], &c, 2);
    let done = [step(1, StepStatus::Done, 3, Some(4))];
    let fixed = estate(&[("pg-0", Down, 0), ("pg-1", Primary, 1_100)], "pg-1", t(5));
    assert_eq!(feed(&mut r, &fixed, &done, &c, 5), None);
    assert_eq!(r.holding_since, Some(t(5)));
    assert_eq!(feed(&mut r, &fixed, &done, &c, 14), None, "9 s of 10");
    // A failing snapshot breaks the hold: the period starts again.
    let broken = estate(&[("pg-0", Down, 0), ("pg-1", Primary, 1_200)], "pg-0", t(15));
    assert_eq!(feed(&mut r, &broken, &done, &c, 15), None);
    assert_eq!(r.holding_since, None);
    assert_eq!(feed(&mut r, &fixed, &done, &c, 16), None);
    assert_eq!(feed(&mut r, &fixed, &done, &c, 25), None);
    let res = feed(&mut r, &fixed, &done, &c, 26).expect("held 10 s");
    assert_eq!((res.mitigated_at.as_str(), res.rto_secs), ("2026-11-26T03:00:16.000Z", 15.0));
    // A runbook still running does not let it hold.
    let mut r2 = Recovery::drill("primary-db-down", Some(t(1)));
    let c2 = MeasureContext { runbook_active: true, ..ctx(Mode::Drill, None) };
    feed(&mut r2, &estate(&[("pg-0", Down, 0), ("pg-1", Replica, 990)], "pg-0", t(2)), &[], &c2, 2);
    assert_eq!(feed(&mut r2, &fixed, &done, &c2, 5), None);
    assert_eq!(r2.holding_since, None);
}

#[test]
fn the_old_primary_returning_writable_withdraws_mitigation_until_it_is_fenced() {
    let c = MeasureContext { settle_secs: 2, ..ctx(Mode::Drill, None) };
    let mut r = Recovery::drill("primary-db-down", Some(t(1)));
    feed(&mut r, &healthy(t(0), 10_000), &[], &c, 0);
    feed(&mut r, &estate(&[("pg-0", Down, 0), ("pg-1", Replica, 9_950)], "pg-0", t(2)), &[], &c, 2);
    let done = [step(1, StepStatus::Done, 3, Some(4)), step(2, StepStatus::Done, 5, Some(6))];
    let fixed = estate(&[("pg-0", Down, 0), ("pg-1", Primary, 11_000)], "pg-1", t(6));
    assert_eq!(feed(&mut r, &fixed, &done, &c, 6), None);
    let first = feed(&mut r, &fixed, &done, &c, 8).expect("mitigated");
    assert_eq!((first.withdrawals, first.data_loss_bytes), (0, Some(50)));
    // pg-0 comes back writable on its old timeline: split brain.
    let split = estate(&[("pg-0", Primary, 10_400), ("pg-1", Primary, 12_000)], "pg-1", t(30));
    match outcome(&mut r, &split, &done, &c, 30) {
        Some(Outcome::Withdrawn(why)) => assert_eq!(why, ["database: split brain (pg-0, pg-1)"]),
        other => panic!("expected a withdrawal, got {other:?}"),
    }
    assert_eq!((r.mitigated_at, r.result.as_ref(), r.withdrawals), (None, None, 1));
    assert_eq!(outcome(&mut r, &split, &done, &c, 31), None, "withdrawn once");
    // Fenced: mitigated again after the settle period; pg-0's writes after its return count.
    let fenced = fence(&split, "pg-0", t(40));
    let done3 = [done[0].clone(), done[1].clone(), step(3, StepStatus::Done, 38, Some(40))];
    assert_eq!(feed(&mut r, &fenced, &done3, &c, 40), None);
    let again = feed(&mut r, &fenced, &done3, &c, 42).expect("mitigated again");
    assert_eq!((again.withdrawals, again.rto_secs), (1, 39.0));
    assert_eq!(again.data_loss_bytes, Some(10_400 - 9_950));
    assert_eq!(
        again.remaining,
        ["database: pg-0 is fenced (read-only primary on timeline 1): rebuild it as a replica"]
    );
}

#[test]
fn a_drill_logs_verdict_changes_and_the_withdrawal() {
    let cfg = Config {
        drill: crate::config::model::DrillConfig { rto_target_secs: None, settle_secs: Some(1) },
        ..Config::default()
    };
    let incident = IncidentInfo {
        id: "INC-DRILL".into(),
        title: "Drill".into(),
        severity: "SEV2".into(),
        declared_at: t(0),
        drill: true,
    };
    let mut state = State::new(Mode::Drill, incident, "op@host".into(), Arc::new(cfg), t(0));
    state.domain.recovery = Recovery::drill("primary-db-down", Some(t(0)));
    let mut kinds = Vec::new();
    let mut apply = |state: &mut State, o: &Observed, s: i64| {
        for a in [
            Action::Kube(o.kube.clone()),
            Action::Sentinel(o.sentinel.clone()),
            Action::Traffic(o.traffic.clone()),
            Action::Database(o.database.clone()),
        ] {
            for e in update(state, a, t(s)) {
                if let Effect::Log(l) = e
                    && l.kind != EntryKind::Observation
                    && l.kind != EntryKind::TrendSample
                {
                    kinds.push((l.kind, l.summary));
                }
            }
        }
    };
    apply(&mut state, &estate(&[("pg-0", Down, 0), ("pg-1", Replica, 90)], "pg-0", t(1)), 1);
    assert_eq!(state.domain.verdict.level, crate::app::verdict::Level::Failing);
    state.domain.steps.push(step(1, StepStatus::Done, 2, Some(3)));
    let up = estate(&[("pg-0", Down, 0), ("pg-1", Primary, 95)], "pg-1", t(4));
    apply(&mut state, &up, 4);
    apply(&mut state, &up, 5);
    apply(&mut state, &estate(&[("pg-0", Primary, 80), ("pg-1", Primary, 99)], "pg-1", t(9)), 9);
    let got: Vec<(&EntryKind, &str)> = kinds.iter().map(|(k, s)| (k, s.as_str())).collect();
    assert_eq!(got[0], (&EntryKind::Verdict, "DRILL verdict: FAILING (database: no writable primary)"));
    assert_eq!(got[1], (&EntryKind::Verdict, "DRILL verdict: DEGRADED (database: pg-0 is down: no answer)"));
    assert_eq!(got[2].0, &EntryKind::DrillResult);
    assert_eq!(got[3], (&EntryKind::Verdict, "DRILL verdict: FAILING (database: split brain (pg-0, pg-1))"));
    assert_eq!(
        got[4],
        (
            &EntryKind::MitigationWithdrawn,
            "DRILL mitigation withdrawn: the estate failed again: database: split brain (pg-0, pg-1)"
        )
    );
    assert_eq!(got.len(), 5, "{got:#?}");
}

#[test]
fn read_only_and_live_consoles_log_no_verdict_entries() {
    for (mode, read_only) in [(Mode::Drill, true), (Mode::Live, false)] {
        let incident = IncidentInfo {
            id: "INC-1".into(),
            title: "x".into(),
            severity: "SEV2".into(),
            declared_at: t(0),
            drill: mode == Mode::Drill,
        };
        let mut state = State::new(mode, incident, "op@host".into(), Arc::new(Config::default()), t(0));
        state.domain.read_only = read_only;
        let o = estate(&[("pg-0", Down, 0), ("pg-1", Replica, 90)], "pg-0", t(1));
        let mut kinds = Vec::new();
        for a in [Action::Kube(o.kube.clone()), Action::Database(o.database.clone())] {
            kinds.extend(update(&mut state, a, t(1)).into_iter().filter_map(|e| match e {
                Effect::Log(l) => Some(l.kind),
                _ => None,
            }));
        }
        assert_eq!(
            state.domain.verdict.level,
            crate::app::verdict::Level::Failing,
            "the verdict is still kept"
        );
        assert!(!kinds.contains(&EntryKind::Verdict), "{mode:?} read-only {read_only}: {kinds:?}");
    }
}

#[test]
fn drill_rto_excludes_the_time_the_facilitator_paused() {
    let c = ctx(Mode::Drill, Some(30));
    let mut r = Recovery::drill("primary-db-down", Some(t(10)));
    // Paused from 14 to 114 (100 s), and again from 200 on (never resumed before mitigation).
    r.clock.pause(t(14));
    r.clock.resume(t(114));
    let down = estate(&[("pg-0", Down, 0), ("pg-1", Replica, 11_200)], "pg-0", t(12));
    assert_eq!(feed(&mut r, &down, &[], &c, 12), None);
    let repointed = estate(&[("pg-0", Down, 0), ("pg-1", Primary, 15_000)], "pg-1", t(131));
    let done = [step(1, StepStatus::Done, 120, Some(131))];
    let res = feed(&mut r, &repointed, &done, &c, 131).expect("mitigated");
    assert_eq!(res.rto_secs, 21.0, "121 s of wall time, 100 s of it paused");
    assert_eq!((res.rto_target_secs, res.target_met), (Some(30), Some(true)));
}

#[test]
fn a_pause_before_the_fault_struck_does_not_count_either() {
    // The fault is scheduled at drill time 10 s; a pause from 2 s to 52 s delays it to wall 60 s.
    let c = ctx(Mode::Drill, Some(30));
    let mut r = Recovery::drill("primary-db-down", Some(t(10)));
    r.clock.pause(t(2));
    r.clock.resume(t(52));
    let down = estate(&[("pg-0", Down, 0), ("pg-1", Replica, 11_200)], "pg-0", t(62));
    assert_eq!(feed(&mut r, &down, &[], &c, 62), None);
    let repointed = estate(&[("pg-0", Down, 0), ("pg-1", Primary, 15_000)], "pg-1", t(75));
    let done = [step(1, StepStatus::Done, 70, Some(75))];
    let res = feed(&mut r, &repointed, &done, &c, 75).expect("mitigated");
    assert_eq!(res.rto_secs, 15.0, "struck at wall 60 s (drill 10 s), mitigated at wall 75 s (drill 25 s)");
}
