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
    for ns in
        ["ns-101.awsdns-12.com", "ns-702.awsdns-23.net", "ns-1303.awsdns-34.org", "ns-1904.awsdns-45.co.uk"]
    {
        assert!(out.contains(&format!("{ns}: in sync")), "{ns}: {out}");
    }
    assert!(out.contains("answers 203.0.113.11 (us-west-2), TTL 60 s"), "{out}");
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

    // The actions menu offers the same check for the change (e.g. after a menu set-weights).
    let offered = warroom::app::propose::proposals(&h.state.domain);
    let v = offered
        .iter()
        .find(|p| matches!(p.op, warroom::operation::Operation::VerifyDns { .. }))
        .expect("verify-dns offered after a Route 53 change");
    assert!(v.blocked.is_none(), "{:?}", v.blocked);
    match &v.op {
        warroom::operation::Operation::VerifyDns { weights, recheck_after_secs: 0, .. } => {
            assert!(weights.contains(&("us-west-2".to_string(), 100)), "{weights:?}")
        }
        other => panic!("{other:?}"),
    }
    assert!(results[0].contains("ns-101.awsdns-12.com: in sync"), "per-server lines in the log: {results:?}");
}

mod simulated {
    use warroom::backends::Operate;
    use warroom::backends::drill::DrillEstate;
    use warroom::backends::drill::estate::{RECORD, ROUTE53_ENDPOINT, ZONE};
    use warroom::operation::Operation;

    fn set_west() -> Operation {
        Operation::SetRoute53Weights {
            zone: ZONE.into(),
            record: RECORD.into(),
            endpoint: ROUTE53_ENDPOINT.into(),
            weights: vec![("us-east-1".into(), 0), ("us-west-2".into(), 100), ("eu-central-1".into(), 0)],
        }
    }

    fn verify(sync_timeout_secs: u64) -> Operation {
        Operation::VerifyDns {
            zone: ZONE.into(),
            record: RECORD.into(),
            endpoint: ROUTE53_ENDPOINT.into(),
            weights: Vec::new(),
            sync_timeout_secs,
            recheck_after_secs: 0,
        }
    }

    #[tokio::test]
    async fn a_lagging_simulated_server_is_waited_for_and_named() {
        let estate = DrillEstate::new("calm", 50.0, 7).expect("drill");
        estate.lag_name_server(2, Some(20.0));
        estate.operator().execute(&set_west()).await.expect("set-weights");
        let ok = estate.operator().execute(&verify(120)).await.expect("in sync in the end");
        assert!(ok.starts_with("all 4 name servers answer 203.0.113.11 (us-west-2)"), "{ok}");
        assert!(ok.contains("ns-1303.awsdns-34.org: in sync after lagging 2"), "lagged ~20 s: {ok}");
        assert!(ok.contains("ns-101.awsdns-12.com: in sync after lagging"), "propagation delay: {ok}");
    }

    #[tokio::test]
    async fn a_simulated_server_that_never_catches_up_fails_the_step_naming_it() {
        let estate = DrillEstate::new("calm", 50.0, 7).expect("drill");
        estate.lag_name_server(2, Some(f64::INFINITY));
        estate.operator().execute(&set_west()).await.expect("set-weights");
        let err = estate.operator().execute(&verify(30)).await.expect_err("ns-1303 keeps the old answer");
        assert!(err.starts_with("1 of 4 name servers do not answer 203.0.113.11 (us-west-2)"), "{err}");
        assert!(
            err.contains("ns-1303.awsdns-34.org: lagging, never caught up in 30 s: still answers 203.0.113.10 (us-east-1)"),
            "{err}"
        );
    }
}

#[test]
fn plan_lists_the_dns_verification_and_the_drift_recheck_after_the_route53_change() {
    let home = support::home::Home::new();
    let out = home.run(&["plan", "dns-failover", "--drill", "calm"]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    for needle in [
        "set-weights/verify-dns  Verify DNS answers for api.example.com.",
        "set-weights/recheck-dns  Re-check DNS answers for api.example.com. after 60 s (drift)",
        "dig +norecurse api.example.com.",
        "risk: low: y (--yes-low-risk)",
    ] {
        assert!(out.stdout.contains(needle), "missing {needle:?} in:\n{}", out.stdout);
    }
}
