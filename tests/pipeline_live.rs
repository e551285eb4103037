//! The app core driven headlessly through the REAL pipeline against the loopback lab:
//! `warroom::backends::live::build` sources and operator, the effect runner and a `MemoryLog`,
//! with `update` deciding everything (see `support::headless`). Steps are proposed from the
//! actions list and confirmed by typing the target's name, as an operator would.

mod support;

use std::time::{Duration, Instant};

use warroom::app::StepStatus;
use warroom::app::step::Stage;
use warroom::backends::model::PgRole;
use warroom::config::Config;
use warroom::config::model::PollingConfig;
use warroom::operation::Operation;

use support::headless::Headless;
use support::lab::postgres::{NODES, PgLab};
use support::lab::redis::{MASTER, RedisLab};

/// Poll interval and per-call timeout of these tests (the app's defaults are 1 s / 2 s).
const INTERVAL_MS: u64 = 500;
const TIMEOUT_MS: u64 = 1500;

fn polling() -> PollingConfig {
    PollingConfig {
        interval_ms: INTERVAL_MS,
        timeout_ms: TIMEOUT_MS,
        verify_timeout_ms: 20_000,
        execute_timeout_ms: 30_000,
        ..PollingConfig::default()
    }
}

fn pg_config(lab: &PgLab) -> Config {
    Config { postgres: Some(lab.config()), polling: polling(), ..Config::default() }
}

fn role_of(h: &Headless, node: &str) -> Option<PgRole> {
    h.state.domain.observed.database.value.as_ref().and_then(|d| d.node(node)).map(|n| n.role)
}

fn is_promote(op: &Operation, node: &str) -> bool {
    matches!(op, Operation::PromotePostgres { node: n, accept_data_loss: None, .. } if n == node)
}

/// Both nodes seen fresh with their start-up roles.
async fn settled(h: &mut Headless) {
    h.until("primary and replica observed", Duration::from_secs(15), |s| {
        s.domain.observed.database.fresh_value().is_some_and(|d| {
            d.node(NODES[0]).is_some_and(|n| n.role == PgRole::Primary)
                && d.node(NODES[1]).is_some_and(|n| n.role == PgRole::Replica)
        })
    })
    .await;
}

/// `kill -9` the primary and wait until the Database snapshot shows it down; returns the time.
async fn kill_primary(h: &mut Headless, lab: &PgLab) -> Duration {
    lab.kill9(NODES[0]);
    let killed = Instant::now();
    let within = Duration::from_millis(INTERVAL_MS + TIMEOUT_MS);
    h.until("killed primary shown down", within, |s| {
        s.domain
            .observed
            .database
            .fresh_value()
            .and_then(|d| d.node(NODES[0]))
            .is_some_and(|n| n.role == PgRole::Down)
    })
    .await;
    killed.elapsed()
}

/// Kinds in `kinds`, in order, as a subsequence of `log`.
fn in_order(log: &[String], kinds: &[&str]) -> bool {
    let mut it = log.iter();
    kinds.iter().all(|k| it.any(|l| l == k))
}

/// Create a table on `node` and insert one row; the server's message on refusal.
async fn write_on(lab: &PgLab, node: &str, table: &str) -> Result<u64, String> {
    fn text(e: tokio_postgres::Error) -> String {
        e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string())
    }
    let c = lab.try_client(node).await?;
    c.batch_execute(&format!("CREATE TABLE IF NOT EXISTS {table} (x int)")).await.map_err(text)?;
    c.execute(&format!("INSERT INTO {table} VALUES (1)"), &[]).await.map_err(text)
}

/// Kill the primary, promote the replica through the pipeline, write on it; then restart the
/// old primary (split brain), fence it through the pipeline and see it refuse writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_promote_then_fence_the_returning_old_primary() {
    let lab = PgLab::start().await;
    let mut h = Headless::start(pg_config(&lab)).await;
    settled(&mut h).await;

    let down = kill_primary(&mut h, &lab).await;
    eprintln!("FIGURE kill -9 -> Database pane shows the primary down: {down:?}");
    assert_eq!(role_of(&h, NODES[1]), Some(PgRole::Replica));

    let id = h.select_proposal(|op| is_promote(op, NODES[1]));
    assert_eq!(h.status(id), StepStatus::AwaitingConfirm, "{}", h.gist());
    assert!(h.step_run(id).why.contains("primary is DOWN"), "{}", h.step_run(id).why);
    // A wrong word does not confirm.
    h.type_confirm("postgresql-0");
    assert_eq!(h.status(id), StepStatus::AwaitingConfirm);
    assert!(!h.executed(id));
    for _ in 0.."postgresql-0".len() {
        h.apply(warroom::app::Action::Text(warroom::app::TextEdit::Backspace));
    }
    let confirmed = Instant::now();
    h.type_confirm(NODES[1]);
    assert!(h.executed(id), "confirming emitted no Execute: {}", h.gist());
    h.until("promotion verified", Duration::from_secs(30), |s| {
        s.domain
            .step(id)
            .is_some_and(|st| st.status.is_terminal() || matches!(st.status, StepStatus::Failed { .. }))
    })
    .await;
    let wall = confirmed.elapsed();
    assert_eq!(h.status(id), StepStatus::Done, "{}", h.gist());
    eprintln!("FIGURE promote step wall time (confirm -> Done): {wall:?}");
    assert!(!lab.in_recovery(NODES[1]).await, "ground truth: the promoted node left recovery");
    let written = write_on(&lab, NODES[1], "after_promote").await.expect("write on the new primary");
    assert_eq!(written, 1);

    h.until_logged(id, "step-verified", Duration::from_secs(5)).await;
    let kinds = h.step_kinds(id);
    assert!(
        in_order(
            &kinds,
            &["step-previewed", "step-confirmed", "step-executing", "step-result", "step-verified"]
        ),
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|k| k == "step-failed"), "{kinds:?}");
    let verified =
        h.step_log(id).into_iter().find(|i| i.kind.as_str() == "step-verified").expect("verified entry");
    assert!(verified.summary.contains("timeline 2"), "{}", verified.summary);

    // The killed old primary comes back writable: split brain, and a fence is proposed.
    lab.restart(NODES[0]);
    h.until("split brain observed", Duration::from_secs(15), |s| {
        s.domain.observed.database.fresh_value().is_some_and(|d| d.split_brain())
    })
    .await;
    write_on(&lab, NODES[0], "split_brain_write").await.expect("the returned old primary is writable");
    let fence =
        h.select_proposal(|op| matches!(op, Operation::FencePostgres { node, .. } if node == NODES[0]));
    assert!(h.step_run(fence).why.contains("SPLIT-BRAIN"), "{}", h.step_run(fence).why);
    h.type_confirm(NODES[0]);
    h.until("fence verified", Duration::from_secs(30), |s| {
        s.domain
            .step(fence)
            .is_some_and(|st| st.status.is_terminal() || matches!(st.status, StepStatus::Failed { .. }))
    })
    .await;
    assert_eq!(h.status(fence), StepStatus::Done, "{}", h.gist());
    h.until_logged(fence, "step-verified", Duration::from_secs(5)).await;
    let kinds = h.step_kinds(fence);
    assert!(
        in_order(
            &kinds,
            &["step-previewed", "step-confirmed", "step-executing", "step-result", "step-verified"]
        ),
        "{kinds:?}"
    );
    let refused = write_on(&lab, NODES[0], "after_fence").await.expect_err("a fenced node refuses writes");
    assert!(refused.contains("read-only"), "{refused}");
    write_on(&lab, NODES[1], "after_fence").await.expect("the new primary still takes writes");
    h.until("no split brain any more", Duration::from_secs(10), |s| {
        s.domain.observed.database.fresh_value().is_some_and(|d| !d.split_brain() && d.primary().is_some())
    })
    .await;
}

/// Promotion is refused while the old primary is writable and while lag exceeds the limit;
/// the typed data-loss override then succeeds and is logged with the accepted bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_refusals_and_the_data_loss_override() {
    let lab = PgLab::start().await;
    let mut h = Headless::start(pg_config(&lab)).await;
    settled(&mut h).await;

    // Planned switchover while the old primary still accepts writes: never proposed (safety
    // rule), and refused by the precheck when proposed anyway.
    assert!(
        !warroom::app::propose::proposals(&h.state.domain).iter().any(|p| is_promote(&p.op, NODES[1])),
        "no promotion is proposed beside a writable primary"
    );
    let promote = Operation::PromotePostgres {
        node: NODES[1].into(),
        endpoint: format!("127.0.0.1:{}", lab.node(NODES[1]).port),
        max_lag_bytes: 0,
        accept_data_loss: None,
    };
    let id = h.propose(promote, "planned switchover attempted directly");
    match h.status(id) {
        StepStatus::Failed { stage: Stage::Precheck, reason } => {
            assert!(reason.starts_with("old primary down or fenced"), "{reason}");
            assert!(reason.contains("postgresql-0 is still a writable primary"), "{reason}");
        }
        other => panic!("expected a precheck failure, got {other:?}"),
    }
    assert!(!h.executed(id));
    assert!(h.state.view.modal.is_none(), "no confirmation for a refused step");
    h.until_logged(id, "step-failed", Duration::from_secs(5)).await;
    let failed =
        h.step_log(id).into_iter().find(|i| i.kind.as_str() == "step-failed").expect("failure logged");
    assert_eq!(failed.details["stage"], "precheck");

    // Pause replay, write on the primary: the replica falls behind; then the primary dies.
    lab.execute(NODES[1], "SELECT pg_wal_replay_pause()").await;
    lab.execute(NODES[0], "CREATE TABLE lost_maybe AS SELECT g AS x FROM generate_series(1, 20000) g").await;
    h.until("replica lag > 0", Duration::from_secs(15), |s| {
        s.domain
            .observed
            .database
            .fresh_value()
            .and_then(|d| d.node(NODES[1]))
            .and_then(|n| n.replay_lag_bytes)
            > Some(0)
    })
    .await;
    kill_primary(&mut h, &lab).await;
    let lag = h
        .state
        .domain
        .observed
        .database
        .value
        .as_ref()
        .and_then(|d| d.node(NODES[1]))
        .and_then(|n| n.replay_lag_bytes)
        .expect("lag known");
    assert!(lag > 0);

    // The actions menu lists the promotion greyed with its failing lag guard (not offered);
    // the pipeline refuses it the same way, which is where the typed override starts.
    let listed = warroom::app::propose::proposals(&h.state.domain)
        .into_iter()
        .find(|p| is_promote(&p.op, NODES[1]))
        .expect("the promotion is listed");
    assert!(
        listed.blocked.as_deref().is_some_and(|b| b.starts_with("precheck lag within limit")),
        "{listed:?}"
    );
    let id = h.propose(listed.op, "promote despite the lag guard");
    match h.status(id) {
        StepStatus::Failed { stage: Stage::Precheck, reason } => {
            assert!(reason.starts_with("lag within limit"), "{reason}");
            assert!(reason.contains(&format!("lag {lag} B, limit 0 B")), "{reason}");
        }
        other => panic!("expected the lag guard to refuse, got {other:?}; {}", h.gist()),
    }
    assert!(!h.executed(id));
    assert!(lab.in_recovery(NODES[1]).await, "nothing was promoted");

    // The override: the operator accepts losing exactly the observed lag.
    let op = Operation::PromotePostgres {
        node: NODES[1].into(),
        endpoint: format!("127.0.0.1:{}", lab.node(NODES[1]).port),
        max_lag_bytes: 0,
        accept_data_loss: Some(lag),
    };
    let id = h.propose(op, "operator override: accept the lag as data loss");
    assert_eq!(h.status(id), StepStatus::AwaitingConfirm, "{}", h.gist());
    let lag_check =
        h.step_run(id).checks.iter().find(|c| c.name == "lag within limit").cloned().expect("check");
    assert!(
        lag_check.ok && lag_check.detail.contains(&format!("override accepts up to {lag} B")),
        "{lag_check:?}"
    );
    h.type_confirm(NODES[1]);
    h.until("override promotion verified", Duration::from_secs(30), |s| {
        s.domain
            .step(id)
            .is_some_and(|st| st.status.is_terminal() || matches!(st.status, StepStatus::Failed { .. }))
    })
    .await;
    assert_eq!(h.status(id), StepStatus::Done, "{}", h.gist());
    write_on(&lab, NODES[1], "after_override").await.expect("write on the promoted node");
    h.until_logged(id, "step-verified", Duration::from_secs(5)).await;
    let log = h.step_log(id);
    let kinds: Vec<&str> = log.iter().map(|i| i.kind.as_str()).collect();
    assert!(
        in_order(
            &kinds.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            &["step-previewed", "step-confirmed", "step-executing", "step-result", "step-verified"]
        ),
        "{kinds:?}"
    );
    let previewed = &log[0];
    assert_eq!(previewed.details["op"]["accept_data_loss"], lag, "{}", previewed.details);
    let lines = previewed.details["preview"]["lines"].to_string();
    assert!(lines.contains(&format!("accepts data loss of {lag} bytes")), "{lines}");
    let executing = log.iter().find(|i| i.kind.as_str() == "step-executing").expect("executing entry");
    assert_eq!(executing.details["op"]["accept_data_loss"], lag);
}

/// Sentinel failover through the pipeline: verified when every Sentinel agrees on the new
/// master; a second request while the first is in progress is refused with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_failover_once_and_second_request_refused() {
    let lab = RedisLab::start().await;
    let cfg = Config { sentinel: Some(lab.config()), polling: polling(), ..Config::default() };
    let mut h = Headless::start(cfg).await;
    let old = lab.servers[0].addr();
    let new = lab.servers[1].addr();
    h.until("sentinels agree on the first master with quorum", Duration::from_secs(15), |s| {
        s.domain.observed.sentinel.fresh_value().is_some_and(|v| {
            v.agreed_master() == Some(old.as_str())
                && matches!(v.quorum, Some(Ok(_)))
                && v.replicas.iter().any(|r| r.link_up)
        })
    })
    .await;

    // The master answers as a master: the actions menu lists the failover greyed with the safety
    // rule (only a named planned switchover moves it), so the planned switchover is proposed
    // through the pipeline directly, as a runbook with switchover_reason does.
    let listed = warroom::app::propose::proposals(&h.state.domain)
        .into_iter()
        .find(|p| matches!(&p.op, Operation::SentinelFailover { from_master: Some(m), .. } if *m == old))
        .expect("the failover is listed");
    assert!(
        listed.blocked.as_deref().is_some_and(|b| b.contains("failover-of-healthy-redis-master")),
        "{listed:?}"
    );
    let first = h.propose(listed.op.clone(), "planned switchover (test)");
    assert_eq!(h.status(first), StepStatus::AwaitingConfirm, "{}", h.gist());
    let confirmed = Instant::now();
    h.type_confirm(MASTER);
    assert!(h.executed(first));
    h.until("failover accepted", Duration::from_secs(10), |s| {
        s.domain.step(first).is_some_and(|st| st.status != StepStatus::Executing)
    })
    .await;
    assert!(matches!(h.status(first), StepStatus::Verifying | StepStatus::Done), "{}", h.gist());

    // A second request while the first is in progress.
    let second = h.propose(listed.op.clone(), "a second planned switchover request");
    if h.status(second) == StepStatus::AwaitingConfirm {
        h.type_confirm(MASTER);
    }
    h.until("second request settled", Duration::from_secs(10), |s| {
        s.domain
            .step(second)
            .is_some_and(|st| matches!(st.status, StepStatus::Failed { .. } | StepStatus::Done))
    })
    .await;
    match h.status(second) {
        StepStatus::Failed { stage, reason } => {
            assert!(matches!(stage, Stage::Precheck | Stage::Execute), "{stage:?}");
            assert!(
                reason.contains("in progress") || (reason.contains("refused") && reason.contains("failover")),
                "{reason}"
            );
            eprintln!("second failover request refused at {}: {reason}", stage.as_str());
        }
        other => panic!("a second failover must be refused, got {other:?}"),
    }

    h.until("first failover verified", Duration::from_secs(20), |s| {
        s.domain
            .step(first)
            .is_some_and(|st| st.status.is_terminal() || matches!(st.status, StepStatus::Failed { .. }))
    })
    .await;
    assert_eq!(h.status(first), StepStatus::Done, "{}", h.gist());
    eprintln!("FIGURE sentinel failover step wall time (confirm -> Done): {:?}", confirmed.elapsed());
    h.until_logged(first, "step-verified", Duration::from_secs(5)).await;
    let kinds = h.step_kinds(first);
    assert!(
        in_order(
            &kinds,
            &["step-previewed", "step-confirmed", "step-executing", "step-result", "step-verified"]
        ),
        "{kinds:?}"
    );
    let verified =
        h.state.domain.observed.sentinel.fresh_value().and_then(|v| v.agreed_master()).map(str::to_string);
    assert_eq!(verified.as_deref(), Some(new.as_str()));
    for i in 0..3 {
        assert_eq!(lab.sentinel_master(i).await.as_deref(), Ok(new.as_str()), "sentinel {i}");
    }
}
