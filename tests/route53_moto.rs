//! Route 53 backend against moto (real SDK calls over loopback), and against a small fake of
//! the Route 53 XML API for what moto does not model faithfully: moto answers every change
//! `INSYNC` at once, never throttles and reports one healthy checker for every health check.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use warroom::backends::model::HealthState;
use warroom::backends::route53::{ChangeProgress, Route53Api, Route53Error, Route53Options, endpoint_label};
use warroom::backends::traffic::{TrafficObserver, TrafficTimeouts};
use warroom::backends::{Observed, Operate, Snapshot};
use warroom::config::model::{Config, Route53Config};
use warroom::operation::Operation;
use warroom::operation::Verify;

use support::http_fake::{FakeRecord, FakeRoute53State, fake_route53, tag};
use support::moto::{credentials, exclusive, seed_weighted};
use support::region;

const RECORD: &str = "api.example.com.";

fn config(endpoint: &str, zone: &str) -> Config {
    Config {
        regions: vec![
            region("us-east-1", "primary"),
            region("us-west-2", "secondary"),
            region("eu-central-1", "tertiary"),
        ],
        route53: Some(Route53Config {
            hosted_zone_id: zone.into(),
            record: RECORD.into(),
            record_type: "A".into(),
            endpoint_url: Some(endpoint.into()),
            ..Route53Config::default()
        }),
        ..Config::default()
    }
}

fn fast_options() -> Route53Options {
    Route53Options {
        credentials: Some(credentials()),
        attempt_timeout: Duration::from_secs(5),
        max_attempts: 4,
        initial_backoff: Duration::from_millis(10),
        insync_timeout: Duration::from_secs(5),
        insync_poll: Duration::from_millis(20),
        insync_poll_max: Duration::from_millis(80),
    }
}

fn observer(cfg: &Config, options: Route53Options) -> TrafficObserver {
    let timeouts = TrafficTimeouts { route53: Duration::from_secs(10), probe: Duration::from_secs(1) };
    TrafficObserver::with_route53_options(cfg, timeouts, options).expect("observer")
}

fn set_weights_op(cfg: &Config, weights: &[(&str, u8)]) -> Operation {
    let r53 = cfg.route53.as_ref().unwrap();
    Operation::SetRoute53Weights {
        zone: r53.hosted_zone_id.clone(),
        record: r53.record.clone(),
        endpoint: endpoint_label(r53),
        weights: weights.iter().map(|(r, w)| (r.to_string(), *w)).collect(),
    }
}

#[tokio::test]
async fn observes_weights_shares_and_health_checks() {
    let (_guard, moto) = exclusive().await;
    let seeded = seed_weighted(
        moto,
        RECORD,
        &[("us-east-1", 70, "192.0.2.1"), ("us-west-2", 30, "192.0.2.2"), ("eu-central-1", 0, "192.0.2.3")],
    )
    .await;
    let obs = observer(&config(&moto.endpoint, &seeded.zone_id), fast_options());
    let view = obs.observe_view().await;

    assert_eq!(view.control_plane_error, None);
    assert_eq!(view.record, RECORD);
    assert_eq!(view.ttl, Some(60));
    let names: Vec<&str> = view.regions.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["us-east-1", "us-west-2", "eu-central-1"]);
    let weights: Vec<Option<u8>> = view.regions.iter().map(|r| r.weight).collect();
    assert_eq!(weights, [Some(70), Some(30), Some(0)]);
    assert!((view.share("us-east-1").unwrap() - 0.7).abs() < 1e-9);
    assert!((view.share("us-west-2").unwrap() - 0.3).abs() < 1e-9);
    assert_eq!(view.share("eu-central-1"), Some(0.0));
    for r in &view.regions {
        // moto reports exactly one healthy observation for every health check.
        assert_eq!(r.health_check, HealthState::Healthy, "{}", r.name);
        assert_eq!(r.checkers, Some((1, 1)));
        assert_eq!(r.failover_role, None);
        assert!(r.live.is_none() && r.ready.is_none(), "no URLs configured -> no probes");
    }
    let api = obs.route53().unwrap();
    let seen = api.last_seen().unwrap();
    assert_eq!(
        seen.for_region("us-west-2").unwrap().health_check_id.as_deref(),
        Some(seeded.health_checks[1].as_str())
    );
}

#[tokio::test]
async fn set_weights_then_observe_and_verify() {
    let (_guard, moto) = exclusive().await;
    let seeded =
        seed_weighted(moto, RECORD, &[("us-east-1", 100, "192.0.2.1"), ("us-west-2", 0, "192.0.2.2")]).await;
    let mut cfg = config(&moto.endpoint, &seeded.zone_id);
    cfg.regions.truncate(2);
    let obs = observer(&cfg, fast_options());
    let operator = obs.operator().unwrap();
    let before = obs.observe_view().await;
    assert_eq!(before.region("us-west-2").unwrap().weight, Some(0));

    let op = set_weights_op(&cfg, &[("us-east-1", 0), ("us-west-2", 100)]);
    let preview = operator.change_batch_json(&[("us-east-1".into(), 0), ("us-west-2".into(), 100)]);
    let json: serde_json::Value = serde_json::from_str(&preview).expect("preview is JSON");
    let changes = json["Changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1]["Action"], "UPSERT");
    assert_eq!(changes[1]["ResourceRecordSet"]["SetIdentifier"], "us-west-2");
    assert_eq!(changes[1]["ResourceRecordSet"]["Weight"], 100);
    assert_eq!(changes[1]["ResourceRecordSet"]["TTL"], 60);
    assert_eq!(changes[1]["ResourceRecordSet"]["HealthCheckId"], seeded.health_checks[1].as_str());

    let started = Instant::now();
    let summary = operator.execute(&op).await.expect("set-weights");
    let wall = started.elapsed();
    println!("figure: set-weights against moto took {} ms (list + change + INSYNC)", wall.as_millis());
    assert!(summary.contains("INSYNC"), "{summary}");
    assert!(summary.contains("us-east-1=0 us-west-2=100"), "{summary}");
    assert!(summary.contains("resolvers may still cache the old answer for 60 s"), "{summary}");

    let after = obs.observe_view().await;
    assert_eq!(after.region("us-east-1").unwrap().weight, Some(0));
    assert_eq!(after.region("us-west-2").unwrap().weight, Some(100));
    assert_eq!(after.share("us-west-2"), Some(1.0));
    let observed = Observed { traffic: Arc::new(Snapshot::fresh(after, Utc::now())), ..Observed::default() };
    assert!(matches!(op.verify(&observed), Verify::Holds(_)), "{:?}", op.verify(&observed));
    let stale = Observed { traffic: Arc::new(Snapshot::fresh(before, Utc::now())), ..Observed::default() };
    assert!(matches!(op.verify(&stale), Verify::NotYet(_)), "verify must fail on the old weights");

    // The UPSERT changed only the weight: TTL, value and health check are kept.
    let listed =
        moto.client().list_resource_record_sets().hosted_zone_id(&seeded.zone_id).send().await.expect("list");
    let west =
        listed.resource_record_sets().iter().find(|r| r.set_identifier() == Some("us-west-2")).unwrap();
    assert_eq!(west.ttl(), Some(60));
    assert_eq!(west.resource_records()[0].value(), "192.0.2.2");
    assert_eq!(west.health_check_id(), Some(seeded.health_checks[1].as_str()));
}

#[tokio::test]
async fn unknown_zone_is_a_clear_error() {
    let (_guard, moto) = exclusive().await;
    let cfg = config(&moto.endpoint, "ZNOSUCHZONE");
    let obs = observer(&cfg, fast_options());
    let view = obs.observe_view().await;
    let err = view.control_plane_error.expect("control plane error");
    assert!(err.contains("hosted zone ZNOSUCHZONE does not exist"), "{err}");
    assert!(view.regions.iter().all(|r| r.weight.is_none()));

    let op = set_weights_op(&cfg, &[("us-east-1", 0), ("us-west-2", 100)]);
    let err = obs.operator().unwrap().execute(&op).await.unwrap_err();
    assert!(err.contains("ListResourceRecordSets") && err.contains("ZNOSUCHZONE does not exist"), "{err}");
}

#[tokio::test]
async fn operator_refuses_another_target() {
    let (_guard, moto) = exclusive().await;
    let seeded = seed_weighted(moto, RECORD, &[("us-east-1", 100, "192.0.2.1")]).await;
    let cfg = config(&moto.endpoint, &seeded.zone_id);
    let operator = observer(&cfg, fast_options()).operator().unwrap();
    let Operation::SetRoute53Weights { zone, record, weights, .. } =
        set_weights_op(&cfg, &[("us-east-1", 5)])
    else {
        unreachable!()
    };
    let elsewhere = Operation::SetRoute53Weights {
        zone,
        record,
        endpoint: "https://route53.amazonaws.com".into(),
        weights,
    };
    let err = operator.execute(&elsewhere).await.unwrap_err();
    assert!(err.contains("this console talks to") && err.contains(&moto.endpoint), "{err}");
    let err = operator.execute(&Operation::CheckPrimary).await.unwrap_err();
    assert!(err.contains("cannot run 'check-primary'"), "{err}");
}

// ------------------------------------------------------------------ fake Route 53
// moto cannot show a change that stays PENDING, throttling, or an unhealthy health check.

fn fake_state(pending_polls: usize) -> Arc<Mutex<FakeRoute53State>> {
    let rec = |ident: &str, weight, value: &str, hc: &str| FakeRecord {
        ident: ident.into(),
        weight,
        ttl: 60,
        value: value.into(),
        health_check: Some(hc.into()),
    };
    Arc::new(Mutex::new(FakeRoute53State {
        record: RECORD.into(),
        records: vec![
            rec("us-east-1", 100, "192.0.2.1", "hc-east"),
            rec("us-west-2", 0, "192.0.2.2", "hc-west"),
        ],
        pending_polls,
        ..FakeRoute53State::default()
    }))
}

fn fake_api(endpoint: &str, options: Route53Options) -> Route53Api {
    let mut cfg = config(endpoint, "ZFAKE");
    cfg.regions.truncate(2);
    Route53Api::from_config(&cfg, options).unwrap()
}

fn weights(list: &[(&str, u8)]) -> Vec<(String, u8)> {
    list.iter().map(|(r, w)| (r.to_string(), *w)).collect()
}

#[tokio::test]
async fn pending_change_is_polled_until_insync() {
    let state = fake_state(2);
    let server = fake_route53(state.clone()).await;
    let api = fake_api(&server.url(""), fast_options());
    let seen: Mutex<Vec<(String, u32)>> = Mutex::new(Vec::new());
    let progress = |p: &ChangeProgress| seen.lock().unwrap().push((p.status.clone(), p.polls));
    let out =
        api.set_weights(&weights(&[("us-east-1", 0), ("us-west-2", 100)]), &progress).await.expect("insync");
    assert_eq!(out.polls, 3);
    assert_eq!(out.change_id, "/change/CFAKE1");
    let statuses = seen.lock().unwrap().clone();
    let expected: Vec<(String, u32)> = [("PENDING", 0), ("PENDING", 1), ("PENDING", 2), ("INSYNC", 3)]
        .iter()
        .map(|(s, n)| (s.to_string(), *n))
        .collect();
    assert_eq!(statuses, expected);
    let st = state.lock().unwrap();
    assert_eq!(st.get_change_calls, 3);
    assert_eq!(st.records[1].weight, 100);
    // One atomic batch with an UPSERT per region that keeps TTL, value and health check.
    let posts: Vec<_> = server.seen.lock().unwrap().iter().filter(|s| s.method == "POST").cloned().collect();
    assert_eq!(posts.len(), 1);
    let body = &posts[0].body;
    assert_eq!(body.matches("<Action>UPSERT</Action>").count(), 2, "{body}");
    let west = body.split("<Change>").skip(1).find(|c| tag(c, "SetIdentifier") == Some("us-west-2")).unwrap();
    assert_eq!(tag(west, "Weight"), Some("100"));
    assert_eq!(tag(west, "TTL"), Some("60"));
    assert_eq!(tag(west, "Value"), Some("192.0.2.2"));
    assert_eq!(tag(west, "HealthCheckId"), Some("hc-west"));
}

#[tokio::test]
async fn change_stuck_pending_is_an_error_at_the_timeout() {
    let state = fake_state(usize::MAX);
    let server = fake_route53(state.clone()).await;
    let options = Route53Options { insync_timeout: Duration::from_millis(300), ..fast_options() };
    let api = fake_api(&server.url(""), options);
    let err = api.set_weights(&weights(&[("us-east-1", 0), ("us-west-2", 100)]), &|_| {}).await.unwrap_err();
    assert!(matches!(err, Route53Error::StuckPending { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("/change/CFAKE1") && text.contains("still PENDING") && text.contains("not confirmed"),
        "{text}"
    );
    assert!(state.lock().unwrap().get_change_calls >= 2, "polled more than once before giving up");
}

#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let state = fake_state(0);
    state.lock().unwrap().throttle_changes = 2;
    let server = fake_route53(state.clone()).await;
    let api = fake_api(&server.url(""), fast_options());
    let out = api.set_weights(&weights(&[("us-west-2", 100)]), &|_| {}).await.expect("retried");
    assert_eq!(out.polls, 0, "the fake answered INSYNC at once");
    assert_eq!(state.lock().unwrap().change_calls, 3, "two throttled attempts, then success");

    // More throttling than attempts: a clear error naming the code.
    let state = fake_state(0);
    state.lock().unwrap().throttle_changes = 100;
    let server = fake_route53(state.clone()).await;
    let api = fake_api(&server.url(""), Route53Options { max_attempts: 3, ..fast_options() });
    let err = api.set_weights(&weights(&[("us-west-2", 100)]), &|_| {}).await.unwrap_err().to_string();
    assert!(err.contains("ChangeResourceRecordSets") && err.contains("Throttling"), "{err}");
    assert_eq!(state.lock().unwrap().change_calls, 3);
}

#[tokio::test]
async fn invalid_weights_are_refused_before_any_call() {
    let state = fake_state(0);
    let server = fake_route53(state.clone()).await;
    let api = fake_api(&server.url(""), fast_options());
    let cases: [(Vec<(String, u8)>, &str); 4] = [
        (weights(&[("us-east-1", 0), ("us-west-2", 0)]), "all weights are 0"),
        (weights(&[("ap-south-1", 10)]), "unknown region ap-south-1 (configured: us-east-1, us-west-2)"),
        (weights(&[("us-east-1", 10), ("us-east-1", 20)]), "region us-east-1 is given twice"),
        (vec![], "no weights given"),
    ];
    for (w, expected) in cases {
        let err = api.set_weights(&w, &|_| {}).await.unwrap_err();
        assert!(matches!(err, Route53Error::Refused(_)), "{err:?}");
        assert!(err.to_string().contains(expected), "{err} should mention {expected}");
    }
    assert_eq!(server.hits.load(std::sync::atomic::Ordering::SeqCst), 0, "no request reached Route 53");
}

#[tokio::test]
async fn unhealthy_health_check_is_reported() {
    let state = fake_state(0);
    {
        let mut st = state.lock().unwrap();
        let mut east: Vec<String> = vec!["Failure: HTTP Status Code 503, Service Unavailable".into(); 8];
        east.push("Success: HTTP Status Code 200, OK".into());
        st.health.insert("hc-east".into(), east);
        st.health.insert("hc-west".into(), vec!["Success: HTTP Status Code 200, OK".into(); 3]);
    }
    let server = fake_route53(state).await;
    let mut cfg = config(&server.url(""), "ZFAKE");
    cfg.regions.truncate(2);
    let view = observer(&cfg, fast_options()).observe_view().await;
    assert_eq!(view.control_plane_error, None);
    let east = view.region("us-east-1").unwrap();
    assert_eq!(east.health_check, HealthState::Unhealthy);
    assert_eq!(east.checkers, Some((1, 9)));
    let west = view.region("us-west-2").unwrap();
    assert_eq!(west.health_check, HealthState::Healthy);
    assert_eq!(west.checkers, Some((3, 3)));
}

#[tokio::test]
async fn missing_health_check_and_unconfigured_record_sets_are_shown() {
    let state = fake_state(0);
    state.lock().unwrap().records.push(FakeRecord {
        ident: "legacy".into(),
        weight: 300,
        ttl: 300,
        value: "192.0.2.9".into(),
        health_check: None,
    });
    let server = fake_route53(state).await;
    let mut cfg = config(&server.url(""), "ZFAKE");
    cfg.regions.truncate(2);
    let view = observer(&cfg, fast_options()).observe_view().await;
    let err = view.control_plane_error.clone().expect("errors reported");
    assert!(err.contains("us-east-1: ") && err.contains("NoSuchHealthCheck"), "{err}");
    assert!(err.contains("record set legacy has weight 300, outside Route 53's 0-255"), "{err}");
    assert_eq!(view.region("us-east-1").unwrap().health_check, HealthState::Unknown);
    let legacy = view.region("legacy").expect("unconfigured record set shown");
    assert_eq!(legacy.role, "unconfigured");
    assert_eq!(legacy.weight, None);
    assert_eq!(view.ttl, Some(300));
}

#[tokio::test]
async fn hung_or_unreachable_control_plane_only_sets_the_error() {
    use support::http_fake::{FakeServer, Mode, Reply};
    let hung = FakeServer::start(Mode::Hang).await;
    let health = FakeServer::start(Mode::Answer(Arc::new(|_| Reply::text(200, "ok")))).await;
    let mut cfg = config(&hung.url(""), "ZFAKE");
    cfg.regions.truncate(1);
    cfg.regions[0].health_ready = Some(health.url("/health/ready"));
    let timeouts = TrafficTimeouts { route53: Duration::from_millis(400), probe: Duration::from_secs(2) };
    let obs = TrafficObserver::with_route53_options(&cfg, timeouts, fast_options()).unwrap();
    let view = obs.observe_view().await;
    let err = view.control_plane_error.expect("control plane error");
    assert!(err.contains("no answer within 400 ms"), "{err}");
    assert!(view.regions[0].ready.as_ref().unwrap().ok(), "the data-plane probe still answers");
    assert_eq!(view.regions[0].weight, None);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let cfg = config(&format!("http://{closed}"), "ZFAKE");
    let options = Route53Options { max_attempts: 1, ..fast_options() };
    let view = observer(&cfg, options).observe_view().await;
    let err = view.control_plane_error.expect("control plane error");
    assert!(err.contains(&format!("cannot reach http://{closed}")), "{err}");
}

#[tokio::test]
async fn preview_needs_no_call_and_marks_unseen_fields() {
    let state = fake_state(0);
    let server = fake_route53(state).await;
    let api = fake_api(&server.url(""), fast_options());
    let json: serde_json::Value =
        serde_json::from_str(&api.change_batch_json(&weights(&[("us-west-2", 100)]))).unwrap();
    let rrs = &json["Changes"][0]["ResourceRecordSet"];
    assert_eq!(rrs["SetIdentifier"], "us-west-2");
    assert_eq!(rrs["Weight"], 100);
    assert!(rrs["Note"].as_str().unwrap().contains("kept from the current record set"));
    assert_eq!(server.hits.load(std::sync::atomic::Ordering::SeqCst), 0);

    api.observe().await.expect("observe");
    let json: serde_json::Value =
        serde_json::from_str(&api.change_batch_json(&weights(&[("us-west-2", 100)]))).unwrap();
    let rrs = &json["Changes"][0]["ResourceRecordSet"];
    assert_eq!(rrs["Note"], serde_json::Value::Null);
    assert_eq!(rrs["ResourceRecords"][0]["Value"], "192.0.2.2");
    assert_eq!(rrs["HealthCheckId"], "hc-west");
    assert_eq!(rrs["Weight"], 100);
    assert_eq!(json["Comment"], "warroom set-weights us-west-2=100");
}
