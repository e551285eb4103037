//! Every built-in runbook executes end to end on the drill estate, through the real core,
//! pipeline, runner and drill operator, confirmed as an operator would (typed names for
//! high-risk steps), with every transition in the log.

mod support;

use std::time::Duration;

use support::headless::Headless;
use warroom::app::StepStatus;
use warroom::backends::model::PgRole;

const SPEED: f64 = 4.0;

/// Run the loop until the drill's fault is visible.
async fn until_fault(h: &mut Headless, what: &str, cond: impl Fn(&warroom::app::State) -> bool) {
    h.until(what, Duration::from_secs(20), cond).await;
}

fn statuses(h: &Headless) -> Vec<(String, StepStatus)> {
    let run = h.state.domain.runbook.as_ref().expect("runbook");
    run.steps
        .iter()
        .map(|(sid, _, _)| {
            let s = h.step_run(*sid);
            (s.runbook_key.clone().unwrap_or_default(), s.status.clone())
        })
        .collect()
}

fn kinds(h: &Headless) -> Vec<String> {
    h.log.entries().into_iter().map(|(i, _)| i.kind.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_failover_promotes_repoints_and_verifies_writes_with_fence_not_applicable() {
    let (mut h, _estate) = Headless::drill("primary-db-down", SPEED).await;
    until_fault(&mut h, "primary down", |s| {
        s.domain
            .observed
            .database
            .value
            .as_ref()
            .is_some_and(|d| d.nodes.iter().any(|n| n.role == PgRole::Down))
    })
    .await;
    let outcome = h.run_runbook("db-failover", &[], Duration::from_secs(60)).await;
    assert_eq!(outcome, "completed", "{}", h.gist());
    let st = statuses(&h);
    let keys: Vec<&str> = st.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["confirm-down", "promote", "fence", "label", "repoint", "verify-writes"]);
    for (k, s) in &st {
        match k.as_str() {
            "fence" => assert!(
                matches!(s, StepStatus::Skipped(r) if r.starts_with("not applicable: gate node-writable:postgresql-0 not met")),
                "{s:?}"
            ),
            // The drill estate relabels a promoted pod itself, as Patroni would, a moment after
            // the promotion: the step is either not applicable by then, or labels it (the same).
            "label" => assert!(
                *s == StepStatus::Done
                    || matches!(s, StepStatus::Skipped(r) if r.starts_with("not applicable: gate pod-not-labelled-primary:postgresql-1 not met")
                        && r.contains("already labelled role=primary")),
                "{s:?}"
            ),
            _ => assert_eq!(*s, StepStatus::Done, "{k}"),
        }
    }
    let db = h.state.domain.observed.database.value.clone().expect("db");
    let primary = db.primary().expect("a primary");
    assert_eq!(primary.name, "postgresql-1", "the healthiest replica was promoted");
    let svc =
        h.state.domain.observed.kube.value.as_ref().and_then(|k| k.db_service.clone()).expect("service");
    assert_eq!(svc.endpoint_pods, ["postgresql-1"]);
    let pods = h.state.domain.observed.kube.value.as_ref().map(|k| k.pods.clone()).expect("pods");
    let pg1 = pods.iter().find(|p| p.name == "postgresql-1").expect("postgresql-1");
    assert_eq!(pg1.labels.get("role").map(String::as_str), Some("primary"));
    h.until("mitigated: the verdict held the settle period", Duration::from_secs(10), |s| {
        s.domain.recovery.result.is_some()
    })
    .await;
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while !kinds(&h).iter().any(|k| k == "drill-result") {
        assert!(std::time::Instant::now() < end, "the drill-result entry is written");
        h.run_for(Duration::from_millis(50)).await;
    }
    // Observations, verdicts, trend samples and the checklist's ticks interleave with the steps.
    let noise = ["observation", "verdict", "trend-sample", "checklist"];
    let k: Vec<String> = kinds(&h).into_iter().filter(|k| !noise.contains(&k.as_str())).collect();
    assert_eq!(k.first().map(String::as_str), Some("runbook-started"), "{k:?}");
    assert_eq!(k[k.len() - 2..], ["runbook-finished", "drill-result"], "mitigated when the runbook finished");
    // The checklist ticked itself from what happened, each tick naming the entry that made it
    // (the console writes the last one when its drill-result entry comes back from the log).
    let stable = |h: &Headless| {
        h.log
            .entries()
            .iter()
            .any(|(e, _)| e.kind.as_str() == "checklist" && e.details["item"] == "verify-stability")
    };
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while !stable(&h) && std::time::Instant::now() < end {
        h.run_for(Duration::from_millis(50)).await;
    }
    let ticks: Vec<(String, String)> = h
        .log
        .entries()
        .iter()
        .filter(|(e, _)| e.kind.as_str() == "checklist")
        .map(|(e, _)| {
            let item = e.details["item"].as_str().unwrap_or_default().to_string();
            (item, e.details["by"]["kind"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    for (item, by) in [
        ("begin-failover", "runbook-started"),
        ("continue-failover", "step-verified"),
        ("verify-stability", "drill-result"),
    ] {
        assert!(ticks.contains(&(item.to_string(), by.to_string())), "{item} ticked by {by}: {ticks:?}");
    }
    // Every execution was confirmed first, and logged as executing before its result.
    let entries = h.log.entries();
    for (i, (e, _)) in entries.iter().enumerate() {
        if e.kind.as_str() == "step-result" {
            let step = e.details["step"].as_u64();
            let before = &entries[..i];
            assert!(
                before
                    .iter()
                    .any(|(b, _)| b.kind.as_str() == "step-confirmed" && b.details["step"].as_u64() == step)
            );
            assert!(
                before
                    .iter()
                    .any(|(b, _)| b.kind.as_str() == "step-executing" && b.details["step"].as_u64() == step)
            );
        }
    }
    let typed: Vec<String> = entries
        .iter()
        .filter(|(e, _)| e.kind.as_str() == "step-confirmed")
        .filter_map(|(e, _)| e.details["typed"].as_str().map(str::to_string))
        .collect();
    // Promote and repoint are typed; so is the label step when it ran (see above).
    let labelled = st.iter().any(|(k, s)| k == "label" && *s == StepStatus::Done);
    let expected = if labelled { 3 } else { 2 };
    assert_eq!(typed, vec!["postgresql-1"; expected], "promote, repoint (and label when it ran) are typed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_failover_moves_the_master_and_sentinels_agree() {
    let (mut h, _estate) = Headless::drill("calm", SPEED).await;
    until_fault(&mut h, "sentinels agree", |s| {
        s.domain.observed.sentinel.fresh_value().is_some_and(|v| v.agreed())
    })
    .await;
    let before =
        h.state.domain.observed.sentinel.value.as_ref().and_then(|v| v.agreed_master().map(str::to_string));
    // A healthy master moves only in a named planned switchover (safety rule).
    let reason = ("switchover_reason", "planned: exercise the failover path");
    let outcome = h.run_runbook("redis-failover", &[reason], Duration::from_secs(60)).await;
    assert_eq!(outcome, "completed", "{}", h.gist());
    assert!(statuses(&h).iter().all(|(_, s)| *s == StepStatus::Done), "{:?}", statuses(&h));
    let after =
        h.state.domain.observed.sentinel.value.as_ref().and_then(|v| v.agreed_master().map(str::to_string));
    assert!(after.is_some() && after != before, "{before:?} -> {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_failover_sends_all_weight_to_the_secondary() {
    let (mut h, _estate) = Headless::drill("calm", SPEED).await;
    until_fault(&mut h, "traffic observed", |s| s.domain.observed.traffic.fresh_value().is_some()).await;
    let outcome = h.run_runbook("dns-failover", &[], Duration::from_secs(90)).await;
    assert_eq!(outcome, "completed", "{}", h.gist());
    let t = h.state.domain.observed.traffic.value.clone().expect("traffic");
    assert_eq!(t.share("us-west-2"), Some(1.0));
    assert_eq!(t.share("us-east-1"), Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_failover_with_a_param_override_targets_that_region() {
    let (mut h, _estate) = Headless::drill("calm", SPEED).await;
    until_fault(&mut h, "traffic observed", |s| s.domain.observed.traffic.fresh_value().is_some()).await;
    let outcome = h.run_runbook("dns-failover", &[("target", "eu-central-1")], Duration::from_secs(90)).await;
    assert_eq!(outcome, "completed", "{}", h.gist());
    assert_eq!(
        h.state.domain.observed.traffic.value.as_ref().and_then(|t| t.share("eu-central-1")),
        Some(1.0)
    );
    let started =
        h.log.entries().into_iter().find(|(e, _)| e.kind.as_str() == "runbook-started").expect("started").0;
    assert_eq!(started.details["params"][0]["origin"], "--param");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_failover_scales_moves_dns_and_fails_the_data_layers_over() {
    let (mut h, _estate) = Headless::drill("region-outage", SPEED).await;
    until_fault(&mut h, "us-east-1 unhealthy", |s| {
        s.domain
            .observed
            .traffic
            .value
            .as_ref()
            .and_then(|t| t.region("us-east-1"))
            .is_some_and(|r| r.health_check == warroom::backends::model::HealthState::Unhealthy)
            && s.domain.observed.database.value.as_ref().is_some_and(|d| d.primary().is_none())
    })
    .await;
    let outcome = h.run_runbook("region-failover", &[], Duration::from_secs(120)).await;
    assert_eq!(outcome, "completed", "{}", h.gist());
    let st = statuses(&h);
    assert!(st.iter().all(|(_, s)| *s == StepStatus::Done), "{st:?}");
    assert!(
        st.iter().filter(|(k, _)| k.starts_with("scale/")).count() >= 2,
        "one step per deployment: {st:?}"
    );
    let t = h.state.domain.observed.traffic.value.clone().expect("traffic");
    assert_eq!(t.share("us-west-2"), Some(1.0));
    assert!(h.state.domain.observed.database.value.as_ref().and_then(|d| d.primary()).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_primary_shifts_traffic_back_in_stages_and_skips_the_resync_without_a_db_failover() {
    // The traffic was moved to us-west-2 (dns-failover); the restore moves it back to us-east-1
    // in health-gated stages. The drill's us-east-1 stays lost in region-outage, so this starts
    // from a calm estate; no database failover happened, so the re-sync steps do not apply.
    let (mut h, _estate) = Headless::drill("calm", 20.0).await;
    until_fault(&mut h, "traffic observed", |s| s.domain.observed.traffic.fresh_value().is_some()).await;
    assert_eq!(h.run_runbook("dns-failover", &[], Duration::from_secs(60)).await, "completed");
    h.until("weights observed", Duration::from_secs(10), |s| {
        s.domain.observed.traffic.value.as_ref().and_then(|t| t.share("us-west-2")) == Some(1.0)
    })
    .await;
    h.state.domain.runbook = None;
    let outcome =
        h.run_runbook("restore-primary", &[("old_primary", "postgresql-0")], Duration::from_secs(240)).await;
    assert_eq!(outcome, "completed", "{}", h.gist());
    let st = statuses(&h);
    for (k, s) in &st {
        match k.as_str() {
            "resync" | "verify-replica" => assert!(
                matches!(s, StepStatus::Skipped(r) if r.contains("postgresql-0 is the writable primary: nothing to re-sync")),
                "{k}: {s:?}"
            ),
            _ => assert_eq!(*s, StepStatus::Done, "{k}"),
        }
    }
    assert_eq!(h.state.domain.observed.traffic.value.as_ref().and_then(|t| t.share("us-east-1")), Some(1.0));
    let notes: Vec<String> = h
        .log
        .entries()
        .into_iter()
        .filter(|(e, _)| e.kind.as_str() == "step-note")
        .map(|(e, _)| e.details["note"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(notes.len(), 2, "the two manual steps were ticked with a note: {notes:?} {st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_console_picks_the_runbook_up_where_it_stopped() {
    let (mut h, _estate) = Headless::drill("primary-db-down", SPEED).await;
    until_fault(&mut h, "primary down", |s| {
        s.domain
            .observed
            .database
            .value
            .as_ref()
            .is_some_and(|d| d.nodes.iter().any(|n| n.role == PgRole::Down))
    })
    .await;
    // Start db-failover and confirm only its first step (the read-only assertion).
    h.start_runbook("db-failover", &[]);
    h.apply(warroom::app::Action::Command(warroom::command::Command::ConfirmYes));
    let first = h.state.domain.runbook.as_ref().expect("run").steps[0].0;
    h.until("step 1 verified", Duration::from_secs(20), |s| {
        s.domain.step(first).is_some_and(|x| x.status == StepStatus::Done)
    })
    .await;
    h.until_logged(first, "step-verified", Duration::from_secs(5)).await;
    // A new console restores the incident from its log.
    let entries: Vec<warroom::incident::entry::Entry> = h
        .log
        .entries()
        .into_iter()
        .map(|(intent, line)| warroom::incident::entry::Entry {
            seq: line.seq,
            ts: line.at,
            mono_ms: 0,
            operator: line.operator,
            kind: intent.kind,
            summary: intent.summary,
            details: intent.details,
            prev: String::new(),
        })
        .collect();
    let mut resumed = warroom::app::State::new(
        warroom::app::Mode::Drill,
        h.state.domain.incident.clone(),
        "second@console".into(),
        h.state.domain.config.clone(),
        h.state.domain.now,
    );
    warroom::app::resume::restore(&mut resumed.domain, &entries);
    let run = resumed.domain.runbook.clone().expect("the runbook run is resumed");
    assert!(run.active());
    let keys: Vec<(String, &'static str)> = run
        .steps
        .iter()
        .map(|(sid, _, _)| {
            let s = resumed.domain.step(*sid).expect("step");
            (s.runbook_key.clone().unwrap_or_default(), s.status.label())
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("confirm-down".to_string(), "done"),
            ("promote".to_string(), "proposed"),
            ("fence".to_string(), "proposed"),
            ("label".to_string(), "proposed"),
            ("repoint".to_string(), "proposed"),
            ("verify-writes".to_string(), "proposed")
        ]
    );
    // The next step comes up in the resumed console with its operation built from the state.
    resumed.domain.observed = h.state.domain.observed.clone();
    let mut fx = Vec::new();
    warroom::app::runbook_flow::next(&mut resumed, &mut fx);
    let promote = resumed.domain.step(run.steps[1].0).expect("promote");
    assert!(
        matches!(promote.op, Some(warroom::operation::Operation::PromotePostgres { .. })),
        "{:?}",
        promote.op
    );
    assert!(
        matches!(resumed.view.modal, Some(warroom::app::Modal::Confirm { .. })),
        "{:?}",
        resumed.view.flash
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_undoes_the_crashing_rollout_and_every_api_pod_becomes_ready() {
    let (mut h, _estate) = Headless::drill("crashloop", SPEED).await;
    let crashing = |s: &warroom::app::State| {
        s.domain.observed.kube.value.as_ref().is_some_and(|k| {
            k.pods.iter().any(|p| {
                p.name.starts_with("api-")
                    && p.reason.as_deref().is_some_and(|r| r == "Error" || r == "CrashLoopBackOff")
            })
        })
    };
    until_fault(&mut h, "an api pod crashes", crashing).await;
    let outcome = h.run_runbook("rollback", &[], Duration::from_secs(60)).await;
    assert_eq!(outcome, "completed", "{}", h.gist());
    let started =
        h.log.entries().into_iter().find(|(e, _)| e.kind.as_str() == "runbook-started").expect("started").0;
    assert_eq!(started.details["params"][0]["value"], "api", "the failing deployment is the default");
    let typed: Vec<String> = h
        .log
        .entries()
        .into_iter()
        .filter(|(e, _)| e.kind.as_str() == "step-confirmed")
        .filter_map(|(e, _)| e.details["typed"].as_str().map(str::to_string))
        .collect();
    assert_eq!(typed, ["api"], "high risk: the deployment's name is typed");
    let k = h.state.domain.observed.kube.value.clone().expect("kube");
    let api: Vec<_> =
        k.pods.iter().filter(|p| p.context == "us-east-1" && p.name.starts_with("api-")).collect();
    assert_eq!(api.len(), 3, "{api:?}");
    assert!(api.iter().all(|p| !p.is_unhealthy()), "{api:?}");
    assert!(!crashing(&h.state));
}
