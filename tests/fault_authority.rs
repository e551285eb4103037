//! Fault injection: conflicting authority against real services, through the headless console
//! (real pollers, runner and pipeline). Two writable PostgreSQL primaries (the old primary
//! restarted after a promotion) and Sentinels naming different masters (SENTINEL REMOVE /
//! MONITOR on one of them): every step acting on that layer is refused with the reason, the
//! operator can override it with a typed reason (logged), fencing stays allowed, and the
//! override is dropped (and logged) when the conflict clears.

mod support;

use std::time::{Duration, Instant};

use warroom::app::state::{Modal, PromptPurpose};
use warroom::app::step::Stage;
use warroom::app::{Action, StepStatus, TextEdit};
use warroom::backends::Layer;
use warroom::backends::model::PgRole;
use warroom::command::Command;
use warroom::config::Config;
use warroom::config::model::PollingConfig;
use warroom::operation::Operation;
use warroom::runbook::authority::CHECK_NAME;

use support::headless::Headless;
use support::lab::postgres::{NODES, PgLab};
use support::lab::redis::{MASTER, RedisLab, query};

fn polling() -> PollingConfig {
    PollingConfig {
        interval_ms: 300,
        timeout_ms: 1500,
        verify_timeout_ms: 15_000,
        execute_timeout_ms: 20_000,
        ..PollingConfig::default()
    }
}

/// Type `text` into the open prompt and submit it.
fn type_prompt(h: &mut Headless, text: &str) {
    for c in text.chars() {
        h.apply(Action::Text(TextEdit::Char(c)));
    }
    h.apply(Action::Text(TextEdit::Submit));
}

/// Log entries of `kind` (any step or none), as JSON details.
fn logged(h: &Headless, kind: &str) -> Vec<serde_json::Value> {
    h.log.entries().into_iter().filter(|(i, _)| i.kind.as_str() == kind).map(|(i, _)| i.details).collect()
}

/// The authority check of step `id` (panics if it has none).
fn authority_check(h: &Headless, id: u64) -> warroom::operation::Check {
    h.step_run(id)
        .checks
        .iter()
        .find(|c| c.name == CHECK_NAME)
        .cloned()
        .unwrap_or_else(|| panic!("step #{id} has no {CHECK_NAME} check: {:?}", h.step_run(id).checks))
}

/// Request the override from the Steps pane (selected step), type a reason, check the log.
fn override_with(h: &mut Headless, layer: Layer, reason: &str) {
    h.apply(Action::Command(Command::OverrideAuthority));
    match &h.state.view.modal {
        Some(Modal::Prompt { purpose: PromptPurpose::AuthorityOverride(l), .. }) => assert_eq!(*l, layer),
        other => panic!("no override prompt: {other:?}; flash {:?}", h.state.view.flash),
    }
    // An empty reason is refused and the prompt stays.
    h.apply(Action::Text(TextEdit::Submit));
    assert!(matches!(h.state.view.modal, Some(Modal::Prompt { .. })), "empty reason accepted");
    assert!(h.state.domain.authority_overrides.is_empty());
    type_prompt(h, reason);
    assert_eq!(h.state.domain.authority_overrides.len(), 1);
    assert_eq!(h.state.domain.authority_overrides[0].layer, layer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writable_primaries_refuse_database_steps_until_fenced_or_overridden() {
    let lab = PgLab::start().await;
    let cfg = Config { postgres: Some(lab.config()), polling: polling(), ..Config::default() };
    let mut h = Headless::start(cfg).await;
    h.until("primary observed", Duration::from_secs(15), |s| {
        s.domain
            .observed
            .database
            .fresh_value()
            .is_some_and(|d| d.primary().is_some_and(|p| p.name == NODES[0]))
    })
    .await;

    // Old primary dies, the replica is promoted, the old primary comes back writable.
    lab.kill9(NODES[0]);
    lab.execute(NODES[1], "SELECT pg_promote(wait => true, wait_seconds => 30)").await;
    lab.restart(NODES[0]);
    let restarted = Instant::now();
    let took = h
        .until("split brain observed", Duration::from_secs(10), |s| {
            s.domain.observed.database.fresh_value().is_some_and(|d| d.split_brain())
        })
        .await;
    eprintln!(
        "FIGURE restart of old primary -> split brain in the core: {took:?} ({:?})",
        restarted.elapsed()
    );

    // Repointing clients / promoting is refused with the reason; nothing is executed.
    let promote = Operation::PromotePostgres {
        node: NODES[1].into(),
        endpoint: format!("127.0.0.1:{}", lab.node(NODES[1]).port),
        max_lag_bytes: 0,
        accept_data_loss: None,
    };
    let id = h.propose(promote, "test: act during split brain");
    assert!(matches!(h.status(id), StepStatus::Failed { stage: Stage::Precheck, .. }), "{:?}", h.status(id));
    let check = authority_check(&h, id);
    assert!(!check.ok, "{check:?}");
    assert!(check.detail.contains("2 writable primaries (postgresql-0, postgresql-1)"), "{check:?}");
    assert!(check.detail.contains("fence the stale primary"), "{check:?}");
    assert!(!h.executed(id));
    h.until_logged(id, "step-failed", Duration::from_secs(2)).await;

    // Override (typed reason, logged with layer and reason): the authority check now passes.
    override_with(&mut h, Layer::Database, "postgresql-0 is cut off from clients by the LB");
    h.run_for(Duration::from_millis(200)).await;
    let ov = logged(&h, "override");
    assert_eq!(ov.len(), 1, "{ov:?}");
    assert_eq!(ov[0]["layer"], "database");
    assert_eq!(ov[0]["reason"], "postgresql-0 is cut off from clients by the LB");
    assert!(ov[0]["conflict"].as_str().unwrap().contains("2 writable primaries"), "{ov:?}");
    h.apply(Action::Command(Command::StepRetry));
    let check = authority_check(&h, id);
    assert!(check.ok && check.detail.starts_with("OVERRIDDEN"), "{check:?}");
    // (the promotion still fails its own checks: postgresql-1 is not a replica any more)
    assert!(matches!(h.status(id), StepStatus::Failed { .. }), "{:?}", h.status(id));
    assert!(!h.executed(id));

    // Fencing the stale primary resolves the conflict and is never refused by the check.
    let fence = Operation::FencePostgres {
        node: NODES[0].into(),
        endpoint: format!("127.0.0.1:{}", lab.node(NODES[0]).port),
    };
    let fid = h.propose(fence, "test: fence the stale primary");
    assert!(h.step_run(fid).checks.iter().all(|c| c.name != CHECK_NAME));
    h.type_confirm(NODES[0]);
    h.until("fence verified", Duration::from_secs(15), |s| {
        s.domain.step(fid).is_some_and(|x| x.status == StepStatus::Done)
    })
    .await;
    // Conflict cleared: the override is dropped and that is logged.
    h.until("override dropped", Duration::from_secs(5), |s| s.domain.authority_overrides.is_empty()).await;
    h.run_for(Duration::from_millis(200)).await;
    let cleared = logged(&h, "override-cleared");
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert_eq!(cleared[0]["layer"], "database");
    let db = h.state.domain.observed.database.value.clone().unwrap();
    assert!(db.node(NODES[0]).is_some_and(|n| n.role == PgRole::Primary && n.read_only), "{db:?}");
}

/// Make Sentinel `i` monitor `MASTER` at `addr` (REMOVE + MONITOR + the lab's timings).
async fn remonitor(lab: &RedisLab, i: usize, addr: &str) {
    let port = lab.sentinels[i].port;
    let (host, p) = addr.split_once(':').unwrap();
    let _: String = query(port, redis::cmd("SENTINEL").arg("REMOVE").arg(MASTER)).await.expect("REMOVE");
    let _: String = query(port, redis::cmd("SENTINEL").arg("MONITOR").arg(MASTER).arg(host).arg(p).arg(2))
        .await
        .expect("MONITOR");
    for (k, v) in [("down-after-milliseconds", "1000"), ("failover-timeout", "5000")] {
        let _: String =
            query(port, redis::cmd("SENTINEL").arg("SET").arg(MASTER).arg(k).arg(v)).await.expect("SET");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinels_disagreeing_refuse_failover_until_they_agree_or_overridden() {
    let lab = RedisLab::start().await;
    lab.wait_settled().await;
    let cfg = Config { sentinel: Some(lab.config()), polling: polling(), ..Config::default() };
    let mut h = Headless::start(cfg).await;
    let master = lab.servers[0].addr();
    let replica = lab.servers[1].addr();
    h.until("sentinels agree", Duration::from_secs(10), |s| {
        s.domain.observed.sentinel.fresh_value().is_some_and(|v| v.agreed_master() == Some(master.as_str()))
    })
    .await;

    // Sentinel 2 is told the replica is the master: the Sentinels now disagree.
    remonitor(&lab, 2, &replica).await;
    let took = h
        .until("disagreement observed", Duration::from_secs(5), |s| {
            s.domain.observed.sentinel.fresh_value().is_some_and(|v| {
                v.sentinels.iter().any(|x| x.master.as_deref() == Some(replica.as_str()))
                    && v.sentinels.iter().any(|x| x.master.as_deref() == Some(master.as_str()))
            })
        })
        .await;
    eprintln!("FIGURE SENTINEL REMOVE/MONITOR -> disagreement in the core: {took:?}");

    let failover = Operation::SentinelFailover {
        master: MASTER.into(),
        sentinel: lab.sentinels[0].addr(),
        from_master: Some(master.clone()),
    };
    let id = h.propose(failover, "test: failover while the Sentinels disagree");
    match h.status(id) {
        StepStatus::Failed { stage: Stage::Precheck, reason } => {
            assert!(reason.starts_with(CHECK_NAME), "{reason}");
            assert!(reason.contains(&format!("{} says {replica}", lab.sentinels[2].addr())), "{reason}");
        }
        other => panic!("failover not refused: {other:?}"),
    }
    assert!(!h.executed(id));

    override_with(&mut h, Layer::Sentinel, "sentinel-2 was reconfigured by hand; 0 and 1 are right");
    h.apply(Action::Command(Command::StepRetry));
    let check = authority_check(&h, id);
    assert!(check.ok && check.detail.starts_with("OVERRIDDEN"), "{check:?}");
    // Do not run the failover: cancel the confirmation (or it failed another check).
    if matches!(h.state.view.modal, Some(Modal::Confirm { .. })) {
        h.apply(Action::Command(Command::ConfirmNo));
    }
    assert!(!h.executed(id));
    h.run_for(Duration::from_millis(200)).await;
    let ov = logged(&h, "override");
    assert_eq!(ov.len(), 1, "{ov:?}");
    assert_eq!(ov[0]["layer"], "sentinel");

    // Sentinel 2 monitors the real master again: agreement, override dropped and logged.
    remonitor(&lab, 2, &master).await;
    h.until("override dropped once the Sentinels agree", Duration::from_secs(5), |s| {
        s.domain.authority_overrides.is_empty()
    })
    .await;
    h.run_for(Duration::from_millis(200)).await;
    let cleared = logged(&h, "override-cleared");
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert_eq!(cleared[0]["layer"], "sentinel");
}
