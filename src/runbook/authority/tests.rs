use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::backends::Snapshot;
use crate::backends::model::{DatabaseView, PgNodeStatus, PgRole, RedisReplica, SentinelObs, SentinelView};

fn node(name: &str, role: PgRole, read_only: bool) -> PgNodeStatus {
    PgNodeStatus {
        name: name.into(),
        region: "us-east-1".into(),
        role,
        version: None,
        timeline: Some(2),
        lsn: Some(100),
        fork_lsn: None,
        replay_lag_bytes: (role == PgRole::Replica).then_some(0),
        replay_lag_seconds: None,
        replication_state: None,
        read_only,
        pod: Some(name.into()),
        error: None,
        last_ok: None,
    }
}

fn db(nodes: Vec<PgNodeStatus>) -> Observed {
    let at = Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap();
    Observed { database: Arc::new(Snapshot::fresh(DatabaseView { nodes }, at)), ..Observed::default() }
}

fn sentinels(masters: &[Option<&str>]) -> Observed {
    let at = Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap();
    let view = SentinelView {
        master_name: "mymaster".into(),
        sentinels: masters
            .iter()
            .enumerate()
            .map(|(i, m)| SentinelObs {
                addr: format!("127.0.0.1:2637{i}"),
                master: m.map(str::to_string),
                error: None,
            })
            .collect(),
        quorum: Some(Ok("OK 3 usable Sentinels".into())),
        replicas: vec![RedisReplica {
            addr: "127.0.0.1:6380".into(),
            flags: "slave".into(),
            link_up: true,
            offset_lag: Some(0),
        }],
        master_role: Some("master".into()),
        events: vec![],
        failover_in_progress: false,
    };
    Observed { sentinel: Arc::new(Snapshot::fresh(view, at)), ..Observed::default() }
}

fn promote() -> Operation {
    Operation::PromotePostgres {
        node: "pg-1".into(),
        endpoint: "127.0.0.1:5433".into(),
        max_lag_bytes: 0,
        accept_data_loss: None,
    }
}

fn fence() -> Operation {
    Operation::FencePostgres { node: "pg-0".into(), endpoint: "127.0.0.1:5432".into() }
}

fn repoint() -> Operation {
    Operation::PatchServiceSelector {
        context: "us-east-1".into(),
        namespace: "database".into(),
        service: "postgresql".into(),
        pod: "pg-1".into(),
    }
}

fn failover() -> Operation {
    Operation::SentinelFailover {
        master: "mymaster".into(),
        sentinel: "127.0.0.1:26370".into(),
        from_master: Some("127.0.0.1:6379".into()),
    }
}

fn split_brain() -> Observed {
    db(vec![node("pg-0", PgRole::Primary, false), node("pg-1", PgRole::Primary, false)])
}

#[test]
fn layer_of_each_operation() {
    assert_eq!(authority_layer(&promote()), Some(Layer::Database));
    assert_eq!(authority_layer(&repoint()), Some(Layer::Database));
    assert_eq!(authority_layer(&fence()), Some(Layer::Database));
    assert_eq!(authority_layer(&failover()), Some(Layer::Sentinel));
    let scale = Operation::ScaleDeployment {
        context: "c".into(),
        namespace: "n".into(),
        deployment: "api".into(),
        replicas: 3,
    };
    assert_eq!(authority_layer(&scale), None);
    assert_eq!(authority_layer(&Operation::Manual { instruction: "x".into() }), None);
}

#[test]
fn two_writable_primaries_refuse_promote_and_repoint_with_the_reason() {
    let obs = split_brain();
    for op in [promote(), repoint()] {
        let why = authority_problem(&op, &obs).expect("conflict must be reported");
        assert!(why.contains("database layer"), "{why}");
        assert!(why.contains("2 writable primaries (pg-0, pg-1)"), "{why}");
        assert!(why.contains("fence the stale primary"), "{why}");
        let checks = op.precheck(&obs);
        let check = checks.last().expect("a check");
        assert_eq!(check.name, CHECK_NAME);
        assert!(!check.ok);
        assert_eq!(check.detail, why);
    }
}

#[test]
fn fencing_and_check_primary_are_allowed_during_split_brain() {
    let obs = split_brain();
    for op in [fence(), Operation::CheckPrimary] {
        assert_eq!(authority_problem(&op, &obs), None, "{op:?}");
        assert!(op.precheck(&obs).iter().all(|c| c.name != CHECK_NAME), "{op:?}");
    }
}

#[test]
fn a_fenced_old_primary_is_not_a_second_authority() {
    let obs = db(vec![node("pg-0", PgRole::Primary, true), node("pg-1", PgRole::Primary, false)]);
    assert_eq!(authority_problem(&promote(), &obs), None);
    let check = promote().precheck(&obs).into_iter().find(|c| c.name == CHECK_NAME).unwrap();
    assert!(check.ok, "{check:?}");
}

#[test]
fn a_stale_snapshot_still_reports_the_conflict() {
    let mut obs = split_brain();
    let mut snap = (*obs.database).clone();
    snap.freshness = crate::backends::Freshness::Stale {
        since: Utc.with_ymd_and_hms(2026, 11, 26, 3, 1, 0).unwrap(),
        error: "timeout".into(),
    };
    obs.database = Arc::new(snap);
    assert!(authority_problem(&promote(), &obs).is_some());
}

#[test]
fn sentinels_naming_different_masters_refuse_failover() {
    let obs = sentinels(&[Some("127.0.0.1:6379"), Some("127.0.0.1:6380"), Some("127.0.0.1:6379")]);
    let why = authority_problem(&failover(), &obs).expect("conflict");
    assert!(why.contains("sentinel layer"), "{why}");
    assert!(why.contains("127.0.0.1:26371 says 127.0.0.1:6380"), "{why}");
    let checks = failover().precheck(&obs);
    let last = checks.last().unwrap();
    assert_eq!(last.name, CHECK_NAME);
    assert!(!last.ok);
    // It is the only check that fails: the override makes the failover possible.
    assert_eq!(checks.iter().filter(|c| !c.ok).count(), 1, "{checks:?}");
    // The older "sentinels agree" check leaves the conflict to the (overridable) authority check.
    let agree = checks.iter().find(|c| c.name == "sentinels agree").unwrap();
    assert!(agree.ok, "{agree:?}");
    // The conflict concerns the sentinel layer only: database operations are not refused.
    assert_eq!(authority_problem(&promote(), &obs), None);
}

#[test]
fn unreachable_sentinels_are_not_a_conflict_but_still_fail_agreement() {
    let obs = sentinels(&[Some("127.0.0.1:6379"), None, Some("127.0.0.1:6379")]);
    assert_eq!(authority_problem(&failover(), &obs), None);
    let none = sentinels(&[None, None, None]);
    assert_eq!(authority_problem(&failover(), &none), None);
    let agree = failover().precheck(&none).into_iter().find(|c| c.name == "sentinels agree").unwrap();
    assert!(!agree.ok, "{agree:?}");
}
