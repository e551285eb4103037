//! The DNS verification against real authoritative servers: Knot DNS on loopback
//! (`tests/support/dns.rs`), zones changed as Route 53 changes its servers. Covers the probe
//! (answers, TTL, rcode, TCP after truncation), servers in sync, one that lags and catches up,
//! one that never does, one that does not answer, drift after the check passed, and weighted
//! answers mapped to set identifiers.

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use warroom::backends::dns::probe::query;
use warroom::backends::dns::{DnsCheck, Expected, NameServer, ServerState, resolve};

use support::dns::{Knot, ZONE, unreachable_addr};

const NAME: &str = "api.example.com.";
const EAST: &str = "192.0.2.20";
const WEST: &str = "192.0.2.10";

/// Route 53's record sets after a change that moved every weight to us-west-2.
fn moved_west() -> Expected {
    let sets = vec![
        ("us-east-1".to_string(), Some(0), vec![EAST.to_string()]),
        ("us-west-2".to_string(), Some(100), vec![WEST.to_string()]),
    ];
    Expected::from_sets(&sets, &[])
}

fn check() -> DnsCheck {
    DnsCheck {
        name: NAME.into(),
        rtype: RecordType::A,
        query_timeout: Duration::from_millis(500),
        samples: 8,
        retry_interval: Duration::from_millis(100),
    }
}

fn ns(name: &str, addr: SocketAddr) -> NameServer {
    NameServer { name: name.into(), addr }
}

/// Three servers still answering us-east-1, the old weights.
fn three_old() -> Vec<Knot> {
    (0..3).map(|_| Knot::start(&[("api", 60, "A", &[EAST])])).collect()
}

fn servers(knots: &[Knot]) -> Vec<NameServer> {
    knots.iter().enumerate().map(|(i, k)| ns(&format!("ns{}", i + 1), k.addr)).collect()
}

#[tokio::test]
async fn the_probe_reads_values_ttl_rcode_and_falls_back_to_tcp() {
    let many: Vec<String> = (1..=60).map(|i| format!("198.51.100.{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let knot = Knot::start(&[("api", 45, "A", &[EAST]), ("big", 30, "A", &many)]);
    let limit = Duration::from_secs(2);

    let r = query(knot.addr, NAME, RecordType::A, limit).await.expect("answer");
    assert_eq!((r.rcode.as_str(), r.values.clone(), r.ttl), ("NOERROR", vec![EAST.to_string()], Some(45)));
    assert!(r.authoritative && !r.via_tcp, "{r:?}");
    assert!(r.took < limit);

    let r = query(knot.addr, "nope.example.com.", RecordType::A, limit).await.expect("answer");
    assert_eq!(r.rcode, "NXDOMAIN");
    assert!(r.values.is_empty());

    let r = query(knot.addr, "api.example.org.", RecordType::A, limit).await.expect("answer");
    assert!(r.rcode == "REFUSED" || r.rcode == "NOTAUTH", "a zone it does not serve: {r:?}");

    let r = query(knot.addr, &format!("big.{ZONE}."), RecordType::A, limit).await.expect("answer");
    assert!(r.via_tcp, "60 A records do not fit 512 bytes of UDP: {r:?}");
    assert_eq!(r.values.len(), 60);

    let e = query(unreachable_addr(), NAME, RecordType::A, Duration::from_millis(300)).await.unwrap_err();
    assert!(e.contains("no answer") || e.contains("timeout"), "{e}");
}

#[tokio::test]
async fn every_server_in_sync_passes_and_names_each() {
    let knots = three_old();
    for k in &knots {
        k.set("api", 60, "A", &[WEST]);
    }
    let report = check().until_in_sync(&servers(&knots), &moved_west(), Duration::from_secs(5)).await;
    let ok = report.verdict().expect("all in sync");
    assert!(ok.starts_with("all 3 name servers answer 192.0.2.10 (us-west-2)"), "{ok}");
    for (i, k) in knots.iter().enumerate() {
        assert!(ok.contains(&format!("ns{} ({}): in sync", i + 1, k.addr)), "{ok}");
    }
    assert!(ok.contains("TTL 60 s") && ok.contains("up to 60 s more"), "{ok}");
    assert_eq!(report.rounds, 1);
}

#[tokio::test]
async fn a_lagging_server_is_asked_again_until_it_agrees_and_its_lag_is_named() {
    let knots = three_old();
    knots[0].set("api", 60, "A", &[WEST]);
    knots[1].set("api", 60, "A", &[WEST]);
    let servers = servers(&knots);
    let late = &knots[2];
    let (update, updated) = tokio::sync::oneshot::channel();
    let check = check();
    let expected = moved_west();
    let verify = check.until_in_sync(&servers, &expected, Duration::from_secs(10));
    let lag = async {
        // The server catches up only after the verification saw it lagging at least once.
        tokio::time::sleep(Duration::from_millis(700)).await;
        late.set("api", 60, "A", &[WEST]);
        let _ = update.send(());
    };
    let (report, ()) = tokio::join!(verify, lag);
    updated.await.expect("updated");
    let ok = report.verdict().expect("in sync in the end");
    assert!(report.rounds > 1, "it asked again: {ok}");
    let after = report.synced_after[2].expect("ns3 synced");
    assert!(after >= Duration::from_millis(700), "{after:?}");
    assert!(ok.contains(&format!("ns3 ({}): in sync after lagging", late.addr)), "{ok}");
    assert!(ok.contains(&format!("ns1 ({}): in sync, answers", knots[0].addr)), "{ok}");
}

#[tokio::test]
async fn a_server_that_never_catches_up_fails_the_check_naming_it_and_its_answer() {
    let knots = three_old();
    knots[0].set("api", 60, "A", &[WEST]);
    knots[2].set("api", 60, "A", &[WEST]);
    let report = check().until_in_sync(&servers(&knots), &moved_west(), Duration::from_millis(800)).await;
    let err = report.verdict().expect_err("ns2 never answered the change");
    assert!(err.starts_with("1 of 3 name servers do not answer 192.0.2.10 (us-west-2)"), "{err}");
    assert!(err.contains(&format!("ns2 ({}) lagging", knots[1].addr)), "{err}");
    assert!(err.contains("never caught up") && err.contains("still answers 192.0.2.20 (us-east-1)"), "{err}");
    assert!(report.rounds > 1, "the lagging server was asked again");
    assert_eq!(report.results[1].state, ServerState::Disagrees("answers 192.0.2.20 (us-east-1)".into()));
}

#[tokio::test]
async fn an_unreachable_server_fails_the_check_as_unreachable() {
    let knots = three_old();
    let mut knots = knots;
    for k in &knots {
        k.set("api", 60, "A", &[WEST]);
    }
    knots[1].stop();
    let report = check().until_in_sync(&servers(&knots), &moved_west(), Duration::from_millis(600)).await;
    let err = report.verdict().expect_err("one server cannot be asked");
    assert!(err.contains(&format!("ns2 ({}) unreachable", knots[1].addr)), "{err}");
    assert!(
        err.contains(&format!("ns1 ({}): in sync", knots[0].addr)),
        "the others are still reported: {err}"
    );
}

#[tokio::test]
async fn drift_after_the_check_passed_is_reported_naming_the_server_and_its_answer() {
    let knots = three_old();
    for k in &knots {
        k.set("api", 60, "A", &[WEST]);
    }
    let servers = servers(&knots);
    let c = check();
    let first = c.until_in_sync(&servers, &moved_west(), Duration::from_secs(5)).await;
    first.verdict().expect("in sync first");
    // Another controller writes the old answer back on one server.
    knots[1].set("api", 60, "A", &[EAST]);
    let again = c.until_in_sync(&servers, &moved_west(), Duration::ZERO).await;
    let err = again.drift_verdict(Duration::from_secs(60)).expect_err("drift");
    assert!(
        err.starts_with(&format!(
            "DRIFT 60 s after the change: ns2 ({}) now answers 192.0.2.20 (us-east-1) (expected 192.0.2.10 (us-west-2))",
            knots[1].addr
        )),
        "{err}"
    );
    // And without drift the re-check passes.
    knots[1].set("api", 60, "A", &[WEST]);
    let ok =
        c.until_in_sync(&servers, &moved_west(), Duration::ZERO).await.drift_verdict(Duration::from_secs(60));
    assert!(ok.expect("no drift").starts_with("no drift 60 s after the change: all 3"));
}

#[tokio::test]
async fn weighted_answers_are_mapped_to_set_identifiers() {
    let sets = vec![
        ("us-east-1".to_string(), Some(30), vec![EAST.to_string()]),
        ("us-west-2".to_string(), Some(70), vec![WEST.to_string()]),
        ("eu-central-1".to_string(), Some(0), vec!["192.0.2.30".to_string()]),
    ];
    let expected = Expected::from_sets(&sets, &[]);
    // Knot answers every value of the name at once: both weighted sets, each mapped back.
    let both = Knot::start(&[("api", 60, "A", &[EAST, WEST])]);
    let with_old = Knot::start(&[("api", 60, "A", &[WEST, "192.0.2.30"])]);
    let stranger = Knot::start(&[("api", 60, "A", &["198.51.100.99"])]);
    let servers = vec![ns("a", both.addr), ns("b", with_old.addr), ns("c", stranger.addr)];
    let report = check().until_in_sync(&servers, &expected, Duration::ZERO).await;
    assert!(report.results[0].in_sync(), "{:?}", report.results[0]);
    assert_eq!(expected.sets_seen(&report.results[0].values), ["us-east-1", "us-west-2"]);
    assert_eq!(
        report.results[1].state,
        ServerState::Disagrees("answers 192.0.2.10 (us-west-2), 192.0.2.30 (eu-central-1)".into()),
        "a set with weight 0 answered"
    );
    assert_eq!(
        report.results[2].state,
        ServerState::Disagrees("answers 198.51.100.99 (no record set)".into())
    );
    assert_eq!(report.results[0].query_times.len(), 8, "a weighted record is asked 8 times per server");
    let values: BTreeSet<String> = report.results[0].values.clone();
    assert_eq!(values, BTreeSet::from([EAST.to_string(), WEST.to_string()]));
}

#[tokio::test]
async fn name_servers_resolve_from_host_port_entries() {
    let knot = Knot::start(&[("api", 60, "A", &[WEST])]);
    let servers = resolve(&[knot.addr.to_string()]).await.expect("resolved");
    assert_eq!(servers, [ns(&knot.addr.to_string(), knot.addr)]);
    assert_eq!(servers[0].label(), knot.addr.to_string());
    let by_name = format!("localhost:{}", knot.addr.port());
    let servers = resolve(std::slice::from_ref(&by_name)).await.expect("resolved");
    assert_eq!(servers.len(), 1, "one address per name, IPv4 first: {servers:?}");
    let found = servers.iter().find(|s| s.addr == knot.addr).expect("localhost is 127.0.0.1");
    assert_eq!(found.label(), format!("{by_name} ({})", knot.addr));
    let report = check().until_in_sync(std::slice::from_ref(found), &moved_west(), Duration::ZERO).await;
    assert!(report.all_in_sync(), "{:?}", report.lines());
    let e = resolve(&["bad host".to_string()]).await.unwrap_err();
    assert!(e.contains("name server `bad host`"), "{e}");
}
