//! The PostgreSQL backend against a real primary + streaming replica on loopback.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use support::lab::postgres::{NODES, PgLab};
use support::lab::wait_until;
use warroom::backends::model::{DatabaseView, PgRole};
use warroom::backends::postgres::{PgTimeouts, PostgresObserver, PostgresOperator};
use warroom::backends::{Observe, Observed, Operate, Snapshot};
use warroom::operation::{Operation, Verify};

const TIMEOUTS: PgTimeouts =
    PgTimeouts { connect_timeout: Duration::from_secs(2), statement_timeout: Duration::from_secs(2) };
/// The poll interval the app uses by default.
const INTERVAL: Duration = Duration::from_secs(1);

fn observed(db: DatabaseView) -> Observed {
    Observed { database: Arc::new(Snapshot::fresh(db, Utc::now())), ..Observed::default() }
}

async fn view(obs: &PostgresObserver) -> DatabaseView {
    obs.observe().await.unwrap_or_else(|e| panic!("observe failed: {e}"))
}

fn promote_op(lab: &PgLab, node: &str) -> Operation {
    Operation::PromotePostgres {
        node: node.into(),
        endpoint: format!("127.0.0.1:{}", lab.node(node).port),
        max_lag_bytes: 0,
        accept_data_loss: None,
    }
}

fn fence_op(lab: &PgLab, node: &str) -> Operation {
    Operation::FencePostgres { node: node.into(), endpoint: format!("127.0.0.1:{}", lab.node(node).port) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observer_matches_ground_truth_and_sees_paused_replay() {
    let lab = PgLab::start().await;
    let obs = PostgresObserver::new(&lab.config(), TIMEOUTS);
    let v = view(&obs).await;
    let (p, r) = (&v.nodes[0], &v.nodes[1]);
    assert_eq!((p.name.as_str(), r.name.as_str()), (NODES[0], NODES[1]));
    assert_eq!(p.role, PgRole::Primary, "{p:?}");
    assert_eq!(r.role, PgRole::Replica, "{r:?}");
    assert!(lab.in_recovery(NODES[1]).await, "ground truth: the replica is in recovery");
    assert!(!lab.in_recovery(NODES[0]).await);
    for n in [p, r] {
        assert_eq!(n.timeline, Some(1), "{n:?}");
        assert!(n.version.as_deref().is_some_and(|v| v.starts_with("15")), "{n:?}");
        assert!(!n.read_only && n.error.is_none() && n.last_ok.is_some() && n.lsn.is_some(), "{n:?}");
        assert_eq!(n.region, "lab");
    }
    assert_eq!(r.replication_state.as_deref(), Some("streaming"));
    assert!(!v.split_brain());
    assert_eq!(v.primary().map(|n| n.name.as_str()), Some(NODES[0]));

    let op = PostgresOperator::new(&lab.config(), TIMEOUTS);
    let summary = op.execute(&Operation::CheckPrimary).await.expect("check primary");
    assert!(summary.starts_with("postgresql-0 is the writable primary"), "{summary}");

    // Pause replay on the replica and write on the primary: lag must show up in bytes.
    lab.execute(NODES[1], "SELECT pg_wal_replay_pause()").await;
    lab.execute(NODES[0], "CREATE TABLE lagging AS SELECT g AS x FROM generate_series(1, 20000) g").await;
    let lagged = wait_until("replay lag > 0 while paused", Duration::from_secs(15), || async {
        let v = obs.observe().await?;
        let r = &v.nodes[1];
        match r.replay_lag_bytes {
            Some(b) if b > 0 => Ok(r.clone()),
            other => Err(format!("lag {other:?}")),
        }
    })
    .await;
    assert_eq!(lagged.role, PgRole::Replica);
    // The lag guard of a promotion notices it.
    let checks = promote_op(&lab, NODES[1]).precheck(&observed(view(&obs).await));
    assert!(checks.iter().any(|c| c.name == "lag within limit" && !c.ok), "{checks:?}");

    lab.execute(NODES[1], "SELECT pg_wal_replay_resume()").await;
    wait_until("replica caught up after resume", Duration::from_secs(20), || async {
        let v = obs.observe().await?;
        match (v.nodes[1].replay_lag_bytes, v.nodes[1].replay_lag_seconds) {
            (Some(0), Some(s)) if s < 1.0 => Ok(()),
            other => Err(format!("lag {other:?}")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_promote_split_brain_and_fence() {
    let lab = PgLab::start().await;
    let obs = PostgresObserver::new(&lab.config(), TIMEOUTS);
    let op = PostgresOperator::new(&lab.config(), TIMEOUTS);
    let before = view(&obs).await;
    assert_eq!(before.nodes[0].role, PgRole::Primary);

    // The operator re-checks the target's role live: a primary is not promoted.
    let refused = op.execute(&promote_op(&lab, NODES[0])).await.expect_err("promoting a primary");
    assert!(refused.contains("not in recovery"), "{refused}");

    lab.kill9(NODES[0]);
    let killed = Instant::now();
    let down = wait_until("old primary shown down", INTERVAL + TIMEOUTS.connect_timeout, || async {
        let v = obs.observe().await?;
        (v.nodes[0].role == PgRole::Down).then_some(v).ok_or_else(|| "still up".to_string())
    })
    .await;
    eprintln!("FIGURE kill -9 -> observer shows primary down: {:?}", killed.elapsed());
    let dead = &down.nodes[0];
    assert!(dead.error.is_some(), "{dead:?}");
    assert_eq!(dead.last_ok, before.nodes[0].last_ok, "last_ok unchanged by failures");
    assert_eq!(dead.version, before.nodes[0].version, "last good values kept");
    assert_eq!(down.nodes[1].role, PgRole::Replica);

    // The app's pure prechecks pass on the new observation.
    let promote = promote_op(&lab, NODES[1]);
    wait_until("promotion prechecks pass", Duration::from_secs(10), || async {
        let checks = promote.precheck(&observed(obs.observe().await?));
        let failed: Vec<_> = checks.iter().filter(|c| !c.ok).collect();
        failed.is_empty().then_some(()).ok_or(format!("{failed:?}"))
    })
    .await;
    let started = Instant::now();
    let summary = op.execute(&promote).await.expect("promote");
    eprintln!("FIGURE promote (execute) wall time: {:?}; {summary}", started.elapsed());
    assert!(summary.contains("promoted postgresql-1") && summary.contains("timeline 2"), "{summary}");

    let after = view(&obs).await;
    // The new timeline's switchpoint (its history file): at or after the last LSN seen
    // received on the replica, at or before its current LSN (data-loss measurement uses it).
    let fork = after.nodes[1].fork_lsn.expect("the promoted node reports its fork LSN");
    assert!(
        down.nodes[1].lsn.is_some_and(|seen| seen <= fork) && after.nodes[1].lsn.is_some_and(|l| fork <= l)
    );
    match promote.verify(&observed(after.clone())) {
        Verify::Holds(why) => assert!(why.contains("timeline 2"), "{why}"),
        Verify::NotYet(why) => panic!("promotion not verified: {why}; {after:?}"),
    }
    op.write_probe(NODES[1]).await.expect("new primary accepts writes");
    lab.execute(
        NODES[1],
        "CREATE TABLE written_after_failover (x int); INSERT INTO written_after_failover VALUES (1)",
    )
    .await;

    let again = op.execute(&promote).await.expect_err("second promotion");
    assert!(again.contains("refused") && again.contains("not in recovery"), "{again}");

    // The killed old primary comes back writable: split brain.
    lab.restart(NODES[0]);
    let split = wait_until("split brain observed", Duration::from_secs(10), || async {
        let v = obs.observe().await?;
        v.split_brain().then_some(v).ok_or_else(|| "no split brain yet".to_string())
    })
    .await;
    assert_eq!(split.writable_primaries().len(), 2);
    assert!(op.execute(&Operation::CheckPrimary).await.expect_err("split brain").contains("split brain"));
    op.write_probe(NODES[0]).await.expect("restarted old primary accepts writes before fencing");

    // Fence it; a session opened before fencing is terminated.
    let fence = fence_op(&lab, NODES[0]);
    let checks = fence.precheck(&observed(split));
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    let victim = lab.client(NODES[0]).await;
    let summary = op.execute(&fence).await.expect("fence");
    assert!(summary.contains("fenced postgresql-0") && summary.contains("write refused"), "{summary}");
    assert!(victim.simple_query("SELECT 1").await.is_err(), "old sessions are terminated");
    let refusal = op.write_probe(NODES[0]).await.expect_err("fenced node must refuse writes");
    assert!(refusal.contains("refuses writes") && refusal.contains("read-only"), "{refusal}");

    let fenced = view(&obs).await;
    assert!(fenced.nodes[0].read_only && !fenced.split_brain(), "{fenced:?}");
    assert!(matches!(fence.verify(&observed(fenced.clone())), Verify::Holds(_)));
    assert!(matches!(Operation::CheckPrimary.verify(&observed(fenced)), Verify::Holds(_)));
    let summary = op.execute(&Operation::CheckPrimary).await.expect("one writable primary");
    assert!(summary.starts_with("postgresql-1 is the writable primary"), "{summary}");

    let wrong = op.execute(&Operation::Manual { instruction: "x".into() }).await.expect_err("manual");
    assert!(wrong.contains("not a PostgreSQL operation"), "{wrong}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_node_times_out_while_the_other_keeps_updating() {
    let lab = PgLab::start().await;
    let obs = PostgresObserver::new(&lab.config(), TIMEOUTS);
    let good = view(&obs).await;

    lab.freeze(NODES[0]);
    let started = Instant::now();
    let v = view(&obs).await;
    let took = started.elapsed();
    lab.thaw(NODES[0]);
    assert!(took < TIMEOUTS.connect_timeout + Duration::from_secs(2), "observe took {took:?}");
    let (hung, other) = (&v.nodes[0], &v.nodes[1]);
    assert!(hung.error.as_deref().is_some_and(|e| e.contains("timeout after 2 s")), "{hung:?}");
    assert_eq!(hung.role, PgRole::Down);
    assert_eq!(hung.last_ok, good.nodes[0].last_ok, "last_ok unchanged");
    assert_eq!((hung.timeline, &hung.version), (good.nodes[0].timeline, &good.nodes[0].version));
    assert!(other.error.is_none(), "{other:?}");
    assert!(other.last_ok > good.nodes[1].last_ok, "the replica's row kept updating");

    wait_until("frozen node recovers after SIGCONT", Duration::from_secs(10), || async {
        let v = obs.observe().await?;
        let n = &v.nodes[0];
        (n.role == PgRole::Primary && n.error.is_none() && n.last_ok > good.nodes[0].last_ok)
            .then_some(())
            .ok_or(format!("{n:?}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_never_contain_the_password() {
    let lab = PgLab::start().await;
    let mut cfg = lab.config();
    // trust auth accepts any password; a bad database name produces a server error instead.
    cfg.nodes[0].dsn = format!("{} password=hunter2-secret dbname=nosuchdb", lab.dsn(NODES[0]));
    cfg.nodes[1].dsn = "host=127.0.0.1 port=1 user=postgres password=hunter2-secret".into();
    let obs = PostgresObserver::new(&cfg, TIMEOUTS);
    let err = obs.observe().await.expect_err("no node can answer");
    assert!(err.contains("nosuchdb") && err.contains("postgresql-1"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let op = PostgresOperator::new(&cfg, TIMEOUTS);
    let e = op.write_probe(NODES[0]).await.expect_err("bad db");
    assert!(!e.contains("hunter2") && e.contains("127.0.0.1"), "{e}");
}
