//! The drill estate answers DNS too: a built-in runbook's Route 53 change is followed by
//! `verify-dns` and its drift re-check against the drill's simulated name servers, both
//! through the real core, pipeline, runner and drill operator, with per-server lines in the log.

mod support;

use std::time::Duration;

use support::headless::Headless;
use warroom::app::StepStatus;
use warroom::ui::steps::cache_secs_left;

const SPEED: f64 = 8.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_failover_verifies_every_name_server_then_rechecks_for_drift() {
    let (mut h, _estate) = Headless::drill("calm", SPEED).await;
    h.until("traffic observed", Duration::from_secs(20), |s| {
        s.domain.observed.traffic.fresh_value().is_some()
    })
    .await;
    let outcome = h.run_runbook("dns-failover", &[], Duration::from_secs(90)).await;
    assert_eq!(outcome, "completed", "{}", h.gist());
    let run = h.state.domain.runbook.as_ref().expect("runbook");
    let keys: Vec<String> = run
        .steps
        .iter()
        .map(|(sid, _, _)| h.step_run(*sid).runbook_key.clone().unwrap_or_default())
        .collect();
    let at = |key: &str| keys.iter().position(|k| k == key).unwrap_or_else(|| panic!("{key} in {keys:?}"));
    assert_eq!(at("set-weights") + 1, at("set-weights/verify-dns"), "{keys:?}");
    assert_eq!(at("set-weights") + 2, at("set-weights/recheck-dns"), "{keys:?}");

    let verify = h.step_run(run.steps[at("set-weights/verify-dns")].0);
    assert_eq!(verify.status, StepStatus::Done, "{:?}", verify.output);
    let out = verify.output.join("\n");
    assert!(out.contains("all 4 name servers answer 203.0.113.11 (us-west-2)"), "{out}");
    assert!(
        out.contains("ns-702.awsdns-23.net: in sync, answers 203.0.113.11 (us-west-2), TTL 60 s"),
        "{out}"
    );
    let left = cache_secs_left(&h.state, verify).expect("the TTL countdown runs after verify-dns");
    assert!((1..=60).contains(&left), "{left}");

    let recheck = h.step_run(run.steps[at("set-weights/recheck-dns")].0);
    assert_eq!(recheck.status, StepStatus::Done, "{:?}", recheck.output);
    assert!(recheck.output.join("\n").contains("no drift 60 s after the change"), "{:?}", recheck.output);
    assert_eq!(cache_secs_left(&h.state, recheck), None, "the countdown belongs to the verification");

    let results: Vec<String> = h
        .log
        .entries()
        .into_iter()
        .filter(|(e, _)| e.kind.as_str() == "step-result")
        .map(|(e, _)| e.summary)
        .filter(|s| s.contains("name servers"))
        .collect();
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(results[0].contains("ns-101.awsdns-12.com: in sync"), "per-server lines in the log: {results:?}");
}
