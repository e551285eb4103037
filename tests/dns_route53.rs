//! End to end: a real `set-weights` against moto (Route 53) reaching INSYNC, the zone changed on
//! real Knot DNS servers as Route 53 changes its own, then `verify-dns` and its drift re-check,
//! both carried out through the effect runner by the Route 53 operator with the name servers
//! from `[route53] name_servers`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use warroom::app::{Action, Effect};
use warroom::backends::route53::{DnsSettings, Route53Operator, Route53Options, endpoint_label};
use warroom::backends::traffic::{TrafficObserver, TrafficTimeouts};
use warroom::config::model::{Config, Route53Config};
use warroom::operation::Operation;
use warroom::runner::{MemoryLog, Runner};

use support::dns::Knot;
use support::moto::{credentials, exclusive, seed_weighted};
use support::region;

const RECORD: &str = "api.example.com.";
const EAST: &str = "192.0.2.20";
const WEST: &str = "192.0.2.10";

fn config(endpoint: &str, zone: &str, name_servers: Vec<String>) -> Config {
    Config {
        regions: vec![region("us-east-1", "primary"), region("us-west-2", "secondary")],
        route53: Some(Route53Config {
            hosted_zone_id: zone.into(),
            record: RECORD.into(),
            record_type: "A".into(),
            endpoint_url: Some(endpoint.into()),
            name_servers,
            ..Route53Config::default()
        }),
        ..Config::default()
    }
}

fn operator(cfg: &Config) -> Route53Operator {
    let options = Route53Options {
        credentials: Some(credentials()),
        insync_poll: Duration::from_millis(20),
        ..Route53Options::default()
    };
    let timeouts = TrafficTimeouts { route53: Duration::from_secs(10), probe: Duration::from_secs(1) };
    let obs = TrafficObserver::with_route53_options(cfg, timeouts, options).expect("observer");
    let dns = DnsSettings {
        query_timeout: Duration::from_millis(500),
        retry_interval: Duration::from_millis(100),
        ..DnsSettings::from_config(cfg)
    };
    obs.operator().expect("route53 operator").with_dns(dns)
}

fn verify_op(
    cfg: &Config,
    weights: &[(&str, u8)],
    sync_timeout_secs: u64,
    recheck_after_secs: u64,
) -> Operation {
    let r = cfg.route53.as_ref().unwrap();
    Operation::VerifyDns {
        zone: r.hosted_zone_id.clone(),
        record: RECORD.into(),
        endpoint: endpoint_label(r),
        weights: weights.iter().map(|(r, w)| (r.to_string(), *w)).collect(),
        sync_timeout_secs,
        recheck_after_secs,
    }
}

/// Run `op` as step `step` through the runner and wait for its result.
async fn run(
    runner: &Runner,
    rx: &mut mpsc::UnboundedReceiver<Action>,
    step: u64,
    op: Operation,
) -> Result<String, String> {
    runner.dispatch([Effect::Execute { step, op, timeout_secs: 60 }]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await.expect("a result within 60 s") {
            Some(Action::StepExecuted { step: s, result }) if s == step => return result,
            Some(_) => {}
            None => panic!("runner gone"),
        }
    }
}

#[tokio::test]
async fn set_weights_insync_then_verify_dns_waits_for_a_lagging_server_and_the_recheck_catches_drift() {
    let (_guard, moto) = exclusive().await;
    let seeded = seed_weighted(moto, RECORD, &[("us-east-1", 100, EAST), ("us-west-2", 0, WEST)]).await;
    let knots: Vec<Knot> = (0..3).map(|_| Knot::start(&[("api", 60, "A", &[EAST])])).collect();
    let cfg = config(&moto.endpoint, &seeded.zone_id, knots.iter().map(|k| k.addr.to_string()).collect());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let runner = Runner::start(Arc::new(operator(&cfg)), Arc::new(MemoryLog::new("t")), false, tx);
    let weights = [("us-east-1", 0), ("us-west-2", 100)];

    let set = Operation::SetRoute53Weights {
        zone: seeded.zone_id.clone(),
        record: RECORD.into(),
        endpoint: moto.endpoint.clone(),
        weights: weights.iter().map(|(r, w)| (r.to_string(), *w)).collect(),
    };
    let insync = run(&runner, &mut rx, 1, set).await.expect("set-weights");
    assert!(insync.contains("INSYNC"), "{insync}");

    // Route 53's servers take the change one by one: two now, the third later.
    knots[0].set("api", 60, "A", &[WEST]);
    knots[1].set("api", 60, "A", &[WEST]);
    let late = &knots[2];
    let verify = run(&runner, &mut rx, 2, verify_op(&cfg, &weights, 10, 0));
    let lag = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        late.set("api", 60, "A", &[WEST]);
    };
    let (verified, ()) = tokio::join!(verify, lag);
    let ok = verified.expect("every server in sync in the end");
    assert!(ok.starts_with("all 3 name servers answer 192.0.2.10 (us-west-2)"), "{ok}");
    assert!(ok.contains(&format!("{}: in sync after lagging", late.addr)), "{ok}");
    assert!(ok.contains("up to 60 s more (max TTL)"), "{ok}");

    // The re-check a second later: another controller put the old answer back on one server.
    let recheck = run(&runner, &mut rx, 3, verify_op(&cfg, &weights, 10, 1));
    let revert = async { knots[1].set("api", 60, "A", &[EAST]) };
    let (drift, ()) = tokio::join!(recheck, revert);
    let err = drift.expect_err("drift is a failure");
    assert!(
        err.starts_with(&format!(
            "DRIFT 1 s after the change: {} now answers 192.0.2.20 (us-east-1)",
            knots[1].addr
        )),
        "{err}"
    );
}

#[tokio::test]
async fn verify_dns_fails_naming_the_server_that_never_catches_up_and_one_that_is_down() {
    let (_guard, moto) = exclusive().await;
    let seeded = seed_weighted(moto, RECORD, &[("us-east-1", 0, EAST), ("us-west-2", 100, WEST)]).await;
    let mut knots: Vec<Knot> = (0..3).map(|_| Knot::start(&[("api", 60, "A", &[WEST])])).collect();
    knots[1].set("api", 60, "A", &[EAST]);
    knots[2].stop();
    let cfg = config(&moto.endpoint, &seeded.zone_id, knots.iter().map(|k| k.addr.to_string()).collect());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let runner = Runner::start(Arc::new(operator(&cfg)), Arc::new(MemoryLog::new("t")), false, tx);
    // No weights given: the weights Route 53 holds (us-west-2 only).
    let err = run(&runner, &mut rx, 1, verify_op(&cfg, &[], 1, 0)).await.expect_err("not in sync");
    assert!(err.starts_with("2 of 3 name servers do not answer 192.0.2.10 (us-west-2)"), "{err}");
    assert!(err.contains(&format!("{} lagging", knots[1].addr)), "{err}");
    assert!(err.contains(&format!("{} unreachable", knots[2].addr)), "{err}");
    assert!(err.contains("still answers 192.0.2.20 (us-east-1)"), "{err}");
}

#[tokio::test]
async fn without_name_servers_the_delegation_set_is_asked_and_its_failure_is_clean() {
    let (_guard, moto) = exclusive().await;
    let seeded = seed_weighted(moto, RECORD, &[("us-east-1", 100, EAST), ("us-west-2", 0, WEST)]).await;
    let cfg = config(&moto.endpoint, &seeded.zone_id, Vec::new());
    let op = operator(&cfg);
    // moto's delegation set names awsdns servers (not resolvable without the internet).
    let names = op.api().delegation_name_servers().await.expect("GetHostedZone");
    assert!(!names.is_empty() && names.iter().all(|n| n.contains("awsdns")), "{names:?}");
    match op.name_servers().await {
        Err(err) => {
            assert!(err.starts_with("cannot resolve name server ns-"), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        // A machine that can resolve AWS's real name servers asks exactly those.
        Ok(servers) => assert!(servers.iter().all(|s| names.contains(&s.name)), "{servers:?} {names:?}"),
    }
}
