//! `shift-traffic` against the fake Route 53 XML API (real SDK calls over loopback) and a fake
//! `/health/ready` endpoint: each stage is its own change batch, in order, with the health gate
//! checked between them; a failing gate or a change stuck PENDING stops with the weights named.

mod support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use warroom::backends::Operate;
use warroom::backends::route53::{HealthGate, Route53Api, Route53Operator, Route53Options};
use warroom::config::model::{Config, RegionConfig, Route53Config};
use warroom::operation::Operation;
use warroom::operation::traffic::{DEFAULT_SHIFT_PERCENTS, shift_stages};

use support::http_fake::{FakeRecord, FakeRoute53State, FakeServer, Mode, Reply, Seen, fake_route53, tag};
use support::moto::credentials;

const RECORD: &str = "api.example.com.";
const ZONE: &str = "ZFAKE";
const OK: &str = "Success: HTTP Status Code 200, OK";

type Weights = Vec<(String, u8)>;

fn region(name: &str, role: &str, ready: &str) -> RegionConfig {
    RegionConfig {
        name: name.into(),
        role: role.into(),
        health_ready: Some(ready.into()),
        ..RegionConfig::default()
    }
}

fn route53_state(east_health: &[&str]) -> Arc<Mutex<FakeRoute53State>> {
    let rec = |ident: &str, weight, value: &str, hc: &str| FakeRecord {
        ident: ident.into(),
        weight,
        ttl: 60,
        value: value.into(),
        health_check: Some(hc.into()),
    };
    let mut st = FakeRoute53State {
        record: RECORD.into(),
        records: vec![
            rec("us-east-1", 0, "192.0.2.1", "hc-east"),
            rec("us-west-2", 100, "192.0.2.2", "hc-west"),
        ],
        ..FakeRoute53State::default()
    };
    st.health.insert("hc-east".into(), east_health.iter().map(|s| s.to_string()).collect());
    st.health.insert("hc-west".into(), vec![OK.into()]);
    Arc::new(Mutex::new(st))
}

/// A `/health/ready` fake for us-east-1 that answers 503 once us-east-1's weight in the fake
/// Route 53 reaches `fail_from` (a region that cannot take that much load).
async fn ready_server(r53: Arc<Mutex<FakeRoute53State>>, fail_from: i64) -> FakeServer {
    let handler = Arc::new(move |_: &Seen| {
        let weight = r53.lock().unwrap().records[0].weight;
        if weight >= fail_from { Reply::text(503, "pool exhausted") } else { Reply::text(200, "ok") }
    });
    FakeServer::start(Mode::Answer(handler)).await
}

struct Rig {
    operator: Route53Operator,
    r53: FakeServer,
    state: Arc<Mutex<FakeRoute53State>>,
    ready: FakeServer,
    stages: Vec<Weights>,
}

async fn rig(east_health: &[&str], fail_from: i64, options: Route53Options) -> Rig {
    let state = route53_state(east_health);
    let r53 = fake_route53(state.clone()).await;
    let ready = ready_server(state.clone(), fail_from).await;
    let cfg = Config {
        regions: vec![
            region("us-east-1", "primary", &ready.url("/health/ready")),
            region("us-west-2", "secondary", "http://127.0.0.1:9/never-probed"),
        ],
        route53: Some(Route53Config {
            hosted_zone_id: ZONE.into(),
            record: RECORD.into(),
            record_type: "A".into(),
            endpoint_url: Some(r53.url("")),
            ..Route53Config::default()
        }),
        ..Config::default()
    };
    let api = Route53Api::from_config(&cfg, options).expect("route53 configured");
    let gate = HealthGate::from_config(&cfg, Duration::from_secs(2))
        .expect("prober")
        .with_interval(Duration::from_millis(100));
    let operator = Route53Operator::new(Arc::new(api)).with_health_gate(gate);
    let current = vec![("us-east-1".to_string(), 0), ("us-west-2".to_string(), 100)];
    let stages = shift_stages(&current, "us-east-1", &DEFAULT_SHIFT_PERCENTS);
    Rig { operator, r53, state, ready, stages }
}

fn options() -> Route53Options {
    Route53Options {
        credentials: Some(credentials()),
        attempt_timeout: Duration::from_secs(5),
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        insync_timeout: Duration::from_secs(5),
        insync_poll: Duration::from_millis(20),
        insync_poll_max: Duration::from_millis(80),
    }
}

fn shift_op(rig: &Rig, hold_secs: u64) -> Operation {
    Operation::ShiftTraffic {
        zone: ZONE.into(),
        record: RECORD.into(),
        endpoint: rig.r53.url(""),
        target: "us-east-1".into(),
        stages: rig.stages.clone(),
        hold_secs,
    }
}

/// Each change batch's (SetIdentifier, Weight) pairs, and how many health checks of us-east-1
/// were read before each batch.
fn batches(rig: &Rig) -> (Vec<Weights>, Vec<usize>) {
    let mut out = Vec::new();
    let mut checks_before = Vec::new();
    let mut checks = 0;
    for s in rig.r53.seen.lock().unwrap().iter() {
        if s.path.contains("/healthcheck/hc-east/status") {
            checks += 1;
        }
        if s.method == "POST" && s.path.contains("/rrset") {
            let batch = s
                .body
                .split("<Change>")
                .skip(1)
                .map(|c| {
                    assert_eq!(tag(c, "Action"), Some("UPSERT"), "{c}");
                    (tag(c, "SetIdentifier").unwrap().to_string(), tag(c, "Weight").unwrap().parse().unwrap())
                })
                .collect();
            out.push(batch);
            checks_before.push(checks);
        }
    }
    (out, checks_before)
}

#[tokio::test]
async fn stages_are_separate_change_batches_in_order_with_the_gate_between() {
    let rig = rig(&[OK, OK, OK], 1000, options()).await;
    let summary = rig.operator.execute(&shift_op(&rig, 1)).await.expect("shift completes");
    let (sent, checks_before) = batches(&rig);
    assert_eq!(sent, rig.stages, "one atomic batch per stage, in order");
    assert_eq!(checks_before[0], 0, "no health check before the first stage");
    for pair in checks_before.windows(2) {
        assert!(
            pair[1] >= pair[0] + 2,
            "gate checked at least at start and end of each hold: {checks_before:?}"
        );
    }
    assert!(rig.ready.hits.load(Ordering::SeqCst) >= 8, "ready probe checked during every hold");
    assert_eq!(rig.state.lock().unwrap().records[0].weight, 100);
    assert_eq!(rig.state.lock().unwrap().records[1].weight, 0);
    assert!(
        summary.starts_with("shifted to us-east-1 in 4 stage(s): 10% (/change/CFAKE1 INSYNC"),
        "{summary}"
    );
    assert!(summary.ends_with("resolvers may still cache the old answer for 60 s (TTL)"), "{summary}");
}

#[tokio::test]
async fn failing_ready_probe_stops_at_the_stage_and_leaves_its_weights() {
    let rig = rig(&[OK], 25, options()).await;
    let err = rig
        .operator
        .shift_traffic("us-east-1", &rig.stages, Duration::from_millis(200))
        .await
        .expect_err("gate fails at 25 %");
    assert_eq!(
        err,
        "health gate failed at 25% (stage 2/4: us-east-1 ready probe 503); weights left at \
         us-east-1 25 / us-west-2 75: retry, skip or abort"
    );
    let (sent, _) = batches(&rig);
    assert_eq!(sent, rig.stages[..2].to_vec(), "no batch after the failed stage");
    assert_eq!(rig.state.lock().unwrap().records[0].weight, 25);
}

#[tokio::test]
async fn unhealthy_health_check_stops_the_first_stage() {
    let bad = "Failure: Connection timed out.";
    let rig = rig(&[bad, bad, bad], 1000, options()).await;
    let err =
        rig.operator.shift_traffic("us-east-1", &rig.stages, Duration::from_millis(200)).await.unwrap_err();
    assert!(
        err.starts_with(
            "health gate failed at 10% (stage 1/4: us-east-1 health check unhealthy (0/3 checkers healthy))"
        ),
        "{err}"
    );
    assert_eq!(batches(&rig).0.len(), 1);
}

#[tokio::test]
async fn change_stuck_pending_names_both_possible_weights() {
    let rig =
        rig(&[OK], 1000, Route53Options { insync_timeout: Duration::from_millis(300), ..options() }).await;
    rig.state.lock().unwrap().pending_polls = usize::MAX;
    let err =
        rig.operator.shift_traffic("us-east-1", &rig.stages, Duration::from_millis(100)).await.unwrap_err();
    assert!(
        err.starts_with("stage 1/4 (10%) failed: change /change/CFAKE1 was submitted but is still PENDING"),
        "{err}"
    );
    assert!(
        err.contains("weights are either us-east-1 10 / us-west-2 90 or still us-east-1 0 / us-west-2 100"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_plans_are_refused_before_any_change() {
    let rig = rig(&[OK], 1000, options()).await;
    let hold = Duration::from_millis(100);
    let unknown = vec![vec![("us-east-1".to_string(), 10), ("ap-south-1".to_string(), 90)]];
    let err = rig.operator.shift_traffic("us-east-1", &unknown, hold).await.unwrap_err();
    assert!(err.starts_with("stage 1: refused before any Route 53 call: unknown region ap-south-1"), "{err}");
    let err = rig.operator.shift_traffic("eu-central-1", &rig.stages, hold).await.unwrap_err();
    assert!(err.contains("target eu-central-1 is not a configured region"), "{err}");
    assert_eq!(rig.r53.hits.load(Ordering::SeqCst), 0, "no request reached Route 53");

    // Without a health gate a shift is refused outright.
    let bare = Route53Operator::new(rig.operator.api().clone());
    let err = bare.shift_traffic("us-east-1", &rig.stages, hold).await.unwrap_err();
    assert!(err.contains("no health gate"), "{err}");
    // Another zone than the configured one is refused by the operator's target check.
    let mut op = shift_op(&rig, 1);
    if let Operation::ShiftTraffic { zone, .. } = &mut op {
        *zone = "ZOTHER".into();
    }
    let err = rig.operator.execute(&op).await.unwrap_err();
    assert!(err.contains("targets zone ZOTHER"), "{err}");
    assert_eq!(rig.r53.hits.load(Ordering::SeqCst), 0);
}
