//! `shift-traffic` in the drill: a shift runs through every stage (weights observed after each),
//! a failing health gate stops it with the weights of that stage left in place, a retry resumes
//! there; the console proposes the shift and gives it a timeout long enough for its holds.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use warroom::app::state::IncidentInfo;
use warroom::app::{Effect, Mode, State, pipeline, propose};
use warroom::backends::drill::estate::{RECORD, ROUTE53_ENDPOINT, ZONE};
use warroom::backends::drill::{DrillEstate, ReadyFault};
use warroom::backends::model::TrafficView;
use warroom::backends::{Observe, Observed, Operate, Snapshot};
use warroom::operation::Operation;
use warroom::operation::traffic::{DEFAULT_SHIFT_PERCENTS, INSYNC_ALLOWANCE_SECS, shift_stages};

const SPEED: f64 = 20.0;
/// Sim seconds per hold: one wall second at `SPEED`.
const HOLD: u64 = 20;

type Weights = Vec<(String, u8)>;

fn w(list: &[(&str, u8)]) -> Weights {
    list.iter().map(|(r, w)| (r.to_string(), *w)).collect()
}

fn set_weights(weights: Weights) -> Operation {
    Operation::SetRoute53Weights {
        zone: ZONE.into(),
        record: RECORD.into(),
        endpoint: ROUTE53_ENDPOINT.into(),
        weights,
    }
}

fn shift(stages: Vec<Weights>, hold_secs: u64) -> Operation {
    Operation::ShiftTraffic {
        zone: ZONE.into(),
        record: RECORD.into(),
        endpoint: ROUTE53_ENDPOINT.into(),
        target: "us-east-1".into(),
        stages,
        hold_secs,
    }
}

async fn view(estate: &DrillEstate) -> TrafficView {
    estate.traffic().observe().await.expect("drill traffic observes")
}

async fn weights(estate: &DrillEstate) -> Weights {
    view(estate).await.regions.iter().map(|r| (r.name.clone(), r.weight.unwrap_or(0))).collect()
}

/// A calm drill with all traffic moved to us-west-2, and the plan to shift it back.
async fn moved_to_west() -> (DrillEstate, Vec<Weights>) {
    let estate = DrillEstate::new("calm", SPEED, 7).expect("drill");
    let away = w(&[("us-east-1", 0), ("us-west-2", 100), ("eu-central-1", 0)]);
    estate.operator().execute(&set_weights(away.clone())).await.expect("moved to us-west-2");
    assert_eq!(weights(&estate).await, away);
    let stages = shift_stages(&away, "us-east-1", &DEFAULT_SHIFT_PERCENTS);
    (estate, stages)
}

/// Run `op` while sampling the weights every 10 ms; returns the result and each distinct
/// weight set seen, in order.
async fn run_sampling(estate: &DrillEstate, op: Operation) -> (Result<String, String>, Vec<Weights>) {
    let operator = estate.operator();
    let task = tokio::spawn(async move { operator.execute(&op).await });
    let mut seen: Vec<Weights> = Vec::new();
    while !task.is_finished() {
        let now = weights(estate).await;
        if seen.last() != Some(&now) {
            seen.push(now);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let now = weights(estate).await;
    if seen.last() != Some(&now) {
        seen.push(now);
    }
    (task.await.expect("shift task"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shift_runs_every_stage_in_order_and_verifies() {
    let (estate, stages) = moved_to_west().await;
    let op = shift(stages.clone(), HOLD);
    let obs = Observed {
        traffic: Arc::new(Snapshot::fresh(view(&estate).await, Utc::now())),
        ..Observed::default()
    };
    let checks = op.precheck(&obs);
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");

    let (result, seen) = run_sampling(&estate, op.clone()).await;
    let summary = result.expect("shift completes");
    let mut expected = vec![w(&[("us-east-1", 0), ("us-west-2", 100), ("eu-central-1", 0)])];
    expected.extend(stages.iter().cloned());
    assert_eq!(seen, expected, "every stage observed, in order, nothing else");
    assert!(
        summary.starts_with("shifted to us-east-1 in 4 stage(s): 10% (/change/CDRILL000002"),
        "{summary}"
    );
    for (pct, n) in [(25, 3), (50, 4), (100, 5)] {
        assert!(summary.contains(&format!("{pct}% (/change/CDRILL00000{n}, held {HOLD} s")), "{summary}");
    }
    assert!(summary.ends_with("resolvers may still cache the old answer for 60 s (TTL)"), "{summary}");

    let after = Observed {
        traffic: Arc::new(Snapshot::fresh(view(&estate).await, Utc::now())),
        ..Observed::default()
    };
    assert_eq!(op.verify(&after), warroom::operation::Verify::Holds("all weights as requested".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_gate_stops_at_its_stage_and_a_retry_resumes_there() {
    let (estate, stages) = moved_to_west().await;
    // us-east-1 cannot take 25 % of the load: its ready probe fails from that share on.
    estate.set_ready_fault(Some(ReadyFault {
        region: "us-east-1".into(),
        min_percent: 25,
        reason: "503: connection pool exhausted".into(),
    }));
    let op = shift(stages.clone(), HOLD);
    let (result, seen) = run_sampling(&estate, op.clone()).await;
    let err = result.expect_err("the gate stops the shift");
    assert_eq!(
        err,
        "health gate failed at 25% (stage 2/4: us-east-1 ready probe 503); weights left at \
         us-east-1 25 / us-west-2 75 / eu-central-1 0: retry, skip or abort"
    );
    assert_eq!(seen.last(), Some(&stages[1]), "weights stay at the failed stage");
    assert!(!seen.contains(&stages[2]), "never went past the failed stage: {seen:?}");

    // The load problem clears; a retry resumes at 25 % instead of pulling traffic back to 10 %.
    estate.set_ready_fault(None);
    let (result, seen) = run_sampling(&estate, op).await;
    let summary = result.expect("retry completes");
    assert!(summary.contains("resumed at stage 2/4 (us-east-1 already at 25%)"), "{summary}");
    assert_eq!(seen, stages[1..].to_vec(), "10 % is not applied again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_failing_in_the_middle_of_a_hold_stops_the_shift() {
    let (estate, stages) = moved_to_west().await;
    let operator = estate.operator();
    let op = shift(stages.clone(), HOLD);
    let task = tokio::spawn(async move { operator.execute(&op).await });
    // Wait for the 50 % stage to be in place, then break us-east-1's readiness mid-hold.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while weights(&estate).await != stages[2] {
        assert!(tokio::time::Instant::now() < deadline, "50 % stage never applied");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    estate.set_ready_fault(Some(ReadyFault {
        region: "us-east-1".into(),
        min_percent: 0,
        reason: "503: dependency down".into(),
    }));
    let err = task.await.expect("task").expect_err("gate fails during the hold");
    assert!(err.starts_with("health gate failed at 50% (stage 3/4: us-east-1 ready probe 503)"), "{err}");
    assert!(err.contains("weights left at us-east-1 50 / us-west-2 50 / eu-central-1 0"), "{err}");
    assert_eq!(weights(&estate).await, stages[2]);
}

#[tokio::test]
async fn invalid_shift_is_refused_before_any_change() {
    let (estate, _) = moved_to_west().await;
    let bad = shift(vec![w(&[("us-east-1", 10), ("ap-south-1", 90)])], HOLD);
    let err = estate.operator().execute(&bad).await.unwrap_err();
    assert!(err.contains("SetIdentifier \"ap-south-1\""), "{err}");
    assert_eq!(weights(&estate).await, w(&[("us-east-1", 0), ("us-west-2", 100), ("eu-central-1", 0)]));
}

fn state_for(estate: &DrillEstate, traffic: TrafficView) -> State {
    let now = Utc::now();
    let incident = IncidentInfo {
        id: "INC-SHIFT".into(),
        title: "shift back".into(),
        severity: "SEV2".into(),
        declared_at: now,
        drill: true,
    };
    let mut s = State::new(Mode::Drill, incident, "tester".into(), Arc::new(estate.config()), now);
    s.domain.observed.traffic = Arc::new(Snapshot::fresh(traffic, now));
    s
}

#[tokio::test]
async fn console_proposes_the_gradual_shift_back_with_a_long_enough_timeout() {
    let (estate, stages) = moved_to_west().await;
    let mut state = state_for(&estate, view(&estate).await);
    let proposals = propose::proposals(&state.domain);
    let shift_back = proposals
        .iter()
        .find(|p| matches!(p.op, Operation::ShiftTraffic { .. }))
        .expect("shift proposed while us-east-1 has weight 0 and is healthy");
    assert!(shift_back.why.starts_with("Shift traffic back to us-east-1 gradually"), "{}", shift_back.why);
    assert_eq!(shift_back.op, shift(stages.clone(), 60), "4 stages, held one TTL (60 s)");
    assert!(
        proposals.iter().any(|p| matches!(&p.op, Operation::SetRoute53Weights { weights, .. }
            if weights.iter().any(|(r, w)| r == "us-east-1" && *w == 100))),
        "the instant set-weights back to the primary is still proposed"
    );

    let mut fx = Vec::new();
    let id = pipeline::propose(&mut state, shift_back.op.clone(), shift_back.why.clone(), &mut fx);
    pipeline::submit_typed(&mut state, id, "us-east-1".into(), &mut fx);
    let timeout = fx.iter().find_map(|e| match e {
        Effect::Execute { timeout_secs, .. } => Some(*timeout_secs),
        _ => None,
    });
    assert_eq!(timeout, Some(4 * (60 + INSYNC_ALLOWANCE_SECS)), "not the 30 s execute default");

    // An unhealthy primary gets no shift proposal.
    estate.set_ready_fault(Some(ReadyFault {
        region: "us-east-1".into(),
        min_percent: 0,
        reason: "503: not ready".into(),
    }));
    let state = state_for(&estate, view(&estate).await);
    assert!(
        !propose::proposals(&state.domain).iter().any(|p| matches!(p.op, Operation::ShiftTraffic { .. }))
    );
    // Nor does a primary that already has traffic.
    let calm = DrillEstate::new("calm", SPEED, 7).unwrap();
    let state = state_for(&calm, view(&calm).await);
    assert!(
        !propose::proposals(&state.domain).iter().any(|p| matches!(p.op, Operation::ShiftTraffic { .. }))
    );
}
