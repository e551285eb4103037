//! Fault injection: Route 53 throttling (`Throttling`, `PriorRequestNotComplete`) and a change
//! stuck `PENDING`, driven through the app core, the effect runner and the real Route 53
//! client (static test credentials) against the fake Route 53 XML API. The step stays
//! executing through the backoff, then either completes (throttling that ends) or fails with a
//! clear message; it is never "done" without an `INSYNC` change.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use warroom::app::StepStatus;
use warroom::app::step::Stage;
use warroom::backends::Sources;
use warroom::backends::live::LiveEstate;
use warroom::backends::poller::{self, PollerConfig};
use warroom::backends::route53::{Route53Options, endpoint_label};
use warroom::backends::traffic::{TrafficObserver, TrafficTimeouts};
use warroom::backends::{Operate, Snapshot};
use warroom::config::Config;
use warroom::config::model::Route53Config;
use warroom::operation::Operation;

use support::headless::Headless;
use support::http_fake::{FakeRecord, FakeRoute53State, FakeServer, fake_route53};
use support::region;

const RECORD: &str = "api.example.com.";

fn fake_state() -> Arc<Mutex<FakeRoute53State>> {
    let rec = |ident: &str, weight, value: &str| FakeRecord {
        ident: ident.into(),
        weight,
        ttl: 60,
        value: value.into(),
        health_check: None,
    };
    Arc::new(Mutex::new(FakeRoute53State {
        record: RECORD.into(),
        records: vec![rec("us-east-1", 100, "192.0.2.1"), rec("us-west-2", 0, "192.0.2.2")],
        ..FakeRoute53State::default()
    }))
}

fn idle<T: Send + Sync + 'static>() -> watch::Receiver<Arc<Snapshot<T>>> {
    let (tx, rx) = watch::channel(Arc::new(Snapshot::not_configured()));
    std::mem::forget(tx); // never closes, like live.rs's constant layers
    rx
}

/// The headless console with the traffic layer (observer + operator) on the fake.
async fn console(server: &FakeServer, options: Route53Options) -> Headless {
    let cfg = Config {
        regions: vec![region("us-east-1", "primary"), region("us-west-2", "secondary")],
        route53: Some(Route53Config {
            hosted_zone_id: "ZFAKE".into(),
            record: RECORD.into(),
            record_type: "A".into(),
            endpoint_url: Some(server.url("")),
            ..Route53Config::default()
        }),
        ..Config::default()
    };
    let timeouts = TrafficTimeouts { route53: Duration::from_secs(3), probe: Duration::from_secs(1) };
    let observer = TrafficObserver::with_route53_options(&cfg, timeouts, options).expect("observer");
    let operator: Arc<dyn Operate> = Arc::new(observer.operator().expect("route53 operator"));
    let pc = PollerConfig {
        interval: Duration::from_millis(300),
        timeout: Duration::from_secs(4),
        breaker_failures: 5,
        breaker_open: Duration::from_secs(5),
    };
    let traffic = poller::spawn(observer, pc, None);
    let sources = Sources { kube: idle(), database: idle(), sentinel: idle(), traffic };
    let mut h = Headless::with_estate(Arc::new(cfg), LiveEstate { sources, operator });
    h.until("traffic observed", Duration::from_secs(10), |s| {
        s.domain.observed.traffic.fresh_value().is_some()
    })
    .await;
    h
}

fn options(max_attempts: u32, insync_timeout: Duration) -> Route53Options {
    Route53Options {
        credentials: Some(support::moto::credentials()),
        attempt_timeout: Duration::from_secs(2),
        max_attempts,
        initial_backoff: Duration::from_millis(300),
        insync_timeout,
        insync_poll: Duration::from_millis(100),
        insync_poll_max: Duration::from_millis(300),
    }
}

/// Propose and confirm "all traffic to us-west-2"; returns the step id.
fn send_to_west(h: &mut Headless) -> u64 {
    let op = Operation::SetRoute53Weights {
        zone: "ZFAKE".into(),
        record: RECORD.into(),
        endpoint: endpoint_label(h.state.domain.config.route53.as_ref().unwrap()),
        weights: vec![("us-east-1".into(), 0), ("us-west-2".into(), 100)],
    };
    let id = h.propose(op, "test: fail over traffic");
    h.type_confirm("us-west-2");
    assert_eq!(h.status(id), StepStatus::Executing, "{}", h.gist());
    id
}

/// Run the loop until the step leaves Executing/Verifying; returns the final status, whether
/// it was seen executing while `busy` held, and how long it ran.
async fn run_step(
    h: &mut Headless,
    id: u64,
    within: Duration,
    busy: impl Fn() -> bool,
) -> (StepStatus, bool, Duration) {
    let start = Instant::now();
    let mut seen_executing_while_busy = false;
    let end = tokio::time::Instant::now() + within;
    loop {
        let st = h.status(id);
        assert_ne!(st, StepStatus::Done, "never done while the fake holds it back");
        if st == StepStatus::Executing && busy() {
            seen_executing_while_busy = true;
        }
        if !matches!(st, StepStatus::Executing | StepStatus::Verifying) {
            return (st, seen_executing_while_busy, start.elapsed());
        }
        assert!(tokio::time::Instant::now() < end, "step still {st:?} after {within:?}\n{}", h.gist());
        let _ = tokio::time::timeout(Duration::from_millis(100), h.step()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_that_ends_keeps_the_step_executing_through_the_backoff() {
    for code in [None, Some("PriorRequestNotComplete")] {
        let state = fake_state();
        {
            let mut s = state.lock().unwrap();
            s.throttle_changes = 2;
            s.throttle_code = code;
            s.pending_polls = 3;
        }
        let server = fake_route53(state.clone()).await;
        let mut h = console(&server, options(4, Duration::from_secs(5))).await;
        let id = send_to_west(&mut h);
        let st = state.clone();
        let busy = move || {
            let s = st.lock().unwrap();
            s.change_calls < 3 || s.get_change_calls < 3
        };
        // Executing while throttled and while PENDING; verified once INSYNC and observed.
        let end = tokio::time::Instant::now() + Duration::from_secs(15);
        let mut seen = false;
        while h.status(id) != StepStatus::Done {
            let s = h.status(id);
            assert!(
                matches!(s, StepStatus::Executing | StepStatus::Verifying),
                "{code:?}: {s:?}\n{}",
                h.gist()
            );
            if s == StepStatus::Executing && busy() {
                seen = true;
            } else if s != StepStatus::Executing {
                let f = state.lock().unwrap();
                assert!(f.change_calls == 3 && f.get_change_calls > 3, "left executing before INSYNC: {f:?}");
            }
            assert!(tokio::time::Instant::now() < end, "{code:?}: not done\n{}", h.gist());
            let _ = tokio::time::timeout(Duration::from_millis(100), h.step()).await;
        }
        assert!(seen, "{code:?}: the step was never seen executing during the backoff");
        assert_eq!(state.lock().unwrap().change_calls, 3, "{code:?}: two refused attempts, then one change");
        let out = h.step_run(id).output.join("\n");
        assert!(out.contains("INSYNC"), "{code:?}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_beyond_the_retries_fails_the_step_naming_the_code() {
    for code in ["Throttling", "PriorRequestNotComplete"] {
        let state = fake_state();
        {
            let mut s = state.lock().unwrap();
            s.throttle_changes = usize::MAX;
            s.throttle_code = Some(code);
        }
        let server = fake_route53(state.clone()).await;
        let mut h = console(&server, options(3, Duration::from_secs(5))).await;
        let id = send_to_west(&mut h);
        let (status, executing, took) = run_step(&mut h, id, Duration::from_secs(15), || true).await;
        eprintln!("FIGURE {code} on every attempt -> step failed after {took:?}");
        assert!(executing);
        match status {
            StepStatus::Failed { stage: Stage::Execute, reason } => {
                assert!(reason.contains("ChangeResourceRecordSets") && reason.contains(code), "{reason}");
            }
            other => panic!("{code}: expected an execute failure, got {other:?}"),
        }
        assert_eq!(state.lock().unwrap().change_calls, 3, "{code}: max_attempts calls, no more");
        h.until_logged(id, "step-failed", Duration::from_secs(2)).await;
        assert!(!h.step_kinds(id).iter().any(|k| k == "step-verified"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_stuck_pending_keeps_the_step_executing_then_fails_it_clearly() {
    let state = fake_state();
    state.lock().unwrap().pending_polls = usize::MAX;
    let server = fake_route53(state.clone()).await;
    let insync = Duration::from_secs(3);
    let mut h = console(&server, options(2, insync)).await;
    let id = send_to_west(&mut h);
    let (status, executing, took) = run_step(&mut h, id, Duration::from_secs(12), || true).await;
    eprintln!("FIGURE change stuck PENDING -> step failed after {took:?} (insync timeout {insync:?})");
    assert!(executing);
    assert!(took >= insync, "gave up before the INSYNC timeout: {took:?}");
    match status {
        StepStatus::Failed { stage: Stage::Execute, reason } => {
            assert!(reason.contains("still PENDING") && reason.contains("not confirmed"), "{reason}");
        }
        other => panic!("expected an execute failure, got {other:?}"),
    }
    assert!(state.lock().unwrap().get_change_calls >= 3, "GetChange was polled");
    h.until_logged(id, "step-failed", Duration::from_secs(2)).await;
    assert!(!h.step_kinds(id).iter().any(|k| k == "step-verified"));
}
