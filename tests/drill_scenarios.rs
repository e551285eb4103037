//! Every drill scenario played to the end headless (the real core, pipeline, runner and drill
//! operator at high speed), following the runbooks an on-call engineer picks from what the
//! console shows ([`runbook_for`]), confirmed as an operator would. Each play ends with the
//! recorded `drill-result` entry, whose figures are asserted and printed.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::headless::Headless;
use warroom::app::State;
use warroom::app::recommend::recommended;
use warroom::backends::model::PgRole;
use warroom::config::Config;
use warroom::operation::Operation;

/// Drill speed: sim seconds per real second.
const SPEED: f64 = 20.0;
/// Real time a whole scenario may take.
const WITHIN: Duration = Duration::from_secs(120);
/// How long a picture must hold before a runbook is picked (the sources poll every 200 ms).
const READ_PANES: Duration = Duration::from_millis(450);
/// Real time one runbook may take.
const RUNBOOK_WITHIN: Duration = Duration::from_secs(60);

/// The configuration every scenario is played with (one place for `[drill]` settings such as
/// the settle period before "mitigated").
fn config() -> Config {
    let mut cfg = warroom::backends::drill::estate::config();
    cfg.drill.rto_target_secs = Some(600);
    cfg.drill.settle_secs = Some(1);
    cfg
}

/// The runbook the console recommends now (`app::recommend::recommended`, the picker's first
/// entry); `None`: nothing to run (wait and watch). The test follows the console's own advice.
fn runbook_for(_scenario: &str, state: &State) -> Option<String> {
    recommended(&state.domain)
        .into_iter()
        .map(|r| r.runbook)
        .find(|id| state.domain.runbooks.get(id).is_some())
}

/// What a played scenario left behind.
struct Played {
    h: Headless,
    ran: Vec<String>,
    result: Value,
}

fn drill_results(h: &Headless) -> Vec<Value> {
    h.log
        .entries()
        .into_iter()
        .filter(|(e, _)| e.kind.as_str() == "drill-result")
        .map(|(e, _)| e.details)
        .collect()
}

/// Play `scenario` to its end: whenever no runbook runs, run the one [`runbook_for`] picks;
/// done when the drill result is recorded, nothing is left to run and `settled` holds.
async fn play(scenario: &str, settled: impl Fn(&State) -> bool) -> Played {
    let (mut h, estate) = Headless::drill_measured(scenario, SPEED, config()).await;
    let end = tokio::time::Instant::now() + WITHIN;
    let mut ran = Vec::new();
    // Layers are polled separately: a choice is acted on once it held for a whole poll round,
    // as an engineer reads every pane before picking.
    let mut pending: Option<(String, tokio::time::Instant)> = None;
    loop {
        assert!(
            tokio::time::Instant::now() < end,
            "{scenario}: not recovered within {WITHIN:?} after {ran:?}\nrecovery: {:#?}\n{}",
            h.state.domain.recovery,
            h.gist()
        );
        let idle = h.state.domain.runbook.as_ref().is_none_or(|r| !r.active());
        let choice = runbook_for(scenario, &h.state).filter(|_| idle);
        if choice != pending.as_ref().map(|p| p.0.clone()) {
            pending = choice.clone().map(|id| (id, tokio::time::Instant::now()));
        }
        let held = pending.as_ref().is_some_and(|(_, since)| since.elapsed() >= READ_PANES);
        match choice {
            Some(_) if !held => {
                let _ = tokio::time::timeout_at(end, h.step()).await;
            }
            Some(id) => {
                pending = None;
                assert!(ran.len() < 6, "{scenario}: runbooks keep coming: {ran:?}\n{}", h.gist());
                let outcome = h.run_runbook(&id, &[], RUNBOOK_WITHIN).await;
                assert_eq!(outcome, "completed", "{scenario}: {id}\n{}", h.gist());
                ran.push(id);
            }
            // The tracker's current result stands (not withdrawn) and its entry is logged.
            None if idle
                && h.state.domain.recovery.result.is_some()
                && !drill_results(&h).is_empty()
                && settled(&h.state) =>
            {
                break;
            }
            None => {
                let _ = tokio::time::timeout_at(end, h.step()).await;
            }
        }
    }
    let result = drill_results(&h).pop().expect("a drill result");
    let (rto, loss) = (result["rto_secs"].as_f64().unwrap_or(0.0), &result["data_loss_bytes"]);
    let fault = estate.fault_injected_at().expect("the fault struck");
    let played = (chrono::Utc::now() - fault).num_milliseconds() as f64 / 1000.0;
    eprintln!(
        "{scenario}: runbooks {ran:?}; fault -> drill-result {rto:.2} s headless at {SPEED}x (= {:.0} s of drill time); \
         fault -> end of play {played:.2} s (= {:.0} s); data loss {loss}; Redis offset loss {}",
        rto * SPEED,
        played * SPEED,
        result["redis_offset_loss"]
    );
    assert_eq!(result["fault"], scenario);
    assert_eq!(result["rto_from"], "fault_injected");
    assert!(rto > 0.0, "{result:#}");
    Played { h, ran, result }
}

fn anytime(_: &State) -> bool {
    true
}

/// The PostgreSQL primary switched and the data loss figure is present.
fn assert_switch(r: &Value, old: &str, new: &str) {
    assert_eq!(r["postgres"]["old_primary"], old, "{r:#}");
    assert_eq!(r["postgres"]["new_primary"], new, "{r:#}");
    assert!(r["data_loss_bytes"].is_u64(), "data loss figure: {r:#}");
}

fn executed_ops(h: &Headless) -> Vec<Operation> {
    h.state.domain.steps.iter().filter(|s| h.executed(s.id)).filter_map(|s| s.op.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calm_is_healthy_and_nothing_is_recommended() {
    let (mut h, _estate) = Headless::drill_measured("calm", SPEED, config()).await;
    h.until("every layer fresh and healthy", Duration::from_secs(20), |s| {
        warroom::app::verdict::verdict_of(&s.domain.observed, &s.domain.config).level
            == warroom::app::verdict::Level::Healthy
    })
    .await;
    assert_eq!(runbook_for("calm", &h.state), None);
    assert_eq!(h.state.domain.recovery.detected, None, "a healthy estate was never judged unhealthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_db_down_fails_over_then_fences_the_old_primary_when_it_returns() {
    // Settled once postgresql-0 is back (it returns writable ~2.5 min into the drill).
    let p = play("primary-db-down", |s| {
        s.domain
            .observed
            .database
            .value
            .as_ref()
            .and_then(|d| d.node("postgresql-0"))
            .is_some_and(|n| n.role != PgRole::Down)
    })
    .await;
    assert_eq!(p.ran, ["db-failover", "fence-stray-primary"]);
    assert_switch(&p.result, "postgresql-0", "postgresql-1");
    let db = p.h.state.domain.observed.database.value.clone().expect("db");
    assert_eq!(db.primary().map(|n| n.name.as_str()), Some("postgresql-1"));
    let old = db.node("postgresql-0").expect("postgresql-0");
    assert!(old.role == PgRole::Primary && old.read_only, "the returned old primary is fenced: {old:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_master_down_is_verified_not_failed_over_again() {
    let p = play("redis-master-down", anytime).await;
    assert_eq!(p.ran, ["redis-verify"]);
    assert!(
        !executed_ops(&p.h).iter().any(|op| matches!(op, Operation::SentinelFailover { .. })),
        "no SENTINEL FAILOVER was sent"
    );
    assert_eq!(p.result["redis"]["old_master"], "10.0.1.10:6379", "{:#}", p.result);
    assert!(p.result["postgres"].is_null(), "no PostgreSQL switch: {:#}", p.result);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_outage_fails_the_region_over_and_is_mitigated() {
    let p = play("region-outage", anytime).await;
    assert_eq!(p.ran, ["region-failover"]);
    assert_switch(&p.result, "postgresql-0", "postgresql-2");
    let t = p.h.state.domain.observed.traffic.value.clone().expect("traffic");
    assert_eq!(t.share("us-west-2"), Some(1.0));
    // The lost region's cluster does not answer: its database Service cannot be seen.
    let k = p.h.state.domain.observed.kube.value.clone().expect("kube");
    assert!(k.db_service.is_none());
    assert!(k.contexts.iter().any(|c| c.context == "us-east-1" && c.error.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_brain_fences_the_primary_the_service_does_not_route_to() {
    let p = play("split-brain", anytime).await;
    assert_eq!(p.ran, ["fence-stray-primary"]);
    let fenced: Vec<String> = executed_ops(&p.h)
        .into_iter()
        .filter_map(|op| match op {
            Operation::FencePostgres { node, .. } => Some(node),
            _ => None,
        })
        .collect();
    assert_eq!(fenced, ["postgresql-1"], "the mistakenly promoted node, not the one taking the writes");
    let svc =
        p.h.state.domain.observed.kube.value.as_ref().and_then(|k| k.db_service.clone()).expect("service");
    assert_eq!(svc.endpoint_pods, ["postgresql-0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_lag_promotes_the_safe_replica_and_moves_the_traffic_to_it() {
    let p = play("replica-lag", anytime).await;
    assert_eq!(p.ran, ["db-failover", "dns-failover"]);
    assert_switch(&p.result, "postgresql-0", "postgresql-2");
    let repoint =
        p.h.state.domain.steps.iter().find(|s| s.runbook_key.as_deref() == Some("repoint")).expect("repoint");
    assert!(
        matches!(&repoint.status, warroom::app::StepStatus::Skipped(r) if r.contains("runs in us-west-2") && r.contains("dns-failover")),
        "{:?}",
        repoint.status
    );
    assert_eq!(
        p.h.state.domain.observed.traffic.value.as_ref().and_then(|t| t.share("us-west-2")),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashloop_rolls_both_bad_rollouts_back() {
    let p = play("crashloop", anytime).await;
    assert_eq!(p.ran, ["rollback", "rollback"]);
    let rolled: Vec<String> = executed_ops(&p.h)
        .into_iter()
        .filter_map(|op| match op {
            Operation::RollbackDeployment { deployment, .. } => Some(deployment),
            _ => None,
        })
        .collect();
    assert_eq!(rolled, ["api", "worker"]);
    let k = p.h.state.domain.observed.kube.value.clone().expect("kube");
    assert!(k.pods.iter().all(|p| !p.is_unhealthy()), "every pod is healthy again");
}
